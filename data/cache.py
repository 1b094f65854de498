"""On-disk cache of preprocessed trials.

An entry is one ``.npz`` (`DecodingSet.save`, no pickles) named by a hash of the source
files (path, size, modification time) and every parameter of the spec that shapes the
result. Folder: ``$NEURODECK_CACHE``, default ``~/.cache/neurodeck``. Writes are atomic; an
entry that cannot be read is deleted and rebuilt.
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

from .decoding_set import DecodingSet

FORMAT_VERSION = 1  # bump when the trial-making code changes what it produces


def cache_dir() -> Path:
    return Path(os.environ.get("NEURODECK_CACHE") or Path.home() / ".cache" / "neurodeck")


def file_fingerprint(paths) -> list[list]:
    """(path, size, mtime_ns) of each file; folders (e.g. EGI .mff) contribute every file."""
    out = []
    for path in paths:
        path = Path(path)
        members = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for member in members:
            try:
                st = member.stat()
                out.append([str(member.resolve()), st.st_size, st.st_mtime_ns])
            except OSError:
                out.append([str(member), None, None])
    return out


def key_for(params: dict, files: list[list]) -> str:
    text = json.dumps({"version": FORMAT_VERSION, "params": params, "files": files},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def load(key: str) -> DecodingSet | None:
    """The cached set for ``key``, or None (a damaged entry is removed)."""
    path = cache_dir() / f"trials-{key}.npz"
    if not path.is_file():
        return None
    try:
        return DecodingSet.load(path)
    except Exception as exc:  # noqa: BLE001 - any damage means: rebuild
        warnings.warn(f"{path}: damaged cache entry ignored and rebuilt ({type(exc).__name__}).",
                      stacklevel=2)
        try:
            path.unlink()
        except OSError:
            pass
        return None


def store(key: str, data: DecodingSet) -> Path | None:
    """Write atomically; a cache that cannot be written only costs speed (warns)."""
    folder = cache_dir()
    final = folder / f"trials-{key}.npz"
    try:
        data.save(final)  # atomic: a reader never sees half an entry
        return final
    except OSError as exc:
        warnings.warn(f"{folder}: cannot write the trial cache ({exc}).", stacklevel=2)
        return None
