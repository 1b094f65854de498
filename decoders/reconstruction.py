"""What the reconstruction decoders (`mindbridge`, `ridge-images`) share: the PixCorr score,
and the checks of voxels, images and subject names."""
from __future__ import annotations

import numpy as np

from data.errors import InputError


class ReconstructionScore:
    """``score``: mean PixCorr of the reconstructions (``y`` or ``stimuli``: the true images)."""

    def score(self, X, y=None, *, stimuli=None, subject=None) -> float:
        from . import metrics

        images = stimuli if stimuli is not None else y
        if images is None:
            raise InputError(f"{self.name}.score: needs the true images (y or stimuli).")
        return metrics.pixcorr(images, self.predict(X, subject=subject))


def subject_array(subject, n: int) -> np.ndarray:
    """One subject name per sample (``None``: every sample is subject "1")."""
    if subject is None:
        return np.full(n, "1")
    subject = np.asarray(subject).astype(str)
    if subject.ndim == 0:
        return np.full(n, str(subject))
    if len(subject) != n:
        raise InputError(f"subject has {len(subject)} entries for {n} samples.")
    return subject


def inputs(X, y, stimuli, subject, where: str):
    """Voxels (n, n_voxels), images (n, H, W) and subject names, checked (stimuli may come as ``y``)."""
    if stimuli is None and y is not None and np.asarray(y).ndim == 3:
        stimuli = y
    if stimuli is None:
        raise InputError(f"mindbridge.{where}: needs the stimuli (images) shown, stimuli=(n, H, W).")
    X = np.asarray(X, np.float32)
    images = np.asarray(stimuli, np.float32)
    if X.ndim != 2 or images.ndim != 3 or len(X) != len(images):
        raise InputError(f"mindbridge.{where}: X must be (n, n_voxels) and stimuli (n, H, W); got "
                         f"{X.shape} and {images.shape}.")
    return X, images, subject_array(subject, len(X))


def voxel_count(block: np.ndarray, subject: str) -> int:
    """Columns up to the last one holding a value (the rest is padding of wider subjects)."""
    real = ~np.isnan(block).all(0)
    n = int(np.flatnonzero(real)[-1]) + 1 if real.any() else 0
    if n == 0 or np.isnan(block[:, :n]).any():
        raise InputError(f"subject '{subject}': voxels must be finite, with NaN only as trailing padding.")
    return n
