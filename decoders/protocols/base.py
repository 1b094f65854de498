"""What every evaluation protocol is: a `Protocol` subclass that declares its name,
description, options schema and what it requires of the data, and cuts a `DecodingSet` into
`Split` folds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from data.decoding_set import DecodingSet
from data.errors import InputError

TRIAL_KINDS = ("trials", "volumes")   # DecodingSet kinds whose samples are independent trials


class ProtocolError(InputError):
    """A protocol cannot be applied to this data (too few subjects, sessions, trials...)."""


@dataclass
class Split:
    """One fold: indices into the set. ``pretrain`` is the fine-tune protocol's source data."""

    fold: int
    train: np.ndarray
    test: np.ndarray
    label: str
    info: dict[str, Any] = field(default_factory=dict)
    pretrain: np.ndarray | None = None


@dataclass(frozen=True)
class Problem:
    """Why a protocol cannot run on some data, and what to do instead.

    Parameters
    ----------
    message : str
        What is wrong, naming the protocol and the group (subject, session, site) concerned.
    hint : str, optional
        What to choose instead (another protocol, a smaller option value, more data).
    """

    message: str
    hint: str | None = None

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


@dataclass(frozen=True)
class Requirements:
    """What a protocol needs of the data, before its options are known.

    Parameters
    ----------
    input_kinds : tuple of str
        `DecodingSet` kinds it applies to ("trials", "volumes", "continuous").
    labels : bool
        Whether the samples must have labels or targets (``data.y``).
    groups : str or None
        What folds are cut along: "subject", "session", "site" (``data.session``), "run",
        "subject+session" ... or None for plain sample ranges.
    min_groups : int
        How many distinct groups of that kind the data must hold.
    classes_per_split : int
        Classes each stratified group must hold (0: not stratified).
    fine_tune : bool
        Whether the decoder must support fine-tuning (``supports_fine_tune``).
    """

    input_kinds: tuple[str, ...] = TRIAL_KINDS
    labels: bool = True
    groups: str | None = None
    min_groups: int = 1
    classes_per_split: int = 0
    fine_tune: bool = False

    def describe(self) -> str:
        """One line for lists and tooltips."""
        parts = [f"{' or '.join(self.input_kinds)} data"]
        if self.labels:
            parts.append("labels")
        if self.groups:
            parts.append(f"at least {self.min_groups} {self.groups} group(s)")
        if self.classes_per_split:
            parts.append(f"{self.classes_per_split} classes in each group")
        if self.fine_tune:
            parts.append("a decoder that can be fine-tuned")
        return ", ".join(parts)


class ProtocolOptions(BaseModel):
    """Base of a protocol's options schema: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Protocol:
    """An evaluation protocol. Subclasses declare the class attributes and implement
    `build_splits`; `splits` validates the options and the data kind first.

    Attributes
    ----------
    name : str
        Registry name, as written in an experiment file (``evaluation: {protocol: NAME}``).
    description : str
        One line for the GUI and the docs.
    Options : type of ProtocolOptions
        The pydantic schema of the options the protocol reads (bounds included).
    requires : Requirements
        What the protocol needs of the data.
    pretrains_across_subjects : bool
        Whether a decoder is first fitted on other subjects (finetune).
    """

    name: ClassVar[str]
    description: ClassVar[str]
    Options: ClassVar[type[ProtocolOptions]] = ProtocolOptions
    requires: ClassVar[Requirements] = Requirements()
    pretrains_across_subjects: ClassVar[bool] = False

    # ----------------------------------------------------------------- public calls
    def options(self, options: ProtocolOptions | dict[str, Any] | None = None) -> ProtocolOptions:
        """Validate ``options`` against `Options`.

        Raises
        ------
        ProtocolError
            Naming the first bad option.
        """
        if isinstance(options, self.Options):
            return options
        try:
            return self.Options.model_validate(dict(options or {}))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ProtocolError(f"{self.name}: option '{where}': {err['msg']}.",
                                hint=f"It reads: {', '.join(self.Options.model_fields) or 'no options'}.") from None

    def splits(self, data: DecodingSet, options: ProtocolOptions | dict[str, Any] | None = None,
               seed: int = 0) -> list[Split]:
        """The folds of this protocol on ``data``.

        Parameters
        ----------
        data : DecodingSet
            The samples to cut.
        options : ProtocolOptions or dict, optional
            This protocol's options (validated here); defaults when omitted.
        seed : int
            Seeds shuffling splitters: the same seed gives the same folds.

        Returns
        -------
        list of Split

        Raises
        ------
        ProtocolError
            The options are invalid or the data cannot be cut this way.
        """
        opts = self.options(options)
        self._check_kind(data)
        return self.build_splits(data, opts, seed)

    def check(self, data: DecodingSet, options: ProtocolOptions | dict[str, Any] | None = None,
              seed: int = 0) -> list[Problem]:
        """Every reason this protocol cannot run on ``data`` (empty: it can), without training.

        Protocol-specific checks (`find_problems`) list all offending groups with what to
        choose instead; anything else `splits` would reject is reported too.
        """
        try:
            opts = self.options(options)
            self._check_kind(data)
        except ProtocolError as exc:
            return [Problem(exc.problem, exc.hint)]
        problems = list(self.find_problems(data, opts))
        if not problems:
            try:
                self.build_splits(data, opts, seed)
            except ProtocolError as exc:
                problems.append(Problem(exc.problem, exc.hint))
        return problems

    def smallest_training_set(self, n_per_subject: dict[str, int], n_total: int,
                              options: ProtocolOptions) -> int:
        """An estimate, from counts alone, of the fewest training samples a fold sees."""
        n_folds = getattr(options, "n_folds", 5)
        return int(n_total * ((n_folds - 1) / n_folds))

    def trains_on_one_subject(self, options: ProtocolOptions) -> bool:
        """Whether every training fold holds the samples of a single subject."""
        return False

    # --------------------------------------------------------------- for subclasses
    def build_splits(self, data: DecodingSet, options: ProtocolOptions, seed: int) -> list[Split]:
        raise NotImplementedError

    def find_problems(self, data: DecodingSet, options: ProtocolOptions) -> list[Problem]:
        """Problems found from counts (labels, groups, classes); the default checks
        `requires`."""
        out = []
        if self.requires.labels and data.y is None:
            out.append(Problem(f"{self.name}: the data has no labels to evaluate against."))
        return out

    def _check_kind(self, data: DecodingSet) -> None:
        if data.kind in self.requires.input_kinds:
            return
        allowed = [name for name, cls in REGISTERED.items() if data.kind in cls.requires.input_kinds]
        why = ("continuous samples are correlated in time: never shuffle them"
               if data.kind == "continuous" else
               f"it is meant for {' or '.join(self.requires.input_kinds)} recordings")
        raise ProtocolError(f"protocol '{self.name}' does not apply to {data.kind} data ({why}).",
                            hint=f"Use one of: {', '.join(allowed)}.")


REGISTERED: dict[str, type[Protocol]] = {}   # name -> class, in registration order (see registry.py)


# ------------------------------------------------------------------ shared helpers
def need_labels(data: DecodingSet, protocol: str) -> None:
    if data.y is None:
        raise ProtocolError(f"{protocol}: the data has no labels to evaluate against.")


def continuous_targets(data: DecodingSet) -> bool:
    """Float targets and no classes (a regression set, e.g. ROI series with an age per subject)."""
    return data.y is not None and np.asarray(data.y).dtype.kind == "f" and not data.class_names


def check_fold_count(y: np.ndarray, n_folds: int, where: str, continuous: bool = False) -> None:
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


def target_subjects(data: DecodingSet, chosen, protocol: str) -> list[str]:
    need_labels(data, protocol)
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


def leave_one_group_out(groups: np.ndarray, order: list) -> dict[Any, tuple[np.ndarray, np.ndarray]]:
    """sklearn's ``LeaveOneGroupOut`` folds keyed by the group left out, for ``order``'s groups
    (sklearn visits groups sorted; protocols keep the order of first appearance)."""
    from sklearn.model_selection import LeaveOneGroupOut

    folds = {groups[test[0]]: (train, test)
             for train, test in LeaveOneGroupOut().split(np.zeros(len(groups)), groups=groups)}
    return {g: folds[g] for g in order}
