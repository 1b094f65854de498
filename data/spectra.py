"""Class-wise summaries of trials (ERD/ERS, PSD per class, signed r², scalp map of the best band) for the epochs view, the CLI and reports (NumPy/SciPy; MNE/matplotlib for the scalp map; no Qt).

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


def r2_band_topography(r2, freqs, info=None, ch_names=None, band: tuple[float, float] | None = None,
                       half_width: float = 2.0):
    """The signed r² of each channel averaged over the most discriminative band.

    ``r2`` (n_ch, n_freqs) and ``freqs`` as `signed_r2` returns them. ``band`` defaults to the
    strongest |r²| frequency ± ``half_width`` Hz (clipped to ``freqs``). Returns
    ``(band, values, positioned)``: the band in Hz, the mean r² of every row of ``r2`` in it,
    and the names of ``ch_names`` (the rows of ``r2``) that ``info`` has a scalp position for,
    empty without an info.
    """
    r2 = np.asarray(r2, float)
    freqs = np.asarray(freqs, float)
    if band is None:
        peak = float(freqs[np.unravel_index(np.nanargmax(np.abs(r2)), r2.shape)[1]])
        band = (max(peak - half_width, float(freqs[0])), min(peak + half_width, float(freqs[-1])))
    low, high = float(band[0]), float(band[1])
    inside = (freqs >= low) & (freqs <= high)
    if not inside.any():  # a band narrower than the frequency step: the nearest bin
        inside = np.zeros(len(freqs), bool)
        inside[np.argmin(np.abs(freqs - (low + high) / 2))] = True
    values = np.nanmean(r2[:, inside], axis=1)
    return (low, high), values, channels_with_positions(info, ch_names)


def channels_with_positions(info, ch_names=None) -> list[str]:
    """Those of ``ch_names`` (all of ``info``'s by default) that have a 3-D position in ``info``."""
    if info is None:
        return []
    by_name = {ch["ch_name"]: ch for ch in info["chs"]}
    names = list(ch_names) if ch_names is not None else list(by_name)
    placed = []
    for name in names:
        ch = by_name.get(name)
        if ch is None:
            continue
        loc = np.asarray(ch["loc"][:3], float)
        if np.all(np.isfinite(loc)) and np.any(loc != 0):
            placed.append(name)
    return placed


def topomap_png(values, ch_names, info, band: tuple[float, float], *, background: str = "white",
                foreground: str = "black", size_px: tuple[int, int] = (300, 340), dpi: int = 100) -> bytes:
    """A scalp map (MNE, matplotlib Agg) of ``values`` (one per ``ch_names``) as PNG bytes.

    Only channels with a position in ``info`` are drawn (at least three are needed, else
    ValueError); the colour scale is symmetric around 0, red positive, blue negative.
    """
    import io

    import mne
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    placed = channels_with_positions(info, ch_names)
    if len(placed) < 3:
        raise ValueError("fewer than three channels have scalp positions")
    index = {name: i for i, name in enumerate(ch_names)}
    data = np.array([values[index[name]] for name in placed], float)
    picked = mne.pick_info(info, [info["ch_names"].index(name) for name in placed])
    limit = float(np.nanmax(np.abs(data))) or 1.0

    fig = Figure(figsize=(size_px[0] / dpi, size_px[1] / dpi), dpi=dpi, facecolor=background)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.04, 0.16, 0.92, 0.72))
    ax.set_facecolor(background)
    image, _ = mne.viz.plot_topomap(data, picked, axes=ax, cmap="RdBu_r", vlim=(-limit, limit), show=False,
                                    contours=0, sensors=True, outlines="head")
    for line in ax.lines:  # head outline, nose and ears in the theme's foreground
        line.set_color(foreground)
    ax.set_title(f"signed r², {band[0]:g}–{band[1]:g} Hz", color=foreground, fontsize=10)
    cax = fig.add_axes((0.18, 0.08, 0.64, 0.035))
    bar = fig.colorbar(image, cax=cax, orientation="horizontal")
    bar.set_ticks([-limit, 0, limit])
    bar.ax.set_xticklabels([f"{-limit:+.2f}", "0", f"{limit:+.2f}"])
    bar.ax.tick_params(colors=foreground, labelsize=8)
    bar.outline.set_edgecolor(foreground)
    out = io.BytesIO()
    fig.savefig(out, format="png", facecolor=background)
    return out.getvalue()
