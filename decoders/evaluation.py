"""Evaluation protocols over a `DecodingSet`: which samples train and which test, fold by fold.

Protocols (``evaluate(..., protocol=NAME)``):

``kfold``
    Stratified k-fold inside each subject+session (``within="session"``), each subject
    (``"subject"``) or over all trials pooled (``"all"``). A fixed ``seed`` gives the same
    splits every time (sklearn ``StratifiedKFold(shuffle=True, random_state=seed)``; plain
    ``KFold`` for continuous targets, e.g. a subject's age, which cannot be stratified).
``cross-session``
    Per subject, train on some sessions (or runs, ``split_by="run"``) and test on the others;
    with no ``train_groups`` each session/run is left out in turn.
``loso``
    Leave one subject out: train on all the other subjects, test on the one left out.
``leave-one-site-out``
    Train on every other site (``data.session``), test on the one left out (one sample per
    subject, e.g. ROI series).
``repeated-kfold``
    Repeated stratified k-fold inside each session (the site of ROI series), all its subjects
    pooled: ``n_repeats`` times ``n_folds`` folds per site, reshuffled each repeat
    (sklearn ``RepeatedStratifiedKFold``, ``random_state=seed``; ``RepeatedKFold`` for
    continuous targets).
``finetune``
    For each target subject: fit on all the other subjects once, then for each of the
    target's k folds (the same folds as ``kfold``) fine-tune a copy on the target's training
    fold (optionally only its first ``n_calibration`` trials) and test on its test fold.
``holdout``
    Contiguous sample ranges, e.g. train ``[0, 5000)`` test ``[5000, 6000)`` (continuous
    decoding); without ranges the last ``test_fraction`` of the samples is the test set.
``blocked-kfold``
    k contiguous blocks over time, never shuffled; ``gap`` samples either side of the test
    block are left out of training.

Every fold clones the decoder (``sklearn.base.clone``), reports ``fold_end`` through the
`TrainingContext`, and gives a `FoldResult` with metrics, predictions and timings.
"""
from __future__ import annotations

import copy
import inspect
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from data.decoding_set import DecodingSet
from data.errors import InputError

from .base import Decoder, Task
from .events import EpochEnd, FoldEnd, Progress, TrainingContext, TrainingEvent, TrajectoryReconstruction
from .tasks import get_task

PROTOCOLS = ("kfold", "cross-session", "loso", "leave-one-site-out", "repeated-kfold", "finetune", "holdout",
             "blocked-kfold")
TRIAL_PROTOCOLS = ("kfold", "cross-session", "loso", "leave-one-site-out", "repeated-kfold", "finetune", "holdout")
CONTINUOUS_PROTOCOLS = ("holdout", "blocked-kfold")


class ProtocolError(InputError):
    """A protocol cannot be applied to this data (too few subjects, sessions, trials...)."""


# --------------------------------------------------------------------------- splits
@dataclass
class Split:
    """One fold: indices into the set. ``pretrain`` is the fine-tune protocol's source data."""

    fold: int
    train: np.ndarray
    test: np.ndarray
    label: str
    info: dict[str, Any] = field(default_factory=dict)
    pretrain: np.ndarray | None = None


def kfold_splits(data: DecodingSet, n_folds: int = 5, seed: int = 0,
                 within: str = "session") -> list[Split]:
    """Stratified k-fold inside each group (subject+session, subject, or all trials); plain
    k-fold for continuous targets."""
    from sklearn.model_selection import KFold, StratifiedKFold

    _need_labels(data, "kfold")
    groups = _within_groups(data, within)
    continuous = _continuous_targets(data)
    splits: list[Split] = []
    for key in dict.fromkeys(groups.tolist()):
        idx = np.flatnonzero(groups == key)
        y = data.y[idx]
        _check_fold_count(y, n_folds, f"kfold ({_describe_group(data, idx, within)})", continuous)
        cv = (KFold if continuous else StratifiedKFold)(n_splits=n_folds, shuffle=True, random_state=seed)
        for k, (tr, te) in enumerate(cv.split(np.zeros(len(idx)), y)):
            info = _group_info(data, idx, within) | {"fold_in_group": k}
            splits.append(Split(len(splits), idx[tr], idx[te],
                                 f"{_describe_group(data, idx, within)}, fold {k + 1}/{n_folds}", info))
    return splits


def cross_session_splits(data: DecodingSet, split_by: str = "session",
                         train_groups: Iterable | None = None,
                         test_groups: Iterable | None = None) -> list[Split]:
    """Per subject: train on some sessions/runs, test on others (or leave each one out)."""
    if split_by not in ("session", "run"):
        raise ProtocolError(f"cross-session: split_by must be 'session' or 'run', not '{split_by}'.")
    values = getattr(data, split_by)
    train_groups = None if train_groups is None else [str(g) for g in train_groups]
    test_groups = None if test_groups is None else [str(g) for g in test_groups]
    known = list(dict.fromkeys(values.tolist()))
    for name, chosen in (("train_groups", train_groups), ("test_groups", test_groups)):
        missing = [g for g in chosen or [] if g not in known]
        if missing:
            raise ProtocolError(f"cross-session: {name} {missing} not in the data's {split_by}s.",
                                hint=f"Available: {', '.join(known)}.")
    splits: list[Split] = []
    for subj in data.subjects:
        in_subj = data.subject == subj
        subj_groups = list(dict.fromkeys(values[in_subj].tolist()))
        if train_groups is None and test_groups is None:
            if len(subj_groups) < 2:
                continue
            plans = [([g for g in subj_groups if g != held], [held]) for held in subj_groups]
        else:
            train = train_groups or [g for g in subj_groups if g not in test_groups]
            test = test_groups or [g for g in subj_groups if g not in train]
            plans = [(train, test)]
        for train, test in plans:
            tr = np.flatnonzero(in_subj & np.isin(values, train))
            te = np.flatnonzero(in_subj & np.isin(values, test))
            if len(tr) and len(te):
                splits.append(Split(len(splits), tr, te,
                                    f"subject {subj}, train {split_by} {','.join(train)} -> test {','.join(test)}",
                                    {"subject": subj, "train_groups": list(train), "test_groups": list(test)}))
    if not splits:
        raise ProtocolError(f"cross-session: no subject has trials in two different {split_by}s "
                            f"(found {split_by}s: {', '.join(known)}).",
                            hint="Use protocol 'kfold', or split_by 'run'.")
    return splits


def loso_splits(data: DecodingSet, test_subjects: Iterable | None = None) -> list[Split]:
    """Leave one subject out (sklearn LeaveOneGroupOut over ``data.subject``)."""
    subjects = _target_subjects(data, test_subjects, "loso")
    return [Split(i, np.flatnonzero(data.subject != s), np.flatnonzero(data.subject == s),
                  f"test subject {s}", {"subject": s})
            for i, s in enumerate(subjects)]


def leave_one_site_out_splits(data: DecodingSet) -> list[Split]:
    """Leave one site (``data.session``) out."""
    _need_labels(data, "leave-one-site-out")
    sites = list(dict.fromkeys(data.session.tolist()))
    if len(sites) < 2:
        raise ProtocolError(f"leave-one-site-out: needs at least two sites; the data holds only {sites}.")
    return [Split(i, np.flatnonzero(data.session != s), np.flatnonzero(data.session == s),
                  f"test site {s}", {"site": s}) for i, s in enumerate(sites)]


def repeated_kfold_splits(data: DecodingSet, n_folds: int = 5, n_repeats: int = 5,
                          seed: int = 0) -> list[Split]:
    """Repeated stratified k-fold inside each session (site), subjects pooled (not stratified
    for continuous targets)."""
    from sklearn.model_selection import RepeatedKFold, RepeatedStratifiedKFold

    _need_labels(data, "repeated-kfold")
    if n_repeats < 1:
        raise ProtocolError(f"repeated-kfold: n_repeats must be at least 1, not {n_repeats}.")
    continuous = _continuous_targets(data)
    splits: list[Split] = []
    for site in dict.fromkeys(data.session.tolist()):
        idx = np.flatnonzero(data.session == site)
        _check_fold_count(data.y[idx], n_folds, f"repeated-kfold (site {site})", continuous)
        cv = (RepeatedKFold if continuous else RepeatedStratifiedKFold)(
            n_splits=n_folds, n_repeats=n_repeats, random_state=seed)
        for k, (tr, te) in enumerate(cv.split(np.zeros(len(idx)), data.y[idx])):
            repeat, fold = divmod(k, n_folds)
            splits.append(Split(len(splits), idx[tr], idx[te],
                                f"site {site}, repeat {repeat + 1}/{n_repeats}, fold {fold + 1}/{n_folds}",
                                {"site": str(site), "repeat": repeat, "fold_in_group": fold}))
    return splits


def finetune_splits(data: DecodingSet, n_folds: int = 5, seed: int = 0, within: str = "session",
                    test_subjects: Iterable | None = None, n_calibration: int | None = None) -> list[Split]:
    """The ``kfold`` splits of each target subject, each with the other subjects as ``pretrain``.

    Fold numbers and test sets are exactly those of ``kfold_splits`` with the same arguments.
    ``n_calibration`` keeps only the first n training trials (in recording order), as an
    online calibration session would.
    """
    subjects = _target_subjects(data, test_subjects, "finetune")
    out = []
    for split in kfold_splits(data, n_folds, seed, within if within != "all" else "subject"):
        subj = data.subject[split.test[0]]
        if subj not in subjects:
            continue
        train = np.sort(split.train)
        if n_calibration is not None:
            if n_calibration > len(train):
                raise ProtocolError(f"finetune: n_calibration={n_calibration} but subject {subj}'s "
                                    f"training folds hold only {len(train)} trials.")
            train = train[:n_calibration]
        split.train = train
        split.pretrain = np.flatnonzero(data.subject != subj)
        split.info["n_calibration"] = len(train)
        out.append(split)
    return out


def holdout_splits(n_samples: int, train_range: tuple[int, int] | None = None,
                   test_range: tuple[int, int] | None = None, test_fraction: float = 0.2) -> list[Split]:
    """One contiguous train range and one contiguous test range (sample indices, end excluded)."""
    if train_range is None and test_range is None:
        cut = int(round(n_samples * (1 - test_fraction)))
        train_range, test_range = (0, cut), (cut, n_samples)
    elif test_range is None:
        test_range = (train_range[1], n_samples)
    elif train_range is None:
        train_range = (0, test_range[0])
    for name, (a, b) in (("train_range", train_range), ("test_range", test_range)):
        if not 0 <= a < b <= n_samples:
            raise ProtocolError(f"holdout: {name} [{a}, {b}) does not fit in the data's "
                                f"{n_samples} samples (need 0 <= start < end <= {n_samples}).")
    tr, te = np.arange(*train_range), np.arange(*test_range)
    if np.intersect1d(tr, te).size:
        raise ProtocolError(f"holdout: train_range {list(train_range)} and test_range "
                            f"{list(test_range)} overlap.")
    return [Split(0, tr, te, f"train [{train_range[0]}, {train_range[1]}) -> "
                             f"test [{test_range[0]}, {test_range[1]})",
                  {"train_range": list(train_range), "test_range": list(test_range)})]


def blocked_kfold_splits(n_samples: int, n_folds: int = 5, gap: int = 0) -> list[Split]:
    """k contiguous test blocks; training excludes the block and ``gap`` samples on each side."""
    if n_folds < 2 or n_samples < 2 * n_folds:
        raise ProtocolError(f"blocked-kfold: cannot cut {n_samples} samples into {n_folds} blocks.")
    splits = []
    for k, block in enumerate(np.array_split(np.arange(n_samples), n_folds)):
        lo, hi = block[0] - gap, block[-1] + gap
        train = np.flatnonzero((np.arange(n_samples) < lo) | (np.arange(n_samples) > hi))
        splits.append(Split(k, train, block, f"block {k + 1}/{n_folds} [{block[0]}, {block[-1] + 1})",
                            {"test_range": [int(block[0]), int(block[-1]) + 1]}))
    return splits


def make_splits(data: DecodingSet, protocol: str, *, n_folds: int = 5, seed: int = 0,
                within: str = "session", split_by: str = "session", train_groups=None,
                test_groups=None, test_subjects=None, n_calibration: int | None = None,
                train_range=None, test_range=None, test_fraction: float = 0.2,
                gap: int = 0, n_repeats: int = 5) -> list[Split]:
    """The folds of ``protocol`` on ``data`` (see the module docstring for the options)."""
    if protocol not in PROTOCOLS:
        raise ProtocolError(f"unknown protocol '{protocol}'.", hint=f"Known: {', '.join(PROTOCOLS)}.")
    allowed = CONTINUOUS_PROTOCOLS if data.kind == "continuous" else TRIAL_PROTOCOLS
    if protocol not in allowed:
        why = ("continuous samples are correlated in time: never shuffle them"
               if data.kind == "continuous" else "it is meant for continuous recordings")
        raise ProtocolError(f"protocol '{protocol}' does not apply to {data.kind} data ({why}).",
                            hint=f"Use one of: {', '.join(allowed)}.")
    if protocol == "kfold":
        return kfold_splits(data, n_folds, seed, within)
    if protocol == "cross-session":
        return cross_session_splits(data, split_by, train_groups, test_groups)
    if protocol == "loso":
        return loso_splits(data, test_subjects)
    if protocol == "leave-one-site-out":
        return leave_one_site_out_splits(data)
    if protocol == "repeated-kfold":
        return repeated_kfold_splits(data, n_folds, n_repeats, seed)
    if protocol == "finetune":
        return finetune_splits(data, n_folds, seed, within, test_subjects, n_calibration)
    if protocol == "holdout":
        return holdout_splits(len(data), train_range, test_range, test_fraction)
    return blocked_kfold_splits(len(data), n_folds, gap)


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
        return _jsonable(out)

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
        return [_jsonable({"fold": f.fold, "label": f.label, **f.info, "n_train": f.n_train,
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
        ``make_splits`` options: n_folds, seed, within, split_by, train_groups, test_groups,
        test_subjects, n_calibration, train_range, test_range, test_fraction, gap.
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
        progress.unit_done(f"fold {split.fold} done: {_headline(result.metrics, task)}")

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


def _fit(model: Decoder, data: DecodingSet, index: np.ndarray, ctx: TrainingContext) -> tuple[Decoder, float]:
    """Fit on ``index`` with what the model's task hands to fit (labels, targets, stimuli, nothing),
    plus the samples' TRs where fit takes ``tr`` and the set has them."""
    inputs = get_task(model.task).fit_inputs
    tr = _tr(data, index)
    start = time.perf_counter()
    if inputs == "none":
        model.fit(data.X[index], **_kwargs(model.fit, tr=tr, context=ctx))
    elif inputs == "stimuli":
        model.fit(data.X[index], None, **_kwargs(model.fit, stimuli=_truth(data, "stimuli")[index],
                                                  subject=data.subject[index], tr=tr, context=ctx))
    else:
        y = None if data.y is None else data.y[index]
        model.fit(data.X[index], y, **_kwargs(model.fit, subject=data.subject[index],
                                              session=data.session[index], tr=tr, context=ctx,
                                              target_names=list(data.target_names) or None))
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


def _need_labels(data: DecodingSet, protocol: str) -> None:
    if data.y is None:
        raise ProtocolError(f"{protocol}: the data has no labels to evaluate against.")


def _within_groups(data: DecodingSet, within: str) -> np.ndarray:
    if within == "session":
        return np.char.add(np.char.add(data.subject, "\x1f"), data.session)
    if within == "subject":
        return data.subject
    if within == "all":
        return np.zeros(len(data), dtype=str)
    raise ProtocolError(f"kfold: within must be 'session', 'subject' or 'all', not '{within}'.")


def _describe_group(data: DecodingSet, idx: np.ndarray, within: str) -> str:
    if within == "all":
        return "all subjects"
    text = f"subject {data.subject[idx[0]]}"
    return f"{text} session {data.session[idx[0]]}" if within == "session" else text


def _group_info(data: DecodingSet, idx: np.ndarray, within: str) -> dict[str, Any]:
    if within == "all":
        return {}
    info = {"subject": str(data.subject[idx[0]])}
    if within == "session":
        info["session"] = str(data.session[idx[0]])
    return info


def _continuous_targets(data: DecodingSet) -> bool:
    """Float targets and no classes (a regression set, e.g. ROI series with an age per subject)."""
    return data.y is not None and np.asarray(data.y).dtype.kind == "f" and not data.class_names


def _check_fold_count(y: np.ndarray, n_folds: int, where: str, continuous: bool = False) -> None:
    if n_folds < 2:
        raise ProtocolError(f"{where}: n_folds must be at least 2, not {n_folds}.")
    if continuous:
        if len(y) < n_folds:
            raise ProtocolError(f"{where}: only {len(y)} samples, fewer than n_folds={n_folds}.",
                                hint="Lower n_folds or load more samples.")
        return
    counts = np.unique(y, return_counts=True)[1]
    if len(counts) < 2:
        raise ProtocolError(f"{where}: only one class in these trials; nothing to decode.")
    if counts.min() < n_folds:
        raise ProtocolError(f"{where}: a class has only {counts.min()} trials, fewer than "
                            f"n_folds={n_folds}.", hint="Lower n_folds or load more trials.")


def _target_subjects(data: DecodingSet, chosen, protocol: str) -> list[str]:
    _need_labels(data, protocol)
    subjects = data.subjects
    if len(subjects) < 2:
        raise ProtocolError(f"{protocol}: needs at least two subjects; the data holds only "
                            f"subject {subjects[0]}.", hint="Load more subjects or use 'kfold'.")
    if chosen is None:
        return subjects
    chosen = [str(s) for s in chosen]
    missing = [s for s in chosen if s not in subjects]
    if missing:
        raise ProtocolError(f"{protocol}: test_subjects {missing} are not in the data.",
                            hint=f"Subjects: {', '.join(subjects)}.")
    return chosen


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


def _headline(m: dict[str, Any], task: Task) -> str:
    keys = get_task(task).metric_names[:3]
    return ", ".join(f"{k} {m[k]:.3f}" for k in keys if k in m)


def _jsonable(value):
    """Numpy scalars and arrays -> plain Python, recursively."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
