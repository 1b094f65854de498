"""Windows of ROI series cut into segments of a fixed duration, segment masks, and the
masked-segment metrics and baselines (ROI mean fill, linear interpolation across the gap).

A segment lasts ``seg_seconds`` (BrainMAE's tau, about 15 s): ``round(seg_seconds / TR)``
time points of that subject, resampled by linear interpolation to ``seg_points`` so that
subjects scanned at different TRs give tokens of one size. A window is ``n_segments``
consecutive segments of all ROIs.
"""
from __future__ import annotations

import numpy as np


def zscore_valid(x: np.ndarray) -> np.ndarray:
    """(rois, time) with NaN padding dropped, each ROI z-scored (flat ROIs stay 0)."""
    x = x[:, ~np.isnan(x).any(axis=0)]
    sd = x.std(axis=1, keepdims=True)
    return ((x - x.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1)).astype(np.float32)


def points_per_segment(seg_seconds: float, tr: float) -> int:
    """Time points of one segment at repetition time ``tr`` (at least 2)."""
    return max(2, int(round(seg_seconds / tr)))


def _resample_segments(seg: np.ndarray, n_points: int) -> np.ndarray:
    """(..., L) -> (..., n_points) by linear interpolation over the segment's span."""
    L = seg.shape[-1]
    if L == n_points:
        return seg
    pos = np.linspace(0, L - 1, n_points)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, L - 1)
    w = (pos - lo).astype(np.float32)
    return seg[..., lo] * (1 - w) + seg[..., hi] * w


def segment_windows(X, tr, *, n_segments: int, seg_seconds: float, seg_points: int,
                    stride_segments: int | None = None):
    """Every window of ``n_segments`` segments of each subject.

    ``X``: subjects (rois, time), NaN-padded allowed; ``tr``: one TR per subject (s).
    ``stride_segments``: window step in segments (default half a window, at least 1).
    Returns (n_windows, rois, n_segments, seg_points) float32 and each window's subject index.
    Raises ValueError naming a subject too short for one window.
    """
    stride = stride_segments or max(1, n_segments // 2)
    tr = np.broadcast_to(np.asarray(tr, dtype=float), (len(X),))
    out, owner = [], []
    for i, x in enumerate(X):
        z = zscore_valid(np.asarray(x, dtype=np.float32))
        L = points_per_segment(seg_seconds, tr[i])
        n_seg = z.shape[1] // L
        if n_seg < n_segments:
            raise ValueError(f"subject {i} has {z.shape[1]} time points ({z.shape[1] * tr[i]:.0f} s at TR "
                             f"{tr[i]:g} s), fewer than one window of {n_segments} x {seg_seconds:g} s segments")
        segs = _resample_segments(z[:, :n_seg * L].reshape(z.shape[0], n_seg, L), seg_points)
        for start in range(0, n_seg - n_segments + 1, stride):
            out.append(segs[:, start:start + n_segments])
            owner.append(i)
    return np.stack(out).astype(np.float32), np.array(owner)


def mask_segments(shape: tuple[int, int, int], ratio: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean (n, rois, n_segments): True where a whole ROI segment is hidden."""
    return rng.random(shape) < ratio


def baseline_fills(W: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    """Fill masked segments with each ROI's mean of its visible segments (``roi-mean``) or a
    straight line between the nearest visible time points either side (``linear``)."""
    n, r, s, L = W.shape
    flat = W.reshape(n, r, s * L)
    visible = np.repeat(~mask, L, axis=2)
    counts = visible.sum(axis=2, keepdims=True)
    mean = np.where(counts > 0, (flat * visible).sum(axis=2, keepdims=True) / np.maximum(counts, 1), 0)
    mean_fill = np.where(visible, flat, mean)
    lin = mean_fill.copy()
    t = np.arange(s * L)
    for i in range(n):
        for j in range(r):
            v = visible[i, j]
            if v.all() or not v.any():
                continue
            lin[i, j, ~v] = np.interp(t[~v], t[v], flat[i, j, v])
    return {"roi-mean": mean_fill.reshape(W.shape), "linear": lin.reshape(W.shape)}


def masked_r2(true: np.ndarray, pred: np.ndarray) -> float:
    """R^2 over masked values: 1 - SSE / total variance of the true masked values."""
    true, pred = np.ravel(true), np.ravel(pred)
    return float(1 - ((true - pred) ** 2).sum() / ((true - true.mean()) ** 2).sum())
