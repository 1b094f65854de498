"""Online decoding: feed a fitted continuous decoder one time bin at a time and time each step.

`OnlineSession(decoder_or_bundle, source)` pulls feature vectors from a source (a replayed
file, or an LSL stream through mne-lsl), calls the decoder's ``step(x)`` for each, hands
every output to a callback, and reports the step cost (median, 99th percentile, max, in
microseconds) and, when the source knows the truth (a replayed file with targets), the
decoding metrics.

Lags: when the decoder was trained on lagged features (``dataset.continuous.lags`` in its
bundle), the session keeps the last bins itself, as a live system must; before enough
history exists, the first bin stands in for the missing past.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from data.errors import DataError, InputError


@dataclass
class Sample:
    """One bin from a source: features, and the true targets when the source knows them."""

    x: np.ndarray
    truth: np.ndarray | None = None


@dataclass
class OnlineReport:
    outputs: np.ndarray                  # (n_steps, n_targets)
    step_us: np.ndarray                  # (n_steps,) decoder step cost in microseconds
    truth: np.ndarray | None = None
    target_names: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def median_us(self) -> float:
        return float(np.median(self.step_us)) if len(self.step_us) else float("nan")

    @property
    def p99_us(self) -> float:
        return float(np.percentile(self.step_us, 99)) if len(self.step_us) else float("nan")

    def summary(self) -> dict[str, Any]:
        out = {"steps": int(len(self.outputs)), "step_median_us": self.median_us,
               "step_p99_us": self.p99_us,
               "step_max_us": float(self.step_us.max()) if len(self.step_us) else float("nan")}
        out.update(self.metrics)
        return out


class ReplaySource:
    """Bins of a continuous file or folder (as `data.continuous` reads it), in time order.

    ``continuous`` are the `ContinuousOptions` (features/targets/bin_width) the decoder was
    trained with; lags are left to the session. ``start`` / ``stop`` select bins;
    ``realtime`` paces the bins at the data's rate (``interval`` seconds if it has none).
    """

    def __init__(self, path: str | Path, continuous: dict | None = None, *, start: int = 0,
                 stop: int | None = None, realtime: bool = False, interval: float | None = None):
        from data.continuous import load_continuous
        from data.spec import DatasetSpec

        options = {k: v for k, v in (continuous or {}).items() if k != "lags" and v is not None}
        spec = DatasetSpec(source=str(path), continuous=options or None)
        data = load_continuous(spec)
        n = len(data)
        stop = n if stop is None else stop
        if not 0 <= start < stop <= n:
            raise InputError(f"replay range [{start}, {stop}) is outside the {n} bins of the file.", path=path)
        self.path = Path(path)
        self.X, self.y = data.X[start:stop], None if data.y is None else data.y[start:stop]
        self.ch_names, self.target_names = data.ch_names, data.target_names
        self.interval = interval if interval is not None else (1.0 / data.sfreq if data.sfreq else 0.1)
        self.realtime = realtime

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    def __iter__(self) -> Iterator[Sample]:
        next_time = time.perf_counter()
        for t in range(len(self.X)):
            if self.realtime:
                next_time += self.interval
                delay = next_time - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            yield Sample(self.X[t], None if self.y is None else self.y[t])


class StreamStalledError(DataError):
    """An LSL stream stopped sending samples during a session."""


class LSLSource:
    """Samples of an LSL stream (one sample = one feature vector) through mne-lsl.

    Stops after ``duration`` seconds or ``max_samples`` samples, whichever comes first; a
    stream that sends nothing for ``stall_timeout`` seconds (a stopped player) raises
    `StreamStalledError`.
    """

    def __init__(self, name: str, *, duration: float = 60.0, max_samples: int | None = None,
                 timeout: float = 5.0, stall_timeout: float = 5.0):
        from mne_lsl.stream import StreamLSL

        from .lsl_log import configure

        configure()
        self.name = name
        self.duration, self.max_samples, self.stall_timeout = duration, max_samples, stall_timeout
        self.stream = StreamLSL(bufsize=10.0, name=name)
        try:
            self.stream.connect(acquisition_delay=0.001, timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - mne-lsl raises RuntimeError variants
            raise InputError(f"cannot connect to the LSL stream '{name}' ({exc}).",
                             hint="Check that the stream is on (e.g. `mne-lsl player FILE`).") from None
        self.ch_names = list(self.stream.ch_names)
        self.target_names: list[str] = []

    @property
    def n_features(self) -> int:
        return len(self.ch_names)

    def __iter__(self) -> Iterator[Sample]:
        sfreq = self.stream.info["sfreq"] or 100.0
        end = time.perf_counter() + self.duration
        seen = 0
        last_data = time.perf_counter()
        stall = max(self.stall_timeout, 10.0 / sfreq)   # a slow stream may pause 10 samples long
        try:
            while time.perf_counter() < end and (self.max_samples is None or seen < self.max_samples):
                n_new = self.stream.n_new_samples
                if n_new == 0:
                    if time.perf_counter() - last_data > stall:
                        raise StreamStalledError(
                            f"the LSL stream '{self.name}' sent no samples for {stall:g} s "
                            f"after {seen} samples (the player stopped or the stream stalled).")
                    time.sleep(0.5 / sfreq)
                    continue
                last_data = time.perf_counter()
                data, _ = self.stream.get_data(winsize=n_new / sfreq)
                for column in data.T[-n_new:]:
                    yield Sample(np.asarray(column, dtype=float))
                    seen += 1
                    if self.max_samples is not None and seen >= self.max_samples:
                        return
        finally:
            self.stream.disconnect()


class OnlineSession:
    """Step a fitted continuous decoder over a source, timing each step.

    ``decoder``: a fitted decoder with ``step`` / ``reset`` (Kalman, DKF, Wiener), or the
    path of a bundle holding one. ``source``: a `ReplaySource`, `LSLSource` or any iterable
    of `Sample` (``n_features`` optional). ``manifest``: the bundle manifest of a decoder
    loaded already (its input spec gives the lags); ``lags`` overrides it.
    """

    def __init__(self, decoder, source, *, manifest: dict | None = None, lags: int | None = None):
        self.manifest: dict[str, Any] = manifest or {}
        if isinstance(decoder, (str, Path)):
            from decoders.bundle import load_bundle

            decoder, self.manifest = load_bundle(decoder)
        if not callable(getattr(decoder, "step", None)):
            raise InputError(f"decoder '{getattr(decoder, 'name', type(decoder).__name__)}' cannot run "
                             "online one bin at a time (it has no step()); use kalman, dkf or wiener.")
        self.decoder, self.source = decoder, source
        continuous = (self.manifest.get("input") or {}).get("continuous") or {}
        self.lags = int(lags if lags is not None else continuous.get("lags") or 0)
        expected = getattr(decoder, "n_features_in_", None)
        n_source = getattr(source, "n_features", None)
        n_targets, y = getattr(decoder, "n_targets_", None), getattr(source, "y", None)
        if n_targets is not None and y is not None and np.ndim(y) == 2 and y.shape[1] != n_targets:
            raise InputError(f"the replayed file has {y.shape[1]} targets, but the decoder decodes "
                             f"{n_targets}.", path=getattr(source, "path", None),
                             hint="Replay data like the data it was trained on.")
        if expected is not None and n_source is not None and n_source * (self.lags + 1) != expected:
            where = getattr(source, "path", None) or getattr(source, "name", "the source")
            raise InputError(f"the source gives {n_source} features per bin"
                             f"{f' ({self.lags} lags)' if self.lags else ''}, but the decoder "
                             f"expects {expected}.", path=where if isinstance(where, Path) else None,
                             hint="Replay data like the data it was trained on.")

    def run(self, on_output: Callable[[int, np.ndarray, Sample], None] | None = None,
            max_steps: int | None = None) -> OnlineReport:
        """Reset the decoder, then step through the source; returns outputs, timings, metrics.

        BLAS runs single-threaded meanwhile: a step's products are tiny, and waking helper
        threads costs more than it saves (and adds scheduler-tick spikes to the latency).
        """
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            return self._run(on_output, max_steps)

    def _run(self, on_output, max_steps) -> OnlineReport:
        self.decoder.reset()
        outputs, costs, truth = [], [], []
        history: np.ndarray | None = None
        step = self.decoder.step
        clock = time.perf_counter_ns
        for t, sample in enumerate(self.source):
            if max_steps is not None and t >= max_steps:
                break
            x = sample.x
            if self.lags:
                history = np.tile(x, self.lags + 1) if history is None else np.concatenate([x, history[:-len(x)]])
                x = history
            t0 = clock()
            y = step(x)
            costs.append(clock() - t0)
            outputs.append(y)
            if sample.truth is not None:
                truth.append(sample.truth)
            if on_output is not None:
                on_output(t, y, sample)
        out = np.array(outputs).reshape(len(outputs), -1)
        report = OnlineReport(out, np.array(costs, dtype=float) / 1e3,
                              target_names=list(getattr(self.source, "target_names", []) or []))
        if truth and len(truth) == len(out):
            from decoders.metrics import regression

            report.truth = np.array(truth).reshape(len(truth), -1)
            if len(out) > 2:
                report.metrics = regression(report.truth, out, report.target_names or None)
        return report
