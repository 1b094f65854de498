"""Evaluation protocols over a `DecodingSet`: which samples train and which test, fold by fold.

The protocols (``evaluate(..., protocol=NAME)``) are a registry: `decoders.protocols`
(``kfold``, ``cross-session``, ``loso``, ``leave-one-site-out``, ``repeated-kfold``,
``finetune``, ``holdout``, ``blocked-kfold`` and any a plugin registers). Each declares its
options schema and what it needs of the data; `make_splits` asks the registry for the folds.

Every fold clones the decoder (``sklearn.base.clone``), reports ``fold_end`` through the
`TrainingContext`, and gives a `FoldResult` with metrics, predictions and timings.
"""
from __future__ import annotations

import copy
import inspect
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from data.decoding_set import DecodingSet

from .base import Decoder, Task
from .events import EpochEnd, FoldEnd, Progress, TrainingContext, TrainingEvent, TrajectoryReconstruction
# the split functions live with the protocols; their names stay importable from here
from .protocols import (ProtocolError, Split, blocked_kfold_splits, cross_session_splits,  # noqa: F401
                        finetune_splits, holdout_splits, kfold_splits, leave_one_site_out_splits,
                        loso_splits, make_splits, repeated_kfold_splits)
from .tasks import get_task


# --------------------------------------------------------------------------- results
@dataclass
class FoldResult:
    """What one fold produced. ``proba`` is None for decoders without ``predict_proba``."""

    fold: int
    label: str
    test_index: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray | None
    metrics: dict[str, Any]
    fit_seconds: float
    predict_ms_per_sample: float
    n_train: int
    info: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in ("fold", "label", "metrics", "fit_seconds",
                                             "predict_ms_per_sample", "n_train", "info", "history")}
        for k in ("test_index", "y_true", "y_pred", "proba"):
            value = getattr(self, k)
            out[k] = None if value is None else np.asarray(value).tolist()
        return jsonable(out)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "FoldResult":
        arrays = {k: None if d[k] is None else np.asarray(d[k])
                  for k in ("test_index", "y_true", "y_pred", "proba")}
        return cls(**{**d, **arrays})


@dataclass
class EvaluationResult:
    protocol: str
    task: str
    folds: list[FoldResult]
    summary: dict[str, dict[str, float]]
    timings: dict[str, float]
    by_subject: dict[str, dict[str, float]] = field(default_factory=dict)

    def fold_metrics(self) -> list[dict[str, Any]]:
        """Per-fold metric dicts for metrics.json (metrics plus fold, label and timings)."""
        return [jsonable({"fold": f.fold, "label": f.label, **f.info, "n_train": f.n_train,
                           "n_test": len(f.test_index), "fit_seconds": f.fit_seconds,
                           "predict_ms_per_sample": f.predict_ms_per_sample, **f.metrics})
                for f in self.folds]


def summarize(folds: list[FoldResult]) -> dict[str, dict[str, float]]:
    """Mean and (population) standard deviation over folds of every scalar metric."""
    names = [k for k, v in folds[0].metrics.items() if isinstance(v, (int, float))] if folds else []
    out = {}
    for name in names:
        values = np.array([f.metrics[name] for f in folds if name in f.metrics], dtype=float)
        out[name] = {"mean": float(np.mean(values)), "std": float(np.std(values))}
    return out


# --------------------------------------------------------------------------- running
DecoderSource = Decoder | Callable[[], Decoder]


def evaluate(data: DecodingSet, decoder: DecoderSource, protocol: str = "kfold", *,
             context: TrainingContext | None = None,
             completed: dict[int, FoldResult] | None = None,
             on_fold: Callable[[FoldResult], None] | None = None,
             progress_span: tuple[float, float] = (0.0, 1.0),
             **options: Any) -> EvaluationResult:
    """Run ``protocol`` on ``data``, a fresh decoder per fold.

    decoder
        A decoder to clone for every fold, or a function returning a new one.
    completed
        Folds already done (resuming a run): skipped, their results reused.
    on_fold
        Called with each new `FoldResult` as soon as it exists (to save it).
    options
        ``seed`` and the protocol's options (its ``Options`` schema in `decoders.protocols`;
        options only other protocols read are ignored).
    """
    context = context or TrainingContext()
    completed = dict(completed or {})
    factory = _factory(decoder)
    task = Task(factory().task)
    splits = make_splits(data, protocol, **options)
    todo = [s for s in splits if s.fold not in completed]
    pretrain_targets = list(dict.fromkeys(str(data.subject[s.test[0]]) for s in todo if s.pretrain is not None))
    progress = ProgressRelay(context, len(todo) + len(pretrain_targets), progress_span)
    context.log(f"{protocol}: {len(splits)} folds ({len(splits) - len(todo)} already done)")

    results = {k: v for k, v in completed.items() if k in {s.fold for s in splits}}
    pretrained: dict[str, tuple[Decoder, float]] = {}
    for split in todo:
        context.check_cancel()
        fold_ctx = progress.context(split.fold)
        if split.pretrain is not None:
            target = str(data.subject[split.test[0]])
            if target not in pretrained:
                pretrained.clear()  # one pretrained model in memory at a time
                pre_ctx = progress.context(f"pretrain:{target}")
                pre_ctx.log(f"pretraining on {len(split.pretrain)} trials of the subjects other than {target}")
                model, seconds = _fit(factory(), data, split.pretrain, pre_ctx)
                pretrained[target] = (model, seconds)
                # the pretraining curves go with the first fold of this target (history.csv)
                progress.history.setdefault(split.fold, []).extend(progress.history.pop(f"pretrain:{target}", []))
                progress.unit_done()
            model, pretrain_seconds = pretrained[target]
            model = copy.deepcopy(model)
            fold_ctx.log(f"fine-tuning on {len(split.train)} trials ({split.label})")
            start = time.perf_counter()
            model.fine_tune(data.X[split.train], data.y[split.train],
                            **_kwargs(model.fine_tune, subject=data.subject[split.train],
                                      tr=_tr(data, split.train), context=fold_ctx))
            fit_seconds = time.perf_counter() - start
            split.info["pretrain_seconds"] = pretrain_seconds
        else:
            fold_ctx.log(f"training on {len(split.train)} samples ({split.label})")
            model, fit_seconds = _fit(factory(), data, split.train, fold_ctx)
        context.check_cancel()
        facts = getattr(model, "fold_facts", None)   # what the decoder chose from this fold's data
        if callable(facts):
            split.info.update(facts())
        result = _test(model, data, split, task, fit_seconds, fold_ctx)
        result.history = progress.history.pop(split.fold, [])
        results[split.fold] = result
        if task == Task.REGRESSION:  # held-out trajectories for the live reconstruction pane
            shown = slice(0, min(len(result.y_true), TRAJECTORY_POINTS))
            fold_ctx.emit(TrajectoryReconstruction(truth=np.asarray(result.y_true)[shown],
                                                   decoded=np.asarray(result.y_pred)[shown],
                                                   target_names=list(data.target_names), split="test"))
        fold_ctx.emit(FoldEnd(metrics=_scalars(result.metrics),
                              confusion=result.metrics.get("confusion"), label=split.label))
        if on_fold is not None:
            on_fold(result)
        progress.unit_done(f"fold {split.fold} done: {_headline(result.metrics, task, data.paradigm)}")

    folds = [results[s.fold] for s in splits]
    timings = {"fit_seconds_mean": float(np.mean([f.fit_seconds for f in folds])),
               "fit_seconds_total": float(np.sum([f.fit_seconds for f in folds])),
               "predict_ms_per_sample": float(np.mean([f.predict_ms_per_sample for f in folds]))}
    pre = [f.info["pretrain_seconds"] for f in folds if "pretrain_seconds" in f.info]
    if pre:
        timings["pretrain_seconds_mean"] = float(np.mean(pre))
    return EvaluationResult(protocol, task.value, folds, summarize(folds), timings,
                            _by_subject(folds, data, task))


TRAJECTORY_POINTS = 1000  # test samples sent to the live trajectory view per fold


def predict_with_proba(model: Decoder, X: np.ndarray, subject=None,
                       tr=None) -> tuple[np.ndarray, np.ndarray | None, float]:
    """Predictions, class probabilities (or None) and the prediction time in ms per sample;
    ``subject`` and ``tr`` (seconds per sample) go to the methods that accept them."""
    start = time.perf_counter()
    y_pred = np.asarray(model.predict(X, **_kwargs(model.predict, subject=subject, tr=tr)))
    ms = (time.perf_counter() - start) * 1000 / max(len(X), 1)
    proba = None
    if getattr(model, "task", None) == Task.CLASSIFICATION and hasattr(model, "predict_proba"):
        try:
            proba = np.asarray(model.predict_proba(X, **_kwargs(model.predict_proba, subject=subject, tr=tr)))
        except NotImplementedError:
            proba = None
    return y_pred, proba, ms


def fit_arguments(model: Decoder, data: DecodingSet, index=None,
                  context: TrainingContext | None = None) -> tuple[tuple, dict[str, Any]]:
    """The arguments of ``model.fit`` on the samples at ``index`` (all samples when None).

    The positional ones follow the model's task (`decoders.tasks.TaskSpec.fit_inputs`): X and
    the labels or targets, X and None (the stimuli go as a keyword), or X alone. The keywords
    are the sample metadata ``fit`` accepts: subject, session, tr, stimuli, target_names and
    ``context`` (None values left out). Every fold and the final fit on all data use this.

    Parameters
    ----------
    model : Decoder
        The decoder about to be fitted (its ``task`` and ``fit`` signature are read).
    data : DecodingSet
        The samples and their metadata.
    index : array of int or bool, optional
        The samples to fit on.
    context : TrainingContext, optional
        Passed as ``context`` when ``fit`` takes one.

    Returns
    -------
    args : tuple
    kwargs : dict

    Raises
    ------
    ProtocolError
        The task needs stimuli and the data has none.

    Examples
    --------
    >>> args, kwargs = fit_arguments(model, data, split.train, context)
    >>> model.fit(*args, **kwargs)
    """
    idx = slice(None) if index is None else index
    inputs = get_task(model.task).fit_inputs
    X = data.X[idx]
    stimuli = _truth(data, "stimuli")[idx] if inputs == "stimuli" else (
        None if getattr(data, "stimuli", None) is None else np.asarray(data.stimuli)[idx])
    if inputs == "none":
        args: tuple = (X,)
    elif inputs == "stimuli":
        args = (X, None)
    else:
        args = (X, None if data.y is None else data.y[idx])
    kwargs = _kwargs(model.fit, subject=data.subject[idx], session=data.session[idx], tr=_tr(data, idx),
                     stimuli=stimuli, target_names=list(data.target_names) or None, context=context)
    return args, kwargs


def _fit(model: Decoder, data: DecodingSet, index: np.ndarray, ctx: TrainingContext) -> tuple[Decoder, float]:
    """Fit on ``index`` (see `fit_arguments`); returns the model and the seconds it took."""
    args, kwargs = fit_arguments(model, data, index, ctx)
    start = time.perf_counter()
    model.fit(*args, **kwargs)
    return model, time.perf_counter() - start


def _test(model: Decoder, data: DecodingSet, split: Split, task: Task, fit_seconds: float,
          context: TrainingContext | None = None) -> FoldResult:
    spec = get_task(task)
    hook = spec.test_function()
    if hook is not None:
        m, rows = hook(model, data, split.test, context)
        info = {**split.info, "prediction_rows": rows} if rows else dict(split.info)
        return FoldResult(split.fold, split.label, split.test, np.empty(0), np.empty(0), None, m,
                          fit_seconds, 0.0, len(split.train), info)
    X = data.X[split.test]
    y_true = _truth(data, "stimuli" if spec.fit_inputs == "stimuli" else "y")[split.test]
    y_pred, proba, ms = predict_with_proba(model, X, subject=data.subject[split.test],
                                           tr=_tr(data, split.test))
    m = spec.metric_function()(y_true, y_pred, **_kwargs(
        spec.metric_function(), proba=proba, n_classes=data.n_classes or None,
        target_names=data.target_names or None))
    if getattr(data, "paradigm", None) == "speller" and proba is not None:  # letters from the flashes
        from .speller import speller_metrics

        m.update(speller_metrics(data, split.test, proba))
    return FoldResult(split.fold, split.label, split.test, y_true, y_pred, proba, m, fit_seconds, ms,
                      len(split.train), dict(split.info))


def _tr(data: DecodingSet, index) -> np.ndarray | None:
    """The TRs (s) of the samples at ``index``, or None when the set has none."""
    return None if data.tr is None else data.tr[index]


def _truth(data: DecodingSet, name: str) -> np.ndarray:
    value = getattr(data, name, None)
    if value is None:
        raise ProtocolError(f"the data has no {'labels or targets' if name == 'y' else name} to evaluate against.")
    return np.asarray(value) if name == "stimuli" else value


class ProgressRelay:
    """Turns per-fold training progress into overall progress (with ETA) over ``n_units``
    units of work mapped onto ``span``, and keeps each fold's `EpochEnd` rows (``history``)."""

    def __init__(self, context: TrainingContext, n_units: int, span: tuple[float, float]):
        self.parent, self.n_units, self.span = context, max(n_units, 1), span
        self.done = 0
        self.start = time.perf_counter()
        self.history: dict[Any, list[dict]] = {}

    def context(self, fold) -> TrainingContext:
        def relay(event: TrainingEvent) -> None:
            if isinstance(event, EpochEnd):
                self.history.setdefault(fold, []).append(event.row())
            if isinstance(event, Progress):
                self._emit((self.done + float(event.fraction)) / self.n_units, event.message)
                return
            if self.parent.on_event is not None:
                self.parent.on_event(event)
        return TrainingContext(relay, self.parent.cancel_flag, self.parent.device, fold)

    def unit_done(self, message: str = "") -> None:
        self.done += 1
        self._emit(self.done / self.n_units, message)

    def _emit(self, local: float, message: str) -> None:
        local = min(max(local, 0.0), 1.0)
        lo, hi = self.span
        elapsed = time.perf_counter() - self.start
        eta = elapsed * (1 - local) / local if local > 0 else None
        self.parent.emit(Progress(fraction=lo + (hi - lo) * local, eta_s=eta, message=message))


def _factory(decoder: DecoderSource) -> Callable[[], Decoder]:
    if isinstance(decoder, Decoder):
        from sklearn.base import clone

        return lambda: clone(decoder)
    return decoder


def _kwargs(method, **candidates) -> dict[str, Any]:
    """The keyword arguments ``method`` accepts among ``candidates`` (None values dropped)."""
    params = inspect.signature(method).parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return {k: v for k, v in candidates.items() if v is not None}
    return {k: v for k, v in candidates.items() if k in params and v is not None}


def _by_subject(folds: list[FoldResult], data: DecodingSet, task=None) -> dict[str, dict[str, float]]:
    """Mean metrics per test subject (the usual way BCI results are reported); a
    reconstruction fold testing several subjects at once (one cross-subject model) is scored
    per subject."""
    groups: dict[str, list[FoldResult]] = {}
    for f in folds:
        subjects = np.unique(data.subject[f.test_index])
        if len(subjects) == 1:
            groups.setdefault(str(subjects[0]), []).append(f)
        elif task is not None and get_task(task).fit_inputs == "stimuli" and len(f.y_pred) == len(f.test_index):
            fn = get_task(task).metric_function()
            for s in subjects:
                keep = data.subject[f.test_index] == s
                m = fn(np.asarray(f.y_true)[keep], np.asarray(f.y_pred)[keep], **_kwargs(
                    fn, n_classes=data.n_classes or None, target_names=data.target_names or None))
                groups.setdefault(str(s), []).append(copy.copy(f))
                groups[str(s)][-1].metrics = m
    if len(groups) < 2:
        return {}
    return {s: {k: v["mean"] for k, v in summarize(fs).items()} for s, fs in groups.items()}


def _scalars(m: dict[str, Any]) -> dict[str, float]:
    return {k: v for k, v in m.items() if isinstance(v, (int, float))}


def _headline(m: dict[str, Any], task: Task, paradigm: str | None = None) -> str:
    from .tasks import headline_metrics

    keys = headline_metrics(task, paradigm)
    return ", ".join(f"{k} {m[k]:.3f}" for k in keys if k in m)


def jsonable(value):
    """Numpy scalars and arrays -> plain Python, recursively."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
