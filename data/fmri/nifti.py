"""4-D BOLD NIfTI images (``.nii``, ``.nii.gz``) as decoding samples (source kind ``nifti``).

A source is one image or a folder of images (``pattern``, one image per run). Features come
from nilearn's maskers: a label atlas image gives ROI time series (`NiftiLabelsMasker`), a
mask gives voxels (`NiftiMasker`; no mask: nilearn's background mask). Each run is detrended
and z-scored (`nilearn.signal.clean`). Per-volume labels come from a labels file (one line
per volume: ``label [chunk]``, e.g. Haxby's ``attributes_literal.txt``; the chunk is the run)
or from BIDS-style events files (``onset duration trial_type``) found next to each image.
Labels are shifted by ``hrf_delay`` seconds (the hemodynamic lag). A sample is one labelled
volume (``sample: volume``) or the mean of each block of consecutive equal labels
(``sample: block``). The set is ``trials`` with ``X`` (n_samples, n_features, 1), the run in
``run``; TR from the header unless ``tr`` is given (the set's ``tr``: that TR for every sample).
"""
from __future__ import annotations

import csv
import warnings
import zlib
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..decoding_set import DecodingSet
from ..errors import CorruptFileError, DataError, MissingFileError

SUFFIXES = (".nii", ".nii.gz")


class NiftiOptions(BaseModel):
    """How images become samples."""

    model_config = ConfigDict(extra="forbid")

    pattern: str = Field("**/*bold*.nii*", description="Glob of the BOLD images when the source is a folder (one run each).")
    mask: str | None = Field(None, description="Mask image (voxels); relative paths: to the source folder, then the working folder.")
    atlas: str | None = Field(None, description="Label atlas image (ROI series, one feature per label); instead of mask.")
    labels: str | None = Field(None, description="Per-volume labels file ('label [chunk]' per line); null: events files.")
    events: str = Field("*events.tsv", description="Glob of the events file next to each image (columns onset, duration, trial_type).")
    label_column: str = Field("trial_type", description="Events column holding the condition.")
    exclude: list[str] = Field(["rest"], description="Labels not used as samples (unlabelled volumes are always dropped).")
    tr: float | None = Field(None, gt=0, description="Repetition time in seconds; null: from the image header.")
    hrf_delay: float = Field(0.0, ge=0, description="Hemodynamic delay in seconds: labels are shifted this much later.")
    sample: Literal["volume", "block"] = Field("volume", description="One sample per labelled volume, or per block (mean).")
    detrend: bool = Field(True, description="Remove a linear trend from each run.")
    standardize: bool = Field(True, description="Z-score each feature within each run.")
    subject: str = Field("1", description="Subject name of the samples.")


# ---------------------------------------------------------------------------- detection
def _is_nifti(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".nii") or name.endswith(".nii.gz")


def is_nifti(source: str) -> bool:
    """A ``.nii``/``.nii.gz`` file, or a folder holding ``*bold*.nii*`` images."""
    if ":" in source and not Path(source).exists():
        return False
    path = Path(source).expanduser()
    if path.is_file():
        return _is_nifti(path)
    if path.is_dir():
        return next((p for p in path.rglob("*bold*.nii*") if _is_nifti(p)), None) is not None
    return False


# ---------------------------------------------------------------------------- reading
def _resolve(name: str, root: Path) -> Path:
    path = Path(name).expanduser()
    if path.is_absolute():
        return path
    return root / path if (root / path).exists() else path


def find_images(source: str | Path, opts: NiftiOptions) -> list[Path]:
    root = Path(source).expanduser()
    if root.is_file():
        return [root]
    if not root.exists():
        raise MissingFileError("file or folder not found.", path=root)
    images = sorted(p for p in root.glob(opts.pattern) if p.is_file() and _is_nifti(p))
    if not images:
        raise MissingFileError(f"no NIfTI images matching {opts.pattern!r}.", path=root)
    return images


def _root(source: str | Path) -> Path:
    path = Path(source).expanduser()
    return path.parent if path.is_file() else path


def read_image(path: Path, ndim: int | None = None):
    """The nibabel image at ``path`` (an unreadable file is a `CorruptFileError`)."""
    import nibabel as nib

    if not Path(path).exists():
        raise MissingFileError("file not found.", path=path)
    try:
        img = nib.load(str(path))
        img.header.get_data_shape()
    except Exception as exc:  # nibabel raises several types for damaged files
        raise CorruptFileError(f"cannot read NIfTI image: {exc}", path=path) from exc
    if ndim is not None and len(img.shape) != ndim and not (ndim == 3 and len(img.shape) == 4 and img.shape[3] == 1):
        what = "a 4-D BOLD series" if ndim == 4 else "a 3-D image"
        raise DataError(f"expected {what}, got shape {img.shape}.", path=path)
    return img


def header_tr(img) -> float | None:
    """TR in seconds from the header (None when missing)."""
    zooms = img.header.get_zooms()
    if len(zooms) < 4 or not zooms[3] or zooms[3] <= 0:
        return None
    unit = img.header.get_xyzt_units()[1]
    return float(zooms[3]) / 1000.0 if unit == "msec" else float(zooms[3])


def _check_space(ref, other, other_path: Path, what: str, img_path: Path) -> None:
    if tuple(other.shape[:3]) != tuple(ref.shape[:3]):
        raise DataError(f"{what} shape {tuple(other.shape[:3])} does not match the image "
                        f"{img_path.name} {tuple(ref.shape[:3])}.", path=other_path,
                        hint="Use an atlas or mask in the image's space (same grid).")
    if not np.allclose(other.affine, ref.affine, atol=1e-3):
        raise DataError(f"{what} affine does not match the image {img_path.name}.", path=other_path,
                        hint="Resample it to the image's grid first.")


def _read_labels_file(path: Path, n_volumes: int) -> tuple[list[str], list[str] | None]:
    if not path.exists():
        raise MissingFileError("labels file not found.", path=path)
    rows = [ln.split() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    if rows and rows[0][0].lower() in ("labels", "label", "targets"):
        rows = rows[1:]
    if len(rows) != n_volumes:
        raise DataError(f"{len(rows)} label lines for {n_volumes} volumes.", path=path,
                        hint="One line per volume: 'label [chunk]'.")
    labels = [r[0] for r in rows]
    chunks = [r[1] for r in rows] if all(len(r) > 1 for r in rows) else None
    return labels, chunks


def _events_file(image: Path, pattern: str) -> Path:
    stem = image.name[: -len(".nii.gz")] if image.name.lower().endswith(".nii.gz") else image.stem
    bids = image.with_name(stem.rsplit("_", 1)[0] + "_events.tsv") if "_" in stem else None
    if bids is not None and bids.exists():
        return bids
    found = sorted(image.parent.glob(pattern))
    if len(found) != 1:
        raise MissingFileError(f"{len(found)} events files matching {pattern!r} next to {image.name}.",
                               path=image.parent, hint="Give a labels file (options.labels) or one events file per image.")
    return found[0]


def events_to_volume_labels(path: Path, n_volumes: int, tr: float, column: str = "trial_type",
                            delay: float = 0.0) -> list[str | None]:
    """Label of each volume (None: no event) from an events table; blocks cover
    [onset, onset + duration), short events the volume nearest their onset; shifted by ``delay``."""
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        missing = {"onset", "duration", column} - set(reader.fieldnames or [])
        if missing:
            raise DataError(f"events file has no column(s) {sorted(missing)}.", path=path)
        rows = list(reader)
    labels: list[str | None] = [None] * n_volumes
    times = np.arange(n_volumes) * tr
    for row in rows:
        try:
            onset, duration = float(row["onset"]) + delay, float(row["duration"])
        except ValueError as exc:
            raise DataError(f"bad onset/duration {row['onset']!r}/{row['duration']!r}.", path=path) from exc
        hit = np.flatnonzero((times >= onset) & (times < onset + duration))
        if len(hit) == 0 and 0 <= round(onset / tr) < n_volumes:
            hit = [int(round(onset / tr))]
        for t in hit:
            labels[t] = row[column]
    return labels


def _shift(labels: list, steps: int) -> list:
    return ([None] * steps + list(labels))[: len(labels)] if steps > 0 else list(labels)


def _masker(opts: NiftiOptions, root: Path, ref, ref_path: Path):
    from nilearn.maskers import NiftiLabelsMasker, NiftiMasker

    if opts.atlas and opts.mask:
        raise DataError("give either an atlas or a mask, not both.", path=root)
    if opts.atlas:
        path = _resolve(opts.atlas, root)
        atlas = read_image(path, ndim=3)
        _check_space(ref, atlas, path, "atlas", ref_path)
        values = np.unique(np.asarray(atlas.dataobj))
        values = values[values != 0]
        if len(values) == 0:
            raise DataError("the atlas has no labels (all zero).", path=path)
        names = [f"roi{int(v)}" if float(v).is_integer() else f"roi{v}" for v in values]
        return NiftiLabelsMasker(labels_img=atlas, standardize=None), names, path, len(values)
    if opts.mask:
        path = _resolve(opts.mask, root)
        mask = read_image(path, ndim=3)
        _check_space(ref, mask, path, "mask", ref_path)
        data = np.asarray(mask.dataobj).reshape(mask.shape[:3])
        n = int((data != 0).sum())
        if n == 0:
            raise DataError("the mask is empty (no non-zero voxel).", path=path)
        ijk = np.argwhere(data != 0)
        names = [f"v{i}_{j}_{k}" for i, j, k in ijk]
        import nibabel as nib

        binary = nib.Nifti1Image((data != 0).astype(np.uint8), mask.affine)
        return NiftiMasker(mask_img=binary, standardize=None), names, path, n
    return NiftiMasker(standardize=None), None, None, None


def _check_voxels(img, path: Path) -> None:
    """Read the voxels (nibabel caches them for the masker) and refuse a truncated file or
    NaN / Inf values, counted by volume: they would empty the mask or reach the decoder."""
    try:
        values = img.get_fdata()
    except (OSError, EOFError, zlib.error, ValueError) as exc:   # data cut short or damaged
        raise CorruptFileError(f"cannot read NIfTI image: {type(exc).__name__}: {exc}", path=path) from exc
    bad = ~np.isfinite(values.reshape(-1, values.shape[-1]))
    if bad.any():
        volumes = np.flatnonzero(bad.any(axis=0))
        raise CorruptFileError(f"{int(bad.sum())} NaN or Inf values in {len(volumes)} of {bad.shape[1]} volumes "
                               f"(first: volume {volumes[0]}).", path=path,
                               hint="Fix or drop those volumes before decoding.")


def _constant(series: np.ndarray) -> np.ndarray:
    return ~(np.ptp(series, axis=0) > 0)


def load_nifti(source: str | Path, options: dict | None = None) -> DecodingSet:
    """Samples of every image of ``source`` with their labels and runs."""
    from nilearn.signal import clean

    opts = NiftiOptions(**(options or {}))
    root = _root(source)
    images = find_images(source, opts)
    first = read_image(images[0], ndim=4)
    masker, names, feature_file, _ = _masker(opts, root, first, images[0])
    runs, series_list, label_list, trs = [], [], [], []
    per_volume = None
    for i, path in enumerate(images):
        img = first if i == 0 else read_image(path, ndim=4)
        if i:
            _check_space(first, img, path, "image", images[0])
        tr = opts.tr or header_tr(img)
        if tr is None:
            raise DataError("the header has no TR.", path=path, hint="Set options.tr (seconds).")
        n_vol = img.shape[3]
        _check_voxels(img, path)
        try:
            series = masker.fit_transform(img) if i == 0 else masker.transform(img)
        except (ValueError, TypeError) as exc:
            raise DataError(f"cannot mask the image: {exc}", path=path) from exc
        series_list.append(np.asarray(series, dtype=np.float64))
        trs.append(tr)
        steps = int(round(opts.hrf_delay / tr))
        if opts.labels:
            lab_path = _resolve(opts.labels, root)
            labels, chunks = _read_labels_file(lab_path, n_vol)
            per_volume = (lab_path, labels, chunks)
            labels = _shift(labels, steps)
            run = chunks if chunks is not None else [path.parent.name if len(images) > 1 else "1"] * n_vol
        else:
            ev = _events_file(path, opts.events)
            labels = events_to_volume_labels(ev, n_vol, tr, opts.label_column, opts.hrf_delay)
            run = [path.parent.name if len(images) > 1 and path.parent != root else path.name] * n_vol
        label_list.append(labels)
        runs.append(np.asarray(run, dtype=str))
    if len(set(trs)) > 1:
        raise DataError(f"images have different TRs {sorted(set(trs))}.", path=root)
    raw = np.concatenate(series_list)
    run_all = np.concatenate(runs)
    labels_all = np.array([lab if lab is not None else "" for labels in label_list for lab in labels], dtype=object)
    names = names or [f"voxel{i + 1}" for i in range(raw.shape[1])]
    # constant features (in any run) carry nothing and cannot be z-scored: dropped, reported
    const = np.zeros(raw.shape[1], bool)
    for r in np.unique(run_all):
        const |= _constant(raw[run_all == r])
    warn_list = []
    if const.any():
        what = "ROIs" if opts.atlas else "voxels"
        msg = (f"{int(const.sum())} of {raw.shape[1]} {what} are constant (e.g. all zero) in at least one run "
               f"and were dropped: {', '.join(np.asarray(names)[const][:5])}{' ...' if const.sum() > 5 else ''}")
        warnings.warn(f"{images[0]}: {msg}", stacklevel=2)
        warn_list.append(msg)
        if const.all():
            raise DataError("every feature is constant: nothing to decode.", path=images[0])
    raw, names = raw[:, ~const], [n for n, c in zip(names, const) if not c]
    cleaned = np.empty_like(raw)
    for r in np.unique(run_all):
        idx = run_all == r
        cleaned[idx] = clean(raw[idx], detrend=opts.detrend,
                             standardize="zscore_sample" if opts.standardize else None)
    keep = (labels_all != "") & ~np.isin(labels_all, opts.exclude)
    if not keep.any():
        raise DataError("no labelled volumes (after excluding "
                        f"{opts.exclude}).", path=per_volume[0] if per_volume else images[0])
    X, y_lab, run_s = _samples(cleaned, labels_all, run_all, keep, opts.sample)
    class_names = sorted(set(y_lab))
    y = np.array([class_names.index(v) for v in y_lab])
    files = [str(p) for p in images] + ([str(per_volume[0])] if per_volume else [])
    return DecodingSet(
        X=X[:, :, None].astype(np.float32), y=y, kind="trials", modality="fmri",
        subject=np.full(len(y), opts.subject), session=np.full(len(y), "1"), run=run_s,
        sfreq=1.0 / trs[0], ch_names=list(names), ch_types=["misc"] * len(names), class_names=class_names,
        tr=np.full(len(y), trs[0], dtype=np.float64),
        provenance={"source": str(source), "files": files, "tr": trs[0], "warnings": warn_list,
                    "features": str(feature_file) if feature_file else "nilearn background mask",
                    "steps": [{"name": "nifti", "params": opts.model_dump()}]})


def _samples(data, labels, runs, keep, mode):
    if mode == "volume":
        return data[keep], list(labels[keep]), runs[keep]
    X, y, r = [], [], []
    start = None
    for t in range(len(labels) + 1):
        boundary = t == len(labels) or (start is not None and (labels[t] != labels[start] or runs[t] != runs[start]))
        if start is not None and boundary:
            X.append(data[start:t].mean(axis=0))
            y.append(labels[start])
            r.append(runs[start])
            start = None
        if t < len(labels) and keep[t] and start is None:
            start = t
    return np.array(X), y, np.array(r)


def load_spec(spec) -> DecodingSet:
    return load_nifti(spec.source, spec.options)


def describe_nifti(source: str, **opts) -> dict:
    """Volumes, shape, TR, features in the mask, labels and counts, runs."""
    o = NiftiOptions(**{k: v for k, v in opts.items() if k in NiftiOptions.model_fields and v is not None})
    images = find_images(source, o)
    first = read_image(images[0], ndim=4)
    info = {"source": str(source), "kind": "set", "data_kind": "trials", "modality": "fmri",
            "n_images": len(images), "image_shape": [int(s) for s in first.shape[:3]],
            "volumes": [int(read_image(p, ndim=4).shape[3]) for p in images],
            "tr": o.tr or header_tr(first), "voxel_size_mm": [float(z) for z in first.header.get_zooms()[:3]],
            "n_samples": 0, "shape": []}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            data = load_nifti(source, o.model_dump())
    except CorruptFileError:   # a damaged image is an input error, not a description
        raise
    except DataError as exc:
        info["samples"] = f"none: {exc}"
        return info
    counts = {name: int((data.y == i).sum()) for i, name in enumerate(data.class_names)}
    info.update({"n_samples": len(data), "shape": list(data.X.shape), "n_features": int(data.X.shape[1]),
                 "features": data.provenance["features"], "classes": counts,
                 "runs": sorted(set(data.run.tolist()), key=lambda r: (len(r), r)), "subjects": [o.subject],
                 "warnings": data.provenance["warnings"] + [str(w.message) for w in caught
                                                            if "constant" not in str(w.message)][:3]})
    return info
