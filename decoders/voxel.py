"""``voxel-lr``: a linear classifier of masked fMRI volumes (the volume baseline).

Input: (n_samples, n_voxels) or (n_samples, n_voxels, 1) as the ``nifti`` source gives it.
StandardScaler -> optional ANOVA selection of the ``k_best`` voxels (F-test, fitted on the
training samples only) -> multinomial l2 logistic regression (scikit-learn). Only arrays are
kept (scaler statistics, selected voxel indices, coefficients), so a bundle predicts exactly
like the fitted decoder.
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from data.errors import InputError

from .base import DecoderParams, Task, TensorSpec, state_int, state_list
from .classical import LinearHeadDecoder, _Linear
from .events import Progress, TrainingContext


class VoxelParams(DecoderParams):
    C: float = Field(0.05, gt=0, description="Inverse l2 regularisation strength of the logistic regression.")
    k_best: int | None = Field(None, ge=1, description="Keep the k voxels with the highest ANOVA F (training data); null: all.")


class VoxelLR(LinearHeadDecoder):
    """Standardised voxels (optionally ANOVA-selected) + l2 logistic regression."""

    name: ClassVar[str] = "voxel-lr"
    description: ClassVar[str] = "Masked fMRI voxels: standardise, optional ANOVA selection, l2 logistic regression."
    task: ClassVar[Task] = Task.CLASSIFICATION
    input_kind: ClassVar[str] = "trials"
    modalities: ClassVar[tuple[str, ...]] = ("fmri",)
    Params: ClassVar[type] = VoxelParams

    def fit(self, X, y=None, *, subject=None, session=None, context: TrainingContext | None = None):
        from sklearn.feature_selection import f_classif
        from sklearn.linear_model import LogisticRegression

        p = self.validated_params()
        X = self._matrix(X)
        if y is None or len(np.unique(y)) < 2:
            raise InputError(f"{self.name} needs at least two classes to train.")
        y = np.asarray(y)
        if len(y) != len(X):
            raise InputError(f"{self.name}: {len(y)} labels for {len(X)} samples.")
        ctx = context or TrainingContext()
        ctx.check_cancel()
        self.n_voxels_ = X.shape[1]
        self.mean_, scale = X.mean(axis=0), X.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        Z = (X - self.mean_) / self.scale_
        if p.k_best is not None and p.k_best < X.shape[1]:
            with np.errstate(invalid="ignore", divide="ignore"):
                F = np.nan_to_num(f_classif(Z, y)[0])
            self.selected_ = np.sort(np.argsort(-F, kind="stable")[: p.k_best])
        else:
            self.selected_ = np.arange(X.shape[1])
        ctx.log(f"{self.name}: {len(X)} samples, {len(self.selected_)} of {X.shape[1]} voxels")
        lr = LogisticRegression(C=p.C, max_iter=5000)
        self.clf_ = _Linear.from_sklearn(lr.fit(Z[:, self.selected_], y))
        ctx.emit(Progress(fraction=1.0, eta_s=0.0, message=f"{self.name} fitted"))
        return self

    def predict_proba(self, X, *, subject=None) -> np.ndarray:
        self._require_fitted("clf_")
        X = self._matrix(X)
        if X.shape[1] != self.n_voxels_:
            raise InputError(f"{self.name} was trained on {self.n_voxels_} voxels; got {X.shape[1]}.")
        return self.clf_.proba(((X - self.mean_) / self.scale_)[:, self.selected_])

    def get_state(self):
        self._require_fitted("clf_")
        arrays = {"mean": self.mean_, "scale": self.scale_, "selected": self.selected_.astype(np.int64),
                  **self.clf_.arrays()}
        return arrays, {"classes": self.clf_.classes.tolist(), "n_voxels": int(self.n_voxels_)}

    def set_state(self, arrays, extra):
        self._set_linear(arrays, extra)
        self.n_voxels_ = int(extra["n_voxels"])
        self.mean_ = np.asarray(arrays["mean"], float)
        self.scale_ = np.asarray(arrays["scale"], float)
        self.selected_ = np.asarray(arrays["selected"], np.int64)
        return self

    def expected_tensors(self, extra: dict[str, Any]):
        n_classes = len(state_list(extra, "classes", min_len=2))
        v = state_int(extra, "n_voxels")
        n_out = 1 if n_classes == 2 else n_classes
        return {"mean": TensorSpec((v,)), "scale": TensorSpec((v,)), "selected": TensorSpec((None,), ("<i8",)),
                "clf.coef": TensorSpec((n_out, None)), "clf.intercept": TensorSpec((n_out,))}

    def _matrix(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 3 and X.shape[2] == 1:
            X = X[:, :, 0]
        if X.ndim != 2 or len(X) == 0:
            raise InputError(f"{self.name} expects volumes shaped (n_samples, n_voxels[, 1]); got {X.shape}.")
        if not np.isfinite(X).all():
            raise InputError(f"{self.name}: the volumes contain NaN or Inf values.")
        return X
