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
import zlib
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from data.atomic import atomic_path
from data.errors import InputError

FORMAT = "neurodeck-decoder-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
WEIGHTS = "weights.safetensors"
MAX_MANIFEST_BYTES = 16 * 2**20     # limits on what a bundle may hold (zip bombs, huge manifests)
MAX_WEIGHTS_BYTES = 1024 * 2**20
_SAFETENSORS_DTYPES = {"F32": "<f4", "F64": "<f8", "I64": "<i8"}
_DTYPES = tuple(_SAFETENSORS_DTYPES.values())


class BundleError(InputError):
    """A bundle is missing, corrupt, from a newer NeuroDeck, or not a NeuroDeck bundle."""


def save_bundle(decoder, path: str | Path, *, input_spec: dict[str, Any],
                metrics: dict[str, Any] | None = None, provenance: dict[str, Any] | None = None) -> Path:
    """Write a fitted decoder to ``path`` (a folder, or a single file if it ends in ``.zip``).

    The bundle is written beside the target and moved into place at the end, so an
    interrupted save never leaves half a bundle.

    Parameters
    ----------
    decoder : Decoder
        A fitted decoder (its ``get_state`` gives the arrays and the JSON state).
    path : str or Path
        The bundle folder, or a ``.zip`` file; an existing one is replaced.
    input_spec : dict
        What the decoder expects: ch_names, sfreq, window, preprocessing steps, class_names
        or target_names (whatever the data layer knows).
    metrics : dict, optional
        How well it did (stored in the manifest).
    provenance : dict, optional
        The manifest of the bundle being re-exported: its ``created`` and ``versions`` (when
        the decoder was trained) are kept and this save is appended to ``exports``.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    TypeError
        A state array is not numeric.
    NotImplementedError
        The decoder cannot be saved (no ``get_state``).

    Examples
    --------
    >>> save_bundle(decoder, "runs/my-run/model", input_spec={"sfreq": 250.0})  # doctest: +SKIP
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
    if provenance is not None:   # an export: the trainer's provenance stays, the export's is added
        export = {"created": manifest["created"], "versions": manifest["versions"]}
        manifest.update(created=provenance.get("created"), versions=dict(provenance.get("versions") or {}),
                        exports=[*provenance.get("exports", []), export])
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
    """The manifest of a bundle, validated against `Manifest` (the weights are not read).

    Parameters
    ----------
    path : str or Path
        A bundle folder or ``.zip``.

    Returns
    -------
    dict

    Raises
    ------
    BundleError
        Missing, unreadable, too large, or not a valid manifest (naming the field).
    """
    manifest, _ = _read(Path(path), weights=False)
    return manifest


def load_bundle(path: str | Path):
    """Load a fitted decoder from a bundle folder or ``.zip``.

    Before any array is used: the manifest is validated (`Manifest`), the weights file's
    tensor table must equal the manifest's, and both must equal what the decoder's
    parameters and state imply (``Decoder.expected_tensors``); weights must be finite.
    Nothing is unpickled.

    Parameters
    ----------
    path : str or Path
        A bundle folder or ``.zip``.

    Returns
    -------
    decoder : Decoder
        The fitted decoder, ready to ``predict``.
    manifest : dict
        What it is, what input it expects, how well it did, which versions made it.

    Raises
    ------
    BundleError
        The bundle is missing, corrupt, from a newer NeuroDeck, names a decoder not
        registered here, or its weights do not fit the decoder.

    Examples
    --------
    >>> decoder, manifest = load_bundle("runs/my-run/model")  # doctest: +SKIP
    >>> decoder.predict(X)  # doctest: +SKIP
    """
    from . import registry

    path = Path(path)
    manifest, raw = _read(path, weights=True)
    if hashlib.sha256(raw).hexdigest() != manifest["weights"]["sha256"]:
        raise BundleError(f"{WEIGHTS} does not match its checksum in the manifest (the file is corrupt or was changed).", path)
    _check_tensor_table(_safetensors_header(raw, path), manifest["weights"]["arrays"], path, "the manifest's weights.arrays")
    try:
        cls = registry.get(manifest["decoder"])
    except InputError:
        raise BundleError(f"the bundle's decoder '{_excerpt(manifest['decoder'])}' is not available in this NeuroDeck.", path) from None
    extra = manifest["state"]
    try:
        decoder = cls(**manifest["params"])   # (the class maps renamed_params of older bundles)
        # JSON has no tuples: take the values back as the schema types them
        decoder.set_params(**dict(decoder.validated_params()))
        expected = decoder.expected_tensors(extra)
    except InputError as exc:
        raise BundleError(f"the bundle's parameters or state do not fit {cls.name}: {exc}", path) from None
    if expected is not None:
        _check_expected(manifest["weights"]["arrays"], expected, path, cls.name)
    from safetensors.numpy import load as load_tensors

    try:
        arrays = load_tensors(raw)
    except Exception as exc:  # safetensors raises its own error types
        raise BundleError(f"{WEIGHTS} cannot be read: {_excerpt(exc)}", path) from None
    bad = [k for k, v in arrays.items() if v.dtype.kind == "f" and not np.isfinite(v).all()]
    if bad:
        raise BundleError(f"{WEIGHTS}: array(s) {', '.join(bad[:5])} contain NaN or Inf.", path)
    try:
        decoder.set_state(arrays, extra)
    except InputError as exc:
        raise BundleError(f"the bundle's parameters or state do not fit {cls.name}: {exc}", path) from None
    except (KeyError, ValueError, TypeError, RuntimeError, IndexError, np.linalg.LinAlgError) as exc:
        raise BundleError(f"the bundle's weights do not fit {cls.name} ({type(exc).__name__}: {_excerpt(exc)}).", path) from None
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


# ----------------------------------------------------------------------------- manifest schema
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ArraySpec(_Strict):
    dtype: Literal[tuple(_DTYPES)]
    shape: list[Annotated[int, Field(ge=0)]] = Field(max_length=8)


class WeightsSpec(_Strict):
    file: str = Field(pattern=r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$")   # a plain name inside the bundle
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    arrays: dict[str, ArraySpec] = Field(max_length=10_000)


class InputSpec(BaseModel):
    """What the decoder expects as input: the fields predict and online read, typed."""

    model_config = ConfigDict(extra="allow")
    kind: str | None = None
    ch_names: list[str] | None = None
    sfreq: float | None = Field(None, gt=0, le=100_000, allow_inf_nan=False)   # the readers' MAX_SFREQ
    window: list[float] | None = Field(None, min_length=2, max_length=2)
    baseline: list[float | None] | None = Field(None, min_length=2, max_length=2)
    class_names: list[str | int | float | bool] | None = None
    target_names: list[str] | None = None
    shape: list[Annotated[int, Field(ge=1)]] | None = Field(None, max_length=8)
    preprocessing: dict[str, Any] | list[Any] | None = None
    continuous: dict[str, Any] | None = None
    events: dict[str, Any] | list[Any] | None = None
    training_digests: list[str] | None = None


class Manifest(BaseModel):
    """The typed schema of ``manifest.json`` (unknown top-level keys of newer writers are kept)."""

    model_config = ConfigDict(extra="allow", strict=True)
    format: Literal[FORMAT]
    format_version: int = Field(ge=1)
    decoder: str = Field(min_length=1, max_length=200)
    task: str | None = None
    params: dict[str, Any]
    input: InputSpec = Field(default_factory=InputSpec)
    metrics: dict[str, Any] = {}
    state: dict[str, Any] = {}
    weights: WeightsSpec
    created: str | None = None
    versions: dict[str, str] = {}
    exports: list[dict[str, Any]] = []   # one {created, versions} per re-export, oldest first


# ----------------------------------------------------------------------------- helpers
def _read(path: Path, weights: bool) -> tuple[dict[str, Any], bytes | None]:
    """(validated manifest, raw weights or None); every member read with a size limit."""
    if not path.exists():
        raise BundleError("no such bundle (folder or .zip).", path)
    try:
        if path.is_dir():
            files = {p.name for p in path.iterdir()}
            if MANIFEST not in files:
                raise BundleError(f"not a NeuroDeck bundle: {MANIFEST} is missing.", path)
            manifest = _parse(_read_file(path / MANIFEST, MAX_MANIFEST_BYTES, path), path)
            name = manifest["weights"]["file"]
            raw = _read_file(path / name, MAX_WEIGHTS_BYTES, path) if weights and name in files else None
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
                if MANIFEST not in names:
                    raise BundleError(f"not a NeuroDeck bundle: the zip has no {MANIFEST}.", path)
                manifest = _parse(_read_member(zf, MANIFEST, MAX_MANIFEST_BYTES, path), path)
                name = manifest["weights"]["file"]
                raw = _read_member(zf, name, MAX_WEIGHTS_BYTES, path) if weights and name in names else None
        else:
            raise BundleError("not a NeuroDeck bundle: expected a bundle folder or a .zip file.", path)
    except BundleError:
        raise
    except PermissionError:
        raise BundleError("cannot read the bundle: permission denied.", path) from None
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError,
            RuntimeError, KeyError) as exc:   # corrupt or encrypted members, unknown compression
        raise BundleError(f"not a readable bundle ({type(exc).__name__}: {_excerpt(exc)}).", path) from None
    if weights and raw is None:
        raise BundleError(f"{manifest['weights']['file']} is missing from the bundle.", path)
    return manifest, raw


def _read_file(file: Path, limit: int, bundle: Path) -> bytes:
    if not file.is_file():   # a FIFO or device would block or never end: regular files only
        raise BundleError(f"{file.name} is not a regular file.", bundle)
    if file.stat().st_size > limit:
        raise BundleError(f"{file.name} is larger than a bundle may hold ({_mib(limit)}).", bundle)
    with open(file, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise BundleError(f"{file.name} is larger than a bundle may hold ({_mib(limit)}).", bundle)
    return data


def _read_member(zf: zipfile.ZipFile, name: str, limit: int, bundle: Path) -> bytes:
    """A zip member, refused when its declared or its actual (decompressed) size exceeds ``limit``."""
    if zf.getinfo(name).file_size > limit:
        raise BundleError(f"{name} in the zip is larger than a bundle may hold ({_mib(limit)}).", bundle)
    with zf.open(name) as fh:
        data = fh.read(limit + 1)   # the declared size can lie: read at most limit + 1 bytes
    if len(data) > limit:
        raise BundleError(f"{name} in the zip is larger than a bundle may hold ({_mib(limit)}).", bundle)
    return data


def _parse(raw: bytes, path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BundleError(f"{MANIFEST} is not valid JSON ({_excerpt(exc)}).", path) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"not a NeuroDeck bundle: {MANIFEST} does not say format '{FORMAT}'.", path)
    version = manifest.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise BundleError(f"bundle format version {version} is newer than this NeuroDeck reads ({FORMAT_VERSION}).",
                          path, hint="Update NeuroDeck.")
    name = manifest["weights"].get("file") if isinstance(manifest.get("weights"), dict) else None
    if isinstance(name, str) and ("/" in name or "\\" in name or name.startswith(".")):
        raise BundleError(f"{MANIFEST} names an unsafe weights file {_excerpt(name)!r}.", path)
    try:
        typed = Manifest.model_validate(manifest)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise BundleError(f"{MANIFEST}: field '{_excerpt(where)}': {err['msg']}"
                          f" (got {_excerpt(err.get('input'))}).", path) from None
    if typed.task == "classification" and typed.input.class_names == []:
        raise BundleError(f"{MANIFEST}: field 'input.class_names' is empty; a classification decoder "
                          "needs the names of its classes.", path)
    return manifest


def _safetensors_header(raw: bytes, path: Path) -> dict[str, ArraySpec]:
    """The tensor table of a safetensors file ({name: dtype, shape}), read without loading arrays."""
    try:
        n = int.from_bytes(raw[:8], "little")
        if len(raw) < 8 or n > min(len(raw) - 8, MAX_MANIFEST_BYTES):
            raise ValueError("bad header length")
        header = json.loads(raw[8:8 + n].decode("utf-8"))
        header.pop("__metadata__", None)
        table = {}
        for name, entry in header.items():
            dtype = _SAFETENSORS_DTYPES.get(entry["dtype"])
            if dtype is None:
                raise BundleError(f"{WEIGHTS}: array '{_excerpt(name)}' has dtype {_excerpt(entry['dtype'])}; "
                                  "bundles hold float32/float64 (and int64 counters) only.", path)
            table[name] = ArraySpec(dtype=dtype, shape=list(entry["shape"]))
        return table
    except BundleError:
        raise
    except Exception as exc:  # noqa: BLE001 - any malformed header is a corrupt file
        raise BundleError(f"{WEIGHTS} is not a readable safetensors file ({type(exc).__name__}).", path) from None


def _check_tensor_table(table: dict[str, ArraySpec], manifest_arrays: dict[str, ArraySpec | dict], path: Path,
                        what: str) -> None:
    listed = {k: v if isinstance(v, ArraySpec) else ArraySpec(**v) for k, v in manifest_arrays.items()}
    missing, extra = sorted(set(listed) - set(table)), sorted(set(table) - set(listed))
    if missing or extra:
        raise BundleError(f"{WEIGHTS} and {what} list different arrays (only in the manifest: "
                          f"{_excerpt(missing)}; only in the file: {_excerpt(extra)}).", path)
    for name, spec in listed.items():
        if spec != table[name]:
            raise BundleError(f"array '{name}': {what} says {spec.dtype} {tuple(spec.shape)}, "
                              f"{WEIGHTS} holds {table[name].dtype} {tuple(table[name].shape)}.", path)


def _check_expected(arrays: dict[str, dict], expected: dict, path: Path, decoder: str) -> None:
    """The arrays against the names, shapes and dtypes the decoder's parameters imply."""
    missing, extra = sorted(set(expected) - set(arrays)), sorted(set(arrays) - set(expected))
    if missing or extra:
        raise BundleError(f"the weights do not fit {decoder}'s parameters: missing arrays {_excerpt(missing)}, "
                          f"unexpected arrays {_excerpt(extra)}.", path)
    for name, spec in expected.items():
        got = arrays[name]
        shape_ok = len(got["shape"]) == len(spec.shape) and all(
            want is None or want == have for want, have in zip(spec.shape, got["shape"]))
        if not shape_ok or got["dtype"] not in spec.dtypes:
            want = tuple("any" if d is None else d for d in spec.shape)
            raise BundleError(f"the weights do not fit {decoder}'s parameters: array '{name}' is {got['dtype']} "
                              f"{tuple(got['shape'])}, the parameters and state imply {'/'.join(spec.dtypes)} {want}.",
                              path)


def _excerpt(value: Any, limit: int = 80) -> str:
    """A short quote of user input for a message (never the whole of it)."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


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
