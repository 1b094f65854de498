"""The layering rules of DESIGN.md, checked on the source and on what imports pull in."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _imported_modules(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (REPO / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                found |= {(str(path.relative_to(REPO)), a.name.split(".")[0]) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((str(path.relative_to(REPO)), node.module.split(".")[0]))
    return found


@pytest.mark.parametrize("package, forbidden", [
    ("data", {"PySide6", "pyqtgraph", "torch", "app", "decoders"}),
    ("decoders", {"PySide6", "pyqtgraph", "app"}),
])
def test_layers_import_only_downwards(package, forbidden):
    offenders = sorted((f, m) for f, m in _imported_modules(package) if m in forbidden)
    assert not offenders, f"{package}/ must not import {forbidden}: {offenders}"


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True, cwd=REPO)
    return set(out.stdout.split())


def test_cli_help_loads_no_heavy_library():
    loaded = _modules_after("from app.cli import build_parser; build_parser().format_help()")
    heavy = {"torch", "mne", "PySide6", "nibabel", "matplotlib"} & loaded
    assert not heavy, f"`neurodeck --help` imports {heavy}"


def test_registry_listing_loads_no_torch():
    loaded = _modules_after("import decoders; [e.name for e in decoders.available()]")
    assert "torch" not in loaded


def test_every_registered_decoder_imports_and_declares_itself():
    import decoders

    for entry in decoders.available():
        cls = entry.load()
        assert cls.name == entry.name
        assert cls.task == entry.task
        assert cls.description
        cls().validated_params()  # defaults validate
