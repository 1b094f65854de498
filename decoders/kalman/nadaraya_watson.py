"""Nadaraya-Watson kernel regression with a Gaussian kernel and leave-one-out bandwidth."""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

# Leave-one-out search holds a (queries x points) distance matrix; cap its size (~130 MB).
_MAX_LOO_ELEMENTS = 16_000_000


class NadarayaWatson:
    """Kernel-weighted average of training outputs: f(x) = sum_i k(x, x_i) y_i / sum_i k(x, x_i).

    k(x, x_i) = exp(-|x - x_i|^2 / (2 h)) with ``h`` the kernel variance (squared bandwidth),
    as in the DKF reference implementation. Outputs may be vectors (e.g. flattened
    covariance matrices).
    """

    def __init__(self, points: np.ndarray, outputs: np.ndarray, variance: float):
        self.points = np.ascontiguousarray(points, dtype=float)
        self.outputs = np.ascontiguousarray(outputs, dtype=float).reshape(len(points), -1)
        self.variance = float(variance)
        self._sq_norms = np.einsum("ij,ij->i", self.points, self.points)
        # For one query: log-weights x.p_i / h - |p_i|^2 / (2h) (+ a constant), one matvec;
        # a column of ones gives the normaliser in the same product.
        self._scaled_points_t = np.ascontiguousarray(self.points.T / self.variance)
        self._half_sq = self._sq_norms / (2.0 * self.variance)
        self._outputs_1 = np.hstack([self.outputs, np.ones((len(self.outputs), 1))])

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.atleast_2d(np.asarray(X, dtype=float))
        out = np.empty((len(X), self.outputs.shape[1]))
        chunk = max(1, 4_000_000 // len(self.points))  # queries per block: ~32 MB of weights
        for start in range(0, len(X), chunk):
            out[start:start + chunk] = self._predict_block(X[start:start + chunk])
        return out

    def predict_one(self, x: np.ndarray) -> np.ndarray:
        """One query (the online step): one matrix-vector product and one exp."""
        a = x @ self._scaled_points_t
        a -= self._half_sq
        a -= a.max()
        np.exp(a, out=a)
        s = a @ self._outputs_1
        return s[:-1] / s[-1]

    def _predict_block(self, X: np.ndarray) -> np.ndarray:
        d2 = self._sq_norms[None, :] - 2.0 * X @ self.points.T
        w = np.exp((d2.min(1, keepdims=True) - d2) / (2.0 * self.variance))
        return (w @ self.outputs) / w.sum(1, keepdims=True)


def loo_variance(points: np.ndarray, outputs: np.ndarray) -> tuple[float, float]:
    """Kernel variance minimising the leave-one-out mean squared error.

    Searches log-variance between 1e-3 and 10 times the median squared distance. For large
    sets the error is measured on an evenly spread subset of held-out queries (each still
    predicted from all other points). Returns (variance, leave-one-out MSE).
    """
    points = np.asarray(points, dtype=float)
    outputs = np.asarray(outputs, dtype=float).reshape(len(points), -1)
    n = len(points)
    n_queries = int(min(n, max(200, _MAX_LOO_ELEMENTS // n)))
    queries = np.linspace(0, n - 1, n_queries).round().astype(int) if n_queries < n else np.arange(n)
    sq = np.einsum("ij,ij->i", points, points)
    d2 = np.maximum(sq[queries, None] + sq[None, :] - 2.0 * points[queries] @ points.T, 0.0)
    d2[np.arange(len(queries)), queries] = np.inf  # leave each query out
    # float32 halves the memory and the time of the exp; ample for choosing a bandwidth
    shifted = (d2 - d2.min(1, keepdims=True)).astype(np.float32)
    outputs32 = outputs.astype(np.float32)
    target = outputs[queries]

    def loo_mse(log_var: float) -> float:
        w = np.exp(shifted * np.float32(-0.5 / np.exp(log_var)))
        pred = (w @ outputs32) / w.sum(1, keepdims=True)
        return float(np.mean((pred - target) ** 2))

    finite = d2[np.isfinite(d2)]
    median = float(np.median(finite)) if finite.size else 1.0
    median = median if median > 0 else 1.0
    result = minimize_scalar(loo_mse, bounds=(np.log(1e-3 * median), np.log(10 * median)),
                             method="bounded", options={"xatol": 1e-3})
    return float(np.exp(result.x)), float(result.fun)
