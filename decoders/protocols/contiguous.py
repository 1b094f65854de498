"""Protocols that cut samples into contiguous ranges, never shuffled (continuous decoding):
``holdout`` and ``blocked-kfold``. scikit-learn has no splitter for either (``TimeSeriesSplit``
only trains on the past and has no gap on both sides), so they are written out here.
"""
from __future__ import annotations

import numpy as np
from pydantic import Field

from data.spec import MAX_COUNT

from .base import TRIAL_KINDS, Protocol, ProtocolError, ProtocolOptions, Requirements, Split


class Holdout(Protocol):
    """Contiguous sample ranges, e.g. train ``[0, 5000)`` test ``[5000, 6000)``; without
    ranges the last ``test_fraction`` of the samples is the test set."""

    name = "holdout"
    description = "One contiguous training range and one contiguous test range of samples."
    requires = Requirements(input_kinds=(*TRIAL_KINDS, "continuous"), labels=False)

    class Options(ProtocolOptions):
        train_range: tuple[int, int] | None = Field(None, description="Training samples [start, end).")
        test_range: tuple[int, int] | None = Field(None, description="Test samples [start, end).")
        test_fraction: float = Field(0.2, gt=0, lt=1, description="Without ranges: the last fraction of samples is the test set.")

    def build_splits(self, data, options, seed):
        return holdout_splits(len(data), options.train_range, options.test_range, options.test_fraction)


class BlockedKFold(Protocol):
    """k contiguous blocks over time, never shuffled; ``gap`` samples either side of the test
    block are left out of training."""

    name = "blocked-kfold"
    description = "k contiguous test blocks over time, a gap either side left out of training."
    requires = Requirements(input_kinds=("continuous",), labels=False)

    class Options(ProtocolOptions):
        n_folds: int = Field(5, ge=2, le=MAX_COUNT, description="Time blocks, each the test set once.")
        gap: int = Field(0, ge=0, le=MAX_COUNT, description="Samples left out of training either side of the test block.")

    def build_splits(self, data, options, seed):
        return blocked_kfold_splits(len(data), options.n_folds, options.gap)


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
