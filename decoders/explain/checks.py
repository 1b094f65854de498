"""Sanity checks of explanations (Adebayo et al. 2018, "Sanity checks for saliency maps").

Model randomisation: the trained weights of a deep decoder are re-initialised layer by layer,
from the output down (cascading randomisation), and after each step the explanation is
recomputed and compared with the original by Spearman rank correlation. A map that means
something about the trained model changes when the model's weights are destroyed; a map that
stays the same shows the input (or the architecture), not what was learned.

The yardstick is the map's *self-agreement*: the rank correlation between the maps of two
halves of the samples with the trained weights. A randomised model's correlation must fall
clearly below it.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from .base import ExplainError, explain


@dataclass
class RandomisationStep:
    """One step of the cascade: the layers randomised so far (output first) and, per
    explanation method, the Spearman rank correlation of its maps with the original's."""

    layers: list[str]
    spearman: dict[str, float]
    spearman_abs: dict[str, float]


@dataclass
class RandomisationResult:
    """What `randomisation_check` found.

    ``self_agreement``: per method, the rank correlation of two halves' maps (trained weights);
    ``steps``: the cascade, the last one with every layer randomised;
    ``layers``: the parameterised layers in the order the forward pass reaches them.
    """

    decoder: str
    layers: list[str]
    self_agreement: dict[str, float]
    self_agreement_abs: dict[str, float] = field(default_factory=dict)
    steps: list[RandomisationStep] = field(default_factory=list)

    @property
    def fully_randomised(self) -> dict[str, float]:
        """Per method, the rank correlation once every layer is randomised."""
        return self.steps[-1].spearman if self.steps else {}

    def table(self) -> str:
        """A Markdown table: one row per cascade step, one column per method, each cell
        ``signed / absolute`` rank correlation."""
        methods = list(self.self_agreement)

        def cell(signed, absolute, m):
            return f"{signed.get(m, float('nan')):.2f} / {absolute.get(m, float('nan')):.2f}"

        rows = ["| layers randomised (output first) | " + " | ".join(methods) + " |",
                "|---" * (len(methods) + 1) + "|",
                "| none: self-agreement of two halves | "
                + " | ".join(cell(self.self_agreement, self.self_agreement_abs, m) for m in methods) + " |"]
        for step in self.steps:
            label = f"{len(step.layers)} of {len(self.layers)} (down to {step.layers[-1]})"
            rows.append(f"| {label} | " + " | ".join(cell(step.spearman, step.spearman_abs, m) for m in methods) + " |")
        return "\n".join(rows)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two maps (flattened); 0 when either is constant."""
    from scipy.stats import spearmanr

    a, b = np.ravel(a), np.ravel(b)
    if a.shape != b.shape:
        raise ExplainError(f"maps of shapes {a.shape} and {b.shape} cannot be compared")
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(spearmanr(a, b).statistic)


def _maps(explanations) -> dict[str, np.ndarray]:
    out = {}
    for e in explanations:
        key = e.method if "subject" not in e.extra else f"{e.method} ({e.extra['subject']})"
        out[key] = e.maps
    return out


def _forward_order(module, run):
    """Names of the parameterised submodules of ``module`` in the order of their last call by
    ``run()`` (so a network run once per subject, MindBridge, ends with its shared head; the
    root's own parameters, used without calling the root, count as the first layer), and what
    ``run()`` returned. Hooks travel with the explainer's copies of the module."""
    order: list[str] = []
    root = type(module).__name__
    handles = []

    def called(name):
        def hook(_module, _inputs):   # returns None: the inputs pass unchanged
            if name in order:
                order.remove(name)
            order.append(name)
        return hook

    for name, m in module.named_modules():
        if any(True for _ in m.parameters(recurse=False)):
            handles.append(m.register_forward_pre_hook(called(name or root)))
    try:
        result = run()
    finally:
        for h in handles:
            h.remove()
    if root not in order and any(True for _ in module.parameters(recurse=False)):
        order.insert(0, root)
    return order, result


def _randomise(module, names: list[str], generator) -> None:
    """Re-initialise the named submodules: their own ``reset_parameters`` (the training
    initialisation), else each parameter drawn from a normal of its trained spread."""
    import torch

    modules = dict(module.named_modules())
    modules.setdefault(type(module).__name__, module)
    torch.manual_seed(int(generator.integers(2**31)))
    with torch.no_grad():
        for name in names:
            m = modules[name if name in modules else type(module).__name__]
            reset = getattr(m, "reset_parameters", None) or getattr(m, "_reset_parameters", None)
            if reset is not None and m is not module:
                reset()
                continue
            for p in m.parameters(recurse=False):
                spread = float(p.std()) if p.numel() > 1 else 1.0
                p.copy_(torch.randn_like(p) * (spread or 0.02))


def _halves(y, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    first, second = [], []
    groups = [np.arange(n)] if y is None else [np.flatnonzero(np.asarray(y) == c) for c in np.unique(y)]
    for rows in groups:
        rows = rng.permutation(rows)
        first.extend(rows[: len(rows) // 2])
        second.extend(rows[len(rows) // 2:])
    return np.sort(first), np.sort(second)


def _take(values, rows):
    return None if values is None else np.asarray(values)[rows]


def randomisation_check(decoder, X, y=None, context: dict | None = None, *, max_steps: int = 4,
                        seed: int = 0) -> RandomisationResult:
    """Cascading model randomisation of a fitted deep decoder (Adebayo et al. 2018).

    Parameters
    ----------
    decoder : Decoder
        A fitted deep decoder (eeg-simpleconv, eegnet-erp, brainmae, mindbridge); not modified.
    X, y, context
        As for `decoders.explain.explain`.
    max_steps : int
        Cascade steps recomputed (evenly spaced over the layers; the last randomises all).
    seed : int
        Seeds the re-initialisation and the split into halves.

    Returns
    -------
    RandomisationResult
    """
    from .deep import trained_module

    context = dict(context or {})
    if len(X) < 4:
        raise ExplainError("the randomisation check needs at least four samples (two halves)")
    probe = copy.deepcopy(decoder)
    module = trained_module(probe)
    layers, original = _forward_order(module, lambda: _maps(explain(probe, X, y, context)))
    if not layers:
        raise ExplainError(f"{decoder.name}: no parameterised layer was reached by the explanation")
    layers = layers[::-1]   # output first
    first, second = _halves(y, len(X), seed)
    per_sample = {k: v for k, v in context.items() if isinstance(v, np.ndarray) and len(v) == len(X)
                  and k in ("subject", "tr", "stimuli")}
    half_maps = []
    for rows in (first, second):
        sub = {**context, **{k: v[rows] for k, v in per_sample.items()}}
        half_maps.append(_maps(explain(probe, np.asarray(X)[rows], _take(y, rows), sub)))
    agreement = {m: spearman(half_maps[0][m], half_maps[1][m]) for m in original}
    agreement_abs = {m: spearman(np.abs(half_maps[0][m]), np.abs(half_maps[1][m])) for m in original}
    cuts = sorted({int(round(c)) for c in np.linspace(1, len(layers), min(max_steps, len(layers)))})
    result = RandomisationResult(decoder.name, layers[::-1], agreement, agreement_abs)
    generator = np.random.default_rng(seed)
    done = 0
    for cut in cuts:
        _randomise(module, layers[done:cut], generator)
        done = cut
        maps = _maps(explain(probe, X, y, context))
        result.steps.append(RandomisationStep(
            layers[:cut], {m: spearman(original[m], maps[m]) for m in original},
            {m: spearman(np.abs(original[m]), np.abs(maps[m])) for m in original}))
    return result
