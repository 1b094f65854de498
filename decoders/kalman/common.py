"""What the Kalman-style decoders share: input checks, streaming, state models, 2x2 algebra."""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from data.errors import DataError

from ..base import RegressorDecoder, Task, state_int
from ..events import TrainingContext, TrajectoryReconstruction


class ContinuousDecoder(RegressorDecoder):
    """A decoder of continuous targets that can run one time bin at a time.

    Subclasses implement ``_fit``, ``_new_filter`` (a fresh filter object with a
    ``step(x) -> y`` method) and the state methods. ``predict`` runs a fresh filter over
    the whole sequence, so it never disturbs a streaming session driven by ``step``.
    """

    task: ClassVar[Task] = Task.REGRESSION
    input_kind: ClassVar[str] = "continuous"

    def fit(self, X, y=None, *, subject=None, session=None,
            context: TrainingContext | None = None) -> "ContinuousDecoder":
        params = self.validated_params()
        X = check_features(X, "fit")
        if y is None:
            raise DataError(f"{self.name} requires y to be passed, but the target y is None: fit needs "
                            "targets y (n_samples, n_targets).")
        y = check_targets(y, len(X))
        self.n_features_in_ = X.shape[1]
        self.n_targets_ = y.shape[1]
        self._fit(X, y, breaks_from_groups(len(X), subject, session), params,
                  context or TrainingContext())
        self.reset()
        if context is not None:
            emit_trajectory(self, X, y, context)
        return self

    def predict(self, X, *, subject=None) -> np.ndarray:
        self._check_fitted()
        X = check_features(X, "predict", self.n_features_in_)
        filt = self._new_filter()
        out = np.empty((len(X), self.n_targets_))
        for t in range(len(X)):
            out[t] = filt.step(X[t])
        return out

    def reset(self) -> None:
        """Start the streaming filter afresh (stationary prior, no history)."""
        self._stream = self._new_filter()

    def step(self, x) -> np.ndarray:
        """Advance the streaming filter by one bin of features ``x`` (n_features,)."""
        self._check_fitted()
        x = np.asarray(x, dtype=float).reshape(-1)
        if x.shape[0] != self.n_features_in_:
            raise DataError(f"{self.name}: a step needs {self.n_features_in_} features, got {x.shape[0]}.")
        return self._stream.step(x)

    def score(self, X, y, sample_weight=None) -> float:
        from sklearn.metrics import r2_score

        return float(r2_score(check_targets(y, len(X)), self.predict(X), sample_weight=sample_weight))

    # ---------------------------------------------------------------- for subclasses
    def _fit(self, X, y, breaks, params, context) -> None:
        raise NotImplementedError

    def _new_filter(self):
        raise NotImplementedError

    def _check_fitted(self) -> None:
        self._require_fitted("n_features_in_")

    def _base_state(self) -> dict[str, Any]:
        return {"n_features_in": int(self.n_features_in_), "n_targets": int(self.n_targets_),
                "params": self.get_params(deep=False)}

    @staticmethod
    def _state_dims(extra: dict[str, Any]) -> tuple[int, int]:
        """(n_features, n_targets) of a bundle's state, checked."""
        return state_int(extra, "n_features_in"), state_int(extra, "n_targets")

    def _restore_base(self, extra: dict[str, Any]) -> None:
        self.set_params(**extra.get("params", {}))
        self.n_features_in_ = int(extra["n_features_in"])
        self.n_targets_ = int(extra["n_targets"])


# ------------------------------------------------------------------------ input checks
def check_features(X, where: str, n_features: int | None = None) -> np.ndarray:
    from scipy import sparse

    if sparse.issparse(X):
        raise DataError(f"{where}: sparse input is not supported; pass a dense (n_samples, n_features) array.")
    X = np.asarray(X)
    if np.iscomplexobj(X):
        raise DataError(f"{where}: Complex data not supported (features must be real).")
    X = X.astype(float)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise DataError(f"{where}: continuous features must be (n_samples, n_features), got shape {X.shape}.")
    if len(X) == 0:
        raise DataError(f"{where}: no samples.")
    if n_features is not None and X.shape[1] != n_features:
        raise DataError(f"{where}: X has {X.shape[1]} features, but decoder is expecting {n_features} "
                        "features as input (as it was fitted on).")
    if not np.isfinite(X).all():
        raise DataError(f"{where}: features contain NaN or Inf (first at sample "
                        f"{int(np.argwhere(~np.isfinite(X))[0, 0])}).")
    return X


def check_targets(y, n: int) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2 or len(y) != n:
        raise DataError(f"targets must be (n_samples, n_targets) with {n} samples, got shape {y.shape}.")
    if not np.isfinite(y).all():
        raise DataError(f"targets contain NaN or Inf (first at sample {int(np.argwhere(~np.isfinite(y))[0, 0])}).")
    return y


def breaks_from_groups(n: int, *groups) -> np.ndarray:
    """Boolean (n,): True where sample t starts a new segment (t = 0 or a group changes).

    State transitions are never learned across a break (another run, session or subject).
    """
    starts = np.zeros(n, dtype=bool)
    starts[0] = True
    for g in groups:
        if g is not None:
            g = np.asarray(g).astype(str)
            starts[1:] |= g[1:] != g[:-1]
    return starts


# ------------------------------------------------------------------------ state model
def fit_state_model(y: np.ndarray, breaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares linear dynamics y_t = A y_{t-1} + w, w ~ N(0, W) on centred states."""
    follows = ~breaks
    follows[0] = False
    prev, curr = y[np.flatnonzero(follows) - 1], y[follows]
    if len(curr) <= y.shape[1]:
        raise DataError(f"too few consecutive samples ({len(curr)}) to learn the state dynamics.")
    A = np.linalg.lstsq(prev, curr, rcond=None)[0].T
    resid = curr - prev @ A.T
    W = resid.T @ resid / (len(curr) - 1)
    return A, regularise(W)


def stationary_covariance(A: np.ndarray, W: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """P solving P = A P A^T + W when the dynamics are stable, else ``fallback``."""
    if np.max(np.abs(np.linalg.eigvals(A))) < 0.999:
        from scipy.linalg import solve_discrete_lyapunov

        P = solve_discrete_lyapunov(A, W)
        return (P + P.T) / 2
    return fallback


def regularise(C: np.ndarray, rel: float = 1e-9) -> np.ndarray:
    """Symmetrise and add a tiny ridge so a covariance is invertible."""
    C = (C + C.T) / 2
    scale = max(float(np.trace(C)) / len(C), 1e-300)
    return C + rel * scale * np.eye(len(C))


# ------------------------------------------------------------------ small-matrix algebra
def inv(M: np.ndarray) -> np.ndarray:
    """Inverse; closed form for 2x2 (the usual 2-D kinematics) to keep a step cheap."""
    if M.shape == (2, 2):
        a, b, c, d = M[0, 0], M[0, 1], M[1, 0], M[1, 1]
        det = a * d - b * c
        return np.array([[d, -b], [-c, a]]) / det
    return np.linalg.inv(M)


def is_positive_definite(M: np.ndarray) -> bool:
    if M.shape == (2, 2):
        return M[0, 0] > 0 and M[0, 0] * M[1, 1] - M[0, 1] * M[1, 0] > 0
    try:
        np.linalg.cholesky((M + M.T) / 2)
        return True
    except np.linalg.LinAlgError:
        return False


# ------------------------------------------------------------------------------ events
def emit_trajectory(decoder: ContinuousDecoder, X: np.ndarray, y: np.ndarray,
                    context: TrainingContext, max_bins: int = 400, target_names=None) -> None:
    """Decode the last stretch of the training data and emit it as a trajectory view."""
    if context.on_event is None:
        return
    n = min(max_bins, len(X))
    decoded = decoder.predict(X[-n:])
    context.emit(TrajectoryReconstruction(
        truth=y[-n:].copy(), decoded=decoded,
        target_names=list(target_names or [f"y{i}" for i in range(y.shape[1])])))
