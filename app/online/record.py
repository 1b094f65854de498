"""Record a calibration session from an LSL stream and its markers to a FIF file.

The recording is an MNE Raw in the stream's units (volts for EEG from mne-lsl's player) with
each marker as an annotation at its sample (the one with the marker's timestamp), so the
usual Data / Decoder / Train views (or `neurodeck run`) train on it like on any file.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import numpy as np

from data.errors import InputError


def record_events(source, path: str | Path, *, duration: float | None = None, should_stop=None,
                  stall_s: float = 2.0, ch_types: str | list[str] = "eeg") -> Iterator[dict]:
    """Pull ``source`` (a `StreamInput`) until ``duration``, ``should_stop()`` or a silence of
    ``stall_s`` after data; save ``path`` (FIF); yield progress events, the last one
    ``{"kind": "saved", "path": ..., "n_samples": ..., "n_markers": ...}``."""
    import mne

    path = Path(path)
    if not path.name.endswith(("_raw.fif", "_eeg.fif", "raw.fif")):
        raise InputError("a calibration recording is saved as FIF; name it ..._raw.fif.", path)
    chunks, stamps, marks = [], [], []
    began = last = time.monotonic()
    while True:
        now = time.monotonic()
        if duration is not None and now - began >= duration:
            break
        if should_stop is not None and should_stop():
            break
        data, ts, new_marks = source.pull(timeout=0.01)
        if len(ts):
            chunks.append(data)
            stamps.append(ts)
            last = now
            yield {"kind": "recording", "n_samples": int(sum(len(s) for s in stamps)),
                   "n_markers": len(marks) + len(new_marks)}
        elif stamps and now - last > stall_s:
            break
        marks.extend(new_marks)
    if not stamps:
        raise InputError(f"the LSL stream '{source.name}' sent no samples; nothing recorded.")
    data = np.concatenate(chunks).T
    times = np.concatenate(stamps)
    sfreq = source.sfreq
    onsets, names = [], []
    for stamp, text in marks:
        i = int(np.argmin(np.abs(times - stamp)))
        if abs(times[i] - stamp) <= 1.0 / sfreq:
            onsets.append(i / sfreq)
            names.append(text)
    info = mne.create_info(source.ch_names, sfreq, ch_types)
    raw = mne.io.RawArray(data, info, verbose="error")
    raw.set_annotations(mne.Annotations(onsets, [0.0] * len(onsets), names))
    path.parent.mkdir(parents=True, exist_ok=True)
    raw.save(path, overwrite=True, verbose="error")
    yield {"kind": "saved", "path": str(path), "n_samples": int(data.shape[1]), "n_markers": len(names)}


def record_session(path: str | Path, *, stream: str | None = None, replay: str | None = None,
                   markers: str | None = None, speed: float = 1.0, duration: float | None = None,
                   should_stop=None) -> Iterator[dict]:
    """`record_events` with the stream set up (and a replay started) first, closed at the end."""
    from .replay import start_replay
    from .stream import StreamInput

    player = None
    if replay:
        player = start_replay(replay, speed=speed)
        stream, markers = player.name, player.marker_name
    if not stream:
        raise InputError("give a stream name or a recording to replay.")
    try:
        source = StreamInput(stream, markers=markers)
        try:
            yield from record_events(source, path, duration=duration, should_stop=should_stop)
        finally:
            source.close()
    finally:
        if player is not None:
            player.stop()
