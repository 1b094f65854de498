"""The decoders NeuroDeck offers. Adding one is a module plus one registration: a line in
`_ENTRIES` here, `decoders.register(Entry(...))` from any code, or an entry point in the
``neurodeck.decoders`` group of another package (its object: an `Entry`, or a function
returning one or a list of them), loaded the first time the list is read.

Entries carry their description and task so listing them imports nothing heavy (the GUI
shows the list before torch is loaded).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from .base import Decoder, ParameterError, Task


@dataclass(frozen=True)
class Entry:
    name: str
    description: str
    task: Task
    input_kind: str
    target: str  # "module:Class"
    cls: type[Decoder] | None = field(default=None, compare=False, repr=False)  # when registered as a class

    def load(self) -> type[Decoder]:
        if self.cls is not None:
            return self.cls
        module, cls = self.target.split(":")
        return getattr(importlib.import_module(module), cls)


_ENTRIES = [
    Entry("eeg-simpleconv", "EEG-SimpleConv: a small 1-D CNN for motor imagery (El Ouahidi et al. 2024).",
          Task.CLASSIFICATION, "trials", "decoders.simpleconv:EEGSimpleConv"),
    Entry("csp-lda", "Common spatial patterns + linear discriminant analysis (classical baseline).",
          Task.CLASSIFICATION, "trials", "decoders.classical:CSPLDA"),
    Entry("fbcsp-lda", "Filter-bank CSP + LDA: CSP in several frequency bands (classical baseline).",
          Task.CLASSIFICATION, "trials", "decoders.classical:FilterBankCSPLDA"),
    Entry("tangent-space-lr", "Riemannian tangent space of covariances + logistic regression (pyRiemann).",
          Task.CLASSIFICATION, "trials", "decoders.classical:TangentSpaceLR"),
    Entry("kalman", "Kalman filter: linear-Gaussian state and observation models fit by least squares.",
          Task.REGRESSION, "continuous", "decoders.kalman:KalmanFilterDecoder"),
    Entry("dkf", "Discriminative Kalman filter: learned p(state | features) inside a Kalman recursion (BrainGate2).",
          Task.REGRESSION, "continuous", "decoders.kalman:DiscriminativeKalmanFilter"),
    Entry("wiener", "Wiener filter: ridge regression of targets on lagged features (baseline).",
          Task.REGRESSION, "continuous", "decoders.kalman:WienerFilter"),
    Entry("fc-lr", "Functional connectivity (Fisher-z Pearson upper triangle) + logistic regression (ROI series).",
          Task.CLASSIFICATION, "trials", "decoders.connectivity:FCLR"),
    Entry("tangent-fc-lr", "Tangent space of OAS ROI covariances (pyRiemann) + logistic regression (ROI series).",
          Task.CLASSIFICATION, "trials", "decoders.connectivity:TangentFCLR"),
    Entry("brainmae", "BrainMAE fine-tuned classifier of ROI series: a pretrained encoder (bundle), pretraining on the training subjects, or from scratch; head on learned token connectivity.",
          Task.CLASSIFICATION, "trials", "decoders.brainmae.decoder:BrainMAE"),
    Entry("brainmae-regressor", "BrainMAE fine-tuned with a regression head: continuous per-subject targets (e.g. age) of ROI series; encoder as for brainmae.",
          Task.REGRESSION, "trials", "decoders.brainmae.regressor:BrainMAERegressor"),
    Entry("brainmae-pretrain", "BrainMAE encoder pretraining: masked-segment reconstruction of ROI series (no labels); its bundle is the encoder brainmae fine-tunes.",
          Task.PRETRAINING, "trials", "decoders.brainmae.pretrain:BrainMAEPretrain"),
    Entry("voxel-lr", "Masked fMRI voxels (NIfTI): standardise, optional ANOVA selection, l2 logistic regression.",
          Task.CLASSIFICATION, "trials", "decoders.voxel:VoxelLR"),
    Entry("mindbridge", "MindBridge-style cross-subject image reconstruction: per-subject embedders, shared translator, reset-tuning.",
          Task.RECONSTRUCTION, "volumes", "decoders.mindbridge:MindBridge"),
    Entry("ridge-images", "Per-subject ridge from voxels to pixels (or to an image codec's embedding): reconstruction baseline.",
          Task.RECONSTRUCTION, "volumes", "decoders.ridge_images:RidgeImages"),
]
_BY_NAME = {e.name: e for e in _ENTRIES}
ENTRY_POINT_GROUP = "neurodeck.decoders"
_plugins_loaded = False


def register(entry_or_name: Entry | str, cls: type[Decoder] | str | None = None, *,
             description: str | None = None, task: Task | str | None = None,
             input_kind: str | None = None) -> Entry:
    """Add a decoder: ``register(Entry(...))`` or ``register(name, cls_or_"module:Class")``
    (description, task and input kind then default to the class's attributes).
    Registering a name again replaces the entry."""
    if isinstance(entry_or_name, Entry):
        new = entry_or_name
    else:
        if cls is None:
            raise ParameterError(f"register('{entry_or_name}'): give the decoder class or 'module:Class'.")
        target = cls if isinstance(cls, str) else f"{cls.__module__}:{cls.__qualname__}"
        loaded = Entry("", "", Task.CLASSIFICATION, "", target).load() if isinstance(cls, str) else cls
        new = Entry(entry_or_name, description or loaded.description, Task(task or loaded.task),
                    input_kind or loaded.input_kind, target, None if isinstance(cls, str) else cls)
    if new.name in _BY_NAME:
        _ENTRIES.remove(_BY_NAME[new.name])
    _ENTRIES.append(new)
    _BY_NAME[new.name] = new
    return new


def unregister(name: str) -> None:
    """Remove a registered decoder (tests; a plugin being unloaded)."""
    _ENTRIES.remove(entry(name))
    del _BY_NAME[name]


def _load_plugins() -> None:
    """Register the decoders other packages declare as ``neurodeck.decoders`` entry points."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = point.load()
        except Exception as exc:  # a broken plugin must not take the decoder list down
            import warnings

            warnings.warn(f"decoder plugin '{point.name}' ({point.value}) failed to load: {exc}", stacklevel=2)
            continue
        found = obj() if callable(obj) and not isinstance(obj, Entry) else obj
        for item in found if isinstance(found, (list, tuple)) else [found]:
            register(item)


def available(task: Task | str | None = None, input_kind: str | None = None) -> list[Entry]:
    """Registered decoders, optionally only those for a task or input kind."""
    _load_plugins()
    return [e for e in _ENTRIES
            if (task is None or e.task == Task(task)) and (input_kind is None or e.input_kind == input_kind)]


def entry(name: str) -> Entry:
    _load_plugins()
    if name not in _BY_NAME:
        raise ParameterError(f"unknown decoder '{name}'.", hint=f"Available: {', '.join(_BY_NAME)}.")
    return _BY_NAME[name]


def get(name: str) -> type[Decoder]:
    return entry(name).load()


def create(name: str, params: dict[str, Any] | None = None, preset: str | None = None) -> Decoder:
    """Instantiate a decoder from its registry name, an optional preset and overrides."""
    cls = get(name)
    params = dict(params or {})
    decoder = cls.from_preset(preset, **params) if preset else cls(**params)
    decoder.validated_params()  # validate now so bad values are reported before any work starts
    return decoder
