"""The protocols NeuroDeck offers. Adding one is a `Protocol` subclass plus one registration:
`register_protocol(MyProtocol)` from any code, or an entry point in the
``neurodeck.protocols`` group of another package (its object: a `Protocol` subclass, a list
of them, or a function that registers or returns them), loaded the first time the list is
read. The registry holds only the classes: every fact (name, description, options schema,
requirements) is read from the class.
"""
from __future__ import annotations

from typing import Any

from data.decoding_set import DecodingSet

from .base import REGISTERED, Protocol, ProtocolError, Split

ENTRY_POINT_GROUP = "neurodeck.protocols"
_PROTOCOLS = REGISTERED   # the store lives in base.py so a protocol can list the others
_plugins_loaded = False


def register_protocol(cls: type[Protocol]) -> type[Protocol]:
    """Add a protocol class (registering its name again replaces it).

    Parameters
    ----------
    cls : type of Protocol
        A subclass declaring ``name``, ``description``, ``Options`` and ``requires``.

    Returns
    -------
    type of Protocol
        ``cls``, so this works as a class decorator.

    Raises
    ------
    ProtocolError
        ``cls`` is not a `Protocol` subclass or declares no name.

    Examples
    --------
    >>> @register_protocol
    ... class FirstHalf(Protocol): ...
    """
    if not (isinstance(cls, type) and issubclass(cls, Protocol)):
        raise ProtocolError(f"register_protocol: {cls!r} is not a Protocol subclass.")
    if not getattr(cls, "name", None) or not getattr(cls, "description", None):
        raise ProtocolError(f"register_protocol: {cls.__qualname__} must declare a name and a description.")
    _PROTOCOLS[cls.name] = cls
    return cls


def unregister_protocol(name: str) -> None:
    """Remove a registered protocol (tests; a plugin being unloaded)."""
    protocol(name)
    del _PROTOCOLS[name]


def available_protocols(input_kind: str | None = None) -> list[Protocol]:
    """Registered protocols in registration order, optionally only those for an input kind.

    Parameters
    ----------
    input_kind : str, optional
        A `DecodingSet` kind ("trials", "volumes", "continuous").

    Returns
    -------
    list of Protocol
    """
    _load_plugins()
    found = [cls() for cls in _PROTOCOLS.values()]
    return [p for p in found if input_kind is None or input_kind in p.requires.input_kinds]


def protocol_names() -> tuple[str, ...]:
    """Names of the registered protocols, in order."""
    return tuple(p.name for p in available_protocols())


def protocol(name: str) -> Protocol:
    """The protocol registered as ``name``.

    Raises
    ------
    ProtocolError
        No protocol has that name (the message lists the known ones).
    """
    _load_plugins()
    if name not in _PROTOCOLS:
        raise ProtocolError(f"unknown protocol '{name}'.", hint=f"Known: {', '.join(_PROTOCOLS)}.")
    return _PROTOCOLS[name]()


def option_names() -> dict[str, set[str]]:
    """For every option any protocol reads, the protocols that read it."""
    out: dict[str, set[str]] = {}
    for p in available_protocols():
        for key in p.Options.model_fields:
            out.setdefault(key, set()).add(p.name)
    return out


def make_splits(data: DecodingSet, protocol_name: str, *, seed: int = 0, **options: Any) -> list[Split]:
    """The folds of ``protocol_name`` on ``data``.

    Options another registered protocol reads are ignored (one options dict can serve
    several protocols); a name no protocol reads is an error.

    Raises
    ------
    ProtocolError
        Unknown protocol or option, bad option value, or data the protocol cannot cut.
    """
    chosen = protocol(protocol_name)
    own = set(chosen.Options.model_fields)
    known = option_names()
    unknown = sorted(k for k in options if k not in own and k not in known)
    if unknown:
        raise ProtocolError(f"{protocol_name}: unknown option(s) {', '.join(unknown)}.",
                            hint=f"It reads: {', '.join(sorted(own)) or 'no options'}.")
    return chosen.splits(data, {k: v for k, v in options.items() if k in own}, seed=seed)


def _load_plugins() -> None:
    """Register the protocols other packages declare as ``neurodeck.protocols`` entry points."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = point.load()
            found = obj() if callable(obj) and not isinstance(obj, type) else obj
        except Exception as exc:  # a broken plugin must not take the protocol list down
            import warnings

            warnings.warn(f"protocol plugin '{point.name}' ({point.value}) failed to load: {exc}", stacklevel=2)
            continue
        for item in found if isinstance(found, (list, tuple)) else [found]:
            if item is not None:
                register_protocol(item)
