"""The layering rules of DESIGN.md, checked on the source and on what imports pull in."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


_TARGET = re.compile(r"^([A-Za-z_]\w*)(\.\w+)*:[A-Za-z_]\w*$")   # "module:attribute", imported on use


def _imported_modules(package: str) -> set[tuple[str, str]]:
    """(file, top-level package) for every import at any depth (in functions too), every
    ``importlib.import_module("...")`` and every ``"module:attribute"`` registry target."""
    found = set()
    for path in (REPO / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _TARGET.match(node.value):
                found.add((str(path.relative_to(REPO)), _TARGET.match(node.value).group(1)))
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) \
                    == "import_module" and node.args and isinstance(node.args[0], ast.Constant):
                found.add((str(path.relative_to(REPO)), str(node.args[0].value).split(".")[0]))
            elif isinstance(node, ast.Import):
                found |= {(str(path.relative_to(REPO)), a.name.split(".")[0]) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((str(path.relative_to(REPO)), node.module.split(".")[0]))
    return found


@pytest.mark.parametrize("package, forbidden", [
    ("data", {"PySide6", "PyQt5", "PyQt6", "qtpy", "pyqtgraph", "torch", "app", "decoders"}),
    ("decoders", {"PySide6", "PyQt5", "PyQt6", "qtpy", "pyqtgraph", "app"}),
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


SOURCE_MARKERS = {"demo:", "moabb:", "eegbci", "eegbci:", "toy:"}
SOURCE_SUFFIXES = {".edf", ".bdf", ".gdf", ".csv", ".tsv", ".mat", ".npy", ".npz", ".dat",
                   ".vhdr", ".set", ".fif", ".cnt", ".nii", ".gz"}


def _string_constants(node) -> set[str]:
    found = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            found.add(sub.value.lower())
    return found


def _source_string_tests(path: Path) -> list[str]:
    """startswith/endswith/==/in tests of source prefixes, and `.suffix` tests of file types."""
    hits, name = [], path.relative_to(REPO) if path.is_relative_to(REPO) else path.name
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in {"startswith", "endswith"}:
            consts = set().union(*(_string_constants(a) for a in node.args)) if node.args else set()
            if consts & (SOURCE_MARKERS | SOURCE_SUFFIXES):
                hits.append(f"{name}:{node.lineno}")
        elif isinstance(node, ast.Compare):
            consts = _string_constants(node)
            uses_suffix = any(isinstance(s, ast.Attribute) and s.attr in {"suffix", "suffixes"}
                              for s in ast.walk(node))
            if consts & SOURCE_MARKERS - {"eegbci"} or (uses_suffix and consts & SOURCE_SUFFIXES):
                hits.append(f"{name}:{node.lineno}")
    return hits


def test_source_string_checker_finds_what_it_looks_for(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f(s, p):\n    return s.startswith('demo:') or p.suffix == '.edf'\n")
    assert len(_source_string_tests(probe)) == 2


def test_only_data_parses_source_strings():
    """Source kinds are the registry's business (data.sources): nothing above data/ tests
    source prefixes or file suffixes itself."""
    hits = [hit for package in ("app", "decoders")
            for path in sorted((REPO / package).rglob("*.py")) for hit in _source_string_tests(path)]
    assert not hits, f"source strings parsed outside data/ (ask data.sources): {hits}"
