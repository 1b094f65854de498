"""`load_dataset`: the one path from a `DatasetSpec` to a `DecodingSet` (CLI, GUI, tests)."""
from __future__ import annotations

from .decoding_set import DecodingSet
from .spec import DatasetSpec


def load_dataset(spec: DatasetSpec | dict) -> DecodingSet:
    """Load, epoch or bin, and preprocess the data a spec names (its source kind decides how).

    Parameters
    ----------
    spec : DatasetSpec or dict
        The ``dataset`` section of an experiment: ``source`` (a file, folder or
        ``scheme:ARGUMENT``), window, events, preprocessing, options...

    Returns
    -------
    DecodingSet
        The samples (``X``, ``y``) with their subjects, sessions and provenance.

    Raises
    ------
    data.errors.InputError
        The spec is invalid (the message names the key).
    data.errors.DataError
        The source cannot be read or holds nothing to decode (the message names the file).

    Examples
    --------
    >>> from data import load_dataset
    >>> data = load_dataset({"source": "demo:motor-imagery", "window": [0.5, 3.5]})  # doctest: +SKIP
    >>> data.X.shape  # doctest: +SKIP
    """
    if isinstance(spec, dict):
        spec = DatasetSpec.model_validate(spec)
    from . import sources

    return sources.load(spec)
