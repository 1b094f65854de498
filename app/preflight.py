"""`preflight`: everything a run checks before its first fold, and nothing it keeps
(``neurodeck run EXPERIMENT --check``). The file is validated, the data loaded (the trial
cache may be filled), the decoder built with the parameters the data supplies, the device
resolved and the protocol's folds cut, so a bad value anywhere is an input error at once.

`experiment_problems` is the one feasibility check of an experiment against its data
(issue 20): the decoder against the data (`decoders.compatibility`), the protocol's own
check (groups, classes per split, each naming what to choose instead), the channels the
decoder's settings need. `check_experiment` raises `InfeasibleExperiment` with all of them;
`run_experiment` calls it before any fold (so ``neurodeck run`` and each run of a sweep
refuse at once, exit 2), and the GUI's Start calls it on the trials it holds.

`estimate_cost` predicts the wall time of a run: for a neural decoder one timed stretch of
training on one fold (the set-up until the first batch, then batches until the second epoch
ends or `PROBE_BUDGET_S` passes: the warm second epoch, or else the median batch, is what is
scaled) scaled to the epochs, the folds and the final fit; for a classical one a timed fit
and prediction on one fold scaled to the others.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from decoders.compatibility import InfeasibleExperiment, Problem
from decoders.compatibility import experiment_problems as compatibility_problems

from .experiment import (ExperimentConfig, _absolute_paths, _check_input_kind, _decoder_params,
                         _device_name, validate_config)

PROBE_BUDGET_S = 20.0      # the longest a neural decoder's timed stretch of training runs
WARM_REFIT_S = 5.0         # a classical fit shorter than this is timed a second time, warm
RUN_OVERHEAD_S = 1.5       # writing the run folder (predictions, figures, model): measured, bench_preflight.py


@dataclass
class CostEstimate:
    """A predicted wall time for a run, and how it was obtained."""

    seconds: float
    n_folds: int
    fold_seconds: float            # the timed fold's fit (+ prediction), as measured or extrapolated
    final_fit_seconds: float
    method: str                    # how the timed fold was measured
    device: str

    def describe(self) -> str:
        return (f"about {format_duration(self.seconds)} ({self.n_folds} folds x ~{format_duration(self.fold_seconds)}"
                f"{f' + final fit ~{format_duration(self.final_fit_seconds)}' if self.final_fit_seconds else ''}; "
                f"{self.method}; {self.device})")


@dataclass
class Preflight:
    """What a run of the experiment would do: the data's summary, the decoder, the folds."""

    decoder: str
    protocol: str
    device: str
    data: dict[str, Any]
    n_folds: int
    warnings: list[str] = field(default_factory=list)
    estimate: CostEstimate | None = None
    estimate_error: str | None = None

    def describe(self) -> str:
        lines = [f"{self.decoder} | {self.protocol} | {self.n_folds} folds | device {self.device}",
                 f"  data: {self.data.get('n_samples', '?')} samples, shape {self.data.get('shape')}"]
        if self.estimate is not None:
            lines.append(f"  estimated time: {self.estimate.describe()}")
        elif self.estimate_error:
            lines.append(f"  estimated time: unknown ({self.estimate_error})")
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def format_duration(seconds: float) -> str:
    """"45 s", "3 min 10 s", "1 h 05 min"."""
    if not math.isfinite(seconds):
        return "?"
    s = int(round(seconds))
    if s < 60:
        return f"{max(seconds, 0):.1f} s" if seconds < 10 else f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


# ---------------------------------------------------------------------- feasibility
def experiment_problems(config: ExperimentConfig, data, cls=None, params: dict[str, Any] | None = None) -> list[Problem]:
    """Every reason ``config`` cannot run on ``data`` (empty: it can), from counts and
    declarations only (`decoders.compatibility.experiment_problems`): nothing is trained.

    Parameters
    ----------
    config : ExperimentConfig
    data : DecodingSet
        The loaded data.
    cls : type of Decoder, optional
        The decoder class (looked up from ``config`` when omitted).
    params : dict, optional
        The decoder's parameters (the file's and the data's), for the channel checks.
    """
    from decoders import registry

    cls = cls or registry.get(config.decoder.name)
    options = config.evaluation.model_dump(exclude={"protocol"}, exclude_unset=True)
    return compatibility_problems(cls, params or {}, config.evaluation.protocol, options, data)


def check_experiment(config: ExperimentConfig, data, cls=None, params: dict[str, Any] | None = None) -> None:
    """Raise `InfeasibleExperiment` when `experiment_problems` finds any."""
    problems = experiment_problems(config, data, cls, params)
    if problems:
        raise InfeasibleExperiment(problems)


def check_before_start(config: ExperimentConfig | dict, data) -> None:
    """The GUI's Start: validate ``config`` and check it against the trials already loaded
    (``data``; None: nothing to check here, the run checks once it has loaded them).

    Raises
    ------
    InfeasibleExperiment, ConfigError
    """
    if data is None:
        return
    from decoders import registry

    config = validate_config(config if isinstance(config, ExperimentConfig) else dict(config))
    cls = registry.get(config.decoder.name)
    check_experiment(config, data, cls, _decoder_params(cls, config, data))


# ---------------------------------------------------------------------------- cost
class _BatchProbe:
    """A cancel flag that times a decoder's training: every batch checks it, the engine's
    first `Progress` event (sent after batch 1) gives the number of batches, the first
    `EpochEnd` events the length of the first epoch and of the second (warm: the first pays
    for allocating and warming up). It turns itself on (stopping the fit with `Cancelled`)
    once two epochs ended or `budget_s` passed after the first batch."""

    def __init__(self, budget_s: float, cancel=None):
        self.budget_s = budget_s
        self.cancel = cancel    # the caller's own cancel flag (the GUI drops a stale estimate)
        self.calls: list[float] = []
        self.first_batch_start: float | None = None
        self.first_progress: float | None = None
        self.total_batches: int | None = None
        self.epoch_ends: list[float] = []
        self.n_epochs: int | None = None
        self.stopped = False

    def is_set(self) -> bool:
        now = time.perf_counter()
        self.calls.append(now)
        if self.first_progress is not None and now - self.first_progress > self.budget_s:
            self.stopped = True
        return self.stopped or (self.cancel is not None and self.cancel.is_set())

    def set(self) -> None:
        self.stopped = True

    def wait(self, timeout: float | None = None) -> bool:
        return self.stopped

    def on_event(self, event) -> None:
        from decoders.events import EpochEnd, Progress

        now = time.perf_counter()
        if isinstance(event, Progress) and self.first_progress is None and 0 < event.fraction < 1:
            self.first_progress = now
            self.first_batch_start = self.calls[-1] if self.calls else now
            self.total_batches = max(1, round(1 / event.fraction))
        elif isinstance(event, EpochEnd) and self.first_batch_start is not None and len(self.epoch_ends) < 2:
            self.epoch_ends.append(now)
            self.n_epochs = event.n_epochs
            if len(self.epoch_ends) == 2 or event.epoch >= event.n_epochs:
                self.stopped = True

    @property
    def epoch_end(self) -> float | None:
        """When the first epoch ended (None: not within the budget)."""
        return self.epoch_ends[0] if self.epoch_ends else None

    def batch_seconds(self) -> float | None:
        """Median time of the batches after the first (warm), before the first epoch ended."""
        if self.first_progress is None:
            return None
        after = [t for t in self.calls if t >= self.first_progress and (self.epoch_end is None or t <= self.epoch_end)]
        if len(after) < 2:
            return (self.first_progress - self.first_batch_start) if self.first_batch_start else None
        import numpy as np

        return float(np.median(np.diff(after)))


def _probe_fit(decoder, data, index, device: str, budget_s: float, cancel=None):
    """Fit ``decoder`` on ``data[index]`` under a `_BatchProbe`; returns (probe, seconds,
    finished): whether the fit ran to its end. Raises `Cancelled` once ``cancel`` is set."""
    from decoders.evaluation import fit_arguments
    from decoders.events import Cancelled, TrainingContext

    probe = _BatchProbe(budget_s, cancel)
    ctx = TrainingContext(probe.on_event, probe, device)
    args, kwargs = fit_arguments(decoder, data, index, context=ctx)
    start = time.perf_counter()
    probe.calls.append(start)
    try:
        decoder.fit(*args, **kwargs)
    except Cancelled:
        if cancel is not None and cancel.is_set():
            raise
        return probe, time.perf_counter() - start, False
    return probe, time.perf_counter() - start, True


def _probe_seconds(probe: _BatchProbe) -> tuple[float, str]:
    """Seconds of one whole fit, from what ``probe`` timed, and how."""
    setup = probe.first_batch_start - probe.calls[0]
    if len(probe.epoch_ends) == 2:   # a new network's first epoch costs more: paid on every fit
        first = probe.epoch_ends[0] - probe.first_batch_start
        epoch = probe.epoch_ends[1] - probe.epoch_ends[0]
        return setup + first + epoch * (probe.n_epochs - 1), (
            f"set-up {setup:.1f} s + epochs timed ({first:.2f} s, then {epoch:.2f} s) x {probe.n_epochs}")
    if probe.epoch_end is not None:
        epoch = probe.epoch_end - probe.first_batch_start
        return setup + epoch * probe.n_epochs, f"set-up {setup:.1f} s + one timed epoch {epoch:.2f} s x {probe.n_epochs}"
    batch = probe.batch_seconds()
    return setup + batch * probe.total_batches, (
        f"set-up {setup:.1f} s + timed batch {batch * 1000:.0f} ms x {probe.total_batches} batches")


def _timed_neural_fit(make_decoder, data, index, device: str, budget_s: float,
                      cancel=None) -> tuple[float, float, str]:
    """(cold extra, seconds of one warm fit on ``data[index]``, how), from a timed stretch of
    training (the set-up, then batches until the second epoch ends or ``budget_s`` passes)
    done twice: the first stretch pays one-time costs (imports, caches, the thread pools
    warming up), counted once; the second is scaled to the whole fit."""
    probe, elapsed, finished = _probe_fit(make_decoder(), data, index, device, budget_s, cancel)
    if finished and (probe.first_progress is None or probe.epoch_end is None or probe.n_epochs <= 2):
        return 0.0, elapsed, "one fold timed in full"
    if probe.first_batch_start is None:
        raise RuntimeError("the decoder reported no training batch to time")
    again, _, _ = _probe_fit(make_decoder(), data, index, device, budget_s, cancel)
    if again.first_batch_start is None:
        again = probe
    cold_fit, _ = _probe_seconds(probe)
    warm_fit, how = _probe_seconds(again)
    return max(0.0, cold_fit - warm_fit), warm_fit, how


def _timed_classical_fit(make_decoder, data, splits, cancel=None) -> tuple[float, float, str]:
    """(cold extra, seconds of one warm fit + prediction of the first fold, how): the first
    fold is fitted twice (the first fit pays one-time imports and caches)."""
    from decoders.evaluation import fit_arguments, predict_with_proba

    from decoders.events import Cancelled

    def timed(split) -> float:
        if cancel is not None and cancel.is_set():
            raise Cancelled("estimate cancelled")
        start = time.perf_counter()
        decoder = make_decoder()
        args, kwargs = fit_arguments(decoder, data, split.train)
        decoder.fit(*args, **kwargs)
        try:
            predict_with_proba(decoder, data.X[split.test], subject=data.subject[split.test])
        except Exception:  # noqa: BLE001 - prediction is timed only where it runs plainly
            pass
        return time.perf_counter() - start

    cold = timed(splits[0])
    if len(splits) == 1:
        return 0.0, cold, "its one fold's fit and prediction timed"
    if cold > WARM_REFIT_S:   # one-time costs are small beside such a fit: not timed twice
        return 0.0, cold, "one fold's fit and prediction timed"
    warm = timed(splits[0])
    return max(0.0, cold - warm), warm, "one fold's fit and prediction timed (warm)"


def estimate_cost(config: ExperimentConfig, data, splits: list, cls, params: dict[str, Any],
                  device: str, budget_s: float = PROBE_BUDGET_S, cancel=None) -> CostEstimate:
    """The predicted wall time of a run of ``config`` on ``data`` cut into ``splits``.

    The first fold is timed (see the module docstring); every fold is scaled by its number
    of training samples against the timed one, the final fit (``output.save_model``) by all
    the samples; one-time costs (imports, caches) are counted once, and `RUN_OVERHEAD_S`
    covers writing the run folder.
    """
    from decoders import registry

    first = splits[0]
    fit_index = first.pretrain if first.pretrain is not None else first.train
    make = lambda: registry.create(config.decoder.name, params)  # noqa: E731
    if getattr(cls, "uses_torch", False):
        cold, timed, method = _timed_neural_fit(make, data, fit_index, device, budget_s, cancel)
    else:
        cold, timed, method = _timed_classical_fit(make, data, splits, cancel)
    per_sample = timed / max(len(fit_index), 1)
    if first.pretrain is not None:   # finetune: one pretraining per target subject, then short fits
        targets = {str(data.subject[s.test[0]]) for s in splits}
        folds = timed * len(targets) + sum(per_sample * len(s.train) for s in splits)
    else:
        folds = sum(per_sample * len(s.train) for s in splits)
    final = per_sample * len(data) if config.output.save_model else 0.0
    return CostEstimate(cold + folds + final + RUN_OVERHEAD_S, len(splits), timed, final, method, device)


# ------------------------------------------------------------------------- preflight
def preflight(config: ExperimentConfig | dict, *, estimate: bool = False) -> Preflight:
    """Check ``config`` as far as a run does before training; raises the run's input errors.

    Parameters
    ----------
    config
        An `ExperimentConfig` or a dict with the same sections.
    estimate
        Also time a stretch of training and predict the run's wall time (`estimate_cost`).

    Returns
    -------
    Preflight
        The decoder, protocol, device, data summary, number of folds, setup warnings and
        (with ``estimate``) the time estimate.

    Raises
    ------
    InfeasibleExperiment
        The decoder, protocol or channels do not fit the data (each problem named).
    """
    from data.loading import load_dataset
    from decoders import registry
    from decoders.protocols.registry import make_splits

    from .setup_warnings import setup_warnings

    config = validate_config(config if isinstance(config, ExperimentConfig) else dict(config))
    config = _absolute_paths(config, None)
    data = load_dataset(config.dataset)
    cls = registry.get(config.decoder.name)
    _check_input_kind(cls, data, config)
    params = _decoder_params(cls, config, data)
    check_experiment(config, data, cls, params)
    registry.create(config.decoder.name, params)
    warnings = list(setup_warnings(cls, params, data, config.evaluation))
    device = _device_name(cls, config.training.device)
    if device == "cpu" and config.training.device not in ("auto", "cpu"):
        warnings.append(f"training.device '{config.training.device}' is not used: {config.decoder.name} "
                        "runs on the CPU.")
    options = config.evaluation.model_dump(exclude={"protocol"}, exclude_unset=True)
    splits = make_splits(data, config.evaluation.protocol, seed=config.training.seed, **options)
    result = Preflight(config.decoder.name, config.evaluation.protocol, device,
                       dict(data.summary()), len(splits), warnings)
    if estimate:
        try:
            result.estimate = estimate_cost(config, data, splits, cls, params, device)
        except Exception as exc:  # noqa: BLE001 - an estimate that fails must not fail the check
            result.estimate_error = f"{type(exc).__name__}: {exc}"
    return result


def estimate_for(config: ExperimentConfig | dict, data, budget_s: float = PROBE_BUDGET_S,
                 cancel=None) -> CostEstimate:
    """`estimate_cost` for the GUI: ``data`` is the trials it holds (None: loaded here from
    the config's dataset, which fills the trial cache the run then reads); raises
    `InfeasibleExperiment` first when the experiment cannot run, `Cancelled` once ``cancel``
    (a ``threading.Event``) is set."""
    from data.loading import load_dataset
    from decoders import registry
    from decoders.protocols.registry import make_splits

    config = validate_config(config if isinstance(config, ExperimentConfig) else dict(config))
    if data is None:
        data = load_dataset(config.dataset)
    cls = registry.get(config.decoder.name)
    params = _decoder_params(cls, config, data)
    check_experiment(config, data, cls, params)
    options = config.evaluation.model_dump(exclude={"protocol"}, exclude_unset=True)
    splits = make_splits(data, config.evaluation.protocol, seed=config.training.seed, **options)
    return estimate_cost(config, data, splits, cls, params, _device_name(cls, config.training.device),
                         budget_s, cancel)
