"""Output paths: those given on the command line, checked before any work starts, and the
default places of what is written without one (in the workspace, next to its run)."""
from __future__ import annotations

import os
from pathlib import Path

from data.errors import InputError


def check_output(path: str | Path, option: str, *, folder: bool = False) -> Path:
    """``path`` can be written as a file (or as a folder with ``folder=True``), or an
    InputError naming ``option`` and the path: its folder missing, under a file, read-only,
    or the path taken by the other kind of thing."""
    path = Path(path)
    if path.is_dir() and not folder:
        raise InputError(f"{option}: is a folder; give a file name.", path)
    if path.exists() and not path.is_dir() and folder:
        raise InputError(f"{option}: exists and is a file, not a folder.", path)
    parent = path.absolute().parent
    blocker = next((p for p in [parent, *parent.parents] if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise InputError(f"{option}: {blocker} is a file, so nothing can be written under it.", path)
    if not parent.is_dir() and not folder:
        raise InputError(f"{option}: the folder {parent} does not exist.", path)
    if blocker is not None and not os.access(blocker, os.W_OK | os.X_OK):
        raise InputError(f"{option}: the folder {blocker} is not writable.", path)
    return path


# --------------------------------------------------------------------------- default places
# What NeuroDeck writes without being told where goes into the workspace, next to the run it
# belongs to, never into the current folder (which may be the source tree).
EXPORTS = "exports"        # RUN/exports/: a run's exported decoders
SESSIONS = "sessions"      # WORKSPACE/sessions/: online sessions (settings.json, log.csv)
RECORDINGS = "recordings"  # WORKSPACE/recordings/: calibration recordings


def run_of(path: str | Path) -> Path | None:
    """The run folder ``path`` is (a folder with metrics.json) or whose bundle it is
    (``RUN/model``); None for a bundle outside any run."""
    path = Path(path).absolute()
    for folder in (path, path.parent):
        if folder.is_dir() and (folder / "metrics.json").is_file():
            return folder
    return None


def default_export_path(source: str | Path, suffix: str) -> Path:
    """Where `neurodeck export SOURCE` writes without ``--out``: ``RUN/exports/<run><suffix>``
    for a run folder or its ``model/`` bundle, ``exports/<bundle><suffix>`` beside any other
    bundle. The folder is created."""
    run = run_of(source)
    if run is not None:
        folder, stem = run / EXPORTS, run.name
    else:
        source = Path(source).absolute()
        folder, stem = source.parent / EXPORTS, source.name.removesuffix(".zip")
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{stem}{suffix}"


def session_folder(workspace: str | Path, bundle: str | Path) -> Path:
    """A new online session's folder: ``WORKSPACE/sessions/<time>-<run or bundle name>``
    (not created; `app.online.session.SessionLog` creates it)."""
    import time

    run = run_of(bundle)
    name = run.name if run is not None else Path(bundle).name.removesuffix(".zip")
    return Path(workspace) / SESSIONS / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}"


def recording_path(workspace: str | Path) -> Path:
    """A new calibration recording: ``WORKSPACE/recordings/calibration-<time>_raw.fif``."""
    import time

    return Path(workspace) / RECORDINGS / f"calibration-{time.strftime('%Y%m%d-%H%M%S')}_raw.fif"
