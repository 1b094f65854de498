"""Warnings for decoder setups known to fail (issue 13), each with what to do instead.

`setup_warnings` looks only at the experiment's settings and the data's counts (no training),
so the runner can log them before the first fold and the GUI/CLI show them as log lines.
"""
from __future__ import annotations

from typing import Any

FEW_TRIALS = 100   # below this many training trials a deep model without pretraining usually sits at chance


def training_trials(n_per_subject: dict[str, int], n_total: int, evaluation) -> int:
    """The smallest training-set size a fold of this protocol sees (an estimate from counts,
    by the protocol itself: `decoders.protocols.Protocol.smallest_training_set`)."""
    from decoders.protocols import protocol

    return protocol(evaluation.protocol).smallest_training_set(n_per_subject, n_total, evaluation.options)


def setup_warnings(cls, params: dict[str, Any], data, evaluation) -> list[str]:
    """Plain-language warnings for ``cls`` with ``params`` on ``data`` under ``evaluation``."""
    import numpy as np

    if getattr(data, "kind", None) != "trials" or data.y is None:
        return []
    names, counts = np.unique(data.subject, return_counts=True)
    per_subject = dict(zip(names.tolist(), counts.tolist()))
    from decoders.protocols import protocol

    chosen = protocol(evaluation.protocol)
    n_train = training_trials(per_subject, len(data), evaluation)
    resolved = cls.Params(**params)
    out = []
    if getattr(resolved, "subject_head_weight", 0) > 0:
        one_subject = len(per_subject) == 1 or chosen.trains_on_one_subject(evaluation.options)
        if one_subject:
            out.append("the subject head (subject_head_weight > 0) sees one training subject per fold, so it "
                       "learns nothing and only adds noise: set subject_head_weight: 0, or train across "
                       "subjects (loso / finetune protocol).")
    batch = getattr(resolved, "batch_size", None)
    if batch is not None and batch > n_train:
        out.append(f"batch_size {batch} is larger than the ~{n_train} training trials of a fold: one step per "
                   f"epoch, too few to learn; set batch_size to about {max(4, n_train // 8)}.")
    if getattr(cls, "uses_torch", False) and n_train < FEW_TRIALS and _learns_labels(cls) \
            and not chosen.pretrains_across_subjects and not _pretrained(resolved) \
            and getattr(resolved, "recipe", "published") == "published":
        out.append(f"a deep model on ~{n_train} training trials with no pretraining usually stays at chance: "
                   f"{_small_data_remedies(cls, resolved, data, len(per_subject))}.")
    return out


def _learns_labels(cls) -> bool:
    """Whether the decoder learns the data's labels or targets (not self-supervised
    pretraining, which needs no labels, nor image reconstruction)."""
    from decoders.base import Task

    return Task(cls.task) in (Task.CLASSIFICATION, Task.REGRESSION)


def _pretrained(resolved) -> bool:
    """Whether the settings start from pretrained weights: a pretrained ``encoder`` named, or
    ``pretrain_epochs`` of self-supervised pretraining before fitting (BrainMAE)."""
    return bool(getattr(resolved, "encoder", None)) or getattr(resolved, "pretrain_epochs", 0) > 0


def _small_data_remedies(cls, resolved, data, n_subjects: int) -> str:
    """What to do instead, only what this decoder and data allow: its own small-data recipe
    or pretraining settings, the linear decoders that fit the data, the finetune protocol."""
    from decoders.compatibility import fitting_decoders
    from decoders.registry import get

    fields = cls.Params.model_fields
    options = []
    if "recipe" in fields:
        options.append("use the small-data recipe (recipe: auto)")
    if "encoder" in fields or "pretrain_epochs" in fields:
        how = [w for w, f in (("encoder: a pretraining run's folder", "encoder"),
                              ("pretrain_epochs > 0", "pretrain_epochs")) if f in fields]
        options.append(f"start from a pretrained encoder ({' or '.join(how)})")
    try:
        linear = [n for n in fitting_decoders(data) if not get(n).uses_torch][:3]
    except Exception:  # noqa: BLE001 - a plugin that fails to import: no names, the rest still holds
        linear = []
    if linear:
        options.append(f"a linear decoder ({', '.join(linear)})")
    if getattr(cls, "supports_fine_tune", False) and n_subjects > 1:
        options.append("pretrain across subjects (finetune protocol)")
    return ", ".join(options[:-1]) + f" or {options[-1]}" if len(options) > 1 else (options or ["collect more trials"])[0]
