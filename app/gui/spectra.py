"""Class-wise summaries of trials for the epochs view (NumPy/SciPy only, no Qt).

Trials are ``X`` (n_trials, n_channels, n_times) with integer labels ``y``.
"""
from __future__ import annotations

import numpy as np


def welch(X: np.ndarray, sfreq: float, fmax: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Power spectral density of every trial and channel: freqs, (n_trials, n_ch, n_freqs)."""
    from scipy.signal import welch as _welch

    nperseg = int(min(X.shape[-1], round(sfreq)))  # 1 Hz resolution when the trial allows
    freqs, psd = _welch(X, fs=sfreq, nperseg=nperseg, axis=-1)
    keep = freqs <= (fmax if fmax is not None else sfreq / 2)
    return freqs[keep], psd[..., keep]


def psd_per_class(X, y, sfreq, fmax: float | None = 45.0):
    """Mean PSD of each class in dB: freqs, (n_classes, n_ch, n_freqs)."""
    freqs, psd = welch(X, sfreq, fmax)
    classes = np.unique(y)
    mean = np.stack([psd[y == c].mean(axis=0) for c in classes])
    return freqs, 10 * np.log10(np.maximum(mean, 1e-20))


def band_power_course(X, sfreq, band: tuple[float, float], smooth_s: float = 0.25) -> np.ndarray:
    """Instantaneous power in ``band`` (band-pass, square, moving average): like X."""
    from scipy.ndimage import uniform_filter1d
    from scipy.signal import butter, sosfiltfilt

    low, high = band
    high = min(high, 0.45 * sfreq)
    sos = butter(4, [low, high], btype="bandpass", fs=sfreq, output="sos")
    # A second of reflected padding keeps the filter's edge transients out of the trial.
    padlen = int(min(X.shape[-1] - 1, sfreq))
    power = sosfiltfilt(sos, X, axis=-1, padtype="even", padlen=padlen) ** 2
    width = max(1, int(round(smooth_s * sfreq)))
    return uniform_filter1d(power, width, axis=-1, mode="nearest")


def erd_ers(X, y, sfreq, band=(8.0, 13.0), times: np.ndarray | None = None):
    """Band power per class over time, in % change from a reference (ERD < 0 < ERS).

    The reference is the pre-event interval when the trials start before the event
    (times < 0), otherwise the mean over all trials and times of that channel, so the curves
    show how each class departs from the average. Returns (n_classes, n_ch, n_times), label.
    """
    power = band_power_course(X, sfreq, band)
    if times is not None and np.any(times < 0):
        reference = power[..., times < 0].mean(axis=(0, 2))
        label = "pre-event baseline"
    else:
        reference = power.mean(axis=(0, 2))
        label = "mean of all trials"
    classes = np.unique(y)
    course = np.stack([power[y == c].mean(axis=0) for c in classes])
    return 100.0 * (course / reference[None, :, None] - 1.0), label


def signed_r2(X, y, sfreq, fmax: float | None = 40.0, classes: tuple[int, int] = (0, 1)):
    """Signed r² between log power and the class (clinical BCI maps): freqs, (n_ch, n_freqs).

    Positive where class ``classes[1]`` has more power than ``classes[0]``.
    """
    first, second = classes
    pick = (y == first) | (y == second)
    freqs, psd = welch(X[pick], sfreq, fmax)
    feature = np.log(np.maximum(psd, 1e-30))
    label = (y[pick] == second).astype(float)
    f = feature - feature.mean(axis=0)
    lab = label - label.mean()
    r = (f * lab[:, None, None]).sum(axis=0) / np.sqrt((f ** 2).sum(axis=0) * (lab ** 2).sum() + 1e-30)
    return freqs, np.sign(r) * r ** 2
