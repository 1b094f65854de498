"""Built-in demo datasets, simulated offline from a seed (`demo:<name>`).

A demo either yields raw recordings (EEG/MEG demos: they then go through the same
epoching and preprocessing as real files) or builds a `DecodingSet` directly
(continuous or volume demos). Adding a demo is one module and one `register` call.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Literal


@dataclass(frozen=True)
class Demo:
    name: str
    description: str
    modality: str
    kind: Literal["raw", "set"]
    # "module:function". raw: fn(spec) -> list[data.readers.Recording]; set: fn(spec) -> DecodingSet
    builder: str

    def build(self, spec):
        module, func = self.builder.split(":")
        fn: Callable = getattr(importlib.import_module(module), func)
        return fn(spec)


_REGISTRY: dict[str, Demo] = {}


def register(demo: Demo) -> None:
    _REGISTRY[demo.name] = demo


def available() -> list[Demo]:
    return list(_REGISTRY.values())


def get(name: str) -> Demo:
    from ..errors import DataError

    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise DataError(f"unknown demo dataset 'demo:{name}'.", hint=f"Available: {known}.")
    return _REGISTRY[name]


register(Demo("motor-imagery", "Simulated EEG, left vs right hand motor imagery, several subjects (10-20 montage, mu/beta ERD).",
              "eeg", "raw", "data.demos.motor_imagery:simulate_recordings"))
register(Demo("center-out", "Simulated center-out cursor task: cosine-tuned Poisson neurons driven by 2-D velocity.",
              "spikes", "set", "data.demos.center_out:simulate_set"))
register(Demo("visual-fmri", "Simulated visual fMRI: 3 subjects (700/500/350 voxels) with receptive-field responses to digit images.",
              "fmri", "set", "data.demos.visual_fmri:simulate_set"))
register(Demo("resting-state", "Simulated resting-state ROI series: 4 sites (different TR, length, noise, scale), 4 networks; the label changes network-1 coupling.",
              "fmri", "set", "data.demos.resting_state:simulate_set"))
