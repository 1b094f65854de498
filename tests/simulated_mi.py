"""Simulated motor-imagery trials with known structure, for decoder tests.

Two classes differ only in 10 Hz (mu) band power: class 0 attenuates it on channel 0
("C3"), class 1 on channel 1 ("C4"). Each subject mixes the sources with its own random
matrix and gain, so cross-subject transfer needs alignment.
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np


def simulate(n_subjects: int = 1, n_per_class: int = 40, n_chans: int = 8, sfreq: float = 100.0,
             seconds: float = 2.0, erd: float = 0.6, seed: int = 0):
    """Returns X (n, n_chans, n_times) float32, y (n,) int, subject (n,) str."""
    rng = np.random.default_rng(seed)
    n_times = int(seconds * sfreq)
    t = np.arange(n_times) / sfreq
    X, y, subj = [], [], []
    for s in range(n_subjects):
        mixing = np.eye(n_chans) + 0.3 * rng.standard_normal((n_chans, n_chans))
        gain = rng.uniform(0.5, 2.0)
        for label in (0, 1):
            for _ in range(n_per_class):
                sources = rng.standard_normal((n_chans, n_times))
                phase = rng.uniform(0, 2 * np.pi, n_chans)
                amp = np.full(n_chans, 2.0)
                amp[label] *= 1 - erd
                sources += amp[:, None] * np.sin(2 * np.pi * 10 * t[None] + phase[:, None])
                X.append(gain * mixing @ sources)
                y.append(label)
                subj.append(f"S{s + 1}")
    return np.asarray(X, np.float32), np.asarray(y), np.asarray(subj)


@contextmanager
def one_blas_thread():
    """Run BLAS/OpenMP on one thread, restoring the previous limits afterwards.

    On a small shared machine, two spinning BLAS/OpenMP threads per process slow small
    problems down ten-fold and more; one thread keeps the tests fast and steady.
    """
    import scipy.linalg  # noqa: F401 - load SciPy's own BLAS first, so the limit covers it
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@contextmanager
def one_thread():
    """`one_blas_thread`, and torch on one thread too (restored afterwards)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with one_blas_thread():
            yield
    finally:
        torch.set_num_threads(before)
