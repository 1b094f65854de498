"""A frozen BrainMAE encoder as a feature extractor: per-subject pooled token embeddings
(optionally beside the Fisher-z connectivity), standardised, into an l2 logistic regression
whose C is chosen inside the training subjects by leave-one-site-out (or stratified 5-fold
cross-validation when they come from a single site)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Inverse regularisation strengths tried by the inner validation (standardised features,
# thousands of them for a few hundred subjects: strong regularisation is the useful range).
C_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
FEATURES = ("tokens", "tokens+fc")


def token_features(net, W: np.ndarray, owner: np.ndarray, n_subjects: int, batch: int = 256) -> np.ndarray:
    """(subjects, rois x dim): each subject's ROI tokens averaged over its windows."""
    import torch

    with torch.inference_mode():
        z = torch.cat([net.encode(torch.as_tensor(W[i:i + batch])) for i in range(0, len(W), batch)]).numpy()
    return np.stack([z[owner == i].mean(axis=0).ravel() for i in range(n_subjects)])


def _standardiser(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sd = F.std(axis=0)
    return F.mean(axis=0), np.where(sd > 0, sd, 1.0)


def _inner_splits(y: np.ndarray, groups) -> tuple[str, list[tuple[np.ndarray, np.ndarray]]]:
    from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold

    if groups is not None and len(np.unique(groups)) >= 3:
        return "leave-one-site-out", list(LeaveOneGroupOut().split(y, y, groups))
    n_folds = int(min(5, np.bincount(np.unique(y, return_inverse=True)[1]).min()))
    if n_folds < 2:
        return "none", []
    return f"stratified {n_folds}-fold", list(StratifiedKFold(n_folds, shuffle=True, random_state=0).split(y, y))


def _score(y_true: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float | None:
    """ROC AUC (one-vs-rest for several classes); None when the fold holds one class."""
    from sklearn.metrics import roc_auc_score

    if len(np.unique(y_true)) < 2:
        return None
    if len(classes) == 2:
        return float(roc_auc_score(y_true == classes[1], proba[:, 1]))
    return float(roc_auc_score(y_true, proba, multi_class="ovr", labels=classes))


@dataclass
class Probe:
    """Standardisation and logistic regression fitted on subject features."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    classes: np.ndarray
    selection: dict = field(default_factory=dict)

    def proba(self, F: np.ndarray) -> np.ndarray:
        from ..classical import _Linear

        return _Linear(self.coef, self.intercept, self.classes).proba((F - self.mean) / self.scale)


def _logistic_fits(Z: np.ndarray, y: np.ndarray, C_grid) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(coef, intercept, classes) of an l2 logistic regression on ``Z`` for each C.

    With far more features than subjects the l2 solution lies in the span of the training
    rows, so each fit runs on ``Z`` projected onto its right singular vectors (subjects x
    subjects) and the weights are mapped back: the same optimum, many times cheaper."""
    from sklearn.linear_model import LogisticRegression

    if Z.shape[1] > Z.shape[0]:
        # right singular vectors from the subjects x subjects Gram matrix (cheaper than an SVD)
        s2, U = np.linalg.eigh(Z @ Z.T)
        keep = s2 > s2.max() * 1e-10
        Vt = (U[:, keep] / np.sqrt(s2[keep])).T @ Z
    else:
        Vt = np.eye(Z.shape[1])
    R = Z @ Vt.T
    out = []
    for C in C_grid:
        clf = LogisticRegression(C=C, max_iter=5000).fit(R, y)
        out.append((clf.coef_ @ Vt, clf.intercept_, clf.classes_))
    return out


def fit_probe(F: np.ndarray, y: np.ndarray, groups=None, C_grid=C_GRID) -> Probe:
    """Choose C on inner splits of these subjects (mean ROC AUC over inner folds, each fold
    standardised with its own training part; ties go to the smaller C), then refit on all."""
    y = np.asarray(y)
    classes = np.unique(y)
    scheme, splits = _inner_splits(y, groups)
    from ..classical import _Linear

    fold_scores: dict[float, list[float]] = {C: [] for C in C_grid}
    for train, test in splits:
        if len(np.unique(y[train])) < len(classes):
            continue
        mean, scale = _standardiser(F[train])
        for C, (coef, intercept, cls) in zip(C_grid, _logistic_fits((F[train] - mean) / scale, y[train], C_grid)):
            s = _score(y[test], _Linear(coef, intercept, cls).proba((F[test] - mean) / scale), classes)
            if s is not None:
                fold_scores[C].append(s)
    scores = {C: float(np.mean(v)) if v else float("nan") for C, v in fold_scores.items()}
    valid = {C: s for C, s in scores.items() if np.isfinite(s)}
    best = max(valid, key=lambda C: (valid[C], -C)) if valid else 1e-2
    mean, scale = _standardiser(F)
    coef, intercept, cls = _logistic_fits((F - mean) / scale, y, [best])[0]
    selection = {"scheme": scheme, "C": best, "inner_auc": {f"{C:g}": s for C, s in scores.items()}}
    return Probe(mean, scale, coef, intercept, cls, selection)
