"""Replay a recording NeuroDeck can open as an LSL stream, with its events as a marker stream.

`ReplayPlayer` is mne-lsl's `PlayerLSL` with two changes that keep a replay exact at any
speed: samples carry evenly spaced timestamps (``1 / (sfreq * speed)`` apart, the last one of
each chunk at the chunk's push time), and each event marker carries the timestamp of the
sample its onset falls on (onset rounded to the nearest sample, as `mne.events_from_annotations`
does). A consumer that maps a marker to the sample with the same timestamp therefore cuts the
same window an offline epoching does, whether the replay runs in real time or ten times faster.
Markers are strings (the annotation description), on the stream ``{name}-annotations``.
"""
from __future__ import annotations

import uuid
from pathlib import Path
from warnings import catch_warnings, filterwarnings

import numpy as np
from mne_lsl.player import PlayerLSL


class _PacedOutlet:
    """Wraps the player's outlet: one timestamp per sample, ``dt`` apart."""

    def __init__(self, outlet, dt: float):
        self._outlet, self.dt = outlet, dt

    def push_chunk(self, data, timestamp=None):
        n = len(data)
        if n == 1:
            self._outlet.push_sample(data[0], timestamp=timestamp)
            return
        stamps = timestamp - (n - 1 - np.arange(n)) * self.dt
        self._outlet.push_chunk(data, timestamp=stamps)

    def push_sample(self, sample, timestamp=None):
        self._outlet.push_sample(sample, timestamp=timestamp)

    def __getattr__(self, name):
        return getattr(self._outlet, name)


class ReplayPlayer(PlayerLSL):
    """`PlayerLSL` over a Raw (or file), played once, ``speed`` times faster than real time.

    ``wait_s``: hold the first sample until a consumer has connected to the signal and marker
    outlets (at most that long), so that a session sees the recording from its first sample.
    ``hold``: also hold it until `release()` (at most ``wait_s``), e.g. until the session has
    warmed up.
    """

    def __init__(self, raw, *, name: str | None = None, speed: float = 1.0, chunk_size: int = 16,
                 source_id: str | None = None, wait_s: float = 0.0, hold: bool = False):
        import threading

        if speed <= 0:
            raise ValueError("speed must be positive")
        from .lsl_log import configure

        configure()
        name = name or f"neurodeck-replay-{uuid.uuid4().hex[:8]}"
        n_times = raw.n_times if hasattr(raw, "n_times") else None
        while chunk_size > 1 and n_times and n_times % chunk_size == 0:   # mne-lsl warns on an empty last chunk
            chunk_size += 1
        super().__init__(raw, chunk_size=chunk_size, n_repeat=1, name=name,
                         source_id=source_id or name, annotations=None,
                         annotations_encoding="string")
        self.speed = float(speed)
        if self._annotations:
            onsets = self._raw.annotations.onset
            self._annotations_idx = self._raw.time_as_index(onsets, use_rounding=True) - self._raw.first_samp
        self._paced = False
        self.wait_s = wait_s
        self._released = threading.Event()
        if not hold:
            self._released.set()

    def release(self) -> None:
        """Let a held replay send its first sample."""
        self._released.set()

    @property
    def marker_name(self) -> str | None:
        return f"{self._name}-annotations" if self._annotations else None

    def _stream(self) -> None:
        if not self._paced and self._streaming_delay is not None:
            if self.wait_s > 0:   # hold the first sample until a consumer listens to every outlet
                from mne_lsl.lsl import local_clock

                for outlet in (self._outlet, self._outlet_annotations):
                    if outlet is not None:
                        outlet.wait_for_consumers(self.wait_s)
                self._released.wait(self.wait_s)
                self._target_timestamp = local_clock()
            self._streaming_delay /= self.speed
            self._dt = 1.0 / (self.info["sfreq"] * self.speed)
            self._outlet = _PacedOutlet(self._outlet, self._dt)
            self._paced = True
        super()._stream()

    def stop(self):
        """Stop streaming (nothing to do when the replay has ended by itself)."""
        if self._executor is not None:
            super().stop()
        return self

    def _del_outlets(self) -> None:
        """Let the last chunk reach the inlets first: a destroyed outlet drops unsent data."""
        import time

        if getattr(self, "_end_streaming", False):
            time.sleep(0.25)
        super()._del_outlets()

    def _reset_variables(self) -> None:
        super()._reset_variables()
        self._paced = False

    def _stream_annotations(self, start: int, stop: int, start_timestamp: float) -> None:
        if not self._annotations:
            return None
        idx = np.flatnonzero((self._annotations_idx >= start) & (self._annotations_idx < stop))
        if idx.size == 0:
            return None
        last = min(stop, self._raw.times.size) - 1
        stamps = self._target_timestamp - (last - self._annotations_idx[idx]) * self._dt
        descriptions = [[str(d)] for d in self.annotations.description[idx]]
        with catch_warnings():
            filterwarnings("ignore", message="A single sample is pushed", category=RuntimeWarning)
            self._outlet_annotations.push_chunk(descriptions, stamps)


def open_recording(path: str | Path, **kwargs):
    """The first recording at ``path`` (as NeuroDeck's readers open it), loaded."""
    from data.errors import DataError
    from data.sources import open_for_browsing

    recordings = open_for_browsing(str(path), preload=True, **kwargs)
    if not recordings:
        raise DataError("holds no recording to replay.", str(path))
    return recordings[0].raw


def start_replay(path: str, *, speed: float = 1.0, wait_s: float = 10.0, hold: bool = False,
                 **open_kwargs):
    """Open ``path`` with NeuroDeck's readers and play it as an LSL stream (with markers);
    ``hold``: send nothing before `ReplayPlayer.release` (or ``wait_s``)."""
    raw = open_recording(path, **open_kwargs)
    player = ReplayPlayer(raw, name=f"neurodeck-replay-{uuid.uuid4().hex[:8]}", speed=speed,
                          wait_s=wait_s, hold=hold)
    return player.start()


TRUTH_PREFIX = "truth/"   # channels of a replayed continuous file that carry its targets


def start_bins_replay(path: str, continuous: dict | None = None, *, start: int = 0,
                      stop: int | None = None, speed: float = 1.0, wait_s: float = 10.0,
                      hold: bool = False, rate: float | None = None,
                      n_targets: int | None = None) -> ReplayPlayer:
    """Play a continuous file or folder of feature bins (as `data.continuous` reads it) as an
    LSL stream: one sample per bin, the features as channels, then the targets (when the file
    has them) as channels ``truth/<name>``, at ``rate`` Hz (default: the file's rate, 10 Hz when
    it has none) times ``speed``.
    ``start`` / ``stop`` select bins; ``continuous`` are the bundle's `ContinuousOptions`
    (lags are the session's business). ``n_targets``: what the decoder decodes; a file with
    another number of targets is refused before anything is played."""
    import mne

    from data.errors import InputError

    from .continuous import ReplaySource

    source = ReplaySource(path, continuous, start=start, stop=stop)
    y = source.y
    if n_targets and y is not None and np.ndim(y) == 2 and y.shape[1] != n_targets:
        raise InputError(f"the replayed file has {y.shape[1]} targets, but the decoder decodes {n_targets}.",
                         path=path, hint="Replay data like the data it was trained on.")
    sfreq = rate or 1.0 / source.interval
    columns = [source.X] + ([] if source.y is None else [np.reshape(source.y, (len(source.y), -1))])
    names = list(source.ch_names) + ([] if source.y is None else
                                     [f"{TRUTH_PREFIX}{n}" for n in source.target_names])
    info = mne.create_info(names, sfreq, "misc")
    raw = mne.io.RawArray(np.hstack(columns).T.astype(np.float64), info, verbose="error")
    # one bin per push, as a live system sends each bin when it is computed
    player = ReplayPlayer(raw, name=f"neurodeck-replay-{uuid.uuid4().hex[:8]}", speed=speed,
                          wait_s=wait_s, hold=hold, chunk_size=1)
    return player.start()
