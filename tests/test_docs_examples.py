"""docs/extending.md's examples run as written: each code block is copied into a package
of its own, installed through its entry point, and used the way the guide says."""
from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import yaml

from app.cli import main

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "extending.md"


def _section(title: str) -> str:
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else len(text)]


def _blocks(section: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.S)


def _install(tmp_path: Path, monkeypatch, module_path: str, code: str, toml: str,
             more: dict[str, str] | None = None) -> dict:
    """Write ``code`` as ``module_path`` (and ``more``: other modules by path) and a dist-info
    whose entry points are the TOML block's, on sys.path, as ``pip install`` of the lab's
    package would leave them."""
    for module, text in {module_path: code, **(more or {})}.items():
        target = tmp_path / "site" / Path(*module.split("."))
        target.parent.mkdir(parents=True, exist_ok=True)
        for folder in target.parents:
            if folder == tmp_path / "site":
                break
            (folder / "__init__.py").touch()
        target.with_suffix(".py").write_text(text, encoding="utf-8")
    groups = tomllib.loads(toml)["project"]["entry-points"]
    dist = tmp_path / "site" / "my_lab-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-lab\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {ref}\n" for name, ref in entries.items())
        for group, entries in groups.items()))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    for name in [m for m in sys.modules if m == "my_lab" or m.startswith("my_lab.")]:
        monkeypatch.delitem(sys.modules, name)
    return groups


def test_source_kind_example_runs_as_written(tmp_path, monkeypatch, capsys):
    from data import sources

    section = _section("A data source")
    (code,) = [b for b in _blocks(section, "python") if b.startswith("# my_lab/sources.py")]
    (toml,) = _blocks(section, "toml")
    groups = _install(tmp_path, monkeypatch, "my_lab.sources", code, toml)
    assert "neurodeck.sources" in groups
    # the registry reads entry points once per process: let it read them again
    monkeypatch.setattr(sources, "_plugins_loaded", False)
    monkeypatch.setattr(sources, "_kinds", dict(sources._kinds))

    assert main(["info", "--kinds"]) == 0
    assert "two Gaussian classes: gauss:N" in capsys.readouterr().out
    assert main(["info", "gauss:60"]) == 0
    out = capsys.readouterr().out
    assert "Data set: trials (eeg), 60 samples, shape [60, 4, 20]" in out
    assert "Classes: low (30), high (30)" in out

    config = {"name": "gauss", "dataset": {"source": "gauss:80", "options": {"separation": 3},
                                           "preprocessing": {"picks": "all"}, "cache": False},
              "decoder": {"name": "csp-lda"}, "training": {"device": "cpu", "seed": 0},
              "evaluation": {"protocol": "kfold", "n_folds": 4},
              "output": {"runs_dir": str(tmp_path / "runs")}}
    path = tmp_path / "gauss.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert main(["run", str(path)]) == 0, capsys.readouterr().err
    metrics = json.loads(next((tmp_path / "runs").rglob("metrics.json")).read_text())
    assert metrics["dataset"] == "gauss:80" and metrics["n_samples"] == 80
    assert np.mean([f["accuracy"] for f in metrics["folds"]]) > 0.9   # chance is 0.5
    with pytest.raises(Exception, match="colour"):
        from data.spec import DatasetSpec

        DatasetSpec(source="gauss:10", options={"colour": 1})
    assert sources.kind("gauss").scheme == "gauss"   # the Data view offers it by its facts


# ----------------------------------------------------------------------------- a decoder
def _example(title: str, first_line: str) -> tuple[str, str]:
    """The python block of a section that starts with ``first_line``, and its TOML block."""
    section = _section(title)
    (code,) = [b for b in _blocks(section, "python") if b.startswith(first_line)]
    (toml,) = _blocks(section, "toml")
    return code, toml


@pytest.fixture
def fresh_registries(monkeypatch):
    """Each registry reads entry points once per process: let them read them again, and
    undo whatever the example registers when the test ends."""
    from app.gui import views
    from data import sources
    from decoders import protocols, registry

    monkeypatch.setattr(sources, "_plugins_loaded", False)
    monkeypatch.setattr(sources, "_kinds", dict(sources._kinds))
    monkeypatch.setattr(registry, "_plugins_loaded", False)
    monkeypatch.setattr(registry, "_ENTRIES", list(registry._ENTRIES))
    monkeypatch.setattr(registry, "_BY_NAME", dict(registry._BY_NAME))
    monkeypatch.setattr(views, "_plugins_loaded", False)
    monkeypatch.setattr(views, "_views", dict(views._views))
    monkeypatch.setattr(protocols.registry, "_plugins_loaded", False)
    saved = dict(protocols.base.REGISTERED)   # the store is shared by reference: restore it in place
    yield
    protocols.base.REGISTERED.clear()
    protocols.base.REGISTERED.update(saved)


def test_decoder_example_learns_its_toy_source_as_written(tmp_path, monkeypatch, capsys, fresh_registries):
    import decoders
    from decoders.bundle import load_bundle

    decoder_code, decoder_toml = _example("A decoder", "# my_lab/decoders.py")
    source_code, source_toml = _example("A data source", "# my_lab/sources.py")
    _install(tmp_path, monkeypatch, "my_lab.decoders", decoder_code, decoder_toml + "\n" + source_toml,
             more={"my_lab.sources": source_code})

    entry = decoders.registry.entry("nearest-mean")   # the facts are the class's own
    assert (entry.task.value, entry.input_kind) == ("classification", "trials")
    assert entry.description == entry.load().description and "shrink" in entry.params_schema()["properties"]

    config = {"name": "toy", "dataset": {"source": "gauss:80", "preprocessing": {"picks": "all"}, "cache": False},
              "decoder": {"name": "nearest-mean"}, "training": {"device": "cpu", "seed": 0},
              "evaluation": {"protocol": "kfold", "n_folds": 4},
              "output": {"runs_dir": str(tmp_path / "runs"), "figures": False}}
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert main(["run", str(path)]) == 0, capsys.readouterr().err
    metrics = json.loads(next((tmp_path / "runs").rglob("metrics.json")).read_text())
    assert metrics["decoder"] == "nearest-mean"
    assert np.mean([f["accuracy"] for f in metrics["folds"]]) > 0.9   # chance is 0.5

    bundle = next((tmp_path / "runs").rglob("manifest.json")).parent   # saved, and loads back
    loaded, manifest = load_bundle(bundle)
    assert manifest["decoder"] == "nearest-mean" and type(loaded).__name__ == "NearestMean"
    from data import DatasetSpec, load_dataset

    fresh = load_dataset(DatasetSpec(source="gauss:40", seed=7, preprocessing={"picks": "all"}, cache=False))
    assert np.mean(loaded.predict(fresh.X) == fresh.y) > 0.9


# ----------------------------------------------------------------------------- a view
_ICON = ('<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24">'
         '<rect x="4" y="3" width="16" height="18" rx="2" fill="#3b82f6"/></svg>')


@pytest.mark.gui
def test_view_example_runs_as_written_with_its_icon(tmp_path, monkeypatch, qtbot, settings_file,
                                                   fresh_registries):
    from PySide6.QtCore import Qt

    from app.gui.main_window import MainWindow

    code, toml = _example("A workflow view", "# my_lab/views.py")
    _install(tmp_path, monkeypatch, "my_lab.views", code, toml)
    (tmp_path / "site" / "my_lab" / "notes.svg").write_text(_ICON, encoding="utf-8")

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    keys = [window.steps.item(i).data(Qt.UserRole) for i in range(window.steps.count())]
    assert keys[-2:] == ["notes", "online"]
    item = window.steps.item(keys.index("notes"))
    assert item.text() == "Notes\nlab notes"
    image = item.icon().pixmap(20, 20).toImage()
    assert not item.icon().isNull() and image.pixelColor(10, 10).blue() > 200   # the lab's blue icon
    window.steps.setCurrentRow(keys.index("notes"))
    window.wb.source_opened.emit("demo:motor-imagery")
    assert window.stack.currentWidget().text() == "demo:motor-imagery is open"
    window.close()


def test_a_view_without_an_icon_gets_a_letter_badge_not_a_blank(qtbot):
    from app.gui.views import ViewEntry

    assert not ViewEntry("lab-notes", "Lab notes", lambda w: None).qicon().isNull()
    assert not ViewEntry("x", "X", lambda w: None, icon="data").qicon().isNull()   # a NeuroDeck icon by name


# ----------------------------------------------------------------- what a new piece touches
_PROTOCOL = """\
# my_lab/protocols.py: even samples train, odd samples test
import numpy as np

from decoders.protocols import Protocol, Split


class EvenOdd(Protocol):
    name = "even-odd"
    description = "Even samples train, odd samples test (a toy)."

    def build_splits(self, data, options, seed):
        index = np.arange(len(data))
        return [Split(0, index[::2], index[1::2], "even / odd")]
"""


def _tree_state() -> dict[str, tuple[int, int]]:
    root = GUIDE.parents[1]
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.stat().st_size)
            for package in ("app", "data", "decoders", "resources", "docs") for p in (root / package).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def test_a_new_decoder_source_protocol_and_view_touch_one_module_and_one_registration_each(
        tmp_path, monkeypatch, fresh_registries):
    """docs/extending.md "What a new piece touches": a lab package with one module per piece
    and one entry point per piece reaches every registry; no NeuroDeck file changes."""
    from app.gui import views
    from data import sources
    from decoders import available, protocols

    before = _tree_state()
    modules = {"my_lab.decoders": _example("A decoder", "# my_lab/decoders.py")[0],
               "my_lab.sources": _example("A data source", "# my_lab/sources.py")[0],
               "my_lab.protocols": _PROTOCOL,
               "my_lab.views": _example("A workflow view", "# my_lab/views.py")[0]}
    toml = "\n".join([_example("A decoder", "# my_lab/decoders.py")[1], _example("A data source", "# my_lab/sources.py")[1],
                      '[project.entry-points."neurodeck.protocols"]\neven-odd = "my_lab.protocols:EvenOdd"\n',
                      _example("A workflow view", "# my_lab/views.py")[1]])
    groups = _install(tmp_path, monkeypatch, "my_lab.decoders", modules.pop("my_lab.decoders"), toml, more=modules)

    written = sorted(p.name for p in (tmp_path / "site" / "my_lab").glob("*.py") if p.name != "__init__.py")
    assert written == ["decoders.py", "protocols.py", "sources.py", "views.py"]   # one module per piece
    assert {g: len(e) for g, e in groups.items()} == {   # one registration per piece
        "neurodeck.decoders": 1, "neurodeck.sources": 1, "neurodeck.protocols": 1, "neurodeck.views": 1}
    assert "nearest-mean" in [e.name for e in available()]
    assert "gauss" in [k.name for k in sources.available()]
    assert "even-odd" in protocols.protocol_names()
    assert "notes" in [v.key for v in views.available_views()]
    assert _tree_state() == before, "registering a plugin changed a NeuroDeck file"
