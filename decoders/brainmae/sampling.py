"""Mini-batches of a few random windows per subject per epoch.

A subject gives ~8-20 overlapping windows; training on all of them every epoch makes the
step count (the cost on CPU) scale with scan length while adding little: the windows of one
subject are strongly correlated. ``SubjectWindowBatches`` draws, each epoch, ``per_subject``
windows of every subject (all of a subject's windows when it has fewer), without replacement,
from its own seeded generator (saved in the engine's checkpoints like `ArrayBatches`').
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ..training import ArrayBatches


def epoch_rows(owner: np.ndarray, per_subject: int, generator: torch.Generator) -> torch.Tensor:
    """Row indices of ``per_subject`` random windows of each subject (``owner``: the subject
    of each row), in random order."""
    owner = torch.as_tensor(np.asarray(owner))
    keys = torch.rand(len(owner), generator=generator)
    # rank of each row within its subject by its random key: keep the first per_subject
    order = torch.argsort(keys)
    order = order[torch.argsort(owner[order], stable=True)]
    sorted_owner = owner[order]
    starts = torch.searchsorted(sorted_owner, sorted_owner, right=False)
    rank = torch.arange(len(order)) - starts
    chosen = order[rank < per_subject]
    return chosen[torch.randperm(len(chosen), generator=generator)]


class SubjectWindowBatches(ArrayBatches):
    """`ArrayBatches` over a fresh draw of ``per_subject`` windows of each subject every epoch."""

    def __init__(self, tensors: Sequence[torch.Tensor], owner: np.ndarray, per_subject: int,
                 batch_size: int, *, seed: int):
        super().__init__([torch.as_tensor(t) for t in tensors], batch_size, shuffle=True, drop_last=False, seed=seed)
        self.owner = np.asarray(owner)
        if len(self.owner) != self.n:
            raise ValueError("owner must give the subject of every window")
        self.per_subject = int(per_subject)
        self.n = int(np.minimum(np.bincount(np.unique(self.owner, return_inverse=True)[1]), self.per_subject).sum())

    def __iter__(self):
        rows = epoch_rows(self.owner, self.per_subject, self.generator)
        for i in range(len(self)):
            idx = rows[i * self.batch_size:(i + 1) * self.batch_size]
            yield tuple(t[idx] for t in self.tensors)


def training_batches(arrays: tuple, owner: np.ndarray, per_subject: int | None, batch_size: int, seed: int):
    """What the engine trains on: the arrays themselves (every window each epoch) when
    ``per_subject`` is None, else a `SubjectWindowBatches`."""
    if per_subject is None:
        return arrays
    return SubjectWindowBatches(arrays, owner, per_subject, batch_size, seed=seed)
