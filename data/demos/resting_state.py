"""Simulated resting-state ROI time series (`demo:resting-state`), laid out like the
``roi-series`` source kind so every decoder that runs on ABIDE runs on the demo.

Ground truth: ``N_NETWORKS`` networks of ``ROIS_PER_NETWORK`` ROIs each. Every network has one
latent signal per subject, an AR(1) process at the subject's TR with a time constant of
``TAU`` seconds smoothed by a hemodynamic-like kernel (slow autocorrelation). ROI i of network
k is ``loading_i * latent_k + noise``. The binary label changes the coupling of network 0
only: its loadings are ``COUPLING[label]`` (the other networks do not depend on the label).
Sites differ in TR, number of time points, noise level and signal scale (site effects), and
hold both classes in about equal numbers. Deterministic from ``spec.seed``.

Layout (as ``data.fmri.roi_series.load_roi_folder``): ``X`` (subjects, rois, time) float32,
NaN-padded to the longest series; ``session`` is the site; ``run`` is "1"; ``sfreq`` is None
because TRs differ between sites (the TR of each subject is in ``tr`` and ``provenance["tr"]``,
the valid length in ``provenance["lengths"]``).
"""
from __future__ import annotations

import numpy as np

from ..decoding_set import DecodingSet

N_NETWORKS = 4
ROIS_PER_NETWORK = 8
TAU = 6.0                    # seconds, latent autocorrelation
COUPLING = (0.35, 0.75)      # network-0 loadings for label 0 (control) and 1 (patient)
CLASS_NAMES = ["control", "patient"]
# site: (TR s, time points, subjects, noise sd, scale)
SITES = {"SiteA": (2.0, 150, 24, 1.0, 1.0),
         "SiteB": (2.5, 120, 20, 1.2, 1.6),
         "SiteC": (1.5, 180, 20, 0.9, 0.7),
         "SiteD": (3.0, 100, 16, 1.1, 2.5)}


def _latent(n: int, tr: float, rng: np.random.Generator) -> np.ndarray:
    phi = np.exp(-tr / TAU)
    e = rng.standard_normal(n + 20)
    x = np.zeros_like(e)
    for t in range(1, len(e)):
        x[t] = phi * x[t - 1] + e[t]
    k = np.exp(-0.5 * ((np.arange(-3, 4) * tr) / 4.0) ** 2)   # ~4 s hemodynamic smoothing
    x = np.convolve(x, k / k.sum(), mode="same")[20:]
    return (x - x.mean()) / (x.std() + 1e-9)


def simulate_subject(label: int, tr: float, n: int, noise: float, scale: float,
                     rng: np.random.Generator) -> np.ndarray:
    """(rois, time) series of one subject."""
    rows = []
    for k in range(N_NETWORKS):
        z = _latent(n, tr, rng)
        base = COUPLING[label] if k == 0 else 0.6
        load = base + 0.1 * rng.standard_normal(ROIS_PER_NETWORK)
        own = np.stack([_latent(n, tr, rng) for _ in range(ROIS_PER_NETWORK)])   # ROI-specific slow part
        rows.append(load[:, None] * z[None] + noise * (0.7 * own + 0.5 * rng.standard_normal((ROIS_PER_NETWORK, n))))
    x = np.concatenate(rows) * scale + rng.normal(0, 2.0, (N_NETWORKS * ROIS_PER_NETWORK, 1))
    return x.astype(np.float32)


def simulate_set(spec) -> DecodingSet:
    """A `DecodingSet` of ROI series: 80 subjects from four sites, two classes."""
    rng = np.random.default_rng(spec.seed)
    series, subjects, sites, labels, trs = [], [], [], [], []
    for site, (tr, n_t, n_sub, noise, scale) in SITES.items():
        site_labels = rng.permutation(np.arange(n_sub) % 2)
        for j, lab in enumerate(site_labels):
            series.append(simulate_subject(int(lab), tr, n_t, noise, scale, rng))
            subjects.append(f"{site}-{j + 1:02d}")
            sites.append(site)
            labels.append(int(lab))
            trs.append(tr)
    keep = list(range(len(series)))
    if getattr(spec, "subjects", None):
        wanted = {str(s) for s in spec.subjects}
        keep = [i for i in keep if subjects[i] in wanted or sites[i] in wanted]
    series = [series[i] for i in keep]
    lengths = np.array([s.shape[1] for s in series])
    n_rois = N_NETWORKS * ROIS_PER_NETWORK
    X = np.full((len(series), n_rois, lengths.max()), np.nan, dtype=np.float32)
    for i, s in enumerate(series):
        X[i, :, : s.shape[1]] = s
    return DecodingSet(
        X=X, y=np.array([labels[i] for i in keep]), kind="trials", modality="fmri-roi",
        subject=np.array([subjects[i] for i in keep]), session=np.array([sites[i] for i in keep]),
        run=np.full(len(series), "1"), sfreq=None,
        ch_names=[f"roi{i + 1}" for i in range(n_rois)], ch_types=["misc"] * n_rois,
        class_names=list(CLASS_NAMES), tr=np.array([trs[i] for i in keep], dtype=np.float64),
        provenance={"source": "demo:resting-state", "files": [], "lengths": lengths.tolist(),
                    "tr": [trs[i] for i in keep],
                    "networks": {f"net{k + 1}": [f"roi{k * ROIS_PER_NETWORK + i + 1}" for i in range(ROIS_PER_NETWORK)]
                                 for k in range(N_NETWORKS)},
                    "steps": [{"name": "resting-state-demo", "params": {"seed": spec.seed, "coupling": list(COUPLING)}}]})
