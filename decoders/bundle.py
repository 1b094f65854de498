"""Decoder bundles: a folder (or one ``.zip``) holding ``manifest.json`` and ``weights.safetensors``.

The manifest says what the decoder is (name, parameters, task), what input it expects
(channels, sampling rate, window, preprocessing, class or target names), how well it did
(metrics) and which library versions made it. Weights are plain arrays in safetensors.
Loading never unpickles anything; a missing, corrupt or foreign bundle raises `BundleError`
naming the file and the problem.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from data.atomic import atomic_path
from data.errors import InputError

FORMAT = "neurodeck-decoder-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
WEIGHTS = "weights.safetensors"


class BundleError(InputError):
    """A bundle is missing, corrupt, from a newer NeuroDeck, or not a NeuroDeck bundle."""


def save_bundle(decoder, path: str | Path, *, input_spec: dict[str, Any],
                metrics: dict[str, Any] | None = None) -> Path:
    """Write a fitted decoder to ``path`` (a folder, or a single file if it ends in ``.zip``).

    ``input_spec``: ch_names, sfreq, window, preprocessing steps, class_names or
    target_names (whatever the data layer knows). The bundle is written beside the target
    and moved into place at the end, so an interrupted save never leaves half a bundle.
    """
    from safetensors.numpy import save as save_tensors

    path = Path(path)
    arrays, extra = decoder.get_state()
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    bad = [k for k, v in arrays.items() if v.dtype.kind not in "biuf"]
    if bad:
        raise TypeError(f"{decoder.name}: state arrays must be numeric, not {bad}")
    weights = save_tensors(arrays)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "decoder": decoder.name,
        "task": decoder.task.value,
        "params": decoder.validated_params().model_dump(mode="json"),
        "input": _jsonable(input_spec),
        "metrics": _jsonable(metrics or {}),
        "state": _jsonable(extra),
        "weights": {"file": WEIGHTS, "sha256": hashlib.sha256(weights).hexdigest(),
                    "arrays": {k: {"dtype": v.dtype.str, "shape": list(v.shape)} for k, v in arrays.items()}},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": library_versions(),
    }
    text = json.dumps(manifest, indent=2, allow_nan=False)
    if path.suffix.lower() == ".zip":
        with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(MANIFEST, text)
            zf.writestr(WEIGHTS, weights)
        return path
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.mkdir(parents=True)
        (tmp / MANIFEST).write_text(text, encoding="utf-8")
        (tmp / WEIGHTS).write_bytes(weights)
        _replace_folder(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of a bundle, checked for format and version (weights not read)."""
    manifest, _ = _read(Path(path), weights=False)
    return manifest


def load_bundle(path: str | Path):
    """Load ``(decoder, manifest)`` from a bundle folder or zip; raises `BundleError`."""
    from . import registry

    path = Path(path)
    manifest, raw = _read(path, weights=True)
    from safetensors.numpy import load as load_tensors

    if hashlib.sha256(raw).hexdigest() != manifest["weights"].get("sha256"):
        raise BundleError(f"{WEIGHTS} does not match its checksum in the manifest (the file is corrupt or was changed).", path)
    try:
        arrays = load_tensors(raw)
    except Exception as exc:  # safetensors raises its own error types
        raise BundleError(f"{WEIGHTS} cannot be read: {exc}", path) from None
    try:
        cls = registry.get(manifest["decoder"])
    except InputError:
        raise BundleError(f"the bundle's decoder '{manifest['decoder']}' is not available in this NeuroDeck.", path) from None
    try:
        decoder = cls(**manifest["params"])   # (the class maps renamed_params of older bundles)
        decoder.validated_params()
        decoder.set_state(arrays, manifest.get("state", {}))
    except InputError as exc:
        raise BundleError(f"the bundle's parameters or state do not fit {cls.name}: {exc}", path) from None
    except (KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise BundleError(f"the bundle's weights do not fit {cls.name} ({type(exc).__name__}: {exc}).", path) from None
    return decoder, manifest


def library_versions() -> dict[str, str]:
    """Versions of the libraries a bundle's weights depend on (those already imported)."""
    out = {"python": platform.python_version()}
    for name in ("neurodeck", "numpy", "scipy", "sklearn", "torch", "mne", "pyriemann", "safetensors"):
        module = sys.modules.get(name)
        if name == "neurodeck":
            try:
                from importlib.metadata import version
                out[name] = version("neurodeck")
            except Exception:
                pass
        elif module is not None and hasattr(module, "__version__"):
            out[name] = str(module.__version__)
    return out


# ----------------------------------------------------------------------------- helpers
def _read(path: Path, weights: bool) -> tuple[dict[str, Any], bytes | None]:
    if not path.exists():
        raise BundleError("no such bundle (folder or .zip).", path)
    try:
        if path.is_dir():
            files = {p.name for p in path.iterdir()}
            if MANIFEST not in files:
                raise BundleError(f"not a NeuroDeck bundle: {MANIFEST} is missing.", path)
            text = (path / MANIFEST).read_text(encoding="utf-8")
            raw_of = lambda name: (path / name).read_bytes() if name in files else None  # noqa: E731
            manifest = _parse(text, path)
            raw = raw_of(manifest["weights"]["file"]) if weights else None
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
                if MANIFEST not in names:
                    raise BundleError(f"not a NeuroDeck bundle: the zip has no {MANIFEST}.", path)
                manifest = _parse(zf.read(MANIFEST).decode("utf-8"), path)
                name = manifest["weights"]["file"]
                raw = zf.read(name) if weights and name in names else None
        else:
            raise BundleError("not a NeuroDeck bundle: expected a bundle folder or a .zip file.", path)
    except BundleError:
        raise
    except (OSError, UnicodeDecodeError, zipfile.BadZipFile, KeyError) as exc:
        raise BundleError(f"the bundle cannot be read ({type(exc).__name__}: {exc}).", path) from None
    if weights and raw is None:
        raise BundleError(f"{manifest['weights']['file']} is missing from the bundle.", path)
    return manifest, raw


def _parse(text: str, path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BundleError(f"{MANIFEST} is not valid JSON ({exc}).", path) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"not a NeuroDeck bundle: {MANIFEST} does not say format '{FORMAT}'.", path)
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise BundleError(f"bundle format version {version} is newer than this NeuroDeck reads ({FORMAT_VERSION}).",
                          path, hint="Update NeuroDeck.")
    missing = [k for k in ("decoder", "params", "weights") if k not in manifest]
    if missing or not isinstance(manifest.get("weights"), dict) or "file" not in manifest["weights"]:
        raise BundleError(f"{MANIFEST} lacks {', '.join(missing) or 'weights.file'}.", path)
    name = manifest["weights"]["file"]
    if not isinstance(name, str) or "/" in name or "\\" in name or name.startswith("."):
        raise BundleError(f"{MANIFEST} names an unsafe weights file {name!r}.", path)
    return manifest


def _replace_folder(tmp: Path, path: Path) -> None:
    """Move a finished folder into place; an old bundle there is removed only afterwards."""
    if path.exists() and not path.is_dir():
        raise BundleError("exists and is not a bundle folder; not overwriting it.", path)
    old = None
    if path.exists():
        if not (path / MANIFEST).exists():
            if any(path.iterdir()):
                raise BundleError("exists, is not empty and is not a bundle; not overwriting it.", path)
            path.rmdir()
        else:
            old = path.with_name(f".{path.name}.{os.getpid()}.old")
            os.replace(path, old)
    os.replace(tmp, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _jsonable(value: Any) -> Any:
    """Numpy scalars / arrays / paths / tuples -> plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value
