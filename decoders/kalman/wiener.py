"""Wiener filter: ridge regression of the targets on the current and past feature bins."""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from ..base import DecoderParams, TensorSpec
from .common import ContinuousDecoder


class WienerParams(DecoderParams):
    lags: int = Field(5, ge=0, le=200, description="Past bins used besides the current one.")
    alphas: list[float] = Field([0.01, 0.1, 1.0, 10.0, 100.0, 1000.0],
                                description="Ridge penalties tried (chosen by efficient leave-one-out, RidgeCV).")


class WienerFilter(ContinuousDecoder):
    """y_t = b + sum_{k=0..lags} W_k x_{t-k}, fitted by scikit-learn's RidgeCV.

    Before the first ``lags`` bins of a sequence the missing history is filled with the
    first bin seen (so a stream and ``predict`` agree exactly).
    """

    name: ClassVar[str] = "wiener"
    description: ClassVar[str] = "Wiener filter: ridge regression of targets on lagged features (baseline)."
    Params: ClassVar[type[DecoderParams]] = WienerParams

    def _fit(self, X, y, breaks, params, context) -> None:
        from sklearn.linear_model import RidgeCV

        Z = np.vstack([lagged(X[s:e], params.lags) for s, e in _segments(breaks)])
        model = RidgeCV(alphas=params.alphas).fit(Z, y)
        self.coef_ = np.atleast_2d(model.coef_)
        self.intercept_ = np.atleast_1d(model.intercept_).astype(float)
        self.alpha_ = float(model.alpha_)
        context.log(f"wiener: {params.lags} lags, ridge alpha {self.alpha_:g}")

    def _new_filter(self) -> "_WienerStream":
        return _WienerStream(self)

    def get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        self._check_fitted()
        return ({"coef": self.coef_, "intercept": self.intercept_},
                {**self._base_state(), "alpha": self.alpha_})

    def expected_tensors(self, extra: dict[str, Any]) -> dict[str, TensorSpec]:
        nf, nt = self._state_dims(extra)
        lags = self.validated_params().lags
        return {"coef": TensorSpec((nt, (lags + 1) * nf)), "intercept": TensorSpec((nt,))}

    def set_state(self, arrays, extra) -> "WienerFilter":
        self._restore_base(extra)
        self.coef_ = np.asarray(arrays["coef"], dtype=float)
        self.intercept_ = np.asarray(arrays["intercept"], dtype=float)
        self.alpha_ = float(extra.get("alpha", np.nan))
        self.reset()
        return self


def lagged(X: np.ndarray, lags: int) -> np.ndarray:
    """(n, (lags + 1) * n_features): [x_t, x_{t-1}, ..., x_{t-lags}], history padded with x_0."""
    padded = np.vstack([np.repeat(X[:1], lags, axis=0), X])
    n = len(X)
    return np.hstack([padded[lags - k: lags - k + n] for k in range(lags + 1)])


def _segments(breaks: np.ndarray):
    starts = np.flatnonzero(breaks)
    ends = np.append(starts[1:], len(breaks))
    return zip(starts, ends)


class _WienerStream:
    __slots__ = ("m", "history")

    def __init__(self, model: WienerFilter):
        self.m = model
        self.history = None

    def step(self, x: np.ndarray) -> np.ndarray:
        lags = self.m.lags
        if self.history is None:
            self.history = np.tile(x, lags + 1)
        else:
            self.history = np.concatenate([x, self.history[:-len(x)]]) if lags else x.copy()
        return self.m.coef_ @ self.history + self.m.intercept_
