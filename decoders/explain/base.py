"""What an explanation is, and the registry that finds one for a fitted decoder.

An `Explanation` is a stack of maps, one per output (a class, or a spatial component), over
named axes (channel, time, frequency, roi, roi_pair, voxel, pixel). Linear decoders give
activation patterns (Haufe et al. 2014), deep decoders attributions; the same object feeds
the Explain view, ``neurodeck explain`` and the sanity checks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

AXIS_KINDS = ("channel", "time", "frequency", "roi", "roi_pair", "voxel", "pixel", "component")


class ExplainError(ValueError):
    """The decoder or the data cannot be explained as asked (the message says why)."""


@dataclass(frozen=True)
class Axis:
    """One axis of a map: its kind (one of `AXIS_KINDS`) and a label per position.

    ``values`` holds channel or ROI names, times or frequencies in seconds / Hz, ROI-pair
    names ``"A-B"``, or voxel / pixel indices.
    """

    kind: str
    values: tuple

    def __post_init__(self):
        if self.kind not in AXIS_KINDS:
            raise ExplainError(f"unknown axis kind {self.kind!r}; known: {', '.join(AXIS_KINDS)}")


@dataclass(frozen=True)
class Explanation:
    """Maps of what a fitted decoder responds to.

    Parameters
    ----------
    method : str
        How the maps were made: ``"haufe-pattern"``, ``"csp-pattern"``, ``"xdawn-pattern"``,
        ``"integrated-gradients"``, ``"grad-cam"``, ...
    maps : ndarray
        Shape ``(n_outputs, *[len(a.values) for a in axes])``.
    outputs : tuple of str
        The name of each map (class name, or ``"component 1"`` ...).
    axes : tuple of Axis
        The axes of one map, in order.
    decoder : str
        Registry name of the decoder explained.
    extra : dict
        Anything a view needs beside the maps (e.g. ``"sfreq"``, ``"mask_affine"`` for voxel
        maps, ``"signed": True`` when the sign is meaningful).
    """

    method: str
    maps: np.ndarray
    outputs: tuple[str, ...]
    axes: tuple[Axis, ...]
    decoder: str
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        shape = (len(self.outputs), *(len(a.values) for a in self.axes))
        if tuple(self.maps.shape) != shape:
            raise ExplainError(f"{self.method}: maps have shape {self.maps.shape}, axes say {shape}")
        if not np.all(np.isfinite(self.maps)):
            raise ExplainError(f"{self.method}: the maps of {self.decoder} hold NaN or Inf")

    def axis(self, kind: str) -> Axis:
        """The axis of this kind (ExplainError when the maps have none)."""
        for a in self.axes:
            if a.kind == kind:
                return a
        raise ExplainError(f"{self.method} maps have no {kind} axis (axes: {[a.kind for a in self.axes]})")

    def reduce_to(self, kind: str) -> np.ndarray:
        """Per output, the mean absolute value over every axis but ``kind``: (n_outputs, n)."""
        keep = [a.kind for a in self.axes].index(self.axis(kind).kind) + 1
        other = tuple(i for i in range(1, self.maps.ndim) if i != keep)
        return np.abs(self.maps).mean(axis=other) if other else np.abs(self.maps)


# What data an explainer needs: the fitted decoder, trials/samples X (as the decoder reads
# them), labels y (may be None) and a context dict (channel names, sfreq, times, roi names,
# class names, mask affine ...). It returns one or more Explanations.
Explainer = Callable[[Any, np.ndarray, "np.ndarray | None", dict], "list[Explanation]"]

_EXPLAINERS: dict[str, Explainer] = {}


def explainer(*decoder_names: str) -> Callable[[Explainer], Explainer]:
    """Register the decorated function as the explainer of these decoders (by registry name)."""
    def register(fn: Explainer) -> Explainer:
        for name in decoder_names:
            _EXPLAINERS[name] = fn
        return fn
    return register


def explainer_for(decoder_name: str) -> Explainer:
    """The explainer registered for a decoder name (ExplainError naming the explainable ones)."""
    _load_builtin()
    try:
        return _EXPLAINERS[decoder_name]
    except KeyError:
        raise ExplainError(f"no explanation is available for decoder {decoder_name!r}; "
                           f"explainable: {', '.join(sorted(_EXPLAINERS))}") from None


def explainable() -> list[str]:
    """Registry names of every decoder that can be explained."""
    _load_builtin()
    return sorted(_EXPLAINERS)


def explain(decoder, X: np.ndarray, y: np.ndarray | None = None,
            context: dict | None = None) -> list[Explanation]:
    """Explain a fitted decoder on data shaped as it reads it.

    Parameters
    ----------
    decoder : Decoder
        A fitted decoder (its ``name`` picks the explainer).
    X, y : ndarray
        Data the maps are computed on (patterns need the data covariance; attributions are
        averaged over these samples per class). ``y`` may be None where not needed.
    context : dict, optional
        Names of channels / ROIs, ``sfreq``, ``times``, ``class_names``, ...

    Returns
    -------
    list of Explanation
    """
    return explainer_for(decoder.name)(decoder, X, y, dict(context or {}))


_BUILTIN_MODULES = ("decoders.explain.linear", "decoders.explain.deep")


def _load_builtin() -> None:
    import importlib
    for module in _BUILTIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:   # a module that exists but fails to import is a bug: say so
                raise
