"""Registry of source kinds: how a `source` string (file, folder, ``eegbci:1``, ``demo:NAME``...)
is recognised, loaded into a `DecodingSet`, described and opened for browsing.

Other packages add kinds through `register` or an entry point in the ``neurodeck.sources``
group (a callable that calls `register`, or a `SourceKind`). Only this package parses source
strings; everything else asks `kind_of`, `load`, `describe` or `open_for_browsing`.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import InputError, UnsupportedFormatError


@dataclass(frozen=True)
class SourceKind:
    name: str
    description: str
    detect: str             # "module:function": fn(source) -> bool, cheap
    load: str               # "module:function": fn(spec) -> DecodingSet
    describe: str           # "module:function": fn(source, **opts) -> dict
    open: str | None = None     # "module:function": fn(source, **opts) -> list[Recording]
    options: str | None = None  # "module:Class": pydantic model of spec.options
    priority: int = 0       # higher is tried first in detection

    def function(self, role: str) -> Callable:
        """The callable (or class) named by field ``role``."""
        target = getattr(self, role)
        if target is None:
            raise UnsupportedFormatError(f"source kind {self.name!r} has no {role!r} step")
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)


_B = "data.sources.builtin"
BUILTIN = [
    SourceKind("demo", "simulated data set or recordings: demo:NAME", f"{_B}:is_demo",
               f"{_B}:load_demo", f"{_B}:describe_demo", f"{_B}:open_demo", priority=100),
    SourceKind("eegbci", "PhysioNet EEG Motor Movement/Imagery: eegbci[:SUBJECTS]",
               f"{_B}:is_eegbci", f"{_B}:load_trials", f"{_B}:describe_recordings",
               f"{_B}:open_recordings", priority=100),
    SourceKind("moabb", "a MOABB dataset: moabb:NAME", f"{_B}:is_moabb", f"{_B}:load_trials",
               f"{_B}:describe_recordings", f"{_B}:open_recordings", priority=100),
    SourceKind("continuous-table", "feature/target tables (.csv .tsv .npy .npz .mat) or a "
               "folder holding them", f"{_B}:is_continuous", f"{_B}:load_continuous",
               f"{_B}:describe_set", None, priority=50),
    SourceKind("bids", "a BIDS root (dataset_description.json)", f"{_B}:is_bids",
               f"{_B}:load_trials", f"{_B}:describe_recordings", f"{_B}:open_recordings",
               priority=40),
    SourceKind("bci2000", "a BCI2000 .dat recording (needs neurodeck[bci2000])",
               "data.sources.bci2000:is_bci2000_file", f"{_B}:load_trials",
               f"{_B}:describe_recordings", f"{_B}:open_recordings", priority=60),
    SourceKind("folder", "a folder of recording files", f"{_B}:is_folder", f"{_B}:load_trials",
               f"{_B}:describe_recordings", f"{_B}:open_recordings", priority=10),
    SourceKind("recording-file", "one recording file MNE reads (EDF, BDF, GDF, BrainVision, "
               "EEGLAB, FIF, ...)", f"{_B}:is_path", f"{_B}:load_trials",
               f"{_B}:describe_recordings", f"{_B}:open_recordings", priority=0),
    SourceKind("roi-series", "a folder of ROI time-series files (.1D .1D.gz .csv .tsv .npy, time x ROIs) with phenotype tables", "data.fmri.roi_series:is_roi_folder", "data.fmri.roi_series:load_roi_series", "data.fmri.roi_series:describe_roi_series", None, "data.fmri.roi_series:RoiSeriesOptions", priority=45),
    SourceKind("nifti", "4-D BOLD NIfTI (.nii .nii.gz) or a folder of *bold*.nii* runs; mask or label atlas, events or per-volume labels", "data.fmri.nifti:is_nifti", "data.fmri.nifti:load_spec", "data.fmri.nifti:describe_nifti", None, "data.fmri.nifti:NiftiOptions", priority=46),
    SourceKind("stimulus-pairs", "voxel vectors paired with the images shown (.mat/.npz, one file "
               "per subject; name it: kind: stimulus-pairs)", "data.stimuli:is_stimulus_file",
               "data.stimuli:load_stimulus_pairs", "data.stimuli:describe_stimulus_pairs", None,
               "data.stimuli:StimulusPairsOptions", priority=-10),
]

_kinds: dict[str, SourceKind] = {}
_plugins_loaded = False


def register(kind: SourceKind) -> None:
    """Add (or replace) a source kind."""
    if not isinstance(kind, SourceKind):
        raise TypeError(f"register() takes a SourceKind, not {type(kind).__name__}")
    _kinds[kind.name] = kind


for _kind in BUILTIN:
    register(_kind)


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from importlib.metadata import entry_points

    for entry in entry_points(group="neurodeck.sources"):
        obj = entry.load()
        register(obj) if isinstance(obj, SourceKind) else obj()


def available() -> list[SourceKind]:
    """Every registered kind, highest detection priority first."""
    _load_plugins()
    return sorted(_kinds.values(), key=lambda k: -k.priority)


def get(name: str) -> SourceKind:
    _load_plugins()
    if name not in _kinds:
        raise InputError(f"unknown source kind {name!r}; known kinds: "
                         + ", ".join(k.name for k in available()))
    return _kinds[name]


def kind_of(source: str, explicit: str | None = None) -> SourceKind:
    """The kind named ``explicit``, else the first kind (by priority) that detects ``source``."""
    if explicit:
        return get(explicit)
    for kind in available():
        if kind.function("detect")(str(source)):
            return kind
    raise UnsupportedFormatError(f"{source}: not a source NeuroDeck knows; known kinds: "
                                 + ", ".join(k.name for k in available()))


def _spec_kind(spec) -> SourceKind:
    kind = kind_of(spec.source, spec.kind)
    # `continuous:` options make any built-in file/dataset source a table source (as before kinds)
    if spec.kind is None and spec.continuous is not None and kind in BUILTIN and kind.name != "demo":
        return get("continuous-table")
    return kind


def load(spec) -> Any:
    """Load the `DecodingSet` a `DatasetSpec` names (several `sources` are stacked)."""
    # a kind whose load function has ``loads_sources = True`` combines its `sources` itself
    if spec.sources and not (spec.kind and getattr(get(spec.kind).function("load"), "loads_sources", False)):
        from .combine import load_parts

        return load_parts(spec, load)
    return _spec_kind(spec).function("load")(spec)


def describe(source: str, kind: str | None = None, **opts) -> dict[str, Any]:
    """What ``source`` holds, as a plain dict (``neurodeck info``)."""
    info = kind_of(source, kind).function("describe")(source, **opts)
    info.setdefault("source_kind", kind_of(source, kind).name)
    return info


def open_for_browsing(source: str, kind: str | None = None, **opts) -> list:
    """The recordings of ``source`` (`Recording` objects) for the signal browser."""
    return kind_of(source, kind).function("open")(source, **opts)


def names_a_path(source: str) -> bool:
    """True when ``source`` is a file-system path rather than ``name:...`` or a dataset name."""
    from .builtin import is_eegbci, is_path

    return is_path(str(source)) and not is_eegbci(str(source))


def is_browsable(source: str, kind: str | None = None) -> bool:
    return kind_of(source, kind).open is not None


def validate_options(kind_name: str | None, source: str, options: dict | None) -> dict | None:
    """``options`` checked by the kind's options model (unknown keys refused by name)."""
    if not options:
        return options
    kind = kind_of(source, kind_name)
    if kind.options is None:
        raise InputError(f"dataset.options: source kind {kind.name!r} takes no options "
                         f"(got {', '.join(map(str, options))})")
    model = kind.function("options")
    from pydantic import ValidationError

    try:
        return model.model_validate(options).model_dump()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InputError(f"dataset.options for kind {kind.name!r}: {problems}") from None
