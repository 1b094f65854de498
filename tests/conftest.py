"""Shared fixtures. Real recordings come from ../shared/datasets beside the repository."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def datasets() -> Path:
    """Folder of the real test recordings; a missing folder is an error, never a skip."""
    assert DATASETS.is_dir(), f"real datasets not found at {DATASETS}"
    return DATASETS


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Each test session gets its own cache folder, so nothing leaks from a user's cache."""
    monkeypatch.setenv("NEURODECK_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture()
def settings_file(tmp_path, monkeypatch):
    """A fresh QSettings file for GUI tests, so no test reads another's (or the user's)."""
    path = tmp_path / "settings.ini"
    monkeypatch.setenv("NEURODECK_SETTINGS", str(path))
    return path
