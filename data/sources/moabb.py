"""MOABB datasets (``moabb:NAME``, NAME a class of ``moabb.datasets``): read from a local
copy (``data_path`` or ``MNE_DATA``) with every download turned into an error."""
from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path

from ..errors import DataError, MissingFileError
from ..readers import same_id, short_error, wanted
from ..recording import Recording
from .kind import SourceKind, scheme_argument


def detect(source: str) -> bool:
    return str(source).strip().lower().startswith("moabb:")


@contextlib.contextmanager
def offline(data_path):
    """Point MOABB at ``data_path`` (via MNE_DATA) and turn any download into an error."""
    import moabb.datasets.download as download

    real_retrieve = download.retrieve

    def offline_retrieve(url, known_hash, fname=None, path=None, **kwargs):
        target = Path(path or ".") / (fname or Path(url).name)
        if not target.exists():
            raise MissingFileError("is not in the local copy of the dataset (NeuroDeck reads "
                                   "MOABB datasets offline and downloads nothing).", target)
        return real_retrieve(url, known_hash, fname=fname, path=path, **kwargs)

    # "upstream" stops MOABB's NEMAR mirror look-ups (network); upstream fetches go through
    # `retrieve`, which only accepts files already present.
    overrides = {"MOABB_DOWNLOAD_PROVIDER": "upstream"}
    if data_path is not None:
        overrides["MNE_DATA"] = str(Path(data_path).expanduser())
    saved = {k: os.environ.get(k) for k in overrides}
    os.environ.update(overrides)
    download.retrieve = offline_retrieve
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        download.retrieve = real_retrieve
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def dataset_named(name: str):
    """Instantiate the MOABB dataset class called ``name``."""
    import moabb.datasets

    cls = getattr(moabb.datasets, name, None)
    if not isinstance(cls, type):
        raise DataError(f"'moabb:{name}' is not a MOABB dataset.",
                        hint="Use the class name, e.g. moabb:BNCI2014_001.")
    return cls()


def _copy_error(message: str, exc: BaseException, data_path) -> MissingFileError:
    """``message: <cause>``, reported against the MOABB data folder in use."""
    return MissingFileError(f"{message}: {short_error(exc)}",
                            data_path or os.environ.get("MNE_DATA", "~/mne_data"))


def local_files(name: str, data_path, subjects) -> list[str]:
    """Local files of a MOABB dataset's subjects (empty for simulated ones)."""
    dataset = dataset_named(name)
    files: list[str] = []
    with offline(data_path):
        for subject in subjects or dataset.subject_list:
            try:
                found = dataset.data_path(subject)
            except NotImplementedError:
                return []
            except DataError:
                raise
            except Exception as exc:  # noqa: BLE001
                raise _copy_error(f"the local copy of MOABB dataset {name} (subject "
                                        f"{subject}) cannot be used", exc, data_path) from exc
            found = [found] if isinstance(found, (str, Path)) else list(found or [])
            files.extend(str(f) for f in found)
    return files


def _recordings(name, data_path, subjects, sessions, runs) -> list[Recording]:
    dataset = dataset_named(name)
    if subjects is not None:
        unknown = [s for s in subjects if not any(same_id(s, k) for k in dataset.subject_list)]
        if unknown:
            raise DataError(f"MOABB dataset {name} has no subject(s) {unknown}.",
                            hint=f"Subjects: {dataset.subject_list}.")
        subjects = [k for k in dataset.subject_list if any(same_id(s, k) for s in subjects)]
    with offline(data_path):
        try:
            data = dataset.get_data(subjects)
        except DataError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise _copy_error(f"MOABB dataset {name} cannot be read from its local copy",
                                    exc, data_path) from exc
    recordings = []
    for subject, by_session in data.items():
        for session, by_run in by_session.items():
            if not wanted(str(session), sessions):
                continue
            for run, raw in by_run.items():
                if not wanted(str(run), runs):
                    continue
                if len(raw.annotations) == 0:
                    _stim_to_annotations(raw, dataset.event_id)
                recordings.append(Recording(raw, str(subject), str(session), str(run),
                                            f"moabb:{name}"))
    if not recordings:
        raise DataError(f"MOABB dataset {name} has no recordings for the sessions/runs asked for.")
    return recordings


def _stim_to_annotations(raw, event_id: dict) -> None:
    import mne

    events = mne.find_events(raw, shortest_event=1, verbose="error")
    names = {code: name for name, code in event_id.items()}
    keep = [e for e in events if e[2] in names]
    if keep:
        raw.set_annotations(raw.annotations + mne.Annotations(
            [raw.times[e[0] - raw.first_samp] for e in keep], [0.0] * len(keep),
            [names[e[2]] for e in keep], orig_time=raw.annotations.orig_time))


def open_recordings(source: str, *, data_path=None, subjects=None, sessions=None, runs=None,
                    **_unused) -> list[Recording]:
    """The recordings of ``moabb:NAME`` (events from annotations or the stim channel)."""
    return _recordings(scheme_argument(source), data_path, subjects, sessions, runs)


def load(spec):
    """Trials of the MOABB dataset's local copy (`data.epochs.load_trials`)."""
    from ..epochs import load_trials

    return load_trials(spec, _open_for_spec, _cache_inputs)


def _open_for_spec(spec) -> list:
    return open_recordings(spec.source, data_path=spec.data_path, subjects=spec.subjects,
                           sessions=spec.sessions, runs=spec.runs)


def _cache_inputs(spec) -> list[str]:
    return local_files(scheme_argument(spec.source), spec.data_path, spec.subjects)


def describe(source: str, *, data_path=None, subjects=None, sessions=None, runs=None,
             **_unused) -> dict:
    """The recordings' summary."""
    from ..summaries import summarize_recordings

    return summarize_recordings(source, open_recordings(source, data_path=data_path, subjects=subjects,
                                                        sessions=sessions, runs=runs))


KIND = SourceKind(
    "moabb", "a MOABB dataset: moabb:NAME", detect, load, describe, open_recordings, priority=100,
    scheme="moabb", argument="Dataset class name (e.g. BNCI2014_001)", local_copy=True,
    modality="eeg", produces="trials")
