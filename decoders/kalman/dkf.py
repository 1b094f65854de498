"""Discriminative Kalman filter (Burkhart et al., Neural Computation 2020).

The observation model is learned discriminatively: p(y_t | x_t) ~= N(f(x_t), Q(x_t)), with
f and Q nonlinear regressions of the state on the features, combined with a linear-Gaussian
state model y_t = A y_{t-1} + N(0, G) whose stationary prior is N(0, S).
"""
from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from data.errors import InputError

from ..base import DecoderParams, TensorSpec
from ..neural import NeuralDecoder
from ..training_settings import with_training_settings
from .common import ContinuousDecoder, fit_state_model, inv, regularise
from .nadaraya_watson import loo_variance
from .observation import (Candidate, FittedObservation, ObservationModel, dkf_update, fit_observation, fit_q,
                          holdout_blocks, q_floor, select_observation)


class DKFModelParams(DecoderParams):
    """The DKF's own parameters: f, Q(x), their choice by validation, and the neural f's network."""

    f: Literal["nadaraya-watson", "neural", "linear"] = Field(
        "nadaraya-watson", description="Regression for the state mean f(x): Gaussian-kernel "
        "Nadaraya-Watson, a small neural network trained on the engine, or linear least squares "
        "(with Q shrinkage 1: the Kalman limit).")
    robust: bool = Field(False, description="Robust DKF: drop the stationary-prior correction "
                         "(-S^-1) from the update.")
    selection: Literal["validation", "none"] = Field(
        "validation", description="Nadaraya-Watson f: choose f's kernel width (x0.5, x1, x2 the "
        "leave-one-out width), Q's shrinkage (0, 0.5, 1) and linear-versus-kernel f by filtering "
        "contiguous validation blocks of the training data (blocked K-fold); the linear f with "
        "Q shrinkage 1 (the Kalman limit) is a candidate, so a kernel f is kept only where it "
        "decodes better. none: the leave-one-out width, Q unshrunk (the DKF before issue 23).")
    selection_folds: int = Field(3, ge=2, le=10, description="Contiguous validation blocks for "
                                 "the selection (each needs 40 bins, else the Kalman limit is used).")
    bandwidth: float | None = Field(None, gt=0, description="Kernel width of f (feature units); "
                                    "null: chosen by leave-one-out error (times the chosen multiple).")
    q_bandwidth: float | None = Field(None, gt=0, description="Kernel width of Q(x); null: leave-one-out.")
    q_shrinkage: float | None = Field(None, ge=0, le=1, description="Q(x) = (1 - s) Q_kernel(x) + s "
                                      "Q_const, Q_const the mean squared error of f; null: chosen by "
                                      "the selection (0 without it).")
    q_holdout: float = Field(0.3, gt=0, lt=1, description="Fraction of training bins held out to "
                             "learn the error covariance Q(x).")
    center: bool = Field(True, description="Subtract the training mean of the targets (and give the "
                         "linear f an intercept); false: for targets whose mean is zero by design.")
    hidden: int = Field(32, ge=1, le=4096, description="Neural f: hidden units per layer.")
    layers: int = Field(2, ge=1, le=6, description="Neural f: hidden layers.")
    dropout: float = Field(0.1, ge=0, lt=1, description="Neural f: dropout between layers.")


# Training settings of the neural f (seed: also the hold-out split's). Its validation data
# is the Q hold-out, so it takes no val_fraction.
DKFParams = with_training_settings("DKFParams", DKFModelParams, exclude=("val_fraction",), epochs=60,
                                   batch_size=128, optimizer="adamw", lr=3e-3, weight_decay=1e-4,
                                   schedule="cosine")


class DiscriminativeKalmanFilter(NeuralDecoder, ContinuousDecoder):
    """DKF with f by Nadaraya-Watson, a neural net or least squares, and Q(x) by Nadaraya-Watson.

    Fit: A, G by least squares on consecutive states; S = cov(states). The training bins are
    split into blocks; ``q_holdout`` of them learn Q, the rest learn f (with its bandwidth
    chosen by leave-one-out). Q(x) is the Nadaraya-Watson regression of the outer products of
    f's residuals on the held-out bins, shrunk towards their mean by ``q_shrinkage``. The
    Nadaraya-Watson f used for decoding then averages over all training bins with the chosen
    bandwidth (as the reference implementation does).

    With ``selection="validation"`` (the default) the kernel f's width, Q's shrinkage and the
    choice between the kernel f and a linear f are made by filtering contiguous validation
    blocks of the training data (`observation.select_observation`). The linear f with
    constant Q is the Kalman limit (a linear-Gaussian p(state | features)), so where the
    kernel regression does not pay (few bins, linear tuning) the DKF decodes as a Kalman
    filter would. The choice is logged and kept in ``selection_`` (and the saved state).

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
        self.y_mean_, self.A_, self.G_, self.S_ = y_mean, A, G, S
        if params.f == "neural":
            fitted = self._fit_neural(X, yc, params, context, y_mean)
        else:
            choice = self._choose(X, yc, breaks, params, context)
            f_var = None if choice.f == "linear" else self._f_variance(X, yc, choice, params, context)
            fitted = fit_observation(X, yc, choice.f, f_var, choice.q_shrinkage, params.q_holdout,
                                     params.seed, params.q_bandwidth, context.log, intercept=params.center)
        self._set_observation(fitted)
        self._precompute()

    def _choose(self, X, yc, breaks, params, context) -> Candidate:
        """The observation model to fit: by validation, or as the parameters say."""
        fixed = Candidate(params.f, 1.0, params.q_shrinkage or 0.0)
        if params.selection == "none" or (params.f == "linear" and params.q_shrinkage is not None):
            self.selection_ = None
            return fixed
        selection = select_observation(X, yc, breaks, params, params.selection_folds)
        if selection is None:
            chosen = Candidate("linear", 1.0, 1.0 if params.q_shrinkage is None else params.q_shrinkage)
            self.selection_ = {"f": chosen.f, "bandwidth_scale": 1.0, "q_shrinkage": chosen.q_shrinkage,
                               "kalman_limit": chosen.is_kalman_limit, "folds": 0,
                               "reason": f"fewer than {params.selection_folds} x 40 training bins"}
            context.log(f"dkf: {len(X)} training bins are too few to validate; using {chosen.describe()}")
            return chosen
        self.selection_ = selection.summary()
        ranked = sorted(selection.scores.items(), key=lambda item: item[1])
        kalman = [s for c, s in selection.scores.items() if c.is_kalman_limit]
        context.log(f"dkf: chose {selection.chosen.describe()} by blocked {selection.n_folds}-fold validation "
                    f"(validation nRMSE {ranked[0][1]:.4f}"
                    + (f"; Kalman limit {kalman[0]:.4f})" if kalman else ")"))
        return selection.chosen

    def _fit_neural(self, X, yc, params, context, y_mean) -> FittedObservation:
        from .neural_f import train_mean_network

        self.selection_ = None
        f_idx, q_idx = holdout_blocks(len(X), params.q_holdout, params.seed)
        self.net_weights_ = train_mean_network(self, X, yc, f_idx, q_idx, context, y_mean)
        fitted = FittedObservation(f="neural", q_shrinkage=params.q_shrinkage or 0.0)
        fit_q(fitted, X[q_idx], self._mean_model().predict(X[q_idx]) - yc[q_idx], params.q_bandwidth,
              context.log)
        return fitted

    def build_network(self, n_features: int, n_targets: int):
        """Neural f: an MLP (Linear-ReLU-Dropout) x layers, then Linear to the targets."""
        from .neural_f import build_mean_network

        return build_mean_network(self.validated_params(), n_features, n_targets)

    def loss(self):
        from .neural_f import mse_loss

        return mse_loss

    @staticmethod
    def _f_variance(X, yc, choice: Candidate, params, context) -> float:
        if params.bandwidth is not None:
            return params.bandwidth ** 2
        f_idx, _ = holdout_blocks(len(X), params.q_holdout, params.seed)
        var, loo = loo_variance(X[f_idx], yc[f_idx])
        context.log(f"dkf: f(x) kernel width {np.sqrt(var):.3g} (leave-one-out MSE {loo:.3g})"
                    + (f", used x{choice.bandwidth_scale:g}" if choice.bandwidth_scale != 1.0 else ""))
        return var * choice.bandwidth_scale ** 2

    def _set_observation(self, fitted: FittedObservation) -> None:
        self.f_model_ = fitted.f
        self.q_shrinkage_ = fitted.q_shrinkage
        if fitted.f == "linear":
            self.f_coef_, self.f_intercept_ = fitted.f_coef, fitted.f_intercept
        elif fitted.f == "nadaraya-watson":
            self.f_points_, self.f_outputs_ = fitted.f_points, fitted.f_outputs
            self.f_variance_ = np.array([fitted.f_variance])
        self.q_points_, self.q_outputs_ = fitted.q_points, fitted.q_outputs
        self.q_variance_ = np.array([fitted.q_variance])
        self.q_constant_ = fitted.q_constant

    def _observation(self) -> FittedObservation:
        d = len(self.S_)
        return FittedObservation(
            f=self.f_model_, f_points=getattr(self, "f_points_", None), f_outputs=getattr(self, "f_outputs_", None),
            f_variance=_scalar(self.f_variance_) if hasattr(self, "f_variance_") else None,
            f_coef=getattr(self, "f_coef_", None), f_intercept=getattr(self, "f_intercept_", None),
            q_points=self.q_points_, q_outputs=self.q_outputs_, q_variance=_scalar(self.q_variance_),
            q_constant=getattr(self, "q_constant_", np.zeros((d, d))), q_shrinkage=float(self.q_shrinkage_))

    def _forget_mean_model(self) -> None:
        for key in ("net_weights_", "f_points_", "f_outputs_", "f_variance_", "f_coef_", "f_intercept_",
                    "q_constant_"):
            self.__dict__.pop(key, None)

    def _mean_model(self):
        if hasattr(self, "net_weights_"):
            from .neural_f import NumpyMLP

            return NumpyMLP(self.net_weights_)
        return None   # the observation model builds the kernel or linear f from its arrays

    def _precompute(self) -> None:
        self._obs = ObservationModel(self._observation(), q_floor(self.S_), mean=self._mean_model())
        self.S_inv_ = inv(self.S_)

    def _new_filter(self) -> "_DKFRecursion":
        return _DKFRecursion(self)

    def get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        self._check_fitted()
        keys = ["y_mean", "A", "G", "S", "q_points", "q_outputs", "q_variance", "q_constant"]
        keys += {"linear": ["f_coef", "f_intercept"], "nadaraya-watson": ["f_points", "f_outputs", "f_variance"],
                 "neural": []}[self.f_model_]
        arrays = {k: getattr(self, k + "_") for k in keys}
        if self.f_model_ == "neural":
            arrays.update({f"net.{k}": v for k, v in self.net_weights_.items()})
        extra = {**self._base_state(), "f_model": self.f_model_, "q_shrinkage": float(self.q_shrinkage_)}
        if getattr(self, "selection_", None):
            extra["selection"] = self.selection_
        return arrays, extra

    def expected_tensors(self, extra: dict[str, Any]) -> dict[str, TensorSpec]:
        nf, nt = self._state_dims(extra)
        p = self.validated_params()
        f_model = _saved_f_model(extra, p.f)
        shapes = {"y_mean": (nt,), "A": (nt, nt), "G": (nt, nt), "S": (nt, nt),
                  "q_points": (None, nf), "q_outputs": (None, nt * nt), "q_variance": (1,)}
        if "f_model" in extra:   # saved since issue 23 (Q shrinkage, linear f)
            shapes["q_constant"] = (nt, nt)
        if f_model == "neural":
            widths = [nf] + [p.hidden] * p.layers + [nt]
            shapes.update({"net.x_mean": (nf,), "net.x_scale": (nf,), "net.y_scale": (nt,)})
            for i in range(len(widths) - 1):
                shapes.update({f"net.w{i}": (widths[i + 1], widths[i]), f"net.b{i}": (widths[i + 1],)})
        elif f_model == "linear":
            shapes.update({"f_coef": (nt, nf), "f_intercept": (nt,)})
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
        # bundles saved before issue 23 hold a kernel or neural f and an unshrunk Q
        self.f_model_ = "neural" if net else _saved_f_model(extra, "nadaraya-watson")
        self.q_shrinkage_ = float(extra.get("q_shrinkage", 0.0))
        self.selection_ = extra.get("selection")
        self._precompute()
        self.reset()
        return self


def _scalar(value) -> float:
    return float(np.ravel(value)[0])


def _saved_f_model(extra: dict[str, Any], default: str) -> str:
    value = extra.get("f_model", default)
    if value not in ("nadaraya-watson", "neural", "linear"):
        raise InputError(f"state.f_model must be nadaraya-watson, neural or linear, not {str(value)[:40]!r}.")
    return value


class _DKFRecursion:
    __slots__ = ("m", "mu", "Sigma")

    def __init__(self, model: DiscriminativeKalmanFilter):
        self.m = model
        self.mu = None
        self.Sigma = None

    def step(self, x: np.ndarray) -> np.ndarray:
        m = self.m
        f = m._obs.mean.predict_one(x)
        Q = m._obs.q_one(x, len(f))
        self.mu, self.Sigma = dkf_update(self.mu, self.Sigma, f, Q, m.A_, m.G_, m.S_inv_, m.robust)
        return self.mu + m.y_mean_
