"""What the fMRI panes of the Data view draw, computed without Qt: a subject's ROI
connectivity matrix, the group difference of mean connectivity between two classes, axial
slices of a NIfTI set's mean volume with its mask or atlas, and for stimulus-pair sets the
distinct stimulus images, the voxels each subject has and the size of each split."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..decoding_set import DecodingSet
from ..errors import DataError

NIFTI_SUFFIXES = (".nii", ".nii.gz")


def nifti_image(data: DecodingSet) -> str | None:
    """The first NIfTI image the set was read from (its provenance), None when there is none
    (a simulated or a stimulus-pair set)."""
    files = data.provenance.get("files") or []
    return next((str(f) for f in files if str(f).lower().endswith(NIFTI_SUFFIXES)), None)


def has_stimulus_images(data: DecodingSet) -> bool:
    """True when each sample carries the image shown (``stimuli`` of shape (n, H, W[, C]));
    ERP sets keep stimulus codes there instead, (n, 3)."""
    return data.stimuli is not None and np.ndim(data.stimuli) >= 3


def distinct_stimuli(data: DecodingSet, limit: int = 24) -> tuple[np.ndarray, list[str]]:
    """Up to ``limit`` distinct stimulus images in order of first appearance, and a caption
    for each (its class when labelled, else how many samples showed it)."""
    if not has_stimulus_images(data):
        raise DataError("this set holds no stimulus images.")
    flat = np.ascontiguousarray(np.asarray(data.stimuli).reshape(len(data.stimuli), -1))
    _, first, counts = np.unique(flat.view(np.dtype((np.void, flat.dtype.itemsize * flat.shape[1]))),
                                 return_index=True, return_counts=True)
    order = np.argsort(first)[:limit]
    picks, counts = first[order], counts[order]
    captions = []
    for index, count in zip(picks, counts):
        label = ""
        if data.y is not None and data.class_names and np.ndim(data.y) == 1:
            label = data.class_names[int(data.y[index])]
        captions.append(label or (f"shown {int(count)}×" if count > 1 else "shown once"))
    return np.asarray(data.stimuli)[picks], captions


def voxels_per_subject(data: DecodingSet) -> dict[str, int]:
    """Features (voxels) each subject has: columns not NaN in its samples (subjects with fewer
    voxels are NaN-padded in a stacked set)."""
    X = np.asarray(data.X)
    out = {}
    for subject in data.subjects:
        rows = X[data.subject == subject].reshape(int((data.subject == subject).sum()), -1)
        out[subject] = int((~np.isnan(rows).all(axis=0)).sum()) if np.issubdtype(rows.dtype, np.floating) \
            else rows.shape[1]
    return out


def split_sizes(data: DecodingSet) -> dict[str, int]:
    """Samples per split (the ``session`` of stimulus-pair sets: train, test)."""
    return {name: int((data.session == name).sum()) for name in dict.fromkeys(data.session.tolist())}


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

    params = next((s["params"] for s in data.provenance.get("steps", []) if s.get("name") == "nifti"), {})
    image = nifti_image(data)
    if image is None:
        raise DataError("not a NIfTI set: no image in its provenance (stimulus-pair and simulated "
                        "sets have no volumes to slice).")
    mean = np.asarray(read_image(Path(image), ndim=4).get_fdata(dtype=np.float32)).mean(axis=3)
    overlay_name = params.get("atlas") or params.get("mask")
    if not overlay_name:
        return _mosaic(mean), None, ""
    path = _resolve(overlay_name, _root(data.provenance.get("source", image)))
    overlay = np.asarray(read_image(path, ndim=3).dataobj, dtype=np.float64).reshape(mean.shape)
    return _mosaic(mean), _mosaic(overlay), path.name
