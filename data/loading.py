"""`load_dataset`: the one path from a `DatasetSpec` to a `DecodingSet` (CLI, GUI, tests)."""
from __future__ import annotations

from pathlib import Path

from .decoding_set import DecodingSet
from .spec import DatasetSpec

CONTINUOUS_SUFFIXES = {".csv", ".npy", ".npz", ".mat", ".tsv"}


def load_dataset(spec: DatasetSpec | dict) -> DecodingSet:
    """Load, epoch or bin, and preprocess the data a spec names."""
    if isinstance(spec, dict):
        spec = DatasetSpec.model_validate(spec)
    source = spec.source
    if source.startswith("demo:"):
        from . import demos

        demo = demos.get(source.split(":", 1)[1])
        if demo.kind == "set":
            return demo.build(spec)
    elif spec.continuous is not None or Path(source).suffix.lower() in CONTINUOUS_SUFFIXES \
            or Path(source).is_dir() and _is_continuous_folder(Path(source)):
        from .continuous import load_continuous

        return load_continuous(spec)
    from .epochs import load_trials

    return load_trials(spec)


def _is_continuous_folder(folder: Path) -> bool:
    """A folder of feature/target tables (e.g. x.csv + z.csv) rather than recordings."""
    from .continuous import looks_like_continuous_folder

    return looks_like_continuous_folder(folder)
