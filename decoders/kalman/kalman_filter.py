"""Kalman filter decoder (Wu et al. 2003/2006): linear-Gaussian models fit by least squares."""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from ..base import DecoderParams, TensorSpec
from .common import ContinuousDecoder, fit_state_model, inv, regularise, stationary_covariance


class KalmanParams(DecoderParams):
    center: bool = Field(True, description="Subtract the training means of features and targets "
                         "(the models then need no intercept).")


class KalmanFilterDecoder(ContinuousDecoder):
    """State y_t = A y_{t-1} + w, w ~ N(0, W); features x_t = H y_t + q, q ~ N(0, Q).

    A, W, H, Q by least squares on the training data. Filtering starts from the stationary
    distribution of the state model (mean, covariance solving P = A P A^T + W), never from
    the true first state. The update uses the information form, so a step costs a few 2x2
    operations plus one (n_targets x n_features) product.
    """

    name: ClassVar[str] = "kalman"
    description: ClassVar[str] = "Kalman filter: linear-Gaussian state and observation models fit by least squares."
    Params: ClassVar[type[DecoderParams]] = KalmanParams

    def _fit(self, X, y, breaks, params, context) -> None:
        x_mean = X.mean(0) if params.center else np.zeros(X.shape[1])
        y_mean = y.mean(0) if params.center else np.zeros(y.shape[1])
        Xc, yc = X - x_mean, y - y_mean
        A, W = fit_state_model(yc, breaks)
        H = np.linalg.lstsq(yc, Xc, rcond=None)[0].T
        resid = Xc - yc @ H.T
        Q = regularise(resid.T @ resid / len(X), rel=1e-6)
        self.x_mean_, self.y_mean_ = x_mean, y_mean
        self.A_, self.W_, self.H_, self.Q_ = A, W, H, Q
        self.P0_ = stationary_covariance(A, W, fallback=np.cov(yc.T).reshape(len(A), len(A)))
        context.log(f"kalman: fitted A {A.shape}, H {H.shape} on {len(X)} bins")
        self._precompute()

    def _precompute(self) -> None:
        Qi = np.linalg.inv(self.Q_)
        self.HtQi_ = self.H_.T @ Qi
        self.HtQiH_ = self.HtQi_ @ self.H_

    def _new_filter(self) -> "_KalmanRecursion":
        return _KalmanRecursion(self)

    def get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        self._check_fitted()
        arrays = {k: getattr(self, k + "_") for k in ("x_mean", "y_mean", "A", "W", "H", "Q", "P0")}
        return arrays, self._base_state()

    def expected_tensors(self, extra: dict[str, Any]) -> dict[str, TensorSpec]:
        nf, nt = self._state_dims(extra)
        shapes = {"x_mean": (nf,), "y_mean": (nt,), "A": (nt, nt), "W": (nt, nt), "H": (nf, nt),
                  "Q": (nf, nf), "P0": (nt, nt)}
        return {k: TensorSpec(v) for k, v in shapes.items()}

    def set_state(self, arrays, extra) -> "KalmanFilterDecoder":
        self._restore_base(extra)
        for key, value in arrays.items():
            setattr(self, key + "_", np.asarray(value, dtype=float))
        self._precompute()
        self.reset()
        return self


class _KalmanRecursion:
    """One filtering pass: posterior mean and covariance of the centred state."""

    __slots__ = ("m", "mu", "P", "started")

    def __init__(self, model: KalmanFilterDecoder):
        self.m = model
        self.mu = np.zeros(len(model.A_))
        self.P = model.P0_
        self.started = False

    def step(self, x: np.ndarray) -> np.ndarray:
        m = self.m
        if self.started:  # the first bin updates the stationary prior directly
            self.mu = m.A_ @ self.mu
            self.P = m.A_ @ self.P @ m.A_.T + m.W_
        self.started = True
        P_prior_inv = inv(self.P)
        self.P = inv(P_prior_inv + m.HtQiH_)
        self.mu = self.P @ (P_prior_inv @ self.mu + m.HtQi_ @ (x - m.x_mean_))
        return self.mu + m.y_mean_
