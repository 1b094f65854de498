"""Data layer: readers (through MNE), events -> trials, preprocessing, cache, demos.

Imports neither Qt nor torch. Heavy modules (mne, nibabel) load on first use.
"""
from .decoding_set import DecodingSet
from .errors import DataError, InputError
from .loading import load_dataset
from .spec import ContinuousOptions, DatasetSpec, Preprocessing

__all__ = ["DecodingSet", "DataError", "InputError", "DatasetSpec", "Preprocessing",
           "ContinuousOptions", "load_dataset"]
