"""Windows of ROI series cut into segments, segment masks, and the masked-segment metrics
and baselines (ROI mean fill, linear interpolation across the masked segment)."""
from __future__ import annotations

import numpy as np


def zscore_valid(x: np.ndarray) -> np.ndarray:
    """(rois, time) with NaN padding dropped, each ROI z-scored (flat ROIs stay 0)."""
    x = x[:, ~np.isnan(x).any(axis=0)]
    sd = x.std(axis=1, keepdims=True)
    return ((x - x.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1)).astype(np.float32)


def segment_windows(X: np.ndarray, n_segments: int, seg_len: int, stride: int | None = None):
    """Every window of ``n_segments * seg_len`` time points of each subject (stride
    ``stride``, default one window length): (n_windows, rois, n_segments, seg_len) and the
    subject index of each window."""
    win = n_segments * seg_len
    stride = stride or win
    out, owner = [], []
    for i, x in enumerate(X):
        z = zscore_valid(x)
        if z.shape[1] < win:
            raise ValueError(f"subject {i} has {z.shape[1]} time points, fewer than a window of {win}")
        for start in range(0, z.shape[1] - win + 1, stride):
            out.append(z[:, start:start + win].reshape(z.shape[0], n_segments, seg_len))
            owner.append(i)
    return np.stack(out), np.array(owner)


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
