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


def _flat(images) -> np.ndarray:
    a = np.asarray(images, float)
    return a.reshape(len(a), -1)


def pixcorr(true, recon) -> float:
    """Mean over images of the Pearson r between true and reconstructed pixels."""
    t, r = _flat(true), _flat(recon)
    t = t - t.mean(1, keepdims=True)
    r = r - r.mean(1, keepdims=True)
    rs = (t * r).sum(1) / np.sqrt((t ** 2).sum(1) * (r ** 2).sum(1) + 1e-300)
    return float(rs.mean())


def ssim(true, recon) -> float:
    """Mean structural similarity (scikit-image) over images; 2-D (grey) or HxWxC (colour)."""
    from skimage.metrics import structural_similarity

    true, recon = np.asarray(true, float), np.asarray(recon, float)
    values = []
    for t, r in zip(true, recon):
        span = float(max(t.max(), r.max()) - min(t.min(), r.min())) or 1.0
        values.append(structural_similarity(t, r, data_range=span, channel_axis=-1 if t.ndim == 3 else None))
    return float(np.mean(values))


def two_way_identification(true, recon) -> float:
    """Fraction of pairs (i, j != i) where reconstruction i correlates more with its own
    image i than with image j (chance 0.5)."""
    t, r = _flat(true), _flat(recon)
    if len(t) < 2:
        return float("nan")
    corr = np.corrcoef(r, t)[: len(r), len(r):]   # corr[i, j] = r(recon_i, true_j)
    own = np.diag(corr)[:, None]
    off = ~np.eye(len(t), dtype=bool)
    return float((own > corr)[off].mean())


def reconstruction(true, recon, true_embeddings=None, recon_embeddings=None) -> dict:
    """PixCorr, SSIM, pixel MSE, two-way identification in pixel space (and in an
    embedding space when the decoder provides embeddings)."""
    out = {"pixcorr": pixcorr(true, recon), "ssim": ssim(true, recon),
           "pixel_mse": float(np.mean((_flat(true) - _flat(recon)) ** 2)),
           "two_way_pixel": two_way_identification(true, recon)}
    if true_embeddings is not None and recon_embeddings is not None:
        out["two_way_embedding"] = two_way_identification(true_embeddings, recon_embeddings)
    return out


def pretraining(true, predicted) -> dict:
    """Masked-segment R^2 (over all masked values) and MSE."""
    t, p = np.asarray(true, float).ravel(), np.asarray(predicted, float).ravel()
    return {"masked_r2": float(skm.r2_score(t, p)), "masked_mse": float(np.mean((t - p) ** 2))}
