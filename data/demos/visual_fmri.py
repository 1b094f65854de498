"""Simulated visual fMRI (`demo:visual-fmri`): several subjects with different voxel counts
seeing the same kind of images, so cross-subject transfer has a ground truth.

Images are scikit-learn's 8x8 handwritten digits upsampled to 28x28 (values 0-1). Each voxel
of subject s has a Gaussian receptive field (centre uniform in the image, width 1.5-4 px);
its response to an image is ``gain * <rf, image> + noise`` (noise sd ``NOISE`` times the
response sd), like a population receptive-field model of early visual cortex. Voxels are
ordered by receptive-field position (rows, then columns), as real voxels are ordered in
space, so neighbouring voxels see neighbouring pixels. Subjects differ in voxel count,
receptive fields, gains and noise.
"""
from __future__ import annotations

import numpy as np

from ..stimuli import combine_subjects

SUBJECT_VOXELS = {"A": 700, "B": 500, "C": 350}
SAMPLES = {"A": 300, "B": 300, "C": 300}
TEST_SAMPLES = 50           # the last ones of each subject are its "test" split
NOISE = 1.5
SIZE = 28


def digit_images(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 28, 28) digits in 0-1 drawn from scikit-learn's 1,797 8x8 digits."""
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    digits = load_digits().images / 16.0
    pick = digits[rng.choice(len(digits), n, replace=False)]
    big = np.stack([zoom(im, SIZE / 8, order=1) for im in pick])
    return np.clip(big, 0, 1).astype(np.float32)


def receptive_fields(n_voxels: int, rng: np.random.Generator) -> np.ndarray:
    """(n_voxels, 28*28) Gaussian receptive fields ordered by centre (row, then column)."""
    centre = rng.uniform(2, SIZE - 3, size=(n_voxels, 2))
    centre = centre[np.lexsort((centre[:, 1], np.floor(centre[:, 0] / 4)))]
    width = rng.uniform(1.5, 4.0, n_voxels)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    d2 = (yy[None] - centre[:, 0, None, None]) ** 2 + (xx[None] - centre[:, 1, None, None]) ** 2
    rf = np.exp(-d2 / (2 * width[:, None, None] ** 2))
    return (rf / rf.sum((1, 2), keepdims=True)).reshape(n_voxels, -1)


def simulate_subject(images: np.ndarray, n_voxels: int, rng: np.random.Generator,
                     noise: float = NOISE) -> np.ndarray:
    rf = receptive_fields(n_voxels, rng)
    gain = rng.uniform(0.5, 1.5, n_voxels)
    clean = images.reshape(len(images), -1) @ rf.T * gain
    sd = clean.std(0, keepdims=True) + 1e-6
    return (clean + noise * sd * rng.standard_normal(clean.shape)).astype(np.float32)


def simulate_set(spec):
    """A volumes `DecodingSet`: subjects A, B, C (700, 500, 350 voxels), 300 images each."""
    rng = np.random.default_rng(spec.seed)
    parts = {}
    for subject, n_vox in SUBJECT_VOXELS.items():
        n = SAMPLES[subject]
        images = digit_images(n, rng)
        X = simulate_subject(images, n_vox, rng)
        split = np.where(np.arange(n) < n - TEST_SAMPLES, "train", "test")
        parts[subject] = {"X": X, "stimuli": images, "y": None, "split": split}
    if spec.subjects:
        parts = {str(s): parts[str(s)] for s in spec.subjects if str(s) in parts}
    data = combine_subjects(parts, "demo:visual-fmri", [])
    data.provenance["simulation"] = {"seed": spec.seed, "noise": NOISE, "voxels": SUBJECT_VOXELS}
    return data
