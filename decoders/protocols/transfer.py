"""The ``train-test-groups`` protocol: train on some groups, test on others, in one fold: the
usual calibration-then-use, new-subject and new-site evaluations (train on subjects 1 and 2,
test on subject 3; train on sites NYU and KKI, test on OHSU).

Groups are read from the set: ``subject``; ``session``; ``site`` (``data.session``, where
multi-site sets such as ROI series keep the site); ``run``; ``file`` (one recording, named
``SUBJECT/SESSION/RUN``: a loaded file is one subject's session and run). Every named group
must be in the data (the refusal lists those present), and no group may be both trained and
tested on.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from data.decoding_set import DecodingSet

from .base import Problem, Protocol, ProtocolError, ProtocolOptions, Requirements, Split, need_labels

GROUP_KINDS = ("subject", "session", "site", "run", "file")


def group_values(data: DecodingSet, by: str) -> np.ndarray:
    """Each sample's group of kind ``by`` (one of `GROUP_KINDS`), as strings.

    Raises
    ------
    ProtocolError
        ``by`` is not a group kind.
    """
    if by in ("subject", "session", "run"):
        return np.asarray(getattr(data, by)).astype(str)
    if by == "site":
        return np.asarray(data.session).astype(str)
    if by == "file":
        return np.array([f"{s}/{se}/{r}" for s, se, r in zip(data.subject, data.session, data.run)])
    raise ProtocolError(f"train-test-groups: by must be one of {', '.join(GROUP_KINDS)}, not {by!r}.")


class TrainTestGroups(Protocol):
    """Train on the ``train`` groups, test on the ``test`` groups (default: every other
    group): one fold."""

    name = "train-test-groups"
    description = "Train on some subjects, sessions, sites, runs or files; test on others (one fold)."
    requires = Requirements(groups="subject, session, site, run or file", min_groups=2)

    class Options(ProtocolOptions):
        by: Literal["subject", "session", "site", "run", "file"] = Field(
            "subject", description="What the groups are: subject, session, site (the set's session), run, "
                                   "or file (SUBJECT/SESSION/RUN).")
        train: list[str | int] | None = Field(None, min_length=1, description="Groups to train on (required).")
        test: list[str | int] | None = Field(
            None, min_length=1, description="Groups to test on (null: every group not in train).")

    def build_splits(self, data, options, seed):
        return train_test_group_splits(data, options.by, options.train, options.test)

    def find_problems(self, data, options):
        problems = super().find_problems(data, options)
        if problems:
            return problems
        present = list(dict.fromkeys(group_values(data, options.by).tolist()))
        if len(present) < 2:
            problems.append(Problem(
                f"{self.name}: needs at least two {options.by} groups; the data holds only {present}.",
                "Load more groups, choose another 'by', or use 'kfold' (folds inside the data)."))
        elif options.train is None:
            problems.append(Problem(f"{self.name}: option 'train' names no {options.by} to train on.",
                                    f"Groups present: {', '.join(present)}; or use 'loso' / "
                                    "'leave-one-site-out' to leave each group out in turn."))
        return problems

    def smallest_training_set(self, n_per_subject, n_total, options):
        return n_total // 2


def train_test_group_splits(data: DecodingSet, by: str = "subject", train=None, test=None) -> list[Split]:
    """One `Split`: the samples of the ``train`` groups against those of the ``test`` groups
    (default: every group not in ``train``).

    Raises
    ------
    ProtocolError
        ``train`` missing, a group not in the data (the message lists those present), a group
        both trained and tested on, or nothing left to test on.
    """
    where = "train-test-groups"
    need_labels(data, where)
    values = group_values(data, by)
    present = list(dict.fromkeys(values.tolist()))
    if not train:
        raise ProtocolError(f"{where}: option 'train' names no {by} to train on.",
                            hint=f"Groups present ({by}): {', '.join(present)}.")
    train = [str(g) for g in train]
    test = [str(g) for g in test] if test else [g for g in present if g not in train]
    for key, chosen in (("train", train), ("test", test)):
        missing = [g for g in chosen if g not in present]
        if missing:
            raise ProtocolError(f"{where}: option '{key}': {by} {', '.join(missing)} not in the data.",
                                hint=f"Groups present ({by}): {', '.join(present)}.")
    both = [g for g in train if g in test]
    if both:
        raise ProtocolError(f"{where}: {by} {', '.join(both)} both trained and tested on.",
                            hint="Name each group in train or in test, not both.")
    if not test:
        raise ProtocolError(f"{where}: nothing to test on: train names every {by} ({', '.join(present)}).",
                            hint="Leave a group out of train, or use 'kfold'.")
    tr = np.flatnonzero(np.isin(values, train))
    te = np.flatnonzero(np.isin(values, test))
    return [Split(0, tr, te, f"train {by} {','.join(train)} -> test {by} {','.join(test)}",
                  {"by": by, "train_groups": train, "test_groups": test})]
