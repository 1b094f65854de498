"""Continuous feature / target tables (``continuous-table``): a ``.csv``, ``.tsv``, ``.npy``,
``.npz`` or ``.mat`` file, or a folder holding a feature and a target table
(`data.continuous`)."""
from __future__ import annotations

from pathlib import Path

from .kind import SourceKind, has_scheme

SUFFIXES = (".csv", ".tsv", ".npy", ".npz", ".mat")


def detect(source: str) -> bool:
    if has_scheme(source):
        return False
    path = Path(source).expanduser()
    if path.suffix.lower() in SUFFIXES:
        return True
    from ..continuous import looks_like_continuous_folder

    return path.is_dir() and looks_like_continuous_folder(path)


def load(spec):
    """The continuous `DecodingSet` (`data.continuous.load_continuous`)."""
    from ..continuous import load_continuous

    return load_continuous(spec)


def describe(source: str, *, data_path=None, subjects=None, **_unused) -> dict:
    """The set's summary (the tables are read)."""
    from ..spec import DatasetSpec
    from ..summaries import summarize_set

    return summarize_set(source, load(DatasetSpec(source=source, data_path=data_path,
                                                  subjects=subjects, cache=False)))


KIND = SourceKind(
    "continuous-table", "feature/target tables (.csv .tsv .npy .npz .mat) or a folder holding them",
    detect, load, describe, priority=50, extensions=tuple(f"*{s}" for s in SUFFIXES), folders=True,
    produces="continuous")
