"""Continuous decoding live: a continuous bundle (Kalman, DKF, Wiener) steps one bin per sample
of an LSL stream, on the same live path as classification (`app.online.live.live_session`).

`BinSession(source, decoder, manifest)` takes a stream whose samples are feature bins (one
channel per feature, as the bundle was trained; a stream from `app.online.replay.start_bins_replay`
also carries the file's targets as ``truth/<name>`` channels), keeps the last bins when the
decoder was trained on lagged features (before enough history exists, the first bin stands
in for the missing past, as `app.online.continuous.OnlineSession` does), and yields one
decision per bin: the decoded ``values``, the decoder step's cost ``step_us`` and the same
timing fields as a classification decision (``sample_time``, ``received_time``,
``decision_time``, ``latency_ms``, ``stamp_latency_ms``).
"""
from __future__ import annotations

import time
from typing import Iterator

import numpy as np

from data.errors import ChannelMismatchError, InputError

from .replay import TRUTH_PREFIX
from .session import StreamSession


RECENT_BINS = 400     # bins kept for a live display


class BinSession(StreamSession):
    """Step a continuous decoder over the bins of a stream (see the module docstring)."""

    mode = "bins"

    def __init__(self, source, decoder, manifest: dict | None = None, *, stall_s: float = 2.0,
                 reconnect_s: float = 10.0):
        if not callable(getattr(decoder, "step", None)):
            raise InputError(f"decoder '{getattr(decoder, 'name', type(decoder).__name__)}' cannot run "
                             "online one bin at a time (it has no step()); use kalman, dkf or wiener.")
        self.decoder, self.manifest, self.source = decoder, manifest or {}, source
        spec = self.manifest.get("input") or {}
        self.lags = int((spec.get("continuous") or {}).get("lags") or 0)
        names = list(source.ch_names)
        features = [c for c in names if not c.startswith(TRUTH_PREFIX)]
        expected = list(spec.get("ch_names") or [])
        if self.lags and len(expected) % (self.lags + 1) == 0:
            # a bundle trained on lagged features names them all (data.continuous: the current
            # bins first, then "name@t-1", ...); the stream carries the current bins only
            expected = expected[:len(expected) // (self.lags + 1)]
        if expected:
            missing = [c for c in expected if c not in features]
            if missing:
                raise ChannelMismatchError(
                    f"lacks {len(missing)} feature channel(s) the decoder was trained on: "
                    f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}.",
                    f"LSL stream '{source.name}'")
            features = expected
        self.ch_names = features
        self.picks = np.array([names.index(c) for c in features], dtype=int)
        self.ignored_channels = [c for c in names if c not in features and not c.startswith(TRUTH_PREFIX)]
        n_in = getattr(decoder, "n_features_in_", None)
        if n_in is not None and len(features) * (self.lags + 1) != n_in:
            raise InputError(f"the LSL stream '{source.name}' gives {len(features)} features per bin"
                             f"{f' ({self.lags} lags)' if self.lags else ''}, but the decoder "
                             f"expects {n_in}.", hint="Stream data like the data it was trained on.")
        n_targets = int(getattr(decoder, "n_targets_", 0) or 0)
        self.value_names = list(spec.get("target_names") or [f"y{i}" for i in range(n_targets)])
        truth = [f"{TRUTH_PREFIX}{v}" for v in self.value_names]
        self.truth_picks = np.array([names.index(c) for c in truth], dtype=int) \
            if truth and all(c in names for c in truth) else None
        self.class_names: list[str] = []
        self.stall_s, self.reconnect_s = stall_s, reconnect_s
        self.idle_s = 0.0
        self._reset_buffer()

    def _reset_buffer(self) -> None:
        self.total = 0
        self.pending: list[tuple[float, str]] = []   # markers: logged, not used
        self._new: list[tuple[np.ndarray, np.ndarray, float]] = []
        self._history: np.ndarray | None = None
        self._recent: np.ndarray | None = None

    def _restart(self) -> None:
        self.decoder.reset()
        self._history = None

    def warm_up(self, repeats: int = 3) -> float:
        """Step the decoder on ``repeats`` bins of noise, then reset it (nothing is kept)."""
        from mne_lsl.lsl import local_clock

        began = time.perf_counter()
        rng = np.random.default_rng(0)
        n = len(self.ch_names) * (self.lags + 1)
        for _ in range(repeats):
            np.asarray(self.decoder.step(rng.normal(size=n)))
            local_clock()
        self.decoder.reset()
        self.warm_up_s = time.perf_counter() - began
        return self.warm_up_s

    def _append(self, data: np.ndarray, stamps: np.ndarray, arrived: float) -> None:
        self._new.append((data, stamps, arrived))
        rows = data[:, self.picks]
        self._recent = rows if self._recent is None else np.vstack([self._recent, rows])[-RECENT_BINS:]

    def _lagged(self, x: np.ndarray) -> np.ndarray:
        if not self.lags:
            return x
        if self._history is None:
            self._history = np.tile(x, self.lags + 1)
        else:   # newest bin first, as data.continuous lags them
            self._history = np.concatenate([x, self._history[:-len(x)]])
        return self._history

    def _ready(self) -> Iterator[dict]:
        from mne_lsl.lsl import local_clock

        new, self._new = self._new, []
        clock = time.perf_counter_ns
        for data, stamps, arrived in new:
            for row, stamp in zip(data, stamps):
                x = self._lagged(row[self.picks])
                t0 = clock()
                y = np.ravel(self.decoder.step(x))
                step_us = (clock() - t0) / 1e3
                now = local_clock()
                event = {"kind": "decision", "mode": self.mode, "window_start": int(self.total),
                         "sample_time": float(stamp), "received_time": arrived, "decision_time": now,
                         "latency_ms": (now - arrived) * 1e3, "stamp_latency_ms": (now - stamp) * 1e3,
                         "values": [float(v) for v in y], "step_us": step_us,
                         "truth_values": None if self.truth_picks is None else
                         [float(v) for v in row[self.truth_picks]],
                         "pred": None, "proba": None, "true": None, "marker": None}
                self.total += 1
                yield event

    def recent_signal(self, seconds: float = 4.0) -> dict:
        """The last ``seconds`` of feature bins (at most `RECENT_BINS`), channels x bins."""
        n = max(1, int(seconds * self.source.sfreq))
        data = np.zeros((len(self.ch_names), 0)) if self._recent is None else self._recent[-n:].T
        return {"kind": "signal", "data": data, "sfreq": self.source.sfreq, "ch_names": self.ch_names}
