"""The built-in source kinds' detect / load / describe / open functions (readers stay in
data/readers.py, data/epochs.py and data/continuous.py)."""
from __future__ import annotations

import re
from pathlib import Path

CONTINUOUS_SUFFIXES = {".csv", ".npy", ".npz", ".mat", ".tsv"}
_SCHEME = re.compile(r"^[A-Za-z][\w.+-]+:")


def _prefixed(source: str, prefix: str) -> bool:
    return source.strip().lower().startswith(prefix + ":")


def is_demo(source: str) -> bool:
    return _prefixed(source, "demo")


def is_moabb(source: str) -> bool:
    return _prefixed(source, "moabb")


def is_eegbci(source: str) -> bool:
    return source.strip().lower() == "eegbci" or _prefixed(source, "eegbci")


def _has_scheme(source: str) -> bool:
    """``name:...`` but not a Windows drive (``C:\\``)."""
    return bool(_SCHEME.match(source)) and not re.match(r"^[A-Za-z]:[\\/]", source)


def is_continuous(source: str) -> bool:
    if _has_scheme(source):
        return False
    path = Path(source).expanduser()
    if path.suffix.lower() in CONTINUOUS_SUFFIXES:
        return True
    from ..continuous import looks_like_continuous_folder

    return path.is_dir() and looks_like_continuous_folder(path)


def is_bids(source: str) -> bool:
    path = Path(source).expanduser()
    return not _has_scheme(source) and (path / "dataset_description.json").is_file()


def is_folder(source: str) -> bool:
    return not _has_scheme(source) and Path(source).expanduser().is_dir()


def is_path(source: str) -> bool:
    """Any other path (a missing one is reported by the reader, naming the file)."""
    return not _has_scheme(source)


def load_trials(spec):
    from ..epochs import load_trials as load

    return load(spec)


def load_continuous(spec):
    from ..continuous import load_continuous as load

    return load(spec)


def load_demo(spec):
    from .. import demos

    demo = demos.get(spec.source.split(":", 1)[1].strip())
    return demo.build(spec) if demo.kind == "set" else load_trials(spec)


def open_recordings(source: str, **opts):
    from ..readers import open_source

    return open_source(source, **_recording_opts(opts))


def _recording_opts(opts: dict) -> dict:
    keep = ("data_path", "subjects", "sessions", "runs", "preload", "spec")
    return {k: v for k, v in opts.items() if k in keep}


def describe_recordings(source: str, **opts):
    from ..info import describe_recordings as describe

    return describe(source, **_recording_opts(opts))


def describe_set(source: str, **opts):
    from ..info import describe_set as describe

    return describe(source, data_path=opts.get("data_path"), subjects=opts.get("subjects"))


def describe_demo(source: str, **opts):
    from .. import demos

    if demos.get(source.split(":", 1)[1].strip()).kind == "set":
        return describe_set(source, **opts)
    return describe_recordings(source, **opts)


def open_demo(source: str, **opts):
    """A recording demo's simulated recordings; none for demos that build a set directly."""
    from .. import demos

    if demos.get(source.split(":", 1)[1].strip()).kind == "set":
        return []
    return open_recordings(source, **opts)
