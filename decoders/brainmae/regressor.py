"""``brainmae-regressor``: continuous per-subject targets (e.g. age) from ROI series, with a
BrainMAE encoder fine-tuned like ``brainmae`` (a pretrained bundle named by ``encoder``,
pretraining on the training subjects, or from scratch; the same parameters) but a linear
regression head of one output per target.

Targets are standardised with the training subjects' mean and standard deviation and the
network is trained on the MSE of every window against its subject's standardised targets.
The per-epoch ``r2`` curves are 1 - MSE in those units: R^2 against predicting the training
mean, on windows (train_r2 on the training windows, val_r2 on the ``val_fraction`` of the
subjects held out). A subject's prediction is the mean of its windows' outputs, brought back
to the targets' units; ``predict`` returns (subjects, targets).
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from data.errors import InputError

from ..base import RegressorDecoder, Task, TensorSpec, state_list
from ..events import TrainingContext
from .decoder import BrainMAEFineTuning


class BrainMAERegressor(BrainMAEFineTuning, RegressorDecoder):
    name: ClassVar[str] = "brainmae-regressor"
    description: ClassVar[str] = ("BrainMAE fine-tuned with a regression head: continuous per-subject targets "
                                  "(e.g. age) from ROI series.")
    task: ClassVar[Task] = Task.REGRESSION

    def fit(self, X, y=None, *, tr=None, subject=None, session=None, target_names=None,
            context: TrainingContext | None = None):
        """Fine-tune on ``y`` (subjects,) or (subjects, targets); ``target_names`` name the
        targets in the bundle (default y0, y1, ...)."""
        p = self.validated_params()
        X = np.asarray(X, dtype=np.float32)
        targets = self._checked_targets(X, y)
        self.target_mean_ = targets.mean(axis=0)
        sd = targets.std(axis=0)
        self.target_sd_ = np.where(sd > 0, sd, 1.0)   # a constant target is predicted as its value
        names = list(target_names) if target_names is not None else [f"y{j}" for j in range(targets.shape[1])]
        if len(names) != targets.shape[1]:
            raise InputError(f"{self.name}: {len(names)} target names for {targets.shape[1]} targets.")
        self.target_names_ = [str(n) for n in names]
        z = ((targets - self.target_mean_) / self.target_sd_).astype(np.float32)
        return self._fine_tune(X, tr, z, z.shape[1], _regression_loss(p.pool), context or TrainingContext())

    def _checked_targets(self, X, y) -> np.ndarray:
        if y is None:
            raise InputError(f"{self.name} needs continuous targets to train (a set with target_columns).")
        try:
            targets = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{self.name}: targets must be numbers ({exc}).") from None
        targets = targets.reshape(len(targets), -1) if targets.ndim == 1 else targets
        if targets.ndim != 2 or len(targets) != len(X) or targets.shape[1] < 1:
            raise InputError(f"{self.name}: targets must be (subjects,) or (subjects, targets) for "
                             f"{len(X)} subjects, not {np.shape(y)}.")
        if not np.isfinite(targets).all():
            raise InputError(f"{self.name}: targets contain NaN or Inf values.")
        if len(targets) < 2:
            raise InputError(f"{self.name} needs at least two subjects to train.")
        return targets

    def predict(self, X, *, tr=None, subject=None) -> np.ndarray:
        """(subjects, targets) in the targets' units: the mean over each subject's windows."""
        self._require_fitted("net_")
        return self._subject_outputs(X, tr) * self.target_sd_ + self.target_mean_

    # ------------------------------------------------------------------------ state
    def _head_extra(self) -> dict[str, Any]:
        return {"target_names": list(self.target_names_)}

    def _n_outputs(self, extra) -> int:
        return len(state_list(extra, "target_names", min_len=1))

    def _head_arrays(self) -> dict[str, np.ndarray]:
        return {"target_mean": np.asarray(self.target_mean_, np.float64),
                "target_sd": np.asarray(self.target_sd_, np.float64)}

    def _expected_head_arrays(self, extra) -> dict[str, TensorSpec]:
        n = self._n_outputs(extra)
        return {"target_mean": TensorSpec((n,), ("<f8",)), "target_sd": TensorSpec((n,), ("<f8",))}

    def _restore_head(self, arrays, extra) -> None:
        sd = np.asarray(arrays["target_sd"], np.float64)
        if not (np.isfinite(sd).all() and (sd > 0).all()):
            raise InputError("target_sd must be finite and > 0.")
        self.target_mean_, self.target_sd_ = np.asarray(arrays["target_mean"], np.float64), sd
        self.target_names_ = [str(n) for n in extra["target_names"]]


def _regression_loss(pool: str):
    """MSE on standardised targets; ``r2`` = 1 - MSE (R^2 against the training mean)."""
    import torch.nn.functional as F

    def loss_fn(net, batch):
        pred = net.predict_head(batch[0], pool)
        mse = F.mse_loss(pred, batch[1])
        return mse, {"r2": 1 - mse.detach()}

    return loss_fn
