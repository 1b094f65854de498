"""Classical motor-imagery baselines fitted through their libraries.

- ``csp-lda``: MNE's CSP (log band power of spatial filters) + scikit-learn's shrinkage LDA.
- ``fbcsp-lda``: the same in several frequency bands (Butterworth band-pass), features
  concatenated, shrinkage LDA.
- ``tangent-space-lr``: pyRiemann covariances (OAS) -> tangent space at the Riemannian mean
  -> scikit-learn logistic regression.

Fitting uses the libraries; what is kept afterwards is only arrays (CSP filters, the tangent
space reference, the linear classifier's coefficients), and prediction is computed from
those arrays, so a decoder restored from a bundle predicts exactly like the one just fitted
and nothing is ever pickled.
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from data.errors import InputError

from .base import ClassifierDecoder, DecoderParams, ParameterError, Task, TensorSpec, state_int, state_list
from .events import Progress, TrainingContext


class _Linear:
    """A fitted linear classifier reduced to arrays: scores = X @ coef.T + intercept."""

    def __init__(self, coef: np.ndarray, intercept: np.ndarray, classes: np.ndarray):
        self.coef, self.intercept, self.classes = np.asarray(coef, float), np.asarray(intercept, float), np.asarray(classes)

    @classmethod
    def from_sklearn(cls, est) -> "_Linear":
        return cls(est.coef_, est.intercept_, est.classes_)

    def proba(self, features: np.ndarray) -> np.ndarray:
        scores = features @ self.coef.T + self.intercept
        if scores.shape[1] == 1:   # binary: one score for the second class (sklearn convention)
            p1 = 1.0 / (1.0 + np.exp(-scores[:, 0]))
            return np.column_stack([1 - p1, p1])
        scores -= scores.max(axis=1, keepdims=True)
        e = np.exp(scores)
        return e / e.sum(axis=1, keepdims=True)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"clf.coef": self.coef, "clf.intercept": self.intercept}


class LinearHeadDecoder(ClassifierDecoder):
    """A classifier whose last stage is a `_Linear` in ``clf_``: labels from probabilities."""

    def predict(self, X, *, subject=None) -> np.ndarray:
        proba = self.predict_proba(X)   # raises NotFittedError before classes_ is read
        return self.classes_[proba.argmax(axis=1)]

    @property
    def classes_(self) -> np.ndarray:
        return self.clf_.classes

    def _set_linear(self, arrays: dict[str, np.ndarray], extra: dict[str, Any]) -> None:
        self.clf_ = _Linear(arrays["clf.coef"], arrays["clf.intercept"], np.asarray(extra["classes"]))


class _ClassicalDecoder(LinearHeadDecoder):
    """Shared plumbing: input checks, labels, state."""

    task: ClassVar[Task] = Task.CLASSIFICATION
    input_kind: ClassVar[str] = "trials"
    modalities: ClassVar[tuple[str, ...]] = ("eeg", "meg", "ieeg")

    def fit(self, X, y=None, *, subject=None, session=None, context: TrainingContext | None = None):
        p = self.validated_params()
        X = self._check(X, fitted=False)
        if y is None:
            raise InputError(f"{self.name} needs class labels y to train.")
        y = np.asarray(y)
        if len(y) != len(X):
            raise InputError(f"{self.name}: {len(y)} labels for {len(X)} trials.")
        classes, counts = np.unique(y, return_counts=True)
        if len(classes) < 2:
            raise InputError(f"{self.name} needs at least two classes to train.")
        if counts.min() < 2:
            raise InputError(f"{self.name}: class {classes[counts.argmin()]!r} has fewer than 2 trials.")
        ctx = context or TrainingContext()
        ctx.check_cancel()
        ctx.log(f"{self.name}: fitting on {len(X)} trials")
        self.n_chans_ = X.shape[1]
        self._fit(p, X, y)
        ctx.emit(Progress(fraction=1.0, eta_s=0.0, message=f"{self.name} fitted"))
        return self

    def predict_proba(self, X, *, subject=None) -> np.ndarray:
        X = self._check(X, fitted=True)
        return self.clf_.proba(self._features(X))

    def get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        self._check_fitted()
        arrays = {**self._feature_arrays(), **self.clf_.arrays()}
        return arrays, {"classes": self.clf_.classes.tolist(), "n_chans": self.n_chans_}

    def expected_tensors(self, extra: dict[str, Any]) -> dict[str, TensorSpec]:
        n_classes = len(state_list(extra, "classes", min_len=2))
        n_out = 1 if n_classes == 2 else n_classes   # binary: one score (scikit-learn convention)
        features, n_features = self._feature_tensors(self.validated_params(), state_int(extra, "n_chans"))
        return {**features, "clf.coef": TensorSpec((n_out, n_features)), "clf.intercept": TensorSpec((n_out,))}

    def set_state(self, arrays: dict[str, np.ndarray], extra: dict[str, Any]):
        self._set_linear(arrays, extra)
        self.n_chans_ = int(extra["n_chans"])
        self._set_feature_arrays(arrays)
        return self

    # --- helpers
    def _check_fitted(self) -> None:
        self._require_fitted("clf_")

    def _check(self, X, fitted: bool) -> np.ndarray:
        if fitted:
            self._check_fitted()
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 3 or len(X) == 0:
            raise InputError(f"{self.name} expects trials shaped (n_trials, n_channels, n_times); got shape {X.shape}.")
        if fitted and X.shape[1] != self.n_chans_:
            raise InputError(f"{self.name} was trained on {self.n_chans_} channels; these trials have {X.shape[1]}.")
        if not np.isfinite(X).all():
            raise InputError(f"{self.name}: the trials contain NaN or Inf values.")
        return X


def _log_power(W: np.ndarray, X: np.ndarray) -> np.ndarray:
    """MNE CSP's 'average_power' features with log: log(mean over time of (W X)^2)."""
    return np.log((np.einsum("kc,nct->nkt", W, X) ** 2).mean(axis=2))


def _fit_csp(X, y, n_components: int, reg) -> np.ndarray:
    from mne.decoding import CSP
    from mne.utils import use_log_level

    csp = CSP(n_components=n_components, reg=reg, log=True, norm_trace=False)
    with use_log_level("error"):
        csp.fit(X, y)
    return np.asarray(csp.filters_[:n_components], dtype=np.float64)


def _shrinkage_lda(features, y) -> _Linear:
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    return _Linear.from_sklearn(LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto").fit(features, y))


_REG = Field(None, description="CSP covariance regularisation: null, 'ledoit_wolf', 'oas', 'shrunk' or a shrinkage in [0, 1].")


class CSPParams(DecoderParams):
    n_components: int = Field(4, ge=1, description="Number of CSP spatial filters kept.")
    reg: str | float | None = _REG


class _CSPDecoder(_ClassicalDecoder):
    """Shared by the CSP decoders: CSP filters (kept as ``csp.filters``) + shrinkage LDA."""

    def _fit(self, p, X, y):
        _check_components(p.n_components, X.shape[1])
        self.filters_ = self._fit_filters(p, X, y)
        self.clf_ = _shrinkage_lda(self._features(X), y)

    def _feature_arrays(self):
        return {"csp.filters": self.filters_}

    def _set_feature_arrays(self, arrays):
        self.filters_ = np.asarray(arrays["csp.filters"], dtype=np.float64)

    def _feature_tensors(self, p, n_chans):
        return {"csp.filters": TensorSpec((p.n_components, n_chans))}, p.n_components


class CSPLDA(_CSPDecoder):
    """Common spatial patterns (MNE) + shrinkage LDA (scikit-learn)."""

    name: ClassVar[str] = "csp-lda"
    description: ClassVar[str] = "Common spatial patterns + linear discriminant analysis (classical baseline)."
    Params = CSPParams

    def _fit_filters(self, p, X, y):
        return _fit_csp(X, y, p.n_components, p.reg)

    def _features(self, X):
        return _log_power(self.filters_, X)


class FBCSPParams(DecoderParams):
    sfreq: float | None = Field(None, gt=0, description="Sampling rate of the input trials in Hz (filled from the dataset).")
    bands: list[tuple[float, float]] = Field(
        [(4, 8), (8, 12), (12, 16), (16, 20), (20, 24), (24, 28), (28, 32), (32, 40)],
        description="Frequency bands [low, high] in Hz; CSP is fitted in each.")
    n_components: int = Field(4, ge=1, description="CSP filters per band.")
    filter_order: int = Field(4, ge=1, le=10, description="Butterworth band-pass order (applied forward and backward).")
    reg: str | float | None = _REG


class FilterBankCSPLDA(_CSPDecoder):
    """Filter-bank CSP: CSP log-power features in several bands, concatenated, shrinkage LDA."""

    name: ClassVar[str] = "fbcsp-lda"
    description: ClassVar[str] = "Filter-bank CSP + LDA: CSP in several frequency bands (classical baseline)."
    Params = FBCSPParams

    def _fit_filters(self, p, X, y):
        self._check_bands(p)
        return np.stack([_fit_csp(Xb, y, p.n_components, p.reg) for Xb in self._band_passed(X)])

    def _check_bands(self, p):
        if p.sfreq is None:
            raise ParameterError("fbcsp-lda: sfreq (the input sampling rate) is needed for its band-pass filters.")
        bad = [b for b in p.bands if not 0 < b[0] < b[1] < p.sfreq / 2]
        if bad or not p.bands:
            raise ParameterError(f"fbcsp-lda: bands {bad or p.bands} must satisfy 0 < low < high < sfreq/2 = {p.sfreq / 2}.")

    def _band_passed(self, X):
        from scipy.signal import butter, sosfiltfilt

        p = self.validated_params()
        for low, high in p.bands:
            sos = butter(p.filter_order, (low, high), btype="bandpass", fs=p.sfreq, output="sos")
            yield sosfiltfilt(sos, X, axis=-1)

    def _features(self, X):
        return np.concatenate([_log_power(W, Xb) for W, Xb in zip(self.filters_, self._band_passed(X))], axis=1)

    def _feature_tensors(self, p, n_chans):
        shape = (len(p.bands), p.n_components, n_chans)
        return {"csp.filters": TensorSpec(shape)}, len(p.bands) * p.n_components

    def _set_feature_arrays(self, arrays):
        super()._set_feature_arrays(arrays)
        if len(self.filters_) != len(self.validated_params().bands):
            raise InputError("fbcsp-lda: the saved filters do not match the number of bands in its parameters.")


class TangentSpaceParams(DecoderParams):
    estimator: str = Field("oas", description="Covariance estimator (pyRiemann): oas, lwf, scm, ...")
    C: float = Field(1.0, gt=0, description="Inverse regularisation strength of the logistic regression.")
    max_iter: int = Field(1000, ge=10, description="Logistic regression iterations.")



def fit_tangent_lr(covariances: np.ndarray, y, *, C: float, max_iter: int):
    """The Riemannian mean of ``covariances`` and a logistic regression on their tangent
    vectors there: ``(reference, linear stage)``."""
    from pyriemann.tangentspace import TangentSpace
    from sklearn.linear_model import LogisticRegression

    ts = TangentSpace(metric="riemann").fit(covariances)
    features = ts.transform(covariances)
    return np.asarray(ts.reference_), _Linear.from_sklearn(LogisticRegression(C=C, max_iter=max_iter).fit(features, y))


def tangent_vectors(covariances: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Riemannian tangent-space vectors of ``covariances`` at ``reference`` (pyRiemann)."""
    try:
        from pyriemann.geometry.tangentspace import tangent_space
    except ImportError:  # pyRiemann < 0.12
        from pyriemann.utils.tangentspace import tangent_space

    return tangent_space(covariances, reference, metric="riemann")


class TangentSpaceLR(_ClassicalDecoder):
    """Covariances (pyRiemann, OAS) -> tangent space at their Riemannian mean -> logistic regression."""

    name: ClassVar[str] = "tangent-space-lr"
    description: ClassVar[str] = "Riemannian tangent space of covariances + logistic regression (pyRiemann)."
    Params = TangentSpaceParams

    def _fit(self, p, X, y):
        self.reference_, self.clf_ = fit_tangent_lr(self._covariances(X), y, C=p.C, max_iter=p.max_iter)

    def _covariances(self, X):
        from pyriemann.estimation import Covariances

        try:
            return Covariances(estimator=self.validated_params().estimator).transform(X)
        except ValueError as exc:
            raise ParameterError(f"tangent-space-lr: estimator: {exc}") from None

    def _features(self, X):
        return tangent_vectors(self._covariances(X), self.reference_)

    def _feature_arrays(self):
        return {"tangent.reference": self.reference_}

    def _set_feature_arrays(self, arrays):
        self.reference_ = np.asarray(arrays["tangent.reference"], dtype=np.float64)

    def _feature_tensors(self, p, n_chans):
        return {"tangent.reference": TensorSpec((n_chans, n_chans))}, n_chans * (n_chans + 1) // 2


def _check_components(n_components: int, n_chans: int) -> None:
    if n_components > n_chans:
        raise ParameterError(f"n_components={n_components} exceeds the {n_chans} channels.")
