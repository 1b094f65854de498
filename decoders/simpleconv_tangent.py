"""The tangent-space branch of EEG-SimpleConv: a Riemannian classifier averaged with the network.

The branch is the ``tangent-space-lr`` baseline fitted on the same training trials as the
network: the trials band-passed (MNE's default FIR on each trial, ``reflect_limited`` padding),
OAS covariances (pyRiemann), tangent space at their Riemannian mean, logistic regression
(C=1). It keeps only arrays (reference matrix, coefficients), so it is saved in bundles
without pickling and predicts the same once restored.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .base import TensorSpec
from .classical import _Linear, fit_tangent_lr, tangent_vectors

ARRAY_KEYS = ("tangent.reference", "tangent.coef", "tangent.intercept")


class TangentBranch:
    """Band-pass -> OAS covariances -> tangent space -> logistic regression, as arrays.

    Parameters
    ----------
    sfreq : float or None
        Sampling rate of the trials (Hz); needed when ``band`` is set.
    band : (float, float) or None
        Band-pass [low, high] in Hz; None keeps the input as it is.
    """

    def __init__(self, sfreq: float | None, band: tuple[float, float] | None):
        self.sfreq, self.band = sfreq, None if band is None else (float(band[0]), float(band[1]))
        self.reference: np.ndarray | None = None
        self.linear: _Linear | None = None
        self.n_trials = 0

    def fit(self, X: np.ndarray, y: np.ndarray) -> "TangentBranch":
        """Fit on trials ``X`` (n, channels, times) and labels ``y``."""
        self.reference, self.linear = fit_tangent_lr(self._covariances(X), np.asarray(y), C=1.0, max_iter=1000)
        self.n_trials = len(X)
        return self

    def proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (n, n_classes) in the order of the labels seen in `fit`."""
        return self.linear.proba(tangent_vectors(self._covariances(X), self.reference))

    def describe(self) -> str:
        covariances = ("OAS covariances of the trials as given" if self.band is None
                       else f"{self.band[0]:g}-{self.band[1]:g} Hz OAS covariances")
        return f"tangent-space branch ({covariances}, tangent space + LR on {self.n_trials} trials)"

    # ----------------------------------------------------------------- state
    def arrays(self) -> dict[str, np.ndarray]:
        return dict(zip(ARRAY_KEYS, (self.reference, self.linear.coef, self.linear.intercept)))

    def extra(self) -> dict[str, Any]:
        return {"band_hz": None if self.band is None else list(self.band), "n_trials": self.n_trials}

    @classmethod
    def restore(cls, arrays: dict[str, np.ndarray], extra: dict[str, Any], sfreq: float | None,
                classes: np.ndarray) -> "TangentBranch":
        band = extra.get("band_hz")
        branch = cls(sfreq, None if band is None else (band[0], band[1]))
        branch.reference = np.asarray(arrays["tangent.reference"], dtype=np.float64)
        branch.linear = _Linear(arrays["tangent.coef"], arrays["tangent.intercept"], classes)
        branch.n_trials = int(extra.get("n_trials", 0))
        return branch

    @staticmethod
    def tensors(n_chans: int, n_classes: int) -> dict[str, TensorSpec]:
        rows = 1 if n_classes == 2 else n_classes
        return {"tangent.reference": TensorSpec((n_chans, n_chans)),
                "tangent.coef": TensorSpec((rows, n_chans * (n_chans + 1) // 2)),
                "tangent.intercept": TensorSpec((rows,))}

    # --------------------------------------------------------------- helpers
    def _covariances(self, X: np.ndarray) -> np.ndarray:
        from pyriemann.estimation import Covariances

        X = np.asarray(X, dtype=np.float64)
        if self.band is not None:
            import mne

            X = mne.filter.filter_data(X, self.sfreq, self.band[0], self.band[1], verbose="error")
        return Covariances(estimator="oas").transform(X)


def blend(net_proba: np.ndarray, branch_proba: np.ndarray, weight: float) -> np.ndarray:
    """(1 - weight) * network + weight * branch, both (n, n_classes) in the same class order."""
    return ((1.0 - weight) * net_proba + weight * branch_proba).astype(np.float32)
