"""PhysioNet EEG Motor Movement/Imagery (``eegbci`` / ``eegbci:1,2``): read through
``mne.datasets.eegbci`` from a local copy (``data_path``, ``MNE_DATASETS_EEGBCI_PATH`` or
``MNE_DATA``); nothing is downloaded."""
from __future__ import annotations

from pathlib import Path

from ..errors import DataError, MissingFileError
from ..readers import SourceFile, open_files, wanted
from .kind import SourceKind, scheme_argument

FILE_PATTERN = "MNE-eegbci-data/files/eegmmidb/1.0.0/S{s:03d}/S{s:03d}R{r:02d}.edf"


def detect(source: str) -> bool:
    text = str(source).strip().lower()
    return text == "eegbci" or text.startswith("eegbci:")


def local_root(data_path) -> Path:
    import mne

    root = data_path or mne.get_config("MNE_DATASETS_EEGBCI_PATH") or mne.get_config("MNE_DATA")
    if root is None:
        root = Path.home() / "mne_data"
    return Path(root).expanduser()


def files(arg: str, data_path, subjects=None, sessions=None, runs=None) -> list[SourceFile]:
    """The local EEGBCI files of ``eegbci:ARG`` (ARG: subject numbers; empty: every local
    subject, or ``subjects``), among the runs asked for; each must exist locally."""
    if sessions is not None and not wanted("1", sessions):
        raise DataError(f"EEGBCI has a single session ('1'), not {list(sessions)}.",
                        hint="Leave sessions out for EEGBCI.")
    root = local_root(data_path)
    if arg.strip():
        try:
            subjects = [int(s) for s in arg.split(",") if s.strip()]
        except ValueError:
            raise DataError(f"'eegbci:{arg}' should list subject numbers, e.g. eegbci:1,2.") \
                from None
    base = root / "MNE-eegbci-data/files/eegmmidb/1.0.0"
    if subjects is None:
        subjects = sorted(int(p.name[1:]) for p in base.glob("S[0-9][0-9][0-9]") if p.is_dir())
        if not subjects:
            raise MissingFileError("no local copy of the EEGBCI dataset here (expected "
                                   "MNE-eegbci-data/files/eegmmidb/1.0.0/S001/...).", root,
                                   hint="Set data_path to the folder that holds MNE-eegbci-data.")
    found = []
    for subject in subjects:
        subject = _as_int(subject, "subject")
        subject_runs = runs if runs is not None else sorted(
            int(p.stem[-2:]) for p in (base / f"S{subject:03d}").glob(f"S{subject:03d}R[0-9][0-9].edf"))
        if not subject_runs:
            raise MissingFileError(f"no local EEGBCI files for subject {subject}.",
                                   base / f"S{subject:03d}",
                                   hint="The dataset is read offline; copy the files there first.")
        for run in subject_runs:
            run = _as_int(run, "run")
            path = root / FILE_PATTERN.format(s=subject, r=run)
            if not path.is_file():
                raise MissingFileError(f"EEGBCI subject {subject} run {run} is not in the local "
                                       "copy.", path, hint="The dataset is read offline; copy "
                                       "the file there or leave that subject/run out.")
            found.append(SourceFile(path, str(subject), "1", str(run)))
    return found


def _load_through_mne(found: list[SourceFile], data_path) -> list[Path]:
    """Paths through ``mne.datasets.eegbci.load_data``, the lookup a user's own script does
    (every file was checked to exist, so it downloads nothing)."""
    from mne.datasets import eegbci

    runs_of: dict[int, tuple[int, ...]] = {}
    for f in found:
        runs_of[int(f.subject)] = runs_of.get(int(f.subject), ()) + (int(f.run),)
    groups: dict[tuple[int, ...], list[int]] = {}
    for subject, runs in runs_of.items():
        groups.setdefault(runs, []).append(subject)
    loaded = set()
    for runs, subjects in groups.items():
        loaded |= {Path(p) for p in eegbci.load_data(subjects, list(runs), path=str(
            local_root(data_path)), update_path=False, verbose="error")}
    return [f.path for f in found if f.path in loaded]


def _as_int(value, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DataError(f"EEGBCI {what} '{value}' is not a number.") from None


def open_recordings(source: str, *, data_path=None, subjects=None, sessions=None, runs=None,
                    preload: bool = True, **_unused) -> list:
    """The recordings of ``eegbci[:SUBJECTS]`` with standard channel names and montage."""
    found = files(scheme_argument(source), data_path, subjects, sessions, runs)
    _load_through_mne(found, data_path)
    return open_files(found, preload, eegbci=True)


def load(spec):
    """Trials of the local EEGBCI recordings (`data.epochs.load_trials`)."""
    from ..epochs import load_trials

    return load_trials(spec, _open_for_spec, _fingerprints)


def _open_for_spec(spec) -> list:
    return open_recordings(spec.source, data_path=spec.data_path, subjects=spec.subjects,
                           sessions=spec.sessions, runs=spec.runs, preload=False)


def _fingerprints(spec) -> list:
    from ..cache import file_fingerprint

    return file_fingerprint(f.path for f in files(scheme_argument(spec.source), spec.data_path,
                                                    spec.subjects, spec.sessions, spec.runs))


def describe(source: str, *, data_path=None, subjects=None, sessions=None, runs=None,
             **_unused) -> dict:
    """The recordings' summary, samples not loaded."""
    from ..summaries import summarize_recordings

    return summarize_recordings(source, open_recordings(source, data_path=data_path, subjects=subjects,
                                                        sessions=sessions, runs=runs, preload=False))


KIND = SourceKind(
    "eegbci", "PhysioNet EEG Motor Movement/Imagery: eegbci[:SUBJECTS]", detect, load, describe,
    open_recordings, priority=100, scheme="eegbci",
    argument="Subjects (e.g. 1 or 1,2,3; empty: every local one)", local_copy=True,
    modality="eeg", produces="trials")
