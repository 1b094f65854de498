"""Recording files on disk: one file MNE reads (``recording-file``), a BCI2000 ``.dat``
(``bci2000``), a folder of such files (``folder``) and a BIDS root (``bids``). They share one
way to find their files (`files`), open them (`open_recordings`), load trials (`load`) and
describe them (`describe`); each kind only detects its own sources."""
from __future__ import annotations

from pathlib import Path

from ..bci2000 import is_bci2000_file
from ..errors import DataError, MissingFileError
from ..readers import (FORMATS, SourceFile, bids_files, file_entities, folder_files, format_of,
                       open_files, suffix_of)
from .kind import SourceKind, has_scheme


def is_path(source: str) -> bool:
    """Any source that is not ``name:...`` (a missing path is reported by the reader)."""
    return not has_scheme(source)


def is_folder(source: str) -> bool:
    return is_path(source) and Path(source).expanduser().is_dir()


def is_bids(source: str) -> bool:
    return is_path(source) and (Path(source).expanduser() / "dataset_description.json").is_file()


def is_bci2000(source: str) -> bool:
    return is_path(source) and is_bci2000_file(source)


def files(source: str, subjects=None, sessions=None, runs=None) -> list[SourceFile]:
    """The recording files ``source`` (a file, a folder or a BIDS root) stands for, among the
    subjects / sessions / runs asked for, without reading them.

    Raises
    ------
    MissingFileError
        When ``source`` does not exist.
    DataError
        When a folder holds no recording asked for, or the file's format is not one NeuroDeck reads.
    """
    path = Path(source).expanduser()
    if not path.exists():
        raise MissingFileError("file or folder not found.", path)
    if path.is_dir() and suffix_of(path) != ".mff":
        if (path / "dataset_description.json").is_file():
            found = bids_files(path, subjects, sessions, runs)
        else:
            found = folder_files(path, subjects, sessions, runs)
        if not found:
            raise DataError("no recordings found (matching the subjects/sessions/runs asked "
                            "for).", path, hint=f"Recognised files: {', '.join(sorted(FORMATS))}, BCI2000 .dat.")
        return found
    format_of(path)
    return [file_entities(path)]


def open_recordings(source: str, *, subjects=None, sessions=None, runs=None, preload: bool = True,
                    **_unused) -> list:
    """Every recording ``source`` names, as `Recording` objects (MNE Raw + entities)."""
    return open_files(files(source, subjects, sessions, runs), preload)


def load(spec):
    """Trials of the recordings ``spec.source`` names (`data.epochs.load_trials`)."""
    from ..epochs import load_trials

    return load_trials(spec, _open_for_spec, _fingerprints)


def _open_for_spec(spec) -> list:
    return open_recordings(spec.source, subjects=spec.subjects, sessions=spec.sessions,
                           runs=spec.runs, preload=False)


def _fingerprints(spec) -> list:
    from ..cache import file_fingerprint

    return file_fingerprint(f.path for f in files(spec.source, spec.subjects, spec.sessions, spec.runs))


def describe(source: str, *, subjects=None, sessions=None, runs=None, **_unused) -> dict:
    """The recordings' summary (`data.summaries.summarize_recordings`), samples not loaded."""
    from ..summaries import summarize_recordings

    return summarize_recordings(source, open_recordings(source, subjects=subjects, sessions=sessions,
                                                        runs=runs, preload=False))


_COMMON = dict(load=load, describe=describe, open=open_recordings, produces="trials")
FILE = SourceKind(
    "recording-file", "one recording file MNE reads (EDF, BDF, GDF, BrainVision, EEGLAB, FIF, ...)",
    is_path, priority=0, extensions=tuple(f"*{suffix}" for suffix in FORMATS), **_COMMON)
BCI2000 = SourceKind(
    "bci2000", "a BCI2000 .dat recording (needs neurodeck[bci2000]); options paradigm: erp|speller "
    "for one target/nontarget epoch per stimulus", is_bci2000, priority=60,
    extensions=("*.dat",), modality="eeg",
    **{**_COMMON, "load": "data.sources.erp:load_bci2000", "options": "data.sources.erp:Bci2000Options"})
FOLDER = SourceKind("folder", "a folder of recording files", is_folder, priority=10, folders=True,
                    **_COMMON)
BIDS = SourceKind("bids", "a BIDS root (dataset_description.json)", is_bids, priority=40,
                  folders=True, **_COMMON)
