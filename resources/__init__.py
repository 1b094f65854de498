"""Packaged data files: icons, themes, example experiments."""
from __future__ import annotations

from importlib import resources
from pathlib import Path


def path(*parts: str) -> Path:
    """Filesystem path of a packaged resource, e.g. ``path("experiments", "demo.yaml")``."""
    return Path(str(resources.files(__name__).joinpath(*parts)))


def experiments() -> list[Path]:
    """The example experiment files shipped with NeuroDeck (sweep files excluded)."""
    return sorted(p for p in path("experiments").glob("*.yaml") if not p.name.startswith("sweep-"))


def sweeps() -> list[Path]:
    """The example sweep files shipped with NeuroDeck (``sweep-*.yaml``)."""
    return sorted(path("experiments").glob("sweep-*.yaml"))
