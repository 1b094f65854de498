"""Source-kind registry: detection, `neurodeck info` on every loadable source, --kinds, and a
toy kind added through the public `register` only."""
from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest
import yaml

from app.cli import main
from data import sources
from data.decoding_set import DecodingSet
from data.errors import UnsupportedFormatError


@pytest.mark.parametrize("source, kind", [
    ("demo:motor-imagery", "demo"), ("eegbci", "eegbci"), ("eegbci:1,2", "eegbci"),
    ("moabb:BNCI2014_001", "moabb"), ("x.csv", "continuous-table"), ("x.mat", "continuous-table"),
    ("rec.edf", "recording-file"),
])
def test_kind_detection(source, kind):
    assert sources.kind_of(source).name == kind


def test_folders_by_content(datasets):
    assert sources.kind_of(str(datasets / "flint-run1")).name == "continuous-table"
    assert sources.kind_of(str(datasets / "eegbci")).name == "folder"
    assert sources.kind_of("x", explicit="folder").name == "folder"


def test_unknown_scheme_is_refused_naming_the_source():
    with pytest.raises(UnsupportedFormatError, match="nosuch:thing"):
        sources.kind_of("nosuch:thing")


def test_info_on_flint_folder(datasets, capsys):
    assert main(["info", str(datasets / "flint-run1")]) == 0
    out = capsys.readouterr().out
    assert "continuous" in out and "Targets: z0, z1" in out


def test_info_on_mat_table(tmp_path, capsys):
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    path = tmp_path / "session.mat"
    savemat(path, {"x": rng.normal(size=(200, 6)), "z": rng.normal(size=(200, 2))})
    assert main(["info", "--json", str(path)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["source_kind"] == "continuous-table"
    assert info["n_samples"] == 200 and info["shape"] == [200, 6]


def test_spec_refuses_unknown_kind_and_options():
    from pydantic import ValidationError

    from data.spec import DatasetSpec

    with pytest.raises(ValidationError, match="unknown source kind 'nope'.*recording-file"):
        DatasetSpec(source="x.edf", kind="nope")
    with pytest.raises(ValidationError, match="takes no options.*colour"):
        DatasetSpec(source="eegbci", options={"colour": 1})


# ----------------------------------------------------------------------------- toy kind
def _toy_module():
    """A plugin module outside NeuroDeck: two Gaussian classes whose means differ."""
    from pydantic import BaseModel, ConfigDict

    mod = types.ModuleType("toy_source_plugin")

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        separation: float = 2.0

    def detect(source):
        return source.startswith("toy:")

    def load(spec):
        n = int(spec.source.split(":", 1)[1])
        sep = (spec.options or {}).get("separation", 2.0)
        rng = np.random.default_rng(spec.seed)
        y = np.arange(n) % 2
        X = rng.normal(size=(n, 4, 20)).astype(np.float32)
        X[:, 0, :] += sep * y[:, None]
        ones = np.ones(n, dtype=object)
        return DecodingSet(X=X, y=y.astype(np.int64), kind="trials", modality="eeg",
                           subject=ones.astype(str), session=ones.astype(str),
                           run=ones.astype(str), sfreq=100.0,
                           ch_names=["a", "b", "c", "d"], ch_types=["eeg"] * 4,
                           class_names=["low", "high"], times=np.arange(20) / 100.0,
                           provenance={"source": spec.source, "files": [], "steps": []})

    def describe(source, **opts):
        return {"source": source, "kind": "set", "data_kind": "trials", "modality": "eeg",
                "n_samples": int(source.split(":", 1)[1]), "shape": [0], "sfreq": 100.0,
                "classes": {"low": 1, "high": 1}, "subjects": ["1"]}

    mod.Options, mod.detect, mod.load, mod.describe = Options, detect, load, describe
    return mod


@pytest.fixture
def toy_kind(monkeypatch):
    monkeypatch.setitem(sys.modules, "toy_source_plugin", _toy_module())
    kind = sources.SourceKind("toy", "toy trials for tests: toy:N", "toy_source_plugin:detect",
                              "toy_source_plugin:load", "toy_source_plugin:describe",
                              options="toy_source_plugin:Options", priority=200)
    sources.register(kind)
    yield kind
    sources._kinds.pop("toy", None)


def test_toy_kind_listed_described_and_run(toy_kind, tmp_path, capsys):
    assert main(["info", "--kinds"]) == 0
    assert "toy trials for tests" in capsys.readouterr().out
    assert main(["info", "toy:60"]) == 0
    assert "60 samples" in capsys.readouterr().out

    config = {"name": "toy", "dataset": {"source": "toy:80", "options": {"separation": 3.0},
                                         "preprocessing": {"picks": "all"}, "cache": False},
              "decoder": {"name": "csp-lda"}, "training": {"device": "cpu", "seed": 0},
              "evaluation": {"protocol": "kfold", "n_folds": 4},
              "output": {"runs_dir": str(tmp_path / "runs")}}
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert main(["run", str(path)]) == 0, capsys.readouterr().err
    metrics = json.loads(next((tmp_path / "runs").rglob("metrics.json")).read_text())
    assert metrics["dataset"] == "toy:80" and metrics["n_samples"] == 80
    assert np.mean([f["accuracy"] for f in metrics["folds"]]) > 0.9  # chance is 0.5
    with pytest.raises(Exception, match="colour"):
        from data.spec import DatasetSpec

        DatasetSpec(source="toy:10", options={"colour": 1})


# ----------------------------------------------------------------------------- BCI2000
def test_bci2000_dat_is_told_from_brainvision_by_content(datasets, tmp_path):
    pytest.importorskip("BCI2000Tools")
    assert sources.kind_of(str(datasets / "bci2000" / "eeg2_1.dat")).name == "bci2000"
    companion = tmp_path / "rec.dat"
    companion.write_bytes(b"\x00\x01binary samples")
    assert sources.kind_of(str(companion)).name == "recording-file"


def test_info_on_bci2000_dat(datasets, capsys):
    pytest.importorskip("BCI2000Tools")
    assert main(["info", "--json", str(datasets / "bci2000" / "eeg2_1.dat")]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["source_kind"] == "bci2000"
    assert info["channel_counts"] == {"eeg": 64} and info["sfreq"] == [160.0]
    assert info["events"]["target"] == 20 and info["events"]["nontarget"] == 80
    assert info["events"]["stim/1"] + info["events"]["stim/2"] == 100


def test_bci2000_trials(datasets):
    pytest.importorskip("BCI2000Tools")
    from data import load_dataset

    data = load_dataset({"source": str(datasets / "bci2000" / "eeg2_1.dat"), "cache": False,
                         "events": {"target": "target", "nontarget": "nontarget"},
                         "window": [0.0, 0.6]})
    assert data.X.shape == (100, 64, 96)
    assert np.bincount(data.y).tolist() == [20, 80]
    assert 1 < np.median(np.abs(data.X)) < 100  # calibrated EEG in µV (trials' unit), not raw counts


def test_bci2000_folder_groups_files_by_header_subject(datasets, capsys):
    pytest.importorskip("BCI2000Tools")
    from data import load_dataset

    folder = str(datasets / "bci2000")
    assert main(["info", "--json", folder]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["subjects"] == ["KMR", "PXB"] and len(info["runs"]) == 4
    data = load_dataset({"source": folder, "subjects": ["KMR"], "cache": False,
                         "events": {"target": "target", "nontarget": "nontarget"},
                         "window": [0.0, 0.6]})
    assert data.X.shape == (200, 64, 96) and sorted(set(data.run)) == ["eeg2_1", "eeg2_2"]


# ----------------------------------------------------------------------------- recordings
def test_array_recording_has_the_browser_helpers(datasets):
    from app.gui.models import events_of
    from app.gui.signal_browser import ArraySource, RawSource, source_of
    from data.recording import Recording

    series = np.arange(12.0).reshape(3, 4)
    rec = Recording(data=series, sample_rate=0.5, modality="roi", events=[(2.0, "face")])
    assert rec.ch_names == ["ch1", "ch2", "ch3"] and rec.sfreq == 0.5 and rec.tr == 2.0
    assert rec.n_times == 4 and rec.get_data(1, 3, picks=[2]).tolist() == [[9.0, 10.0]]
    assert events_of(rec) == [(2.0, "face")]
    shown = source_of(rec, events_of(rec))
    assert isinstance(shown, ArraySource) and shown.get(np.array([0]), 0, 2).tolist() == [[0.0, 1.0]]
    with pytest.raises(ValueError):
        Recording(subject="1")

    (mne_rec,) = sources.open_for_browsing(str(datasets / "bci2000" / "eeg2_1.dat")) \
        if _has_bci2000() else sources.open_for_browsing("demo:motor-imagery", subjects=["1"])[:1]
    assert isinstance(source_of(mne_rec), RawSource)
    assert mne_rec.get_data(0, 10).shape == (len(mne_rec.ch_names), 10)


def _has_bci2000() -> bool:
    import importlib.util

    return importlib.util.find_spec("BCI2000Tools") is not None


def test_several_sources_stack_like_one(datasets):
    from data import load_dataset

    folder = str(datasets / "eegbci")
    common = {"events": {"T1": "left", "T2": "right"}, "window": [0.5, 2.5], "runs": [4],
              "cache": False, "preprocessing": {"picks": ["C3", "Cz", "C4"]}}
    one = load_dataset({"source": "eegbci", "data_path": folder, "subjects": [1, 2], **common})
    parts = load_dataset({"sources": [{"source": "eegbci", "data_path": folder, "subjects": [1]},
                                      {"source": "eegbci", "data_path": folder, "subjects": [2]}],
                          **common})
    assert np.array_equal(one.X, parts.X) and np.array_equal(one.y, parts.y)
    assert parts.class_names == one.class_names and parts.ch_names == ["C3", "Cz", "C4"]
    assert sorted(set(parts.subject)) == ["1", "2"]


def test_entry_points_register_kinds_once(monkeypatch):
    import importlib.metadata

    calls = []

    class EntryPoint:
        def __init__(self, obj):
            self.obj = obj

        def load(self):
            return self.obj

    kind = sources.SourceKind("ep-kind", "from an entry point", "x:y", "x:y", "x:y")
    plugin = lambda: calls.append(1) or sources.register(  # noqa: E731
        sources.SourceKind("ep-call", "registered by a callable", "x:y", "x:y", "x:y"))
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group: [EntryPoint(kind), EntryPoint(plugin)]
                        if group == "neurodeck.sources" else [])
    monkeypatch.setattr(sources, "_plugins_loaded", False)
    try:
        names = [k.name for k in sources.available()]
        sources.available()
        assert {"ep-kind", "ep-call"} <= set(names) and calls == [1]
    finally:
        sources._kinds.pop("ep-kind", None)
        sources._kinds.pop("ep-call", None)


def test_relative_paths_inside_sources_are_recorded_absolute(datasets, monkeypatch, tmp_path):
    from app.experiment import _absolute_paths, validate_config

    monkeypatch.chdir(datasets)
    config = validate_config({
        "dataset": {"sources": [{"source": "eegbci", "data_path": "eegbci", "subjects": [1]},
                                {"source": "bci2000/eeg2_1.dat"}],
                    "events": {"T1": "left", "T2": "right"}},
        "decoder": {"name": "csp-lda"}})
    parts = _absolute_paths(config, tmp_path).dataset.sources
    assert parts[0].data_path == str((datasets / "eegbci").resolve())
    assert parts[1].source == str((datasets / "bci2000" / "eeg2_1.dat").resolve())
    assert parts[0].source == "eegbci"
