"""Classical ERP (P300) decoders on stimulus-locked epochs.

- ``erp-lda``: shrinkage LDA on the epochs' amplitudes, optionally averaged in time bins
  (the BCI2000 / OpenViBE classic; Krusienski et al. 2006). ``bin_samples: auto`` chooses the
  bin among `AUTO_BINS` by an inner cross-validation on the training epochs only (contiguous
  blocks of epochs in time order, so overlapping epochs rarely straddle a fold), logged as it
  fits and kept in the bundle.
- ``xdawn-ts-lr``: xDAWN spatial filters and class prototypes -> the covariance of each epoch
  stacked with the prototypes (pyRiemann ``XdawnCovariances``) -> Riemannian tangent space ->
  logistic regression (MOABB's standard P300 pipeline).

As in `decoders.classical`, fitting uses the libraries and what is kept is arrays only, so a
decoder restored from a bundle predicts exactly like the one just fitted.
"""
from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator

from .base import DecoderParams, ParameterError, TensorSpec
from .classical import _ClassicalDecoder, _shrinkage_lda, fit_tangent_lr, tangent_vectors


AUTO_BINS = (1, 2, 3, 4, 5)   # bin_samples tried by "auto"
INNER_FOLDS = 5


class ERPLDAParams(DecoderParams):
    bin_samples: int | Literal["auto"] = Field(
        1, description="Average this many consecutive samples of each epoch into one feature (1: every "
                       "sample of the decimated epoch); auto: the one of 1-5 with the best mean ROC AUC in a "
                       "5-fold cross-validation on the training epochs (contiguous blocks in time order).")

    @field_validator("bin_samples")
    @classmethod
    def _positive(cls, value):
        if value != "auto" and value < 1:
            raise ValueError("bin_samples must be 1 or more, or 'auto'.")
        return value


def inner_cv_auc(features_of, X: np.ndarray, y: np.ndarray, n_folds: int = INNER_FOLDS) -> float:
    """Mean ROC AUC of shrinkage LDA on ``features_of(X)`` over ``n_folds`` contiguous blocks of
    the epochs (in the order given, i.e. time); folds whose test block holds one class only are
    skipped. The positive class is the larger label (``target`` sorts after ``nontarget``)."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import KFold

    features = features_of(X)
    positive = np.unique(y)[-1]
    scores = []
    for train, test in KFold(n_splits=n_folds).split(features):
        if len(np.unique(y[test])) < 2 or len(np.unique(y[train])) < 2:
            continue
        clf = _shrinkage_lda(features[train], y[train])
        proba = clf.proba(features[test])
        scores.append(roc_auc_score(y[test] == positive, proba[:, list(clf.classes).index(positive)]))
    if not scores:
        raise ParameterError(f"erp-lda: bin_samples auto needs both classes in at least one of {n_folds} "
                             "contiguous blocks of the training epochs; give bin_samples a number.")
    return float(np.mean(scores))


class ERPShrinkageLDA(_ClassicalDecoder):
    """Shrinkage LDA (scikit-learn, solver lsqr, Ledoit-Wolf shrinkage) on epoch amplitudes."""

    name: ClassVar[str] = "erp-lda"
    description: ClassVar[str] = "ERP: shrinkage LDA on decimated epoch amplitudes (BCI2000 / OpenViBE P300 classic)."
    modalities: ClassVar[tuple[str, ...]] = ("eeg",)
    paradigms: ClassVar[tuple[str, ...]] = ("erp", "speller")
    Params = ERPLDAParams

    def fit(self, X, y=None, *, subject=None, session=None, context=None):
        from .events import TrainingContext

        self._context = context or TrainingContext()
        try:
            return super().fit(X, y, subject=subject, session=session, context=self._context)
        finally:
            del self._context

    def _fit(self, p, X, y):
        self.n_times_ = X.shape[2]
        self.bin_samples_ = p.bin_samples
        self.inner_cv_ = {}
        if p.bin_samples == "auto":
            tried = [b for b in AUTO_BINS if b <= X.shape[2]]
            scores = {b: inner_cv_auc(lambda Z, b=b: self._binned(Z, b), X, y) for b in tried}
            self.bin_samples_ = max(tried, key=lambda b: (scores[b], -b))   # ties: the finer bin
            self.inner_cv_ = {str(b): round(v, 4) for b, v in scores.items()}
            self._context.log(f"{self.name}: bin_samples auto -> {self.bin_samples_} (inner {INNER_FOLDS}-fold "
                              "ROC AUC on the training epochs: "
                              + ", ".join(f"{b}: {v:.3f}" for b, v in scores.items()) + ")")
        self.clf_ = _shrinkage_lda(self._features(X), y)

    def get_state(self):
        arrays, extra = super().get_state()
        extra = {**extra, "bin_samples": int(self.bin_samples_)}
        if getattr(self, "inner_cv_", None):
            extra["bin_samples_inner_auc"] = self.inner_cv_   # what auto chose from
        return arrays, extra

    def set_state(self, arrays, extra):
        super().set_state(arrays, extra)
        chosen = extra.get("bin_samples", self.validated_params().bin_samples)   # older bundles: the parameter
        if chosen == "auto":
            raise ParameterError("erp-lda: this bundle says bin_samples auto but not the value chosen.")
        self.bin_samples_ = int(chosen)
        return self

    def _features(self, X):
        return self._binned(X, self.bin_samples_)

    def _binned(self, X, b: int):
        n = X.shape[2] // b
        if n == 0:
            raise ParameterError(f"erp-lda: bin_samples={b} exceeds the {X.shape[2]} samples of an epoch.")
        return X[:, :, : n * b].reshape(len(X), X.shape[1], n, b).mean(axis=3).reshape(len(X), -1)

    def _feature_arrays(self):
        return {}

    def _set_feature_arrays(self, arrays):
        return None

    def _feature_tensors(self, p, n_chans):
        return {}, None

    def expected_tensors(self, extra):
        return None   # the feature count depends on the epoch length, known only from the data


class XdawnParams(DecoderParams):
    nfilter: int = Field(4, ge=1, description="xDAWN spatial filters per class.")
    estimator: str = Field("oas", description="Covariance estimator (pyRiemann): oas, lwf, scm, ...")
    C: float = Field(1.0, gt=0, description="Inverse regularisation strength of the logistic regression.")
    max_iter: int = Field(1000, ge=10, description="Logistic regression iterations.")


class XdawnTangentLR(_ClassicalDecoder):
    """xDAWN covariances (pyRiemann) -> tangent space at their Riemannian mean -> logistic regression."""

    name: ClassVar[str] = "xdawn-ts-lr"
    description: ClassVar[str] = "ERP: xDAWN covariances + Riemannian tangent space + logistic regression (pyRiemann)."
    modalities: ClassVar[tuple[str, ...]] = ("eeg",)
    paradigms: ClassVar[tuple[str, ...]] = ("erp", "speller")
    Params = XdawnParams

    def _fit(self, p, X, y):
        from pyriemann.estimation import XdawnCovariances

        xd = XdawnCovariances(nfilter=p.nfilter, estimator=p.estimator).fit(X, y)
        self.filters_ = np.asarray(xd.Xd_.filters_, dtype=np.float64)
        self.prototypes_ = np.asarray(xd.P_, dtype=np.float64)
        self.reference_, self.clf_ = fit_tangent_lr(self._covariances(X), y, C=p.C, max_iter=p.max_iter)

    def _covariances(self, X):
        try:
            from pyriemann.geometry.covariance import covariances_EP
        except ImportError:  # pyRiemann < 0.12
            from pyriemann.utils.covariance import covariances_EP

        if X.shape[2] != self.prototypes_.shape[1]:
            raise ParameterError(f"xdawn-ts-lr was trained on epochs of {self.prototypes_.shape[1]} samples; "
                                 f"these have {X.shape[2]}.")
        try:
            return covariances_EP(self.filters_ @ X, self.prototypes_, estimator=self.validated_params().estimator)
        except ValueError as exc:
            raise ParameterError(f"xdawn-ts-lr: estimator: {exc}") from None

    def _features(self, X):
        return tangent_vectors(self._covariances(X), self.reference_)

    def _feature_arrays(self):
        return {"xdawn.filters": self.filters_, "xdawn.prototypes": self.prototypes_,
                "tangent.reference": self.reference_}

    def _set_feature_arrays(self, arrays):
        self.filters_ = np.asarray(arrays["xdawn.filters"], dtype=np.float64)
        self.prototypes_ = np.asarray(arrays["xdawn.prototypes"], dtype=np.float64)
        self.reference_ = np.asarray(arrays["tangent.reference"], dtype=np.float64)

    def _feature_tensors(self, p, n_chans):
        return {}, None

    def expected_tensors(self, extra):
        return None   # filter count depends on the classes and channels, prototypes on the epoch length
