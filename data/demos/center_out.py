"""Simulated center-out cursor task: cosine-tuned Poisson neurons driven by 2-D velocity.

Ground truth is known: each unit fires at rate ``b_i + m_i * (v . d_i) / v_peak`` (Hz,
clipped at 0; Georgopoulos-style cosine tuning to movement direction, scaled by speed) with
preferred direction ``d_i``; counts are Poisson in 100 ms bins. Reaches go from the centre
to one of 8 targets on a 10 cm circle and back, with minimum-jerk velocity profiles whose
duration and extent vary a little from reach to reach.
"""
from __future__ import annotations

import numpy as np

from ..decoding_set import DecodingSet

BIN_WIDTH = 0.1          # s
FINE_STEP = 0.01         # s, resolution at which the movement and rates are simulated
N_UNITS = 60
N_TARGETS = 8
REACH_CM = 10.0
REPEATS = 16             # reaches per target -> about 5 minutes, ~3000 bins


def simulate_set(spec) -> DecodingSet:
    """A continuous `DecodingSet`: X spike counts (n_bins, 60), y velocity (n_bins, 2) in cm/s.

    Deterministic from ``spec.seed``. ``spec.preprocessing.standardize == "subject"``
    z-scores the counts; ``spec.continuous.lags`` appends past bins.
    """
    rng = np.random.default_rng(spec.seed)
    velocity = _reach_velocities(rng)
    preferred = rng.uniform(0, 2 * np.pi, N_UNITS)
    directions = np.stack([np.cos(preferred), np.sin(preferred)], axis=1)
    baseline = rng.uniform(5, 15, N_UNITS)
    depth = rng.uniform(5, 15, N_UNITS)
    v_peak = 1.875 * REACH_CM  # peak speed of a 1 s minimum-jerk reach
    rates = np.maximum(baseline + depth * (velocity @ directions.T) / v_peak, 0.0)

    per_bin = int(round(BIN_WIDTH / FINE_STEP))
    n_bins = len(velocity) // per_bin
    expected = rates[: n_bins * per_bin].reshape(n_bins, per_bin, N_UNITS).sum(1) * FINE_STEP
    counts = rng.poisson(expected).astype(float)
    y = velocity[: n_bins * per_bin].reshape(n_bins, per_bin, 2).mean(1)

    names = [f"unit{i:02d}" for i in range(N_UNITS)]
    X = counts
    steps = []
    if spec.preprocessing.standardize == "subject":
        X = (X - X.mean(0)) / (X.std(0) + 1e-12)
        steps.append(("standardize", {"mode": "subject"}))
    lags = spec.continuous.lags if spec.continuous is not None else 0
    if lags:
        from ..continuous import add_lags

        X, names = add_lags(X, names, lags)
        y = y[lags:]
        steps.append(("lags", {"lags": lags}))
    n = len(X)
    data = DecodingSet(
        X=X, y=y, kind="continuous", modality="spikes",
        subject=np.full(n, "1"), session=np.full(n, "1"), run=np.full(n, "1"),
        sfreq=1.0 / BIN_WIDTH, ch_names=names, ch_types=["misc"] * len(names),
        target_names=["vx", "vy"], times=np.arange(n) * BIN_WIDTH,
        provenance={"source": "demo:center-out", "files": [],
                    "simulation": {"seed": spec.seed, "units": N_UNITS, "bin_width": BIN_WIDTH,
                                   "preferred_directions": preferred.round(6).tolist()}},
    )
    for name, params in steps:
        data.with_step(name, **params)
    return data


def _min_jerk(duration: float, distance: float) -> np.ndarray:
    s = np.arange(0, duration, FINE_STEP) / duration
    return distance / duration * 30 * s**2 * (1 - s) ** 2


def _reach_velocities(rng: np.random.Generator) -> np.ndarray:
    """(n_fine, 2) velocity in cm/s: hold, out, hold, back, for every target in random order."""
    order = np.concatenate([rng.permutation(N_TARGETS) for _ in range(REPEATS)])
    pieces = []
    for target in order:
        angle = 2 * np.pi * target / N_TARGETS
        unit = np.array([np.cos(angle), np.sin(angle)])
        duration = rng.uniform(0.8, 1.2)
        extent = REACH_CM * rng.uniform(0.9, 1.1)
        speed = _min_jerk(duration, extent)
        hold = lambda: np.zeros((int(rng.uniform(0.3, 0.7) / FINE_STEP), 2))  # noqa: E731
        pieces += [hold(), speed[:, None] * unit, hold(), -speed[:, None] * unit]
    return np.vstack(pieces)
