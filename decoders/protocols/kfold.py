"""Shuffled k-fold protocols over trials: ``kfold`` (inside each subject+session, subject, or
all trials), ``repeated-kfold`` (inside each site) and ``finetune`` (kfold folds of a target
subject, after pretraining on the others). Built on scikit-learn's ``StratifiedKFold`` /
``KFold`` and ``RepeatedStratifiedKFold`` / ``RepeatedKFold``.
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from data.decoding_set import DecodingSet
from data.spec import MAX_COUNT

from .base import (Problem, Protocol, ProtocolError, ProtocolOptions, Requirements, Split,
                   check_fold_count, continuous_targets, need_labels, target_subjects)

Within = Literal["session", "subject", "all"]


class KFold(Protocol):
    """Stratified k-fold inside each subject+session (``within="session"``), each subject
    (``"subject"``) or over all trials pooled (``"all"``): scikit-learn's
    ``StratifiedKFold(shuffle=True, random_state=seed)``, or ``KFold`` for continuous targets
    (e.g. a subject's age), which cannot be stratified."""

    name = "kfold"
    description = "Stratified k-fold inside each subject+session, each subject, or all trials pooled."
    requires = Requirements(groups="subject+session", classes_per_split=2)

    class Options(ProtocolOptions):
        n_folds: int = Field(5, ge=2, le=MAX_COUNT, description="Folds inside each subject+session, subject, or over all trials.")
        within: Within = Field("session", description="Folds inside each subject+session, each subject, or over all trials pooled.")

    def build_splits(self, data, options, seed):
        return kfold_splits(data, options.n_folds, seed, options.within)

    def find_problems(self, data, options):
        problems = super().find_problems(data, options)
        if problems or continuous_targets(data):
            return problems
        return stratification_problems(data, options.n_folds, options.within, self.name)

    def smallest_training_set(self, n_per_subject, n_total, options):
        if options.within != "all":
            return int(min(n_per_subject.values()) * ((options.n_folds - 1) / options.n_folds))
        return super().smallest_training_set(n_per_subject, n_total, options)

    def trains_on_one_subject(self, options):
        return options.within != "all"


class RepeatedKFold(Protocol):
    """Repeated stratified k-fold inside each session (the site of ROI series), all its
    subjects pooled: ``n_repeats`` times ``n_folds`` folds per site, reshuffled each repeat
    (scikit-learn's ``RepeatedStratifiedKFold(random_state=seed)``; ``RepeatedKFold`` for
    continuous targets)."""

    name = "repeated-kfold"
    description = "Repeated stratified k-fold inside each site (session), its subjects pooled."
    requires = Requirements(groups="site", classes_per_split=2)

    class Options(ProtocolOptions):
        n_folds: int = Field(5, ge=2, le=MAX_COUNT, description="Folds inside each site.")
        n_repeats: int = Field(5, ge=1, le=1000, description="Repeats of the stratified k-fold inside each site (session).")

    def build_splits(self, data, options, seed):
        return repeated_kfold_splits(data, options.n_folds, options.n_repeats, seed)


class Finetune(Protocol):
    """For each target subject: fit on all the other subjects once, then for each of the
    target's k folds (the same folds as ``kfold``) fine-tune a copy on the target's training
    fold (optionally only its first ``n_calibration`` trials) and test on its test fold."""

    name = "finetune"
    description = "Pretrain on the other subjects, fine-tune on each target subject's kfold training folds."
    requires = Requirements(groups="subject", min_groups=2, classes_per_split=2, fine_tune=True)
    pretrains_across_subjects = True

    class Options(ProtocolOptions):
        n_folds: int = Field(5, ge=2, le=MAX_COUNT, description="Folds inside each target subject (the kfold folds).")
        within: Within = Field("session", description="Target folds inside each subject+session or each subject ('all' means subject).")
        test_subjects: list[str | int] | None = Field(None, description="Subjects to test on (null: every subject in turn).")
        n_calibration: int | None = Field(None, ge=1, le=MAX_COUNT, description="Fine-tune on only the first n training trials of the target subject.")

    def build_splits(self, data, options, seed):
        return finetune_splits(data, options.n_folds, seed, options.within, options.test_subjects,
                               options.n_calibration)

    def find_problems(self, data, options):
        problems = super().find_problems(data, options)
        if problems:
            return problems
        if len(data.subjects) < 2:
            return [Problem(f"{self.name}: needs at least two subjects; the data holds only "
                            f"subject {data.subjects[0]}.", "Load more subjects or use 'kfold'.")]
        within = options.within if options.within != "all" else "subject"
        return [] if continuous_targets(data) else stratification_problems(data, options.n_folds, within, self.name)

    def smallest_training_set(self, n_per_subject, n_total, options):
        if options.within != "all":
            return int(min(n_per_subject.values()) * ((options.n_folds - 1) / options.n_folds))
        return super().smallest_training_set(n_per_subject, n_total, options)


# --------------------------------------------------------------------------- splitters
def kfold_splits(data: DecodingSet, n_folds: int = 5, seed: int = 0,
                 within: str = "session") -> list[Split]:
    """Stratified k-fold inside each group (subject+session, subject, or all trials); plain
    k-fold for continuous targets."""
    from sklearn.model_selection import KFold as SkKFold
    from sklearn.model_selection import StratifiedKFold

    need_labels(data, "kfold")
    groups = within_groups(data, within)
    continuous = continuous_targets(data)
    splits: list[Split] = []
    for key in dict.fromkeys(groups.tolist()):
        idx = np.flatnonzero(groups == key)
        y = data.y[idx]
        check_fold_count(y, n_folds, f"kfold ({describe_group(data, idx, within)})", continuous)
        cv = (SkKFold if continuous else StratifiedKFold)(n_splits=n_folds, shuffle=True, random_state=seed)
        for k, (tr, te) in enumerate(cv.split(np.zeros(len(idx)), y)):
            info = group_info(data, idx, within) | {"fold_in_group": k}
            splits.append(Split(len(splits), idx[tr], idx[te],
                                f"{describe_group(data, idx, within)}, fold {k + 1}/{n_folds}", info))
    return splits


def repeated_kfold_splits(data: DecodingSet, n_folds: int = 5, n_repeats: int = 5,
                          seed: int = 0) -> list[Split]:
    """Repeated stratified k-fold inside each session (site), subjects pooled (not stratified
    for continuous targets)."""
    from sklearn.model_selection import RepeatedKFold as SkRepeatedKFold
    from sklearn.model_selection import RepeatedStratifiedKFold

    need_labels(data, "repeated-kfold")
    if n_repeats < 1:
        raise ProtocolError(f"repeated-kfold: n_repeats must be at least 1, not {n_repeats}.")
    continuous = continuous_targets(data)
    splits: list[Split] = []
    for site in dict.fromkeys(data.session.tolist()):
        idx = np.flatnonzero(data.session == site)
        check_fold_count(data.y[idx], n_folds, f"repeated-kfold (site {site})", continuous)
        cv = (SkRepeatedKFold if continuous else RepeatedStratifiedKFold)(
            n_splits=n_folds, n_repeats=n_repeats, random_state=seed)
        for k, (tr, te) in enumerate(cv.split(np.zeros(len(idx)), data.y[idx])):
            repeat, fold = divmod(k, n_folds)
            splits.append(Split(len(splits), idx[tr], idx[te],
                                f"site {site}, repeat {repeat + 1}/{n_repeats}, fold {fold + 1}/{n_folds}",
                                {"site": str(site), "repeat": repeat, "fold_in_group": fold}))
    return splits


def finetune_splits(data: DecodingSet, n_folds: int = 5, seed: int = 0, within: str = "session",
                    test_subjects=None, n_calibration: int | None = None) -> list[Split]:
    """The ``kfold`` splits of each target subject, each with the other subjects as ``pretrain``.

    Fold numbers and test sets are exactly those of ``kfold_splits`` with the same arguments.
    ``n_calibration`` keeps only the first n training trials (in recording order), as an
    online calibration session would.
    """
    subjects = target_subjects(data, test_subjects, "finetune")
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


# ------------------------------------------------------------------------------ groups
def within_groups(data: DecodingSet, within: str) -> np.ndarray:
    if within == "session":
        return np.char.add(np.char.add(data.subject, "\x1f"), data.session)
    if within == "subject":
        return data.subject
    if within == "all":
        return np.zeros(len(data), dtype=str)
    raise ProtocolError(f"kfold: within must be 'session', 'subject' or 'all', not '{within}'.")


def describe_group(data: DecodingSet, idx: np.ndarray, within: str) -> str:
    if within == "all":
        return "all subjects"
    text = f"subject {data.subject[idx[0]]}"
    return f"{text} session {data.session[idx[0]]}" if within == "session" else text


def group_info(data: DecodingSet, idx: np.ndarray, within: str) -> dict[str, Any]:
    if within == "all":
        return {}
    info = {"subject": str(data.subject[idx[0]])}
    if within == "session":
        info["session"] = str(data.session[idx[0]])
    return info


def stratification_problems(data: DecodingSet, n_folds: int, within: str, protocol: str) -> list[Problem]:
    """Every group (subject+session, subject, all) that stratified k-fold cannot cut, each with
    what to choose instead."""
    groups = within_groups(data, within)
    several_subjects = len(data.subjects) > 1
    problems = []
    for key in dict.fromkeys(groups.tolist()):
        idx = np.flatnonzero(groups == key)
        where = f"{protocol} ({describe_group(data, idx, within)})"
        names, counts = np.unique(data.y[idx], return_counts=True)
        if len(counts) < 2:
            instead = ("choose protocol 'loso' (train on the other subjects) or within: all"
                       if several_subjects and within != "all" else "load trials of a second class")
            problems.append(Problem(f"{where}: only one class in these trials; nothing to decode.",
                                    f"Use another split: {instead}."))
        elif counts.min() < n_folds:
            fewest = int(counts.min())
            pool = "within: subject / all to pool more trials" if within != "all" else "load more trials"
            problems.append(Problem(f"{where}: a class has only {fewest} trials, fewer than "
                                    f"n_folds={n_folds}.",
                                    f"Choose n_folds: {fewest} or fewer, or {pool}." if fewest >= 2
                                    else f"Use {pool}."))
    return problems
