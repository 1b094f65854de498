"""Per-subject pixel-intensity maps applied to MindBridge's blended images, chosen on
out-of-fold predictions of the training samples.

Averaging the network's images with the ridge path's blurs them (lower SSIM). A map from
predicted to output intensities can restore contrast; which map (if any) suits a subject's
stimuli is chosen by `choose_map` on predictions of training samples from inner fits that left
them out, by the sum of the two headline image scores (PixCorr + SSIM), never on test images.

Candidates: ``none``; ``isotonic`` (a monotone intensity map fitted on the out-of-fold
predictions; scored by cross-fitting over the inner folds); ``histogram`` with mix 0.5 or 1
(each image's pixel ranks mapped onto the quantiles of the subject's training images, mixed
with the image). Histogram matching assumes images of one intensity distribution (digits on
a blank ground); it loses on stimuli of varying foreground size, which the choice detects.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import metrics

N_QUANTILES = 257


@dataclass
class IntensityMap:
    """One subject's map: ``kind`` in none / isotonic / histogram, with its arrays."""

    kind: str = "none"
    mix: float = 0.0
    x: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    y: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))

    @property
    def label(self) -> str:
        return f"histogram {self.mix:g}" if self.kind == "histogram" else self.kind

    def apply(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images, np.float32)
        if self.kind == "isotonic":
            return np.interp(images, self.x, self.y).astype(np.float32)
        if self.kind == "histogram":
            return histogram_match(images, self.y, self.mix)
        return images

    def state(self, prefix: str) -> tuple[dict[str, np.ndarray], dict]:
        return ({f"{prefix}.x": self.x.astype(np.float32), f"{prefix}.y": self.y.astype(np.float32)},
                {"kind": self.kind, "mix": float(self.mix)})

    @classmethod
    def from_state(cls, arrays: dict, extra: dict, prefix: str) -> "IntensityMap":
        kind = str(extra.get("kind", "none"))
        if kind not in ("none", "isotonic", "histogram"):
            raise ValueError(f"unknown intensity map '{kind}'")
        x = np.asarray(arrays.get(f"{prefix}.x", np.zeros(0)), np.float32)
        y = np.asarray(arrays.get(f"{prefix}.y", np.zeros(0)), np.float32)
        mix = float(extra.get("mix", 0.0))
        if not 0.0 <= mix <= 1.0:
            raise ValueError(f"intensity map mix {mix} is outside [0, 1]")
        if kind != "none" and (y.ndim != 1 or len(y) < 2 or (kind == "isotonic" and x.shape != y.shape)):
            raise ValueError(f"intensity map '{kind}' has malformed arrays")
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise ValueError(f"intensity map '{kind}' has non-finite values")
        return cls(kind, mix, x, y)


def histogram_match(images: np.ndarray, quantiles: np.ndarray, mix: float) -> np.ndarray:
    """Each image's pixel ranks mapped onto ``quantiles`` (sorted reference values), then
    ``mix * matched + (1 - mix) * image``."""
    flat = np.asarray(images, np.float32).reshape(len(images), -1)
    ranks = (np.argsort(np.argsort(flat, axis=1), axis=1) + 0.5) / flat.shape[1]
    grid = np.linspace(0, 1, len(quantiles))
    matched = np.interp(ranks, grid, quantiles)
    return (mix * matched + (1 - mix) * flat).reshape(np.shape(images)).astype(np.float32)


def fit_isotonic(pred: np.ndarray, truth: np.ndarray) -> IntensityMap:
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(out_of_bounds="clip").fit(np.ravel(pred), np.ravel(truth))
    return IntensityMap("isotonic", 0.0, iso.X_thresholds_.astype(np.float32),
                        iso.y_thresholds_.astype(np.float32))


def _score(truth, images) -> float:
    return metrics.pixcorr(truth, images) + metrics.ssim(truth, images)


def choose_map(oof: np.ndarray, truth: np.ndarray, folds: np.ndarray) -> tuple[IntensityMap, dict, dict]:
    """The candidate map scoring best (PixCorr + SSIM) on out-of-fold predictions ``oof`` of
    one subject's training images ``truth`` (``folds``: the inner fold of each sample).

    Returns the chosen map, each candidate's score, and every candidate map (isotonic refitted
    on every out-of-fold sample).
    """
    quantiles = np.quantile(np.ravel(truth), np.linspace(0, 1, N_QUANTILES)).astype(np.float32)
    crossfit = np.empty_like(oof, dtype=np.float32)
    for k in np.unique(folds):
        held = folds == k
        crossfit[held] = fit_isotonic(oof[~held], truth[~held]).apply(oof[held]) if (~held).any() else oof[held]
    candidates = {"none": (IntensityMap(), oof),
                  "isotonic": (None, crossfit),
                  "histogram 0.5": (IntensityMap("histogram", 0.5, np.zeros(0, np.float32), quantiles), None),
                  "histogram 1": (IntensityMap("histogram", 1.0, np.zeros(0, np.float32), quantiles), None)}
    scores = {}
    for name, (mapping, images) in candidates.items():
        scores[name] = round(_score(truth, mapping.apply(oof) if images is None else images), 4)
    fitted = {name: fit_isotonic(oof, truth) if name == "isotonic" else mapping
              for name, (mapping, _) in candidates.items()}
    best = max(scores, key=scores.get)
    return fitted[best], scores, fitted
