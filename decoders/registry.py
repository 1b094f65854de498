"""The decoders NeuroDeck offers.

An entry holds only what its class cannot say about itself: the name it is registered
under and where to import it (``"module:Class"``). Every fact shown to a user (description,
task, input kind, parameter schema, accepted modalities) is read from the class, so the GUI
and the CLI cannot disagree with it.

Listing entries imports no decoder module (the GUI lists decoders before torch is loaded);
reading a fact imports that decoder's module once (some import torch: read facts off the
GUI thread, or ask ``available(load=True)`` there).

Adding a decoder is a module plus one registration: a line in `_ENTRIES` here,
``decoders.register("name", MyDecoder)`` from any code, or an entry point in the
``neurodeck.decoders`` group of another package (its object: the decoder class, an `Entry`,
or a function returning one or a list of them), loaded the first time the list is read. An
`Entry` names its class as ``"module:Class"``, so listing it imports nothing.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from .base import Decoder, DecoderParams, ParameterError, Task

INPUT_KINDS = ("trials", "continuous", "volumes")
ENTRY_POINT_GROUP = "neurodeck.decoders"


@dataclass(frozen=True)
class Entry:
    """One registered decoder: its registry name and its import target.

    Parameters
    ----------
    name : str
        The name experiment files and the GUI use (``decoder: {name: ...}``); it must equal
        the class's own ``name``.
    target : str
        ``"module:Class"``; the module is imported the first time a fact is read.
    cls : type of Decoder, optional
        The class itself, when it was registered as a class rather than a target.

    Examples
    --------
    >>> import decoders
    >>> decoders.registry.entry("csp-lda").task
    <Task.CLASSIFICATION: 'classification'>
    """

    name: str
    target: str
    cls: type[Decoder] | None = field(default=None, compare=False, repr=False)

    def load(self) -> type[Decoder]:
        """Import and return the decoder class (cached after the first call).

        Returns
        -------
        type of Decoder

        Raises
        ------
        ParameterError
            The target is not ``"module:Class"``, or names no class.
        """
        if self.cls is not None:
            return self.cls
        if self.target not in _LOADED:
            _LOADED[self.target] = _import_target(self.target, self.name)
        return _LOADED[self.target]

    @property
    def description(self) -> str:
        """One line about the decoder: the class's ``description``."""
        return self.load().description

    @property
    def task(self) -> Task:
        """What it predicts: the class's ``task``."""
        return Task(self.load().task)

    @property
    def input_kind(self) -> str:
        """What it reads: ``"trials"``, ``"continuous"`` or ``"volumes"`` (the class's ``input_kind``)."""
        return self.load().input_kind

    @property
    def modalities(self) -> tuple[str, ...]:
        """The recording modalities it accepts (the class's ``modalities``; empty: any)."""
        return tuple(self.load().modalities)

    @property
    def params(self) -> type[DecoderParams]:
        """Its parameter schema (the class's ``Params``, a pydantic model)."""
        return self.load().Params

    def params_schema(self) -> dict[str, Any]:
        """Its parameter schema as JSON Schema (what the GUI's form and the file checks read)."""
        return self.params.model_json_schema()


_ENTRIES: list[Entry] = [
    Entry("eeg-simpleconv", "decoders.simpleconv:EEGSimpleConv"),
    Entry("csp-lda", "decoders.classical:CSPLDA"),
    Entry("fbcsp-lda", "decoders.classical:FilterBankCSPLDA"),
    Entry("tangent-space-lr", "decoders.classical:TangentSpaceLR"),
    Entry("kalman", "decoders.kalman:KalmanFilterDecoder"),
    Entry("dkf", "decoders.kalman:DiscriminativeKalmanFilter"),
    Entry("wiener", "decoders.kalman:WienerFilter"),
    Entry("fc-lr", "decoders.connectivity:FCLR"),
    Entry("tangent-fc-lr", "decoders.connectivity:TangentFCLR"),
    Entry("brainmae", "decoders.brainmae.decoder:BrainMAE"),
    Entry("brainmae-regressor", "decoders.brainmae.regressor:BrainMAERegressor"),
    Entry("brainmae-pretrain", "decoders.brainmae.pretrain:BrainMAEPretrain"),
    Entry("voxel-lr", "decoders.voxel:VoxelLR"),
    Entry("mindbridge", "decoders.mindbridge:MindBridge"),
    Entry("ridge-images", "decoders.ridge_images:RidgeImages"),
    Entry("erp-lda", "decoders.erp:ERPShrinkageLDA"),
    Entry("xdawn-ts-lr", "decoders.erp:XdawnTangentLR"),
    Entry("eegnet-erp", "decoders.erp_net:EEGNetERP"),
]
_BY_NAME = {e.name: e for e in _ENTRIES}
_LOADED: dict[str, type[Decoder]] = {}
_plugins_loaded = False


def _import_target(target: str, name: str) -> type[Decoder]:
    module, sep, attribute = target.partition(":")
    if not sep or not module or not attribute:
        raise ParameterError(f"decoder '{name}': target {target!r} is not 'module:Class'.")
    found = getattr(importlib.import_module(module), attribute, None)
    if not (isinstance(found, type) and issubclass(found, Decoder)):
        raise ParameterError(f"decoder '{name}': {target} is not a Decoder class.")
    return found


def register(entry_or_name: Entry | str, cls: type[Decoder] | str | None = None) -> Entry:
    """Add a decoder to the registry (registering a name again replaces its entry).

    Parameters
    ----------
    entry_or_name : Entry or str
        An `Entry`, or the name to register the decoder under (the class's own ``name``).
    cls : type of Decoder or str, optional
        With a name: the decoder class, or its ``"module:Class"`` target (imported only when
        a fact is first read).

    Returns
    -------
    Entry
        The registered entry.

    Raises
    ------
    ParameterError
        A name without a class.

    Examples
    --------
    >>> import decoders
    >>> decoders.register("nearest-mean-log-power", "my_lab.decoders:NearestMeanLogPower")  # doctest: +SKIP
    """
    if isinstance(entry_or_name, Entry):
        new = entry_or_name
    else:
        if cls is None:
            raise ParameterError(f"register('{entry_or_name}'): give the decoder class or 'module:Class'.")
        if isinstance(cls, str):
            new = Entry(entry_or_name, cls)
        else:
            new = Entry(entry_or_name, f"{cls.__module__}:{cls.__qualname__}", cls)
    if new.name in _BY_NAME:
        _ENTRIES.remove(_BY_NAME[new.name])
    _ENTRIES.append(new)
    _BY_NAME[new.name] = new
    return new


def unregister(name: str) -> None:
    """Remove a registered decoder (tests; a plugin being unloaded).

    Raises
    ------
    ParameterError
        No decoder of that name is registered.
    """
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
        if isinstance(obj, type) and issubclass(obj, Decoder):   # the class itself
            register(obj.name, obj)
            continue
        found = obj() if callable(obj) and not isinstance(obj, Entry) else obj
        for item in found if isinstance(found, (list, tuple)) else [found]:
            register(item)


def available(task: Task | str | None = None, input_kind: str | None = None, *,
              load: bool = False) -> list[Entry]:
    """The registered decoders, in registration order.

    Parameters
    ----------
    task : Task or str, optional
        Only decoders for this task (reads each class: imports its module).
    input_kind : str, optional
        Only decoders reading this kind of input (``"trials"``, ``"continuous"``, ``"volumes"``).
    load : bool
        Import every decoder class now, so that reading the entries' facts later costs nothing
        (the GUI asks this off its main thread).

    Returns
    -------
    list of Entry

    Examples
    --------
    >>> import decoders
    >>> "csp-lda" in [e.name for e in decoders.available()]
    True
    """
    _load_plugins()
    entries = list(_ENTRIES)
    if load or task is not None or input_kind is not None:
        for e in entries:
            e.load()
    return [e for e in entries
            if (task is None or e.task == Task(task)) and (input_kind is None or e.input_kind == input_kind)]


def entry(name: str) -> Entry:
    """The entry registered under ``name``.

    Raises
    ------
    ParameterError
        No decoder of that name (the message lists the registered ones).
    """
    _load_plugins()
    if name not in _BY_NAME:
        raise ParameterError(f"unknown decoder '{name}'.", hint=f"Available: {', '.join(_BY_NAME)}.")
    return _BY_NAME[name]


def get(name: str) -> type[Decoder]:
    """The decoder class registered under ``name`` (imports its module).

    Raises
    ------
    ParameterError
        No decoder of that name.

    Examples
    --------
    >>> import decoders
    >>> decoders.get("csp-lda").__name__
    'CSPLDA'
    """
    return entry(name).load()


def create(name: str, params: dict[str, Any] | None = None, preset: str | None = None) -> Decoder:
    """Instantiate a decoder from its registry name, an optional preset and overrides.

    Parameters
    ----------
    name : str
        A registered decoder name.
    params : dict, optional
        Parameter values; they override the preset's.
    preset : str, optional
        One of the class's ``presets``.

    Returns
    -------
    Decoder
        An unfitted decoder whose parameters are validated.

    Raises
    ------
    ParameterError
        Unknown name or preset, or a parameter unknown or out of range.

    Examples
    --------
    >>> import decoders
    >>> decoders.create("csp-lda", {"n_components": 4}).n_components
    4
    """
    cls = get(name)
    params = dict(params or {})
    decoder = cls.from_preset(preset, **params) if preset else cls(**params)
    decoder.validated_params()  # validate now so bad values are reported before any work starts
    return decoder
