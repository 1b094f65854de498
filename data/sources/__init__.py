"""The source-kind registry: the one place that says which kind a source string
(file, folder, ``eegbci:1``, ``demo:NAME``, ...) is, and hands it to that kind's load /
describe / open steps.

Each kind is one `SourceKind` declared in its own module (built-in ones: `data.sources.demo`,
`.eegbci`, `.moabb`, `.recordings`, `.tables`, `.fmri`, `.stimuli`). Built-in kinds are named
here by reference (``"module:ATTRIBUTE"``), exactly as plugins name theirs through an entry
point in the ``neurodeck.sources`` group (a `SourceKind`, or a callable that calls
`register`), so the registry imports no kind module by name and no kind module imports the
registry. Only the kinds parse source strings; everything else asks `detect`, `kind`,
`available`, `load`, `describe` or `open_for_browsing`.

Examples
--------
>>> from data import sources
>>> sources.detect("demo:motor-imagery").name
'demo'
"""
from __future__ import annotations

import importlib
from typing import Any

from ..errors import InputError, UnsupportedFormatError
from .kind import SourceKind, has_scheme

__all__ = ["SourceKind", "register", "available", "kind", "detect", "load", "describe",
           "open_for_browsing", "is_browsable", "names_a_path", "validate_options"]

# the built-in kinds, in the modules that implement them
BUILTIN = (
    "data.sources.demo:KIND", "data.sources.eegbci:KIND", "data.sources.moabb:KIND",
    "data.sources.tables:KIND", "data.sources.recordings:BIDS", "data.sources.recordings:BCI2000",
    "data.sources.recordings:FOLDER", "data.sources.recordings:FILE",
    "data.sources.fmri:ROI_SERIES", "data.sources.fmri:NIFTI", "data.sources.stimuli:KIND",
)

_kinds: dict[str, SourceKind] = {}
_builtin_names: set[str] = set()
_plugins_loaded = False


def register(kind: SourceKind) -> None:
    """Add (or replace, by name) a source kind.

    Parameters
    ----------
    kind : SourceKind
        The kind, with its steps and facts.

    Raises
    ------
    TypeError
        When ``kind`` is not a `SourceKind`.
    """
    if not isinstance(kind, SourceKind):
        raise TypeError(f"register() takes a SourceKind, not {type(kind).__name__}")
    _kinds[kind.name] = kind


def _resolve(reference: str) -> Any:
    module, _, attr = reference.partition(":")
    return getattr(importlib.import_module(module), attr)


def _load_plugins() -> None:
    """Register the built-in kinds, then every ``neurodeck.sources`` entry point (once)."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for reference in BUILTIN:
        builtin = _resolve(reference)
        _builtin_names.add(builtin.name)
        _kinds.setdefault(builtin.name, builtin)   # a kind registered earlier by name wins
    from importlib.metadata import entry_points

    for entry in entry_points(group="neurodeck.sources"):
        obj = entry.load()
        register(obj) if isinstance(obj, SourceKind) else obj()


def available() -> list[SourceKind]:
    """Every registered kind, highest detection priority first.

    Returns
    -------
    list of SourceKind
    """
    _load_plugins()
    return sorted(_kinds.values(), key=lambda k: -k.priority)


def kind(name: str) -> SourceKind:
    """The kind registered as ``name``.

    Raises
    ------
    InputError
        When no kind has that name (the message lists the known ones).
    """
    _load_plugins()
    if name not in _kinds:
        raise InputError(f"unknown source kind {name!r}; known kinds: "
                         + ", ".join(k.name for k in available()))
    return _kinds[name]


def detect(source: str, explicit: str | None = None) -> SourceKind:
    """The kind of ``source``: the one named ``explicit``, else the first kind (by priority)
    whose ``detect`` recognises it.

    Parameters
    ----------
    source : str
        A path, a folder or a ``scheme:ARGUMENT`` name.
    explicit : str, optional
        A kind name that overrides detection (``dataset.kind``).

    Returns
    -------
    SourceKind

    Raises
    ------
    UnsupportedFormatError
        When no kind recognises ``source`` (the message names it and the known kinds).
    """
    if explicit:
        return kind(explicit)
    for candidate in available():
        if candidate.function("detect")(str(source)):
            return candidate
    raise UnsupportedFormatError(f"{source}: not a source NeuroDeck knows; known kinds: "
                                 + ", ".join(k.name for k in available()))


# the names this registry had before `detect` / `kind`
kind_of = detect
get = kind


def _spec_kind(spec) -> SourceKind:
    found = detect(spec.source, spec.kind)
    # `continuous:` options read a built-in kind's recording files as feature/target tables
    if spec.kind is None and spec.continuous is not None and found.name in _builtin_names \
            and found.browsable and found.scheme is None:
        return kind("continuous-table")
    return found


def load(spec) -> Any:
    """Load the `DecodingSet` a `DatasetSpec` names (several ``sources`` are stacked).

    Parameters
    ----------
    spec : DatasetSpec

    Returns
    -------
    DecodingSet
    """
    # a kind whose load function has ``loads_sources = True`` combines its `sources` itself
    if spec.sources and not (spec.kind and getattr(kind(spec.kind).function("load"), "loads_sources", False)):
        from .combine import load_parts

        return load_parts(spec, load)
    return _spec_kind(spec).function("load")(spec)


def describe(source: str, kind: str | None = None, **opts) -> dict[str, Any]:
    """What ``source`` holds, as a plain dict (``neurodeck info``), with ``source`` and
    ``source_kind`` set.

    ``opts`` are passed on to the kind's ``describe`` (``data_path``, ``subjects``, ...,
    the kind's own options and, from `data.info.describe`, the ``spec``).
    """
    found = detect(source, kind)
    info = found.function("describe")(source, **opts)
    info.setdefault("source", source)
    info.setdefault("source_kind", found.name)
    return info


def open_for_browsing(source: str, kind: str | None = None, **opts) -> list:
    """The recordings (`Recording` objects) of ``source``: for the signal browser, replay
    and anything else that needs the continuous signal.

    ``opts``: ``data_path``, ``subjects``, ``sessions``, ``runs``, ``preload`` and ``spec``
    (demos simulate from its seed); kinds ignore those they do not use.
    """
    found = detect(source, kind)
    if not found.browsable:
        raise UnsupportedFormatError(f"a {found.name!r} source holds no recordings to open (it "
                                     "builds a data set directly).", source)
    return found.function("open")(source, **opts)


def names_a_path(source: str) -> bool:
    """True when ``source`` is a file-system path rather than ``name:...`` or a bare dataset
    name such as ``eegbci``."""
    text = str(source).strip()
    return not has_scheme(text) and text.lower() not in {k.scheme for k in available() if k.scheme}


def is_browsable(source: str, kind: str | None = None) -> bool:
    """True when the kind of ``source`` can open it as recordings."""
    return detect(source, kind).browsable


def validate_options(kind_name: str | None, source: str, options: dict | None) -> dict | None:
    """``options`` checked by the kind's options model (unknown keys refused by name).

    Raises
    ------
    InputError
        When the kind takes no options or the model refuses them.
    """
    if not options:
        return options
    found = detect(source, kind_name)
    if found.options is None:
        raise InputError(f"dataset.options: source kind {found.name!r} takes no options "
                         f"(got {', '.join(map(str, options))})")
    model = found.function("options")
    from pydantic import ValidationError

    try:
        return model.model_validate(options).model_dump()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InputError(f"dataset.options for kind {found.name!r}: {problems}") from None
