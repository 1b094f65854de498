"""Kalman-style continuous decoders: Kalman filter, Discriminative Kalman filter, Wiener filter.

All three decode a sequence of feature vectors (one per time bin) into continuous targets
(e.g. 2-D cursor velocity). ``predict(X)`` filters a whole sequence from the stationary
start; ``step(x)`` advances a streaming filter by one bin (``reset()`` starts it afresh).
"""
from .dkf import DiscriminativeKalmanFilter
from .kalman_filter import KalmanFilterDecoder
from .wiener import WienerFilter

__all__ = ["KalmanFilterDecoder", "DiscriminativeKalmanFilter", "WienerFilter"]
