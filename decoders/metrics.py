"""Metrics for every task, on scikit-learn where it has them."""
from __future__ import annotations

import numpy as np
from sklearn import metrics as skm


def classification(y_true, y_pred, proba=None, n_classes: int | None = None) -> dict:
    """Accuracy, balanced accuracy, Cohen's kappa, confusion matrix, ROC AUC (binary)."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    labels = np.arange(n_classes) if n_classes else np.unique(np.concatenate([y_true, y_pred]))
    out = {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y_true, y_pred)),
        "kappa": float(skm.cohen_kappa_score(y_true, y_pred, labels=labels)),
        "confusion": skm.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }
    if proba is not None and len(labels) == 2 and len(np.unique(y_true)) == 2:
        out["roc_auc"] = float(skm.roc_auc_score(y_true, np.asarray(proba)[:, 1]))
    return out


def nrmse(y_true, y_pred) -> float:
    """sqrt(mean squared error over samples and outputs) / sqrt(mean of truth^2)."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    return float(np.sqrt(np.mean((y_pred - y_true) ** 2)) / np.sqrt(np.mean(y_true ** 2)))


def angle_error(y_true, y_pred) -> float:
    """Mean absolute difference of the 2-D vectors' angles, wrapped to [-pi, pi]."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    diff = np.arctan2(y_pred[:, 1], y_pred[:, 0]) - np.arctan2(y_true[:, 1], y_true[:, 0])
    return float(np.mean(np.abs((diff + np.pi) % (2 * np.pi) - np.pi)))


def regression(y_true, y_pred, target_names: list[str] | None = None) -> dict:
    """nRMSE, angle error (2-D targets), and R^2 and correlation per output and averaged."""
    y_true = np.asarray(y_true, float).reshape(len(y_true), -1)
    y_pred = np.asarray(y_pred, float).reshape(len(y_pred), -1)
    names = target_names or [f"y{i}" for i in range(y_true.shape[1])]
    r2 = skm.r2_score(y_true, y_pred, multioutput="raw_values")
    corr = [float(np.corrcoef(y_true[:, i], y_pred[:, i])[0, 1]) for i in range(y_true.shape[1])]
    out = {"nrmse": nrmse(y_true, y_pred), "r2": float(np.mean(r2)), "correlation": float(np.mean(corr))}
    if y_true.shape[1] == 2:
        out["angle_error"] = angle_error(y_true, y_pred)
    for name, r, c in zip(names, r2, corr):
        out[f"r2_{name}"] = float(r)
        out[f"correlation_{name}"] = c
    return out
