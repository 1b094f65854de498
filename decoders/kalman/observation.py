"""The DKF's observation model p(state | features) ~ N(f(x), Q(x)) and its choice by validation.

f is a Nadaraya-Watson kernel regression or a linear least-squares map; Q(x) is the kernel
regression of f's squared residuals on held-out bins, shrunk towards their constant mean:
Q(x) = (1 - lambda) Q_kernel(x) + lambda Q_const. The linear f with lambda = 1 is the Kalman
limit: a Gaussian p(state | features) with a linear mean and a constant covariance, which
the DKF update turns into the Kalman filter's (same joint Gaussian, fitted the other way).

`select_observation` picks f's kernel width and lambda by filtering contiguous validation
blocks of the training data (blocked K-fold: neighbouring bins are correlated, so a random
split would flatter the kernel regression), with the Kalman limit among the candidates.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .common import fit_state_model, inv, is_positive_definite, regularise
from .nadaraya_watson import NadarayaWatson, loo_variance

# Candidate grid: kernel widths as multiples of the leave-one-out width, and Q shrinkages.
BANDWIDTH_SCALES = (0.5, 1.0, 2.0)
Q_SHRINKAGES = (0.0, 0.5, 1.0)
# Below this many bins per validation block the choice would be noise: use the Kalman limit.
MIN_VALIDATION_BINS = 40

# Hold-out bins are drawn as whole blocks of consecutive bins, so Q is learned on errors
# made on stretches f did not see (neighbouring bins are strongly correlated).
HOLDOUT_BLOCK = 50


class LinearMean:
    """f(x) = W x + b, fitted by least squares (the mean of a joint Gaussian's conditional)."""

    def __init__(self, coef: np.ndarray, intercept: np.ndarray):
        self.coef = np.asarray(coef, dtype=float)
        self.intercept = np.asarray(intercept, dtype=float)

    @classmethod
    def fit(cls, X: np.ndarray, y: np.ndarray, intercept: bool = True) -> "LinearMean":
        """Least squares; without ``intercept`` f(0) = 0 (as the Kalman filter with ``center: false``)."""
        if not intercept:
            return cls(np.linalg.lstsq(X, y, rcond=None)[0].T, np.zeros(y.shape[1]))
        design = np.hstack([X, np.ones((len(X), 1))])
        solution = np.linalg.lstsq(design, y, rcond=None)[0]
        return cls(solution[:-1].T, solution[-1])

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.atleast_2d(X) @ self.coef.T + self.intercept

    def predict_one(self, x: np.ndarray) -> np.ndarray:
        return self.coef @ x + self.intercept


@dataclass(frozen=True)
class Candidate:
    """One observation model to try: f's kind, its kernel-width multiple, Q's shrinkage."""

    f: str                      # "linear" or "nadaraya-watson"
    bandwidth_scale: float      # multiple of the leave-one-out width (1.0 for the linear f)
    q_shrinkage: float

    @property
    def is_kalman_limit(self) -> bool:
        return self.f == "linear" and self.q_shrinkage == 1.0

    def describe(self) -> str:
        f = "linear f" if self.f == "linear" else f"kernel f (width x{self.bandwidth_scale:g})"
        return f"{f}, Q shrinkage {self.q_shrinkage:g}" + (" (Kalman limit)" if self.is_kalman_limit else "")


@dataclass
class FittedObservation:
    """The arrays of a fitted observation model (f's and Q's)."""

    f: str
    f_points: np.ndarray | None = None      # kernel f
    f_outputs: np.ndarray | None = None
    f_variance: float | None = None
    f_coef: np.ndarray | None = None        # linear f
    f_intercept: np.ndarray | None = None
    q_points: np.ndarray | None = None
    q_outputs: np.ndarray | None = None
    q_variance: float | None = None
    q_constant: np.ndarray | None = None
    q_shrinkage: float = 0.0


def holdout_blocks(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split 0..n-1 into (fit, holdout) index arrays made of whole blocks of bins."""
    n_blocks = max(2, int(np.ceil(n / HOLDOUT_BLOCK)))
    block = np.minimum(np.arange(n) * n_blocks // n, n_blocks - 1)
    n_out = min(n_blocks - 1, max(1, int(round(fraction * n_blocks))))
    chosen = np.random.default_rng(seed).choice(n_blocks, n_out, replace=False)
    held = np.isin(block, chosen)
    return np.flatnonzero(~held), np.flatnonzero(held)


def fit_observation(X, yc, f_kind: str, f_variance: float | None, q_shrinkage: float, q_holdout: float,
                    seed: int, q_bandwidth: float | None = None, log=None,
                    intercept: bool = True) -> FittedObservation:
    """Fit f on part of the bins, Q on f's errors on the held-out blocks, then f on all bins.

    ``f_variance`` None: the kernel f's width by leave-one-out on the fitting part. The linear
    f's constant Q is its in-sample residual covariance on all bins, which makes the linear f
    with Q shrinkage 1 the Kalman filter's posterior exactly (same sample moments). Without
    ``intercept`` the linear f has none (the Kalman filter with ``center: false``).
    """
    f_idx, q_idx = holdout_blocks(len(X), q_holdout, seed)
    out = FittedObservation(f=f_kind, q_shrinkage=float(q_shrinkage))
    if f_kind == "linear":
        f_on_holdout = LinearMean.fit(X[f_idx], yc[f_idx], intercept).predict(X[q_idx])
        final = LinearMean.fit(X, yc, intercept)
        out.f_coef, out.f_intercept = final.coef, final.intercept
        in_sample = final.predict(X) - yc
    else:
        if f_variance is None:
            f_variance, loo = loo_variance(X[f_idx], yc[f_idx])
            if log:
                log(f"dkf: f(x) kernel width {np.sqrt(f_variance):.3g} (leave-one-out MSE {loo:.3g})")
        f_on_holdout = NadarayaWatson(X[f_idx], yc[f_idx], f_variance).predict(X[q_idx])
        out.f_points, out.f_outputs, out.f_variance = X, yc, float(f_variance)
        in_sample = None
    fit_q(out, X[q_idx], f_on_holdout - yc[q_idx], q_bandwidth, log, constant_from=in_sample)
    return out


def fit_q(out: FittedObservation, points, resid, q_bandwidth: float | None, log=None,
          constant_from: np.ndarray | None = None) -> None:
    """Q(x): kernel regression of the residual outer products (skipped when fully shrunk);
    Q_const: their mean, or the covariance of ``constant_from`` residuals where given."""
    d = resid.shape[1]
    outer = (resid[:, :, None] * resid[:, None, :]).reshape(len(resid), -1)
    if constant_from is None:
        out.q_constant = regularise(outer.mean(0).reshape(d, d))
    else:
        out.q_constant = regularise(constant_from.T @ constant_from / len(constant_from))
    if q_bandwidth is not None:
        q_var = q_bandwidth ** 2
    elif out.q_shrinkage < 1.0:
        q_var, q_loo = loo_variance(points, outer)
        if log:
            log(f"dkf: Q(x) kernel width {np.sqrt(q_var):.3g} (leave-one-out MSE {q_loo:.3g})")
    else:   # unused: Q is the constant; keep a valid width so the model saves and loads alike
        q_var = float(np.median(np.var(points, axis=0)) * points.shape[1]) or 1.0
    out.q_points, out.q_outputs, out.q_variance = points, outer, float(q_var)


class ObservationModel:
    """Evaluates a `FittedObservation`: f(x) and Q(x) for one bin or many."""

    def __init__(self, fitted: FittedObservation, q_floor: np.ndarray, mean=None):
        self.fitted = fitted
        if mean is not None:   # e.g. the neural f, evaluated by the decoder's own model
            self.mean = mean
        elif fitted.f == "linear":
            self.mean = LinearMean(fitted.f_coef, fitted.f_intercept)
        else:
            self.mean = NadarayaWatson(fitted.f_points, fitted.f_outputs, fitted.f_variance)
        self.shrinkage = fitted.q_shrinkage
        self.q_kernel = NadarayaWatson(fitted.q_points, fitted.q_outputs, fitted.q_variance)
        self.q_fixed = self.shrinkage * fitted.q_constant + q_floor

    def q_one(self, x: np.ndarray, d: int) -> np.ndarray:
        if self.shrinkage >= 1.0:
            return self.q_fixed
        return (1.0 - self.shrinkage) * self.q_kernel.predict_one(x).reshape(d, d) + self.q_fixed


def q_floor(S: np.ndarray) -> np.ndarray:
    """Floor added to Q(x): kernel averages far from the data can be near singular."""
    return 1e-6 * np.trace(S) / len(S) * np.eye(len(S))


def dkf_update(mu, Sigma, f, Q, A, G, S_inv, robust: bool):
    """One DKF step from the previous posterior (mu, Sigma); returns the new (mu, Sigma).

    nu = A mu; M = A Sigma A^T + G; Sigma = (M^-1 + Q^-1 - S^-1)^-1; mu = Sigma (M^-1 nu + Q^-1 f).
    If Q^-1 - S^-1 is not positive definite, Q is replaced by (Q^-1 + S^-1)^-1; the robust
    variant drops -S^-1 (and the guard). The first step (mu None) returns (f, Q).
    """
    if mu is None:
        return f, Q
    Q_inv = inv(Q)
    info = Q_inv
    if not robust:
        info = Q_inv - S_inv
        if not is_positive_definite(info):  # Q -> (Q^-1 + S^-1)^-1
            Q_inv = Q_inv + S_inv
            info = Q_inv - S_inv
    M_inv = inv(A @ Sigma @ A.T + G)
    Sigma = inv(M_inv + info)
    return Sigma @ (M_inv @ (A @ mu) + Q_inv @ f), Sigma


def filter_sequence(F, Q, A, G, S_inv, robust: bool, breaks=None) -> np.ndarray:
    """Filter the bins' f (n, d) and Q (n, d, d) from a fresh start, restarting at each break."""
    out = np.empty_like(F)
    mu = Sigma = None
    for t in range(len(F)):
        if breaks is not None and breaks[t]:
            mu = Sigma = None
        mu, Sigma = dkf_update(mu, Sigma, F[t], Q[t], A, G, S_inv, robust)
        out[t] = mu
    return out


def candidates(kernel: bool, bandwidth_given: bool, q_shrinkage: float | None) -> list[Candidate]:
    """The grid, simplest first (ties go to the earlier one): the Kalman limit leads.

    ``kernel`` False: linear f only (its Q shrinkage is what is chosen).
    """
    shrinkages = (q_shrinkage,) if q_shrinkage is not None else tuple(reversed(Q_SHRINKAGES))
    scales = (1.0,) if bandwidth_given else BANDWIDTH_SCALES
    grid = [Candidate("linear", 1.0, lam) for lam in shrinkages]
    if kernel:
        grid += [Candidate("nadaraya-watson", s, lam) for s in scales for lam in shrinkages]
    return grid


@dataclass
class Selection:
    """What validation chose, and every candidate's validation nRMSE."""

    chosen: Candidate
    scores: dict[Candidate, float]
    n_folds: int

    def summary(self) -> dict:
        return {"f": self.chosen.f, "bandwidth_scale": self.chosen.bandwidth_scale,
                "q_shrinkage": self.chosen.q_shrinkage, "kalman_limit": self.chosen.is_kalman_limit,
                "folds": self.n_folds,
                "validation_nrmse": {c.describe(): round(s, 5) for c, s in self.scores.items()}}


def select_observation(X, yc, breaks, params, n_folds: int) -> Selection | None:
    """Blocked K-fold over the training bins: each candidate is fitted on the other blocks and
    filtered over the held-out block; the lowest pooled nRMSE wins. None: too few bins.

    f and Q's kernel are fitted once per f candidate and fold; the Q shrinkages reuse them.
    The test bins never enter: the caller passes the training bins only.
    """
    n = len(X)
    if n // n_folds < MIN_VALIDATION_BINS:
        return None
    grid = candidates(params.f == "nadaraya-watson", params.bandwidth is not None, params.q_shrinkage)
    sq_err = {c: 0.0 for c in grid}
    sq_truth = 0.0
    edges = np.linspace(0, n, n_folds + 1).round().astype(int)
    for k in range(n_folds):
        val = np.arange(edges[k], edges[k + 1])
        train = np.setdiff1d(np.arange(n), val)
        inner_breaks = breaks[train].copy()
        inner_breaks[0] = True
        inner_breaks[np.flatnonzero(np.diff(train) > 1) + 1] = True   # the gap left by the block
        Xtr = X[train]
        offset = yc[train].mean(0) if params.center else np.zeros(yc.shape[1])
        ytr = yc[train] - offset
        A, G = fit_state_model(ytr, inner_breaks)
        S = regularise(np.atleast_2d(np.cov(ytr.T)))
        S_inv, floor, d = inv(S), q_floor(S), len(S)
        truth = yc[val] - offset
        sq_truth += float(np.sum(truth ** 2))
        loo_var = None
        q_bandwidth = params.q_bandwidth
        # Q's kernel width is learned once per fold, on the errors of the first f tried (the
        # kernel f at the leave-one-out width where it is a candidate), and reused by the others.
        f_models = sorted(dict.fromkeys((c.f, c.bandwidth_scale) for c in grid),
                          key=lambda fs: fs != ("nadaraya-watson", 1.0))
        for f_kind, scale in f_models:
            if f_kind == "linear":
                f_var = None
            elif params.bandwidth is not None:
                f_var = params.bandwidth ** 2
            else:
                if loo_var is None:
                    f_idx, _ = holdout_blocks(len(Xtr), params.q_holdout, params.seed)
                    loo_var = loo_variance(Xtr[f_idx], ytr[f_idx])[0]
                f_var = loo_var * scale ** 2
            shrinkages = [c.q_shrinkage for c in grid if (c.f, c.bandwidth_scale) == (f_kind, scale)]
            fitted = fit_observation(Xtr, ytr, f_kind, f_var, min(shrinkages), params.q_holdout,
                                     params.seed, q_bandwidth, intercept=params.center)
            if q_bandwidth is None and min(shrinkages) < 1:
                q_bandwidth = float(np.sqrt(fitted.q_variance))
            model = ObservationModel(fitted, floor)
            F = model.mean.predict(X[val])
            q_kernel = model.q_kernel.predict(X[val]).reshape(-1, d, d) if min(shrinkages) < 1 else 0.0
            for lam in shrinkages:
                Q = (1.0 - lam) * q_kernel + lam * fitted.q_constant + floor
                Q = np.broadcast_to(Q, (len(val), d, d))
                decoded = filter_sequence(F, Q, A, G, S_inv, params.robust, breaks[val])
                sq_err[Candidate(f_kind, scale, lam)] += float(np.sum((decoded - truth) ** 2))
    scores = {c: float(np.sqrt(e / max(sq_truth, 1e-300))) for c, e in sq_err.items()}
    chosen = min(grid, key=lambda c: scores[c])   # min keeps the first (simplest) of equals
    return Selection(chosen, scores, n_folds)
