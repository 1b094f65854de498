"""Classical ERP (P300) decoders on stimulus-locked epochs.

- ``erp-lda``: shrinkage LDA on the epochs' amplitudes, optionally averaged in time bins
  (the BCI2000 / OpenViBE classic; Krusienski et al. 2006).
- ``xdawn-ts-lr``: xDAWN spatial filters and class prototypes -> the covariance of each epoch
  stacked with the prototypes (pyRiemann ``XdawnCovariances``) -> Riemannian tangent space ->
  logistic regression (MOABB's standard P300 pipeline).

As in `decoders.classical`, fitting uses the libraries and what is kept is arrays only, so a
decoder restored from a bundle predicts exactly like the one just fitted.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from .base import DecoderParams, ParameterError, TensorSpec
from .classical import _ClassicalDecoder, _shrinkage_lda, fit_tangent_lr, tangent_vectors


class ERPLDAParams(DecoderParams):
    bin_samples: int = Field(1, ge=1, description="Average this many consecutive samples of each epoch into one "
                                                 "feature (1: every sample of the decimated epoch).")


class ERPShrinkageLDA(_ClassicalDecoder):
    """Shrinkage LDA (scikit-learn, solver lsqr, Ledoit-Wolf shrinkage) on epoch amplitudes."""

    name: ClassVar[str] = "erp-lda"
    description: ClassVar[str] = "ERP: shrinkage LDA on decimated epoch amplitudes (BCI2000 / OpenViBE P300 classic)."
    modalities: ClassVar[tuple[str, ...]] = ("eeg",)
    paradigms: ClassVar[tuple[str, ...]] = ("erp", "speller")
    Params = ERPLDAParams

    def _fit(self, p, X, y):
        self.n_times_ = X.shape[2]
        self.clf_ = _shrinkage_lda(self._features(X), y)

    def _features(self, X):
        b = self.validated_params().bin_samples
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
