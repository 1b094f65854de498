"""Output paths given on the command line, checked before any work starts."""
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
