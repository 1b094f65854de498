"""Discriminative Kalman filter (Burkhart et al., Neural Computation 2020).

The observation model is learned discriminatively: p(y_t | x_t) ~= N(f(x_t), Q(x_t)), with
f and Q nonlinear regressions of the state on the features, combined with a linear-Gaussian
state model y_t = A y_{t-1} + N(0, G) whose stationary prior is N(0, S).
"""
from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from ..base import DecoderParams, TensorSpec
from ..neural import NeuralDecoder
from ..training_settings import with_training_settings
from .common import ContinuousDecoder, fit_state_model, inv, is_positive_definite, regularise
from .nadaraya_watson import NadarayaWatson, loo_variance


class DKFModelParams(DecoderParams):
    """The DKF's own parameters: f, Q(x), and the neural f's network."""

    f: Literal["nadaraya-watson", "neural"] = Field(
        "nadaraya-watson", description="Regression for the state mean f(x): Gaussian-kernel "
        "Nadaraya-Watson, or a small neural network trained on the engine.")
    robust: bool = Field(False, description="Robust DKF: drop the stationary-prior correction "
                         "(-S^-1) from the update.")
    bandwidth: float | None = Field(None, gt=0, description="Kernel width of f (feature units); "
                                    "null: chosen by leave-one-out error.")
    q_bandwidth: float | None = Field(None, gt=0, description="Kernel width of Q(x); null: leave-one-out.")
    q_holdout: float = Field(0.3, gt=0, lt=1, description="Fraction of training bins held out to "
                             "learn the error covariance Q(x).")
    center: bool = Field(True, description="Subtract the training mean of the targets.")
    hidden: int = Field(32, ge=1, le=4096, description="Neural f: hidden units per layer.")
    layers: int = Field(2, ge=1, le=6, description="Neural f: hidden layers.")
    dropout: float = Field(0.1, ge=0, lt=1, description="Neural f: dropout between layers.")


# Training settings of the neural f (seed: also the hold-out split's). Its validation data
# is the Q hold-out, so it takes no val_fraction.
DKFParams = with_training_settings("DKFParams", DKFModelParams, exclude=("val_fraction",), epochs=60,
                                   batch_size=128, optimizer="adamw", lr=3e-3, weight_decay=1e-4,
                                   schedule="cosine")


# Hold-out bins are drawn as whole blocks of consecutive bins, so Q is learned on errors
# made on stretches f did not see (neighbouring bins are strongly correlated).
_HOLDOUT_BLOCK = 50


class DiscriminativeKalmanFilter(NeuralDecoder, ContinuousDecoder):
    """DKF with f by Nadaraya-Watson or a neural net and Q(x) by Nadaraya-Watson.

    Fit: A, G by least squares on consecutive states; S = cov(states). The training bins are
    split into blocks; ``q_holdout`` of them learn Q, the rest learn f (with its bandwidth
    chosen by leave-one-out). Q(x) is the Nadaraya-Watson regression of the outer products of
    f's residuals on the held-out bins. The Nadaraya-Watson f used for decoding then averages
    over all training bins with the chosen bandwidth (as the reference implementation does).

    Filter: nu = A mu; M = A Sigma A^T + G; Sigma = (M^-1 + Q^-1 - S^-1)^-1;
    mu = Sigma (M^-1 nu + Q^-1 f). If Q^-1 - S^-1 is not positive definite, Q is replaced
    by (Q^-1 + S^-1)^-1. The robust variant drops -S^-1 (and the guard). Start: mu = f(x_1),
    Sigma = Q(x_1).
    """

    name: ClassVar[str] = "dkf"
    description: ClassVar[str] = ("Discriminative Kalman filter: learned p(state | features) inside a "
                                  "Kalman recursion (BrainGate2).")
    Params: ClassVar[type[DecoderParams]] = DKFParams
    renamed_params: ClassVar[dict[str, str]] = {"learning_rate": "lr"}   # before the shared training settings
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "nadaraya-watson": {"f": "nadaraya-watson"},
        "neural": {"f": "neural"},
        "robust": {"robust": True},
    }

    uses_torch: ClassVar[bool] = False  # only f="neural" trains (briefly) on torch

    def _fit(self, X, y, breaks, params, context) -> None:
        self._forget_mean_model()
        y_mean = y.mean(0) if params.center else np.zeros(y.shape[1])
        yc = y - y_mean
        A, G = fit_state_model(yc, breaks)
        S = regularise(np.atleast_2d(np.cov(yc.T)))
        f_idx, q_idx = holdout_blocks(len(X), params.q_holdout, params.seed)
        if params.f == "nadaraya-watson":
            f_var = self._f_variance(X[f_idx], yc[f_idx], params, context)
            f_on_holdout = NadarayaWatson(X[f_idx], yc[f_idx], f_var).predict(X[q_idx])
            self.f_points_, self.f_outputs_ = X, yc
            self.f_variance_ = np.array([f_var])
        else:
            from .neural_f import train_mean_network

            weights = train_mean_network(self, X, yc, f_idx, q_idx, context, y_mean)
            self.net_weights_ = weights
            f_on_holdout = self._mean_model().predict(X[q_idx])
        resid = f_on_holdout - yc[q_idx]
        outer = (resid[:, :, None] * resid[:, None, :]).reshape(len(resid), -1)
        if params.q_bandwidth is None:
            q_var, q_loo = loo_variance(X[q_idx], outer)
            context.log(f"dkf: Q(x) kernel width {np.sqrt(q_var):.3g} (leave-one-out MSE {q_loo:.3g})")
        else:
            q_var = params.q_bandwidth ** 2
        self.q_points_, self.q_outputs_, self.q_variance_ = X[q_idx], outer, np.array([q_var])
        self.y_mean_, self.A_, self.G_, self.S_ = y_mean, A, G, S
        self._precompute()

    def build_network(self, n_features: int, n_targets: int):
        """Neural f: an MLP (Linear-ReLU-Dropout) x layers, then Linear to the targets."""
        from .neural_f import build_mean_network

        return build_mean_network(self.validated_params(), n_features, n_targets)

    def loss(self):
        from .neural_f import mse_loss

        return mse_loss

    @staticmethod
    def _f_variance(X, y, params, context) -> float:
        if params.bandwidth is not None:
            return params.bandwidth ** 2
        var, loo = loo_variance(X, y)
        context.log(f"dkf: f(x) kernel width {np.sqrt(var):.3g} (leave-one-out MSE {loo:.3g})")
        return var

    def _forget_mean_model(self) -> None:
        for key in ("net_weights_", "f_points_", "f_outputs_", "f_variance_"):
            self.__dict__.pop(key, None)

    def _mean_model(self):
        if hasattr(self, "net_weights_"):
            from .neural_f import NumpyMLP

            return NumpyMLP(self.net_weights_)
        return NadarayaWatson(self.f_points_, self.f_outputs_, _scalar(self.f_variance_))

    def _precompute(self) -> None:
        self._f_model = self._mean_model()
        self._q_model = NadarayaWatson(self.q_points_, self.q_outputs_, _scalar(self.q_variance_))
        self.S_inv_ = inv(self.S_)
        # Floor for Q(x): kernel averages far from the data can be near singular.
        self._q_floor = 1e-6 * np.trace(self.S_) / len(self.S_) * np.eye(len(self.S_))

    def _new_filter(self) -> "_DKFRecursion":
        return _DKFRecursion(self)

    def get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        self._check_fitted()
        keys = ["y_mean", "A", "G", "S", "q_points", "q_outputs", "q_variance"]
        if hasattr(self, "net_weights_"):
            arrays = {k: getattr(self, k + "_") for k in keys}
            arrays.update({f"net.{k}": v for k, v in self.net_weights_.items()})
        else:
            arrays = {k: getattr(self, k + "_") for k in keys + ["f_points", "f_outputs", "f_variance"]}
        return arrays, self._base_state()

    def expected_tensors(self, extra: dict[str, Any]) -> dict[str, TensorSpec]:
        nf, nt = self._state_dims(extra)
        p = self.validated_params()
        shapes = {"y_mean": (nt,), "A": (nt, nt), "G": (nt, nt), "S": (nt, nt),
                  "q_points": (None, nf), "q_outputs": (None, nt * nt), "q_variance": (1,)}
        if p.f == "neural":
            widths = [nf] + [p.hidden] * p.layers + [nt]
            shapes.update({"net.x_mean": (nf,), "net.x_scale": (nf,), "net.y_scale": (nt,)})
            for i in range(len(widths) - 1):
                shapes.update({f"net.w{i}": (widths[i + 1], widths[i]), f"net.b{i}": (widths[i + 1],)})
        else:
            shapes.update({"f_points": (None, nf), "f_outputs": (None, nt), "f_variance": (1,)})
        return {k: TensorSpec(v) for k, v in shapes.items()}

    def set_state(self, arrays, extra) -> "DiscriminativeKalmanFilter":
        self._restore_base(extra)
        self._forget_mean_model()
        net = {k[4:]: np.asarray(v, dtype=float) for k, v in arrays.items() if k.startswith("net.")}
        if net:
            self.net_weights_ = net
        for key, value in arrays.items():
            if not key.startswith("net."):
                setattr(self, key + "_", np.asarray(value, dtype=float))
        self._precompute()
        self.reset()
        return self


def _scalar(value) -> float:
    return float(np.ravel(value)[0])


def holdout_blocks(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split 0..n-1 into (fit, holdout) index arrays made of whole blocks of bins."""
    n_blocks = max(2, int(np.ceil(n / _HOLDOUT_BLOCK)))
    block = np.minimum(np.arange(n) * n_blocks // n, n_blocks - 1)
    n_out = min(n_blocks - 1, max(1, int(round(fraction * n_blocks))))
    chosen = np.random.default_rng(seed).choice(n_blocks, n_out, replace=False)
    held = np.isin(block, chosen)
    return np.flatnonzero(~held), np.flatnonzero(held)


class _DKFRecursion:
    __slots__ = ("m", "mu", "Sigma", "started")

    def __init__(self, model: DiscriminativeKalmanFilter):
        self.m = model
        self.mu = None
        self.Sigma = None
        self.started = False

    def step(self, x: np.ndarray) -> np.ndarray:
        m = self.m
        f = m._f_model.predict_one(x)
        Q = m._q_model.predict_one(x).reshape(len(f), len(f)) + m._q_floor
        if not self.started:
            self.started = True
            self.mu, self.Sigma = f, Q
            return f + m.y_mean_
        Q_inv = inv(Q)
        info = Q_inv
        if not m.robust:
            info = Q_inv - m.S_inv_
            if not is_positive_definite(info):  # Q -> (Q^-1 + S^-1)^-1
                Q_inv = Q_inv + m.S_inv_
                info = Q_inv - m.S_inv_
        M_inv = inv(m.A_ @ self.Sigma @ m.A_.T + m.G_)
        self.Sigma = inv(M_inv + info)
        self.mu = self.Sigma @ (M_inv @ (m.A_ @ self.mu) + Q_inv @ f)
        return self.mu + m.y_mean_
