"""The decoders NeuroDeck offers. Adding one is a module plus one `_ENTRIES` line.

Entries carry their description and task so listing them imports nothing heavy (the GUI
shows the list before torch is loaded).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from .base import Decoder, ParameterError, Task


@dataclass(frozen=True)
class Entry:
    name: str
    description: str
    task: Task
    input_kind: str
    target: str  # "module:Class"

    def load(self) -> type[Decoder]:
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
]
_BY_NAME = {e.name: e for e in _ENTRIES}


def available(task: Task | str | None = None, input_kind: str | None = None) -> list[Entry]:
    """Registered decoders, optionally only those for a task or input kind."""
    return [e for e in _ENTRIES
            if (task is None or e.task == Task(task)) and (input_kind is None or e.input_kind == input_kind)]


def entry(name: str) -> Entry:
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
    decoder.params()  # validate now so bad values are reported before any work starts
    return decoder
