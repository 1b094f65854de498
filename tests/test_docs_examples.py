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


def _install(tmp_path: Path, monkeypatch, module_path: str, code: str, toml: str) -> dict:
    """Write ``code`` as ``module_path`` and a dist-info whose entry points are the TOML
    block's, on sys.path, as ``pip install`` of the lab's package would leave them."""
    target = tmp_path / "site" / Path(*module_path.split("."))
    target.parent.mkdir(parents=True, exist_ok=True)
    for folder in target.parents:
        if folder == tmp_path / "site":
            break
        (folder / "__init__.py").touch()
    target.with_suffix(".py").write_text(code, encoding="utf-8")
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
