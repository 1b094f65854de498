"""`load_dataset`: the one path from a `DatasetSpec` to a `DecodingSet` (CLI, GUI, tests)."""
from __future__ import annotations

from .decoding_set import DecodingSet
from .spec import DatasetSpec


def load_dataset(spec: DatasetSpec | dict) -> DecodingSet:
    """Load, epoch or bin, and preprocess the data a spec names (its kind decides how)."""
    if isinstance(spec, dict):
        spec = DatasetSpec.model_validate(spec)
    from . import sources

    return sources.load(spec)
