"""Protocols that hold out whole groups: ``cross-session`` (sessions or runs of each subject),
``loso`` (subjects) and ``leave-one-site-out`` (sites). Leaving each group out in turn is
scikit-learn's ``LeaveOneGroupOut``.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from data.decoding_set import DecodingSet

from .base import (Problem, Protocol, ProtocolError, ProtocolOptions, Requirements, Split,
                   leave_one_group_out, need_labels, target_subjects)


class CrossSession(Protocol):
    """Per subject, train on some sessions (or runs, ``split_by="run"``) and test on the
    others; with no ``train_groups`` each session/run is left out in turn."""

    name = "cross-session"
    description = "Per subject, train on some sessions (or runs) and test on the others."
    requires = Requirements(labels=False, groups="session", min_groups=2)

    class Options(ProtocolOptions):
        split_by: Literal["session", "run"] = Field("session", description="Split on sessions or on runs.")
        train_groups: list[str | int] | None = Field(None, description="Sessions/runs to train on (null: leave each out in turn).")
        test_groups: list[str | int] | None = Field(None, description="Sessions/runs to test on (null: all the others).")

    def build_splits(self, data, options, seed):
        return cross_session_splits(data, options.split_by, options.train_groups, options.test_groups)


class LeaveOneSubjectOut(Protocol):
    """Leave one subject out: train on all the other subjects, test on the one left out."""

    name = "loso"
    description = "Leave one subject out: train on all the other subjects, test on the one left out."
    requires = Requirements(groups="subject", min_groups=2)

    class Options(ProtocolOptions):
        test_subjects: list[str | int] | None = Field(None, description="Subjects to test on (null: every subject in turn).")

    def build_splits(self, data, options, seed):
        return loso_splits(data, options.test_subjects)

    def find_problems(self, data, options):
        problems = super().find_problems(data, options)
        if not problems and len(data.subjects) < 2:
            problems.append(Problem(f"{self.name}: needs at least two subjects; the data holds only "
                                    f"subject {data.subjects[0]}.",
                                    "Load more subjects, or use 'kfold' (folds inside the subject)."))
        return problems

    def smallest_training_set(self, n_per_subject, n_total, options):
        return n_total - max(n_per_subject.values())


class LeaveOneSiteOut(Protocol):
    """Train on every other site (``data.session``), test on the one left out (one sample per
    subject, e.g. ROI series)."""

    name = "leave-one-site-out"
    description = "Train on every other site (session), test on the one left out."
    requires = Requirements(groups="site", min_groups=2)

    def build_splits(self, data, options, seed):
        return leave_one_site_out_splits(data)

    def find_problems(self, data, options):
        problems = super().find_problems(data, options)
        if not problems and len(set(data.session.tolist())) < 2:
            problems.append(Problem(f"{self.name}: needs at least two sites; the data holds only "
                                    f"{sorted(set(data.session.tolist()))}.",
                                    "Use 'repeated-kfold' (folds inside each site) or load more sites."))
        return problems


# --------------------------------------------------------------------------- splitters
def cross_session_splits(data: DecodingSet, split_by: str = "session", train_groups=None,
                         test_groups=None) -> list[Split]:
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
            idx = np.flatnonzero(in_subj)
            folds = leave_one_group_out(values[idx], subj_groups)
            for held, (tr, te) in folds.items():
                train = [g for g in subj_groups if g != held]
                splits.append(Split(len(splits), idx[tr], idx[te],
                                    f"subject {subj}, train {split_by} {','.join(train)} -> test {held}",
                                    {"subject": subj, "train_groups": train, "test_groups": [held]}))
            continue
        train = train_groups or [g for g in subj_groups if g not in test_groups]
        test = test_groups or [g for g in subj_groups if g not in train]
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


def loso_splits(data: DecodingSet, test_subjects=None) -> list[Split]:
    """Leave one subject out (sklearn ``LeaveOneGroupOut`` over ``data.subject``), the
    subjects in order of first appearance (or ``test_subjects`` only). With
    ``test_subjects`` every fold trains on the subjects not among them: no test subject is
    ever trained on, so the folds' scores are all on the same unseen subjects' terms."""
    subjects = target_subjects(data, test_subjects, "loso")
    folds = leave_one_group_out(data.subject, subjects)
    if test_subjects is None:
        return [Split(i, *folds[s], f"test subject {s}", {"subject": s}) for i, s in enumerate(subjects)]
    trainable = ~np.isin(data.subject, subjects)
    if not trainable.any():
        raise ProtocolError(f"loso: test_subjects name every subject ({', '.join(subjects)}); "
                            "nothing is left to train on.",
                            hint="Leave a subject out of test_subjects, or set it to null (each subject in turn).")
    return [Split(i, np.flatnonzero(trainable), folds[s][1], f"test subject {s}", {"subject": s})
            for i, s in enumerate(subjects)]


def leave_one_site_out_splits(data: DecodingSet) -> list[Split]:
    """Leave one site (``data.session``) out (sklearn ``LeaveOneGroupOut``)."""
    need_labels(data, "leave-one-site-out")
    sites = list(dict.fromkeys(data.session.tolist()))
    if len(sites) < 2:
        raise ProtocolError(f"leave-one-site-out: needs at least two sites; the data holds only {sites}.")
    folds = leave_one_group_out(data.session, sites)
    return [Split(i, *folds[s], f"test site {s}", {"site": s}) for i, s in enumerate(sites)]
