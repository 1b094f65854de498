"""`SourceKind`: everything NeuroDeck knows about one kind of source, declared once.

A kind names its steps as callables or as ``"module:function"`` strings (so that a plugin's
module is imported only when a source of its kind is used) and states its facts: the file
patterns it reads, whether it reads folders or a ``scheme:ARGUMENT`` name, the modality and
the `DecodingSet` kind it produces, its options model. The registry (`data.sources`), the
``neurodeck info --kinds`` listing and the GUI's Data view all read these facts from here.
This module imports nothing of NeuroDeck's but its errors, so every kind module can use it.
"""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import UnsupportedFormatError

Step = Callable | str | None   # a callable, or "module:attribute" resolved on first use

_SCHEME = re.compile(r"^[A-Za-z][\w.+-]+:")
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


def has_scheme(source: str) -> bool:
    """True for ``name:...`` sources (``demo:x``, ``moabb:X``) but not a Windows drive (``C:\\``)."""
    source = str(source).strip()
    return bool(_SCHEME.match(source)) and not _DRIVE.match(source)


def scheme_argument(source: str) -> str:
    """The part of ``scheme:ARGUMENT`` after the first colon, stripped ('' when none)."""
    return str(source).partition(":")[2].strip()


@dataclass(frozen=True)
class SourceKind:
    """One kind of source: its steps and its facts.

    Parameters
    ----------
    name : str
        What ``dataset.kind`` and ``neurodeck info --kind`` call it.
    description : str
        One line for people (``neurodeck info --kinds``, the Data view's tooltips).
    detect : callable or str
        ``detect(source: str) -> bool``, cheap (no file is read beyond a header).
    load : callable or str
        ``load(spec: DatasetSpec) -> DecodingSet``.
    describe : callable or str
        ``describe(source: str, **opts) -> dict`` for ``neurodeck info``: a set's summary
        (``kind: "set"``, ``data_kind``, ``modality``, ``n_samples``, ``shape``, ...) or a
        recordings summary (``kind: "recordings"``, see `data.info.summarize_recordings`).
    open : callable or str, optional
        ``open(source: str, **opts) -> list[Recording]`` for browsing; None: not browsable.
    options : type or str, optional
        A pydantic model of ``dataset.options``; None: the kind takes no options.
    priority : int
        Detection order: higher is asked first.
    extensions : tuple of str
        File name patterns the kind reads (``"*.edf"``), for file dialogs.
    folders : bool
        True when a folder can be a source of this kind.
    scheme : str, optional
        Sources named ``scheme:ARGUMENT`` (``"moabb"`` for ``moabb:NAME``).
    argument : str, optional
        What ARGUMENT is, as a prompt ("Dataset class name (e.g. BNCI2014_001)").
    local_copy : bool
        True when the data is read from a local copy of a public dataset (``data_path``).
    choices : callable or str, optional
        ``choices() -> list[tuple[source, description]]``: ready-made sources to offer.
    modality : str, optional
        The `DecodingSet.modality` it produces ("eeg", "fmri", ...); None: depends on the data.
    produces : str, optional
        The `DecodingSet.kind` it produces ("trials", "continuous", "volumes"); None: depends.
    """

    name: str
    description: str
    detect: Step
    load: Step
    describe: Step
    open: Step = None
    options: Step = None
    priority: int = 0
    extensions: tuple[str, ...] = ()
    folders: bool = False
    scheme: str | None = None
    argument: str | None = None
    local_copy: bool = False
    choices: Step = None
    modality: str | None = None
    produces: str | None = None

    def function(self, role: str) -> Any:
        """The callable (or class) of field ``role``, imported on first use."""
        target = getattr(self, role)
        if target is None:
            raise UnsupportedFormatError(f"source kind {self.name!r} has no {role!r} step")
        if not isinstance(target, str):
            return target
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)

    @property
    def browsable(self) -> bool:
        """True when the kind can open its sources as recordings (the signal browser)."""
        return self.open is not None

    def source_named(self, argument: str = "") -> str:
        """The source string ``scheme:ARGUMENT`` (just ``scheme`` when ARGUMENT is empty)."""
        if self.scheme is None:
            raise UnsupportedFormatError(f"source kind {self.name!r} has no scheme:NAME sources")
        argument = str(argument).strip()
        return f"{self.scheme}:{argument}" if argument else self.scheme

    def facts(self) -> dict[str, Any]:
        """The declared facts as plain data (``neurodeck info --kinds --json``)."""
        return {"name": self.name, "description": self.description, "browsable": self.browsable,
                "extensions": list(self.extensions), "folders": self.folders, "scheme": self.scheme,
                "argument": self.argument, "local_copy": self.local_copy, "modality": self.modality,
                "produces": self.produces, "options": self.options is not None,
                "priority": self.priority}
