"""What each task means for a run: what a fold hands to ``fit``, its metrics, headline,
curves, prediction columns and figures. Evaluation, the run writer and the GUI read these
specs; adding a task is one `register_task` call.

A task's ``test`` hook (``"module:function"``) replaces the default "predict, then compare
with the truth": it is called as ``test(model, data, test_index, context)`` and returns
``(metrics, prediction_rows)``. The pretraining task's hook asks the decoder for
``reconstruct_masked(X, rng) -> (true, predicted)``: the masked segments of held-out input
and the decoder's reconstruction of them, scored as masked-segment R^2 and MSE.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .base import ParameterError


@dataclass(frozen=True)
class TaskSpec:
    """What a task means for a run (see the module docstring).

    Parameters
    ----------
    name : str
        The task's name, as a decoder's ``task`` says it (``decoders.base.Task`` values).
    fit_inputs : str
        What a fold hands to ``fit``: ``"labels"``, ``"targets"``, ``"stimuli"`` or ``"none"``.
    metrics : str
        ``"module:function"`` computing a fold's metric dict.
    headline : str
        The metric a run is summarised by.
    higher_is_better : bool
        Whether a larger headline is better.
    metric_names : tuple of str
        Scalar metrics shown in tables and comparisons.
    curves : tuple of str
        Per-epoch curves (history.csv columns) the GUI and the figures plot.
    prediction_columns : tuple of str
        Leading columns of predictions.csv.
    figures : tuple of str
        Figures a run folder gets (PNG file stems).
    test : str, optional
        ``"module:function"`` replacing "predict, then compare with the truth".
    """

    name: str                          # "classification" | "regression" | "reconstruction" | "pretraining"
    fit_inputs: str                    # what a fold hands to fit: "labels" | "targets" | "stimuli" | "none"
    metrics: str                       # "module:function" computing the fold's metric dict
    headline: str                      # the metric a run is summarised by
    higher_is_better: bool
    metric_names: tuple[str, ...]      # scalar metrics shown in tables and comparisons
    curves: tuple[str, ...]            # per-epoch curves (history.csv columns) the GUI and figures plot
    prediction_columns: tuple[str, ...]  # leading columns of predictions.csv (per-class/target ones follow)
    figures: tuple[str, ...]           # figures written to a run folder (PNG file stems)
    test: str | None = None            # "module:function"(model, data, test_index, context) -> (metrics, rows)

    def metric_function(self) -> Callable[..., dict[str, Any]]:
        """The function ``metrics`` names (imported now)."""
        return _load(self.metrics)

    def test_function(self) -> Callable | None:
        """The function ``test`` names (imported now), or None for the default test."""
        return _load(self.test) if self.test else None


_TASKS: dict[str, TaskSpec] = {}


def register_task(spec: TaskSpec) -> TaskSpec:
    """Add a task (registering its name again replaces it).

    Parameters
    ----------
    spec : TaskSpec

    Returns
    -------
    TaskSpec
        ``spec``.
    """
    _TASKS[spec.name] = spec
    return spec


def get_task(name) -> TaskSpec:
    """The spec of a task.

    Parameters
    ----------
    name : str or Task
        A task name, or a ``decoders.base.Task``.

    Returns
    -------
    TaskSpec

    Raises
    ------
    ParameterError
        No task of that name (the message lists the known ones).

    Examples
    --------
    >>> get_task("classification").headline
    'accuracy'
    """
    key = getattr(name, "value", name)
    if key not in _TASKS:
        raise ParameterError(f"unknown task '{key}'.", hint=f"Known: {', '.join(_TASKS)}.")
    return _TASKS[key]


def tasks() -> list[TaskSpec]:
    """Every registered task, in registration order."""
    return list(_TASKS.values())


def _load(target: str) -> Callable:
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)


def pretraining_test(model, data, test_index, context=None) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Masked-segment R^2 and MSE on held-out input, through ``model.reconstruct_masked``
    (given the samples' TRs when it takes ``tr`` and the data have them). A decoder that also
    returns trivial fills ``{name: values}`` gets their R^2 as ``masked_r2_<name>``."""
    import inspect

    from . import metrics

    if not hasattr(model, "reconstruct_masked"):
        raise ParameterError(f"{getattr(model, 'name', type(model).__name__)}: a pretraining decoder must "
                             "provide reconstruct_masked(X, rng) -> (true, predicted).")
    seed = getattr(context, "seed", 0) if context is not None else 0
    kwargs = {}
    tr = getattr(data, "tr", None)
    if tr is not None and "tr" in inspect.signature(model.reconstruct_masked).parameters:
        kwargs["tr"] = np.asarray(tr)[test_index]
    true, pred, *fills = model.reconstruct_masked(data.X[test_index], np.random.default_rng(seed), **kwargs)
    out = metrics.pretraining(true, pred)
    for name, values in (fills[0] if fills else {}).items():
        out[f"masked_r2_{name.replace('-', '_')}"] = metrics.pretraining(true, values)["masked_r2"]
    return out, []


_ROW = ("fold", "index", "subject", "session", "run")

register_task(TaskSpec(
    "classification", "labels", "decoders.metrics:classification", "accuracy", True,
    ("accuracy", "balanced_accuracy", "kappa", "roc_auc"), ("train_loss", "val_loss", "train_acc", "val_acc"),
    _ROW + ("true", "pred"), ("learning_curves", "confusion")))
register_task(TaskSpec(
    "regression", "targets", "decoders.metrics:regression", "r2", True,
    ("r2", "correlation", "nrmse", "angle_error"), ("train_loss", "val_loss", "train_r2", "val_r2"),
    _ROW, ("learning_curves", "trajectories")))
register_task(TaskSpec(
    "reconstruction", "stimuli", "decoders.metrics:reconstruction", "pixcorr", True,
    ("pixcorr", "ssim", "pixel_mse", "two_way_pixel", "two_way_embedding"), ("train_loss", "val_loss"),
    _ROW, ("learning_curves", "reconstructions")))
register_task(TaskSpec(
    "pretraining", "none", "decoders.metrics:pretraining", "masked_r2", True,
    ("masked_r2", "masked_mse", "masked_r2_roi_mean", "masked_r2_linear"),
    ("train_loss", "val_loss", "train_masked_r2", "val_masked_r2"),
    ("fold",), ("learning_curves",), test="decoders.tasks:pretraining_test"))

def curve_names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(loss curves, score curves) over every task, in order: what the GUI's plots show."""
    names = list(dict.fromkeys(c for t in tasks() for c in t.curves))
    return tuple(c for c in names if c.endswith("loss")), tuple(c for c in names if not c.endswith("loss"))


# data paradigms whose summary leads with other metrics than their task's (DecodingSet.paradigm):
# ERP sets hold one target flash in six, so accuracy would flatter a decoder that never says "target"
PARADIGM_HEADLINES = {"erp": ("roc_auc", "balanced_accuracy"),
                      "speller": ("roc_auc", "balanced_accuracy", "char_accuracy_15")}


def headline_metrics(task, paradigm: str | None = None) -> tuple[str, ...]:
    """The metrics a fold or run of ``task`` on data of ``paradigm`` is summarised by, the leading one first."""
    return PARADIGM_HEADLINES.get(paradigm) or get_task(task).metric_names[:3]


def headline_order() -> tuple[str, ...]:
    """Metrics a summary is headlined by, in order: every task's headline, then its runner-up."""
    heads = [t.headline for t in tasks()] + [t.metric_names[1] for t in tasks() if len(t.metric_names) > 1]
    return tuple(dict.fromkeys(heads))
