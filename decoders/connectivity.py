"""Functional-connectivity classifiers of ROI time series (one sample per subject).

Input: (n_subjects, n_rois, n_times) with NaN after each subject's series (ROI-series sets).
- ``fc-lr``: Pearson correlation, Fisher z, upper triangle -> l2 logistic regression.
- ``tangent-fc-lr``: OAS covariances -> tangent space at their Riemannian mean
  (pyRiemann) -> l2 logistic regression.
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from data.errors import InputError

from .base import DecoderParams, Task, TensorSpec, state_int, state_list
from .classical import LinearHeadDecoder, _Linear
from .events import Progress, TrainingContext


class ConnectivityParams(DecoderParams):
    C: float = Field(1.0, gt=0, description="Inverse l2 regularisation strength of the logistic regression.")


def _series(X: np.ndarray, name: str) -> list[np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 3 or len(X) == 0:
        raise InputError(f"{name} expects ROI series shaped (n_subjects, n_rois, n_times); got {X.shape}.")
    out = []
    for i, x in enumerate(X):
        x = x[:, ~np.isnan(x).any(axis=0)]
        if x.shape[1] < 3:
            raise InputError(f"{name}: subject {i} has fewer than 3 valid time points.")
        out.append(x)
    return out


def fisher_z_upper(X: np.ndarray, name: str = "fc") -> np.ndarray:
    """(n, n_rois*(n_rois-1)/2) Fisher-z Pearson correlations, upper triangle."""
    series = _series(X, name)
    iu = np.triu_indices(series[0].shape[0], k=1)
    with np.errstate(invalid="ignore", divide="ignore"):   # a flat ROI has no correlation: 0
        feats = [np.arctanh(np.clip(np.corrcoef(x)[iu], -0.999999, 0.999999)) for x in series]
    return np.nan_to_num(np.array(feats))


def oas_covariances(X: np.ndarray, name: str = "tangent") -> np.ndarray:
    from sklearn.covariance import OAS

    series = _series(X, name)
    covs = []
    for x in series:
        x = (x - x.mean(1, keepdims=True)) / (x.std(1, keepdims=True) + 1e-8)   # correlation scale
        covs.append(OAS(store_precision=False, assume_centered=True).fit(x.T).covariance_)
    return np.array(covs)


class _ConnectivityLR(LinearHeadDecoder):
    task: ClassVar[Task] = Task.CLASSIFICATION
    input_kind: ClassVar[str] = "trials"
    modalities: ClassVar[tuple[str, ...]] = ("fmri-roi",)
    length_free: ClassVar[bool] = True   # one connectivity matrix per subject, whatever its series length
    Params: ClassVar[type] = ConnectivityParams

    def fit(self, X, y=None, *, subject=None, session=None, context: TrainingContext | None = None):
        from sklearn.linear_model import LogisticRegression

        p = self.validated_params()
        if y is None or len(np.unique(y)) < 2:
            raise InputError(f"{self.name} needs at least two classes to train.")
        ctx = context or TrainingContext()
        self.n_rois_ = int(np.asarray(X).shape[1])
        F = self._fit_features(np.asarray(X))
        self.clf_ = _Linear.from_sklearn(LogisticRegression(C=p.C, max_iter=2000).fit(F, np.asarray(y)))
        ctx.emit(Progress(fraction=1.0, eta_s=0.0, message=f"{self.name} fitted"))
        return self

    def predict_proba(self, X, *, subject=None) -> np.ndarray:
        self._require_fitted("clf_")
        if np.asarray(X).ndim == 3 and np.asarray(X).shape[1] != self.n_rois_:
            raise InputError(f"{self.name} was trained on {self.n_rois_} ROIs; got {np.asarray(X).shape[1]}.")
        return self.clf_.proba(self._features(np.asarray(X)))

    def get_state(self):
        self._require_fitted("clf_")
        return {**self._arrays(), **self.clf_.arrays()}, {"classes": self.clf_.classes.tolist(), "n_rois": self.n_rois_}

    def set_state(self, arrays, extra):
        self._set_linear(arrays, extra)
        self.n_rois_ = int(extra["n_rois"])
        self._set_arrays(arrays)
        return self

    def expected_tensors(self, extra: dict[str, Any]):
        n_classes = len(state_list(extra, "classes", min_len=2))
        r = state_int(extra, "n_rois", minimum=2)
        n_out = 1 if n_classes == 2 else n_classes
        return {**self._tensor_specs(r), "clf.coef": TensorSpec((n_out, r * (r - 1) // 2 if not self._tensor_specs(r) else r * (r + 1) // 2)),
                "clf.intercept": TensorSpec((n_out,))}

    def _arrays(self):
        return {}

    def _set_arrays(self, arrays):
        pass

    def _tensor_specs(self, r):
        return {}

    def _fit_features(self, X):
        return self._features(X)


class FCLR(_ConnectivityLR):
    """Pearson FC (Fisher z, upper triangle) + l2 logistic regression."""

    name: ClassVar[str] = "fc-lr"
    description: ClassVar[str] = "Functional connectivity (Fisher-z Pearson, upper triangle) + logistic regression."

    def _features(self, X):
        return fisher_z_upper(X, self.name)


class TangentFCLR(_ConnectivityLR):
    """OAS covariances -> Riemannian tangent space (pyRiemann) -> l2 logistic regression."""

    name: ClassVar[str] = "tangent-fc-lr"
    description: ClassVar[str] = "Tangent space of OAS ROI covariances (pyRiemann) + logistic regression."

    def _fit_features(self, X):
        from pyriemann.tangentspace import TangentSpace

        covs = oas_covariances(X, self.name)
        self.reference_ = TangentSpace(metric="riemann").fit(covs).reference_
        return self._features(X, covs)

    def _features(self, X, covs=None):
        try:
            from pyriemann.geometry.tangentspace import tangent_space
        except ImportError:   # pyRiemann < 0.10
            from pyriemann.utils.tangentspace import tangent_space

        covs = oas_covariances(X, self.name) if covs is None else covs
        return tangent_space(covs, self.reference_, metric="riemann")

    def _arrays(self):
        return {"reference": self.reference_}

    def _set_arrays(self, arrays):
        self.reference_ = np.asarray(arrays["reference"], dtype=np.float64)

    def _tensor_specs(self, r):
        return {"reference": TensorSpec((r, r))}
