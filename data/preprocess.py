"""Preprocessing of continuous recordings (MNE Raw) and of trial arrays.

Raw steps run in the order of `Preprocessing`: channel picking, re-referencing, notch,
band-pass, resampling. Each returns a provenance step ``{"name": ..., "params": {...}}``.
Trial steps: Euclidean alignment per subject or session, and standardisation.
"""
from __future__ import annotations

import numpy as np

from .errors import BadSamplesError, DataError, InputError

# Stored units per channel type: voltages in µV, magnetometers in fT, gradiometers in fT/cm.
UNITS = {"mag": ("fT", 1e15), "grad": ("fT/cm", 1e13)}
VOLT_TYPES = {"eeg", "eog", "ecg", "emg", "seeg", "ecog", "dbs", "bio", "misc", "resp"}


def unit_of(ch_type: str) -> tuple[str, float]:
    """(unit name, factor from SI) for a channel type."""
    if ch_type in UNITS:
        return UNITS[ch_type]
    return ("uV", 1e6) if ch_type in VOLT_TYPES else ("SI", 1.0)


def pick_channels(raw, picks, path: str) -> dict:
    """Keep channel types ('eeg', 'meg', 'data', ...) or named channels; bad channels go."""
    bads = list(raw.info["bads"])
    try:
        raw.pick(picks, exclude="bads")
    except ValueError as exc:
        wanted = [picks] if isinstance(picks, str) else list(picks)
        missing = [p for p in wanted if p not in raw.ch_names and p not in _TYPE_NAMES]
        problem = (f"channel(s) {', '.join(missing)} not in the recording" if missing
                   else f"no channels match picks={picks!r}")
        types = sorted(set(raw.get_channel_types()))
        raise DataError(f"{problem}.", path,
                        hint=f"It has channel types {', '.join(types)}; set preprocessing.picks.") \
            from exc
    if len(raw.ch_names) == 0:
        raise DataError(f"no channels left after picks={picks!r} (bad channels excluded).", path)
    if isinstance(picks, list) and all(p in raw.ch_names for p in picks):
        raw.reorder_channels([p for p in picks if p in raw.ch_names])
    return {"name": "pick", "params": {"picks": picks, "excluded_bads": bads}}


_TYPE_NAMES = {"eeg", "meg", "mag", "grad", "data", "all", "eog", "ecg", "emg", "seeg", "ecog",
               "dbs", "misc", "stim", "bio", "fnirs"}


def check_finite(raw, path: str) -> None:
    """Refuse NaN or Inf samples, naming the channels that hold them."""
    data = raw.get_data()
    bad = ~np.isfinite(data)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        names = ", ".join(raw.ch_names[i] for i in rows[:8]) + (" ..." if len(rows) > 8 else "")
        raise BadSamplesError(f"{int(bad.sum())} NaN/Inf samples in channel(s) {names}.", path,
                              hint="Repair or interpolate them, or leave those channels out "
                                   "with preprocessing.picks.")


def rereference(raw, reference, path: str) -> dict:
    try:
        ref = "average" if reference == "average" else (
            [reference] if isinstance(reference, str) else list(reference))
        raw.set_eeg_reference(ref, projection=False, verbose="error")
    except (ValueError, RuntimeError) as exc:
        raise DataError(f"cannot re-reference to {reference!r}: {exc}", path) from exc
    return {"name": "reference", "params": {"reference": reference}}


def notch(raw, freqs, path: str) -> dict:
    freqs = [float(f) for f in np.atleast_1d(freqs)]
    nyquist = raw.info["sfreq"] / 2
    too_high = [f for f in freqs if f >= nyquist]
    if too_high:
        raise InputError(f"preprocessing.notch: {too_high} Hz is at or above the Nyquist "
                         f"frequency ({nyquist:g} Hz) of {path}.")
    raw.notch_filter(freqs, picks="all", verbose="error")
    return {"name": "notch", "params": {"freqs": freqs}}


def bandpass(raw, band, path: str) -> dict:
    low, high = band
    nyquist = raw.info["sfreq"] / 2
    if high is not None and high >= nyquist:
        raise InputError(f"preprocessing.band: high edge {high} Hz is at or above the Nyquist "
                         f"frequency ({nyquist:g} Hz) of {path}.")
    if low is not None and high is not None and low >= high:
        raise InputError(f"preprocessing.band: low edge {low} Hz is not below high edge {high} Hz.")
    if low is None and high is None:
        return {"name": "bandpass", "params": {"low": None, "high": None}}
    raw.filter(low, high, picks="all", verbose="error")
    return {"name": "bandpass", "params": {"low": low, "high": high, "method": "fir",
                                           "design": "firwin (MNE defaults)"}}


def resample(raw, sfreq: float) -> dict:
    old = raw.info["sfreq"]
    if abs(old - sfreq) > 1e-9:
        raw.resample(sfreq, verbose="error")
    return {"name": "resample", "params": {"from": old, "to": sfreq}}


def preprocess_raw(raw, pre, path: str, *, common_channels: list[str] | None = None) -> list[dict]:
    """Apply the raw-level steps of ``pre`` (a `Preprocessing`) in place; return the steps.

    Channel picking is expected to have happened already (so that channel sets can be
    compared across recordings first); ``common_channels`` restricts and orders channels.
    """
    steps = []
    if common_channels is not None and list(raw.ch_names) != list(common_channels):
        raw.pick(common_channels)
        raw.reorder_channels(common_channels)
    if pre.reference is not None:
        steps.append(rereference(raw, pre.reference, path))
    if pre.notch is not None:
        steps.append(notch(raw, pre.notch, path))
    if pre.band is not None:
        steps.append(bandpass(raw, pre.band, path))
    if pre.resample is not None:
        steps.append(resample(raw, pre.resample))
    return steps


# --------------------------------------------------------------------------- trials
def align(X: np.ndarray, subject: np.ndarray, session: np.ndarray, mode: str) -> np.ndarray:
    """Euclidean alignment per subject or per subject-and-session."""
    from .alignment import euclidean_alignment

    groups = subject if mode == "subject" else np.char.add(np.char.add(subject, "/"), session)
    return euclidean_alignment(X, groups)


def standardize(X: np.ndarray, subject: np.ndarray, mode: str) -> np.ndarray:
    """Per-channel z-score within each trial, or across all trials of each subject."""
    X = X.astype(np.float32, copy=True)
    if mode == "trial":
        mean = X.mean(axis=2, keepdims=True)
        std = X.std(axis=2, keepdims=True)
        return (X - mean) / np.maximum(std, 1e-12)
    for s in np.unique(subject):
        sel = subject == s
        mean = X[sel].mean(axis=(0, 2), keepdims=True)
        std = X[sel].std(axis=(0, 2), keepdims=True)
        X[sel] = (X[sel] - mean) / np.maximum(std, 1e-12)
    return X
