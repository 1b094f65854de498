"""What the fMRI panes of the Data view draw, computed without Qt: a subject's ROI
connectivity matrix, the group difference of mean connectivity between two classes, and
axial slices of a NIfTI set's mean volume with its mask or atlas."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..decoding_set import DecodingSet


def subject_connectivity(X: np.ndarray, index: int) -> np.ndarray:
    """(n_rois, n_rois) Pearson correlation of subject ``index`` of NaN-padded ROI series."""
    x = np.asarray(X[index], dtype=np.float64)
    x = x[:, ~np.isnan(x).any(axis=0)]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num(np.corrcoef(x))


def group_difference(data: DecodingSet, a: int = 0, b: int = 1) -> np.ndarray:
    """Mean Fisher-z connectivity of class ``a`` minus that of class ``b``."""
    if data.y is None or len(data.class_names) < 2:
        raise ValueError("a group difference needs two labelled classes")
    mean = []
    for c in (a, b):
        idx = np.flatnonzero(data.y == c)
        z = [np.arctanh(np.clip(subject_connectivity(data.X, i), -0.999999, 0.999999)) for i in idx]
        mean.append(np.mean(z, axis=0))
    diff = mean[0] - mean[1]
    np.fill_diagonal(diff, 0.0)
    return diff


def _mosaic(volume: np.ndarray, n_cols: int | None = None) -> np.ndarray:
    """Axial slices (last axis) side by side, rows of ``n_cols``: a 2-D image (x across, y up)."""
    n = volume.shape[2]
    n_cols = n_cols or int(np.ceil(np.sqrt(n)))
    n_rows = int(np.ceil(n / n_cols))
    sx, sy = volume.shape[:2]
    out = np.zeros((n_cols * sx, n_rows * sy), dtype=np.float64)
    for k in range(n):
        r, c = divmod(k, n_cols)
        out[c * sx:(c + 1) * sx, (n_rows - 1 - r) * sy:(n_rows - r) * sy] = volume[:, :, k]
    return out


def mean_volume_slices(data: DecodingSet) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Mosaic of the mean of the set's first image, the mosaic of its mask or atlas (None: none
    given) and the overlay's file name."""
    from .nifti import _resolve, _root, read_image

    files = data.provenance.get("files") or []
    params = next((s["params"] for s in data.provenance.get("steps", []) if s.get("name") == "nifti"), {})
    image = next((f for f in files if f.lower().endswith((".nii", ".nii.gz"))), None)
    if image is None:
        raise ValueError("not a NIfTI set: no image in its provenance")
    mean = np.asarray(read_image(Path(image), ndim=4).get_fdata(dtype=np.float32)).mean(axis=3)
    overlay_name = params.get("atlas") or params.get("mask")
    if not overlay_name:
        return _mosaic(mean), None, ""
    path = _resolve(overlay_name, _root(data.provenance.get("source", image)))
    overlay = np.asarray(read_image(path, ndim=3).dataobj, dtype=np.float64).reshape(mean.shape)
    return _mosaic(mean), _mosaic(overlay), path.name
