"""The source-kind registry as the one dispatcher: every kind's declared facts (name,
description, steps, patterns, scheme, modality, what it produces) agree with what the kind
does, a plugin kind reaches `neurodeck info --kinds`, `neurodeck run` and the Data view with no
NeuroDeck file edited, and data/ imports no circle (in-function imports included)."""
from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import BaseModel

from app.cli import main
from data import sources
from data.decoding_set import DecodingSet
from tests.test_import_graph import cycles, import_graph

REPO = Path(__file__).resolve().parents[1]
DATA_KINDS = {"trials", "continuous", "volumes"}

# one cheap real source per built-in kind: (spec fields, then describe's options)
EXAMPLES = {
    "demo": ({"source": "demo:motor-imagery", "subjects": ["1"]}, {}),
    "eegbci": ({"source": "eegbci:1", "data_path": "eegbci", "runs": [4], "min_trials": 1,
                "events": {"T1": "left", "T2": "right"}}, {"runs": [4]}),
    "recording-file": ({"source": "mne-testing-formats/EDF/test_reduced.edf", "min_trials": 1,
                        "window": [0, 0.5]}, {}),
    "folder": ({"source": "eegbci/MNE-eegbci-data/files/eegmmidb/1.0.0/S001", "runs": [4],
                "min_trials": 1, "events": {"T1": "left", "T2": "right"}}, {"runs": [4]}),
    "bci2000": ({"source": "bci2000/eeg2_1.dat", "events": {"target": "target", "nontarget": "nontarget"},
                 "window": [0, 0.5]}, {}),
    "continuous-table": ({"source": "flint-run1"}, {}),
    "roi-series": ({"source": "abide-cc200", "options": {"sites": ["Caltech"]}},
                   {"sites": ["Caltech"]}),
    "stimulus-pairs": ({"source": "fmri-recon/digit69_28x28.mat", "kind": "stimulus-pairs",
                        "options": {"image_order": "F"}}, {"image_order": "F"}),
}
# built-in kinds without a cheap source in ../shared/datasets (each has its own tests)
NOT_LOADED_HERE = {
    "moabb": "no local MOABB copy in the test data (tests/test_data_readers.py checks it offline)",
    "bids": "no BIDS root in the test data (tests/test_data_readers.py builds one)",
    "nifti": "Haxby runs are large (tests/test_fmri_nifti.py builds small images)",
}


def test_every_kind_declares_its_facts_once():
    kinds = sources.available()
    names = [k.name for k in kinds]
    assert len(names) == len(set(names))
    assert [k.priority for k in kinds] == sorted((k.priority for k in kinds), reverse=True)
    for kind in kinds:
        assert kind.name and kind.description, kind
        for role in ("detect", "load", "describe"):
            assert callable(kind.function(role)), (kind.name, role)
        assert kind.open is None or callable(kind.function("open"))
        assert kind.browsable == (kind.open is not None)
        assert kind.options is None or issubclass(kind.function("options"), BaseModel)
        assert kind.produces is None or kind.produces in DATA_KINDS, kind.name
        assert all(p.startswith("*.") for p in kind.extensions), kind.name
        assert (kind.argument is None) or kind.scheme, f"{kind.name}: an argument needs a scheme"
        if kind.scheme:   # its names are its own, and nothing else claims them
            named = kind.source_named("x")
            assert sources.detect(named) is kind and not sources.names_a_path(named)
        for source, description in (kind.function("choices")() if kind.choices else []):
            assert sources.detect(source) is kind and description
        facts = kind.facts()
        assert facts["name"] == kind.name and facts["extensions"] == list(kind.extensions)


def test_every_builtin_kind_is_tried_here_or_says_why_not():
    from data.sources import BUILTIN

    builtin = {sources._resolve(ref).name for ref in BUILTIN}
    assert set(EXAMPLES) | set(NOT_LOADED_HERE) == builtin
    assert not set(EXAMPLES) & set(NOT_LOADED_HERE)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_facts_agree_with_what_the_kind_loads_describes_and_opens(name, datasets):
    from data import load_dataset
    from data.info import describe, format_description

    if name == "bci2000":
        pytest.importorskip("BCI2000Tools")
    fields, describe_options = EXAMPLES[name]
    fields = {**fields, "cache": False}
    kind = sources.kind(name)
    if kind.scheme is None:
        fields["source"] = str(datasets / fields["source"])
    if "data_path" in fields:
        fields["data_path"] = str(datasets / fields["data_path"])
    assert sources.detect(fields["source"], fields.get("kind")) is kind
    if kind.choices is None and "kind" not in fields:
        assert sources.detect(fields["source"]).name == name   # detected, not only named

    data = load_dataset(fields)
    assert isinstance(data, DecodingSet)
    assert kind.produces in (None, data.kind)
    assert kind.modality in (None, data.modality)

    info = describe(fields["source"], kind=fields.get("kind"), data_path=fields.get("data_path"),
                    subjects=fields.get("subjects"), **describe_options)
    assert info["source_kind"] == name
    assert format_description(info).startswith(f"Source: {fields['source']}")
    if info["kind"] == "set":
        assert {"data_kind", "modality", "n_samples", "shape"} <= set(info)
        assert info["data_kind"] == data.kind and info["modality"] == data.modality
    elif info["kind"] == "recordings":
        assert kind.browsable
        recordings = sources.open_for_browsing(fields["source"], data_path=fields.get("data_path"),
                                               subjects=fields.get("subjects"), runs=fields.get("runs"),
                                               preload=False)
        assert len(recordings) == info["n_recordings"] >= 1


def test_a_kind_without_recordings_says_so_naming_the_source(datasets):
    from data.errors import UnsupportedFormatError

    source = str(datasets / "flint-run1")
    with pytest.raises(UnsupportedFormatError, match="flint-run1.*no recordings to open"):
        sources.open_for_browsing(source)


# ----------------------------------------------------------------------------- a plugin kind
def _plugin_module():
    """A plugin outside NeuroDeck: ``blobs:N`` (N trials of two classes) or a ``*.blobs`` file."""
    mod = types.ModuleType("blobs_plugin")

    def detect(source):
        return source.startswith("blobs:") or source.endswith(".blobs")

    def load(spec):
        n = int(spec.source.split(":", 1)[1])
        rng = np.random.default_rng(spec.seed)
        y = np.arange(n) % 2
        X = rng.normal(size=(n, 6, 16)).astype(np.float32)
        X[:, 1, :] *= 1.0 + 3.0 * y[:, None]   # class "blob" has more power on channel b
        ones = np.ones(n).astype(int).astype(str)
        return DecodingSet(X=X, y=y.astype(np.int64), kind="trials", modality="eeg", subject=ones,
                           session=ones, run=ones, sfreq=100.0, ch_names=list("abcdef"),
                           ch_types=["eeg"] * 6, class_names=["rest", "blob"],
                           times=np.arange(16) / 100.0,
                           provenance={"source": spec.source, "files": [], "steps": []})

    def describe(source, **opts):
        n = int(source.split(":", 1)[1])
        return {"source": source, "kind": "set", "data_kind": "trials", "modality": "eeg",
                "n_samples": n, "shape": [n, 6, 16]}

    mod.detect, mod.load, mod.describe = detect, load, describe
    return mod


@pytest.fixture
def plugin_kind(monkeypatch):
    """Registered the way an installed plugin's ``neurodeck.sources`` entry point does."""
    monkeypatch.setitem(sys.modules, "blobs_plugin", _plugin_module())
    kind = sources.SourceKind("blobs", "two classes of blobs: blobs:N", "blobs_plugin:detect",
                              "blobs_plugin:load", "blobs_plugin:describe", priority=150,
                              extensions=("*.blobs",), scheme="blobs", argument="Number of trials",
                              modality="eeg", produces="trials")
    sources.register(kind)
    yield kind
    sources._kinds.pop("blobs", None)


def test_plugin_kind_listed_described_and_run(plugin_kind, tmp_path, capsys):
    assert main(["info", "--kinds", "--json"]) == 0
    listed = {k["name"]: k for k in json.loads(capsys.readouterr().out)}
    assert listed["blobs"] == plugin_kind.facts()
    assert main(["info", "blobs:40"]) == 0
    assert "40 samples, shape [40, 6, 16]" in capsys.readouterr().out
    config = {"name": "blobs", "dataset": {"source": "blobs:60", "cache": False,
                                           "preprocessing": {"picks": "all"}},
              "decoder": {"name": "csp-lda"}, "training": {"device": "cpu", "seed": 0},
              "evaluation": {"protocol": "kfold", "n_folds": 3},
              "output": {"runs_dir": str(tmp_path / "runs")}}
    path = tmp_path / "blobs.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert main(["run", str(path)]) == 0, capsys.readouterr().err
    metrics = json.loads(next((tmp_path / "runs").rglob("metrics.json")).read_text())
    assert metrics["dataset"] == "blobs:60" and metrics["n_samples"] == 60
    assert np.mean([f["accuracy"] for f in metrics["folds"]]) > 0.9   # chance is 0.5


@pytest.mark.gui
def test_plugin_kind_appears_in_the_data_view(plugin_kind, qtbot, monkeypatch):
    from app.gui import data_view as module
    from app.gui.controller import Workbench

    assert "*.blobs" in module.file_filter().split(";;")[0]
    assert "two classes of blobs: blobs:N (*.blobs)" in module.file_filter().split(";;")
    view = module.DataView(Workbench())
    qtbot.addWidget(view)
    box = view.demo_box
    labels = [box.itemText(i) for i in range(box.count())]
    assert any(label.startswith("blobs: two classes of blobs") for label in labels), labels
    assert box.findData("demo:motor-imagery") > 0   # the demo kind's own choices
    opened = []
    monkeypatch.setattr(view.wb, "open", lambda source, data_path=None: opened.append(source))
    monkeypatch.setattr(module.QInputDialog, "getText", lambda *a, **k: ("12", True))
    view._demo_picked(box.findData("kind:blobs"))
    assert opened == ["blobs:12"]


# ----------------------------------------------------------------------------- imports
def _data_import_graph() -> dict[str, set[str]]:
    """data/ module -> the data/ modules it imports, at the top or inside functions."""
    return import_graph(packages=("data",))


def test_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_data_imports_no_circle():
    graph = _data_import_graph()
    assert "data.sources.recordings" in graph["data.sources.eegbci"] or \
        "data.readers" in graph["data.sources.eegbci"]   # the graph sees relative imports
    assert not cycles(graph), f"data/ modules import each other in a circle: {cycles(graph)}"


def test_kind_modules_do_not_import_the_registry():
    graph = _data_import_graph()
    kinds = [m for m in graph if m.startswith("data.sources.") and m not in ("data.sources.combine",)]
    offenders = [m for m in kinds if "data.sources" in graph[m]]
    assert not offenders, f"kind modules importing the registry that lists them: {offenders}"
