"""Online classification: decode an LSL stream window by window, event-locked or sliding.

`ClassificationSession(bundle, stream_input, mode="events" | "sliding", step_ms=...)` keeps a
ring buffer of the stream's samples, and for each decision takes the window plus its filter
margin, prepares it exactly as the bundle's training data were prepared (`WindowPreparer`),
and asks the decoder for class and probabilities. Event-locked decisions follow each marker
named in the bundle's events (the marker's sample is the one with the marker's timestamp);
sliding decisions come every ``step_ms``. `iter_events()` yields dicts (decision, marker,
status) as they happen, for the CLI and the GUI alike; `SessionLog` writes them.

A decision records ``sample_time`` (LSL timestamp of the newest sample used),
``received_time`` (LSL clock when that sample was pulled from the inlet), ``decision_time``
(LSL clock when the decoder answered; `app.online.live.live_session` sets it again once the
decision is pushed on the outlet), ``latency_ms`` = decision - received and
``stamp_latency_ms`` = decision - sample_time. (Timestamps set by a sender may run ahead of the
clock, or lag it by the sender's buffering; the arrival time is what this machine can measure.)

Every session warms up before its first pull (`warm_up`): the preparation and the decoder run
on noise windows of the stream's shape, so the first decision costs what the others cost.
`StreamSession` is the loop every live session shares (`app.online.bins.BinSession`, the
continuous decoders' bin-by-bin session, is the other one).

Stream loss: no samples for ``stall_s`` seconds is reported (``status: lost``); the ring
buffer is dropped (a gap cannot be filtered across), the stream is looked up again by name
(``status: reconnected``), and when samples come again the session goes on
(``status: recovered``); after ``reconnect_s`` seconds of silence it stops cleanly.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from data.errors import InputError


def _event_classes(spec: dict) -> dict[str, str]:
    """Marker description -> class name, from the bundle's events."""
    events = spec.get("events")
    names = spec.get("class_names") or []
    if isinstance(events, dict):
        return {str(k): str(v) for k, v in events.items()}
    if isinstance(events, list):
        return {str(e): str(e) for e in events}
    return {n: n for n in names}


FLASH_PREFIX = "stim/"


# Decoders whose predict() is, in their own code, ``classes_[predict_proba(X).argmax(1)]``:
# the session asks them for probabilities once and takes the label the same way, instead of
# computing every window's features twice (predict, then predict_proba).
LABELS_FROM_PROBA = (("decoders.classical", "LinearHeadDecoder"), ("decoders.simpleconv", "EEGSimpleConv"),
                     ("decoders.erp_net", "EEGNetERP"))


def labels_from_proba(decoder) -> bool:
    """Whether ``decoder``'s predict() is one of `LABELS_FROM_PROBA`'s (inherited, not overridden)."""
    import sys

    predict = getattr(type(decoder), "predict", None)
    for module, name in LABELS_FROM_PROBA:
        cls = getattr(sys.modules.get(module), name, None)   # a decoder's class has loaded its module
        if cls is not None and predict is cls.predict:
            return True
    return False


def erp_paradigm(spec: dict) -> bool:
    """Whether a bundle's input spec is one of ERP epochs (paradigm erp or speller)."""
    return (spec.get("options") or {}).get("paradigm") in ("erp", "speller")


class StreamSession:
    """The loop shared by every live session: pull the inlet, hand new samples to
    ``_append``, yield what ``_ready`` decides, report silences, reconnect.

    A subclass sets ``source``, ``stall_s``, ``reconnect_s``, ``idle_s``, ``ignored_channels``
    and defines ``_reset_buffer``, ``_restart``, ``_append``, ``_ready``, ``warm_up`` and
    ``recent_signal``.
    """

    warm_up_s: float | None = None      # seconds the warm-up took (None before it ran)

    def iter_events(self, duration: float | None = None, stop=None,
                    signal_every: float | None = None) -> Iterator[dict]:
        """Yield decision, marker and status events until ``duration`` s, ``stop()`` or loss.

        ``signal_every``: also yield ``{"kind": "signal"}`` with the last seconds of the used
        channels that often (for a live display). The session warms up first (once) unless
        `warm_up` ran already.
        """
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            if self.warm_up_s is None:
                self.warm_up()
            yield from self._loop(duration, stop, signal_every)

    def _restart(self) -> None:
        """Start deciding afresh (the loop's start, and after a loss)."""

    def _loop(self, duration, stop, signal_every=None) -> Iterator[dict]:
        from mne_lsl.lsl import local_clock

        shown = time.monotonic()
        self._restart()
        began = time.monotonic()
        last_data = time.monotonic()
        lost_since, reconnected = None, False
        yield {"kind": "status", "status": "connected", "stream": self.source.name,
               "markers": self.source.marker_name, "ignored_channels": self.ignored_channels}
        while True:
            if duration is not None and time.monotonic() - began >= duration:
                yield {"kind": "status", "status": "stopped", "reason": "duration"}
                return
            if stop is not None and stop():
                yield {"kind": "status", "status": "stopped", "reason": "stopped"}
                return
            data, stamps, marks = self.source.pull(timeout=0.005)
            now = time.monotonic()
            self.idle_s = 0.0 if len(stamps) else now - last_data
            if len(stamps):
                if lost_since is not None:
                    yield {"kind": "status", "status": "recovered",
                           "after_s": round(now - lost_since, 3)}
                    lost_since, reconnected = None, False
                last_data = now
                self._append(data, stamps, local_clock())
            for stamp, text in marks:
                yield {"kind": "marker", "sample_time": stamp, "marker": text}
                self.pending.append((stamp, text))
            if len(stamps) or marks:
                yield from self._ready()
            if signal_every is not None and now - shown >= signal_every:
                shown = now
                yield self.recent_signal()
            if not len(stamps):
                if lost_since is None and now - last_data > self.stall_s:
                    lost_since = now
                    yield {"kind": "status", "status": "lost", "received": int(self.total),
                           "message": f"the LSL stream '{self.source.name}' sent no samples for "
                                      f"{self.stall_s:g} s"}
                    self._reset_buffer()
                    self._restart()
                elif lost_since is not None and now - lost_since <= self.reconnect_s:
                    reconnect = getattr(self.source, "reconnect", None)
                    if not reconnected and reconnect is not None and reconnect(timeout=0.5):
                        reconnected = True
                        yield {"kind": "status", "status": "reconnected"}
                elif lost_since is not None:
                    yield {"kind": "status", "status": "stopped", "reason": "stream lost",
                           "message": f"the LSL stream '{self.source.name}' did not come back within "
                                      f"{self.reconnect_s:g} s"}
                    return


class ClassificationSession(StreamSession):
    """Decode a stream with a trials (classification) bundle."""

    def __init__(self, bundle, source, *, mode: str = "events", step_ms: float = 250.0,
                 stall_s: float = 2.0, reconnect_s: float = 10.0, decoder=None, manifest=None,
                 adapt: bool = False):
        from decoders.bundle import load_bundle

        from .windows import WindowPreparer

        if mode not in ("events", "sliding"):
            raise InputError(f"mode must be 'events' or 'sliding', not {mode!r}.")
        if decoder is None:
            decoder, manifest = load_bundle(bundle)
        self.decoder, self.manifest = decoder, manifest
        self.spec = manifest.get("input") or {}
        self.class_names = list(self.spec.get("class_names") or [])
        self.source, self.mode = source, mode
        self.prep = WindowPreparer(self.spec, source.ch_names, source.sfreq, source=getattr(source, "label", f"LSL stream '{source.name}'"),
                                   adapt=adapt)
        if mode == "events" and source.markers is None:
            raise InputError(f"the LSL stream '{source.name}' has no marker stream; event-locked "
                             "decoding needs one (give --markers NAME, or use --mode sliding).")
        self.events = _event_classes(self.spec)
        # ERP bundles (data.sources.erp): a decision after every flash marker `stim/<code>`; the
        # `target` / `nontarget` marker with the same timestamp is its truth
        self.flash_prefix = FLASH_PREFIX if erp_paradigm(self.spec) else None
        if self.flash_prefix:
            self.events = {}
        self._flash_truth: dict[float, str] = {}
        self.step = max(1, int(round(step_ms / 1000.0 * source.sfreq)))
        self.stall_s, self.reconnect_s = stall_s, reconnect_s
        self.capacity = self.prep.span + int(4 * source.sfreq) + 4096
        if self.flash_prefix:   # flashes come 4 or more a second: room to fall behind a fast replay
            self.capacity += int(60 * source.sfreq)
        self.idle_s = 0.0
        self.ignored_channels = self.prep.ignored
        self._single_pass = labels_from_proba(decoder)
        self.confusion = np.zeros((len(self.class_names),) * 2, int)
        self._reset_buffer()

    def _restart(self) -> None:
        if self.mode == "sliding":
            self.next_start = self.prep.margin

    def warm_up(self, repeats: int = 3) -> float:
        """Prepare and decode ``repeats`` windows of noise shaped like the stream's, so that the
        first real decision does not pay for imports, allocations and first calls.

        Nothing of it is kept: no event, no confusion count, adaptive re-centring's running
        covariance as it was. Returns the seconds it took (also in ``warm_up_s``).
        """
        from mne_lsl.lsl import local_clock

        began = time.perf_counter()
        kept = self.prep._cov_sum, self.prep._n_seen
        rng = np.random.default_rng(0)
        segment = rng.normal(scale=1e-5, size=(len(self.source.ch_names), self.prep.span))
        for _ in range(repeats):
            self._predict(self.prep.prepare(segment))
            local_clock()
        self.prep._cov_sum, self.prep._n_seen = kept
        self.warm_up_s = time.perf_counter() - began
        return self.warm_up_s

    def _reset_buffer(self) -> None:
        n_ch = len(self.source.ch_names)
        self.buf = np.zeros((n_ch, self.capacity))
        self.stamps = np.zeros(self.capacity)
        self.arrived = np.zeros(self.capacity)     # local LSL clock when each sample was pulled
        self.total = 0            # samples received since the last (re)start
        self.pending: list[tuple[float, str]] = []
        self.due: list[tuple[int, str, float]] = []   # (window start sample, marker, marker time)
        self.next_start = 0

    # ------------------------------------------------------------------ buffer
    def _append(self, data: np.ndarray, stamps: np.ndarray, arrived: float) -> None:
        n = len(stamps)
        if n >= self.capacity:
            data, stamps = data[-self.capacity:], stamps[-self.capacity:]
        idx = (self.total + np.arange(len(stamps))) % self.capacity
        self.buf[:, idx] = data.T
        self.stamps[idx] = stamps
        self.arrived[idx] = arrived
        self.total += n

    def _segment(self, first: int, n: int) -> np.ndarray:
        """Samples ``first`` to ``first + n`` (a view unless they wrap round the ring)."""
        start = first % self.capacity
        if start + n <= self.capacity:
            return self.buf[:, start:start + n]
        idx = (first + np.arange(n)) % self.capacity
        return self.buf[:, idx]

    def _sample_of(self, stamp: float) -> int | None:
        """Index of the buffered sample nearest ``stamp`` (None while it is not received yet)."""
        oldest = max(0, self.total - self.capacity)
        if self.total == 0:
            return None
        ring = (oldest + np.arange(self.total - oldest)) % self.capacity
        times = self.stamps[ring]
        if stamp > times[-1] + 1e-9:   # the samples around the marker are not all here yet
            return None
        return oldest + int(np.argmin(np.abs(times - stamp)))

    # ------------------------------------------------------------------ decisions
    def _predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(labels, probabilities or None) of the windows ``X``, as `decoders.evaluation.predict_with_proba`."""
        if self._single_pass:
            proba = np.asarray(self.decoder.predict_proba(X))
            return self.decoder.classes_[proba.argmax(axis=1)], proba
        from decoders.evaluation import predict_with_proba

        y_pred, proba, _ = predict_with_proba(self.decoder, X)
        return y_pred, proba

    def _decide(self, start: int, truth: str | None = None, marker: str | None = None) -> dict:
        from mne_lsl.lsl import local_clock

        first = start - self.prep.margin
        last = first + self.prep.span - 1
        X = self.prep.prepare(self._segment(first, self.prep.span))
        y_pred, proba = self._predict(X)
        now = local_clock()
        k = int(np.ravel(y_pred)[0])
        sample_time = float(self.stamps[last % self.capacity])
        received = float(self.arrived[last % self.capacity])
        event = {"kind": "decision", "mode": self.mode, "window_start": int(start),
                 "sample_time": sample_time, "received_time": received, "decision_time": now,
                 "latency_ms": (now - received) * 1e3, "stamp_latency_ms": (now - sample_time) * 1e3,
                 "class_index": k, "pred": self.class_names[k] if 0 <= k < len(self.class_names) else str(k),
                 "proba": None if proba is None else [float(p) for p in proba[0]],
                 "marker": marker, "true": truth}
        if truth is not None and truth in self.class_names:
            self.confusion[self.class_names.index(truth), k] += 1
        return event

    def _ready(self) -> Iterator[dict]:
        # markers -> window starts, once their sample has arrived
        keep = []
        for stamp, text in self.pending:
            sample = self._sample_of(stamp)
            if sample is None:
                keep.append((stamp, text))
                continue
            yield {"kind": "marker_sample", "marker": text, "sample": int(sample), "sample_time": stamp}
            if self.mode == "events" and text in self.events:
                self.due.append((sample + self.prep.offset, text, stamp))
            elif self.mode == "events" and self.flash_prefix and text.startswith(self.flash_prefix):
                self.due.append((sample + self.prep.offset, text, stamp))
            elif self.flash_prefix and text in self.class_names:
                self._flash_truth[stamp] = text
        self.pending = keep
        if self.mode == "events":
            still = []
            for start, text, stamp in self.due:
                if start + self.prep.length + self.prep.margin <= self.total:
                    if start - self.prep.margin >= max(0, self.total - self.capacity):
                        truth = self.events[text] if text in self.events else self._flash_truth.pop(stamp, None)
                        yield {**self._decide(start, truth=truth, marker=text), "marker_time": stamp}
                    else:
                        yield {"kind": "status", "status": "skipped", "marker": text,
                               "message": f"marker {text} at {stamp:.3f}: its window left the buffer "
                                          "before it could be decoded (decoding falls behind the stream)"}
                else:
                    still.append((start, text, stamp))
            self.due = still
        else:
            while self.next_start + self.prep.length + self.prep.margin <= self.total:
                if self.next_start - self.prep.margin >= max(0, self.total - self.capacity):
                    yield self._decide(self.next_start)
                self.next_start += self.step

    def recent_signal(self, seconds: float = 4.0) -> dict:
        n = min(self.total, int(seconds * self.source.sfreq), self.capacity)
        data = self._segment(self.total - n, n)[self.prep.picks] if n else np.zeros((len(self.prep.picks), 0))
        return {"kind": "signal", "data": data, "sfreq": self.source.sfreq, "ch_names": self.prep.ch_names}


def bundle_hash(path: str | Path) -> str:
    """SHA-256 over a bundle's files (folder) or the zip file itself."""
    import hashlib

    path = Path(path)
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        h.update(f.relative_to(path).as_posix().encode() if f != path else b"")
        h.update(f.read_bytes())
    return h.hexdigest()


class SessionLog:
    """A session folder: settings.json, and log.csv with one row per decision, marker or status."""

    COLUMNS = ["kind", "sample_time", "received_time", "decision_time", "latency_ms", "stamp_latency_ms",
               "window_start", "pred", "true", "marker", "status", "message", "flashes"]

    def __init__(self, folder: str | Path, settings: dict[str, Any], class_names: list[str],
                 value_names: list[str] | None = None):
        """``class_names``: a classification session's classes (columns ``p_<class>``);
        ``value_names``: a continuous session's outputs (columns ``y_<name>``, and
        ``true_<name>`` when the stream carries the truth)."""
        import json

        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "settings.json").write_text(json.dumps(settings, indent=2, default=str),
                                                   encoding="utf-8")
        self.value_names = list(value_names or [])
        self.columns = self.COLUMNS + [f"p_{c}" for c in class_names] + [f"y_{v}" for v in self.value_names] \
            + [f"true_{v}" for v in self.value_names]
        self.file = open(self.folder / "log.csv", "w", encoding="utf-8", newline="")
        import csv

        self.writer = csv.DictWriter(self.file, fieldnames=self.columns, extrasaction="ignore")
        self.writer.writeheader()
        self.file.flush()
        self.class_names = class_names

    def write(self, event: dict) -> None:
        row = {k: event.get(k) for k in self.COLUMNS}
        for k in ("sample_time", "received_time", "decision_time"):
            if row[k] is not None:
                row[k] = f"{row[k]:.6f}"
        for k in ("latency_ms", "stamp_latency_ms"):
            if row[k] is not None:
                row[k] = f"{row[k]:.3f}"
        for c, p in zip(self.class_names, event.get("proba") or []):
            row[f"p_{c}"] = f"{p:.9g}"
        for v, value in zip(self.value_names, event.get("values") or []):
            row[f"y_{v}"] = f"{value:.9g}"
        for v, value in zip(self.value_names, event.get("truth_values") or []):
            row[f"true_{v}"] = f"{value:.9g}"
        self.writer.writerow(row)
        self.file.flush()

    def close(self) -> None:
        self.file.close()
