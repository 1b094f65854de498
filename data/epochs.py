"""`load_trials`: recordings -> events -> epochs -> a trials `DecodingSet`.

Steps, each recorded in the provenance: open every recording of the source; check
sampling rates and channel sets across recordings; per recording: events (annotations or
stim channel), NaN/Inf check, channel picking, re-referencing, notch, band-pass,
resampling, epoching with the window and baseline; then amplitude rejection, class checks,
Euclidean alignment and standardisation. The result is cached on disk.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from . import cache
from .channels import common_channels
from .decoding_set import DecodingSet
from .errors import DataError, InputError, SfreqMismatchError, TooFewTrialsError
from .events import class_mapping, is_event_name, prepare_events
from .preprocess import (align, check_finite, pick_channels, preprocess_raw, standardize,
                         unit_of)
from .spec import DatasetSpec


def load_trials(spec: DatasetSpec, open_recordings: Callable[[DatasetSpec], list],
                cache_inputs: Callable[[DatasetSpec], list]) -> DecodingSet:
    """Trials for the spec's source, preprocessed and labelled (see module docstring).

    Parameters
    ----------
    spec : DatasetSpec
        What to load and how to epoch and preprocess it.
    open_recordings : callable
        ``open_recordings(spec) -> list[Recording]``: the source kind's recordings, opened
        without their samples where the format allows it.
    cache_inputs : callable
        ``cache_inputs(spec) -> list``: what identifies the source's files (fingerprints),
        part of the cache key; called only when ``spec.cache`` is on.

    Returns
    -------
    DecodingSet
        ``kind="trials"``, with the steps in its provenance.
    """
    if isinstance(spec, dict):
        spec = DatasetSpec.model_validate(spec)
    _check_window(spec)
    key = cache.key_for(spec.model_dump(mode="json", exclude={"cache"}), cache_inputs(spec)) \
        if spec.cache else None
    if key is not None:
        hit = cache.load(key)
        if hit is not None:
            hit.provenance["cache"] = "hit"
            return hit
    data = _build(spec, open_recordings(spec))
    if key is not None:
        data.provenance["cache"] = "miss"
        cache.store(key, data)
    return data


# --------------------------------------------------------------------------- building
def _check_window(spec: DatasetSpec) -> None:
    start, stop = spec.window
    if stop <= start:
        raise InputError(f"window: end ({stop} s) must be after start ({start} s).")
    if spec.baseline is not None:
        b0, b1 = spec.baseline
        lo = start if b0 is None else b0
        hi = stop if b1 is None else b1
        if lo < start or hi > stop or lo >= hi:
            raise InputError(f"baseline {list(spec.baseline)} must be an interval inside the "
                             f"window {list(spec.window)}.")


def _build(spec: DatasetSpec, recordings: list) -> DecodingSet:
    if not recordings:
        raise DataError("no recordings to load.", spec.source)
    pre = spec.preprocessing
    names = [_label(r) for r in recordings]
    _check_sfreq(recordings, names, pre.resample)
    wanted = None if spec.events is None else set(spec.events)

    available: dict[str, int] = {}
    for rec, name in zip(recordings, names):
        for event, n in prepare_events(rec.raw, wanted, name).items():
            available[event] = available.get(event, 0) + n
    mapping, class_names = class_mapping(spec.events, available, spec.source)

    channel_sets, bads = [], {}
    for rec, name in zip(recordings, names):  # picking needs no samples: nothing loaded yet
        excluded = pick_channels(rec.raw, pre.picks, name)["params"]["excluded_bads"]
        if excluded:
            bads[name] = excluded
        channel_sets.append(list(rec.raw.ch_names))
    common, dropped = common_channels(channel_sets, names, spec.channel_mismatch)

    parts = []
    steps = [{"name": "pick", "params": {"picks": pre.picks, "excluded_bads": bads}}]
    for rec, name in zip(recordings, names):  # one continuous signal in memory at a time
        rec.raw.load_data(verbose="error")
        check_finite(rec.raw, name)
        raw_steps = preprocess_raw(rec.raw, pre, name, common_channels=common)
        if len(steps) == 1:
            steps += raw_steps
        parts.append(_epoch(rec, name, spec, mapping))
        rec.raw = None  # free the continuous signal early

    X = np.concatenate([p["X"] for p in parts])
    y = np.concatenate([p["y"] for p in parts])
    meta = {k: np.concatenate([p[k] for p in parts]) for k in ("subject", "session", "run")}
    ch_types, sfreq, times = parts[0]["ch_types"], parts[0]["sfreq"], parts[0]["times"]
    units = {t: unit_of(t)[0] for t in dict.fromkeys(ch_types)}
    n_outside = sum(p["n_outside"] for p in parts)
    n_bad_span = sum(p["n_bad_span"] for p in parts)
    steps.append({"name": "epochs", "params": {
        "window": list(spec.window), "baseline": None if spec.baseline is None else list(spec.baseline),
        "events": mapping, "dropped_outside_recording": n_outside,
        "dropped_bad_annotations": n_bad_span}})

    if spec.reject is not None:
        keep = _amplitude_ok(X, ch_types, spec.reject)
        steps.append({"name": "reject", "params": {"peak_to_peak_uV": spec.reject,
                                                   "dropped": int((~keep).sum())}})
        X, y = X[keep], y[keep]
        meta = {k: v[keep] for k, v in meta.items()}
    _check_counts(y, class_names, spec)

    if pre.align != "none":
        X = align(X, meta["subject"], meta["session"], pre.align)
        steps.append({"name": "euclidean_alignment", "params": {"per": pre.align}})
    if pre.standardize != "none":
        X = standardize(X, meta["subject"], pre.standardize)
        steps.append({"name": "standardize", "params": {"per": pre.standardize}})

    import mne

    provenance = {
        "source": spec.source, "files": list(dict.fromkeys(r.path for r in recordings if r.path)),
        "unit": units.get("eeg", next(iter(units.values()))), "units": units,
        "steps": steps, "dropped_channels": dropped, "spec": spec.model_dump(mode="json"),
        "versions": {"mne": mne.__version__, "numpy": np.__version__},
    }
    return DecodingSet(
        X=X.astype(np.float32, copy=False), y=y.astype(np.int64), kind="trials",
        modality=_modality(ch_types), subject=meta["subject"], session=meta["session"],
        run=meta["run"], sfreq=float(sfreq), ch_names=list(common), ch_types=list(ch_types),
        class_names=class_names, times=times, provenance=provenance)


def _label(rec) -> str:
    if rec.path and not rec.path.startswith(("moabb:", "demo:")):
        return rec.path
    return f"{rec.path or 'recording'} (subject {rec.subject}, session {rec.session}, run {rec.run})"


def _check_sfreq(recordings, names, resample) -> None:
    rates = {name: float(r.raw.info["sfreq"]) for r, name in zip(recordings, names)}
    if resample is None and len({round(v, 6) for v in rates.values()}) > 1:
        listing = "; ".join(f"{n}: {v:g} Hz" for n, v in rates.items())
        raise SfreqMismatchError(
            f"the recordings have different sampling rates ({listing}).",
            hint="Set preprocessing.resample to one rate for all of them.")


def _epoch(rec, name, spec: DatasetSpec, mapping: dict[str, int]) -> dict:
    import mne

    raw = rec.raw
    sfreq = raw.info["sfreq"]
    present = {d for d in raw.annotations.description if is_event_name(d)}
    event_id = {d: mapping[d] + 1 for d in mapping if d in present}
    start, stop = spec.window
    n_times = int(round((stop - start) * sfreq))
    tmin = round(start * sfreq) / sfreq
    tmax = tmin + (n_times - 1) / sfreq
    ch_types = raw.get_channel_types()
    empty = {"X": np.zeros((0, len(raw.ch_names), n_times), np.float32), "y": np.zeros(0, int),
             "subject": np.array([], str), "session": np.array([], str), "run": np.array([], str),
             "ch_types": ch_types, "sfreq": sfreq, "times": tmin + np.arange(n_times) / sfreq,
             "n_outside": 0, "n_bad_span": 0}
    if not event_id:
        return empty
    events, _ = mne.events_from_annotations(raw, event_id=event_id, verbose="error")
    if len(events) == 0:
        return empty
    try:
        epochs = mne.Epochs(raw, events, event_id=None, tmin=tmin, tmax=tmax,
                            baseline=None if spec.baseline is None else tuple(spec.baseline),
                            reject_by_annotation=True, preload=True, event_repeated="drop",
                            proj=False, verbose="error")
    except ValueError as exc:
        raise DataError(f"cannot cut epochs with window {list(spec.window)}: {exc}", name) from exc
    reasons = [r for r in epochs.drop_log if r]
    n_outside = sum(1 for r in reasons if "NO_DATA" in r or "TOO_SHORT" in r)
    n_bad = sum(1 for r in reasons if any(str(x).lower().startswith(("bad", "edge")) for x in r))
    X = epochs.get_data(copy=False)
    scale = np.array([unit_of(t)[1] for t in ch_types])[None, :, None]
    X = (X * scale).astype(np.float32)
    n = len(X)
    return {"X": X, "y": epochs.events[:, 2] - 1,
            "subject": np.full(n, rec.subject), "session": np.full(n, rec.session),
            "run": np.full(n, rec.run), "ch_types": ch_types, "sfreq": sfreq,
            "times": epochs.times.copy(), "n_outside": n_outside, "n_bad_span": n_bad}


def _amplitude_ok(X: np.ndarray, ch_types, threshold_uv: float) -> np.ndarray:
    """Trials whose peak-to-peak amplitude on voltage channels stays under the threshold."""
    volt = np.array([unit_of(t)[0] == "uV" for t in ch_types])
    if not volt.any():
        return np.ones(len(X), bool)
    ptp = X[:, volt].max(axis=2) - X[:, volt].min(axis=2)
    return (ptp <= threshold_uv).all(axis=1)


def _check_counts(y: np.ndarray, class_names: list[str], spec: DatasetSpec) -> None:
    counts = np.bincount(y.astype(int), minlength=len(class_names)) if len(y) else \
        np.zeros(len(class_names), int)
    short = [(c, int(n)) for c, n in zip(class_names, counts) if n < spec.min_trials]
    if short:
        listing = ", ".join(f"'{c}' has {n}" for c, n in short)
        raise TooFewTrialsError(
            f"too few trials: {listing} (min_trials is {spec.min_trials}).", spec.source,
            hint="Add recordings, loosen `reject`, shorten `window` or lower `min_trials`.")


def _modality(ch_types) -> str:
    types = set(ch_types)
    if types & {"mag", "grad"}:
        return "meg"
    if types & {"seeg", "ecog", "dbs"}:
        return "ieeg"
    return "eeg"

