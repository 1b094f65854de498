"""Euclidean alignment (He & Wu 2019): whiten each group's trials by its mean covariance."""
from __future__ import annotations

import numpy as np


def reference_matrix(X: np.ndarray) -> np.ndarray:
    """R^(-1/2) for trials ``X`` (n_trials, n_channels, n_times), R = mean of X X^T / n_times."""
    X = np.asarray(X, dtype=np.float64)
    covs = np.einsum("nct,ndt->cd", X, X) / (X.shape[0] * X.shape[2])
    evals, evecs = np.linalg.eigh(covs)
    evals = np.clip(evals, evals.max() * 1e-10, None)  # rank-deficient data (average reference)
    return (evecs / np.sqrt(evals)) @ evecs.T


def euclidean_alignment(X: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """Align each group (subject or session) separately; returns float32 trials."""
    X = np.asarray(X)
    groups = np.zeros(len(X), dtype=int) if groups is None else np.asarray(groups)
    out = np.empty(X.shape, dtype=np.float32)
    for g in np.unique(groups):
        sel = groups == g
        out[sel] = np.einsum("cd,ndt->nct", reference_matrix(X[sel]), X[sel])
    return out
