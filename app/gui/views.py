"""The workflow views, declared in one table: the steps down the left of the window.

A view is a module plus one registration: ``register_view(ViewEntry(key, label, factory))``
from any code, or an entry point in the group ``neurodeck.views`` (a `ViewEntry`, or a
callable that calls `register_view`). ``factory(window) -> QWidget`` builds the view on first
use; ``note(window) -> str`` is the short line under the step's label (optional). Views are
built lazily, so a factory may import heavy modules.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Callable

from PySide6.QtWidgets import QWidget

ENTRY_POINT_GROUP = "neurodeck.views"


@dataclass(frozen=True)
class ViewEntry:
    key: str
    label: str
    factory: Callable[..., QWidget] | str   # a callable or "module:function"
    note: Callable[..., str] | None = None
    tooltip: str = ""

    def build(self, window) -> QWidget:
        factory = self.factory
        if isinstance(factory, str):
            module, name = factory.split(":")
            factory = getattr(importlib.import_module(module), name)
        return factory(window)

    def note_for(self, window) -> str:
        return self.note(window) if self.note else ""


_views: dict[str, ViewEntry] = {}
_plugins_loaded = False


def register_view(entry: ViewEntry, *, before: str | None = None) -> None:
    """Add (or replace) a workflow view; ``before`` puts it ahead of that key's view."""
    if not isinstance(entry, ViewEntry):
        raise TypeError(f"register_view() takes a ViewEntry, not {type(entry).__name__}")
    items = [(k, v) for k, v in _views.items() if k != entry.key]
    at = next((i for i, (k, _) in enumerate(items) if k == before), len(items))
    items.insert(at, (entry.key, entry))
    _views.clear()
    _views.update(items)


def unregister_view(key: str) -> None:
    _views.pop(key, None)


def available_views() -> list[ViewEntry]:
    """Every registered view in workflow order (plug-ins from entry points loaded once)."""
    global _plugins_loaded
    if not _plugins_loaded:
        _plugins_loaded = True
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            obj = ep.load()
            register_view(obj) if isinstance(obj, ViewEntry) else obj()
    return list(_views.values())


# ------------------------------------------------------------------- built-in views
def _data(window) -> QWidget:
    from .data_view import DataView

    return DataView(window.wb)


def _decoder(window) -> QWidget:
    from .decoder_view import DecoderView

    widget = DecoderView(window.wb)
    widget.start_requested.connect(window.start_training)
    return widget


def _train(window) -> QWidget:
    from .training_view import TrainingView

    widget = TrainingView(window.wb)
    widget.start_requested.connect(window.start_training)
    widget.cancel_requested.connect(window.wb.cancel_training)
    return widget


def _results(window) -> QWidget:
    from .results_view import ResultsView

    widget = ResultsView(window.wb)
    widget.refresh()
    return widget


def _online(window) -> QWidget:
    from .online_view import OnlineView

    return OnlineView(window.wb)


def _data_note(window) -> str:
    from pathlib import Path

    source = window.wb.data.source
    if not source:
        return "nothing open yet"
    name = Path(source).name
    return name if len(name) <= 18 else name[:17] + "…"


def _train_note(window) -> str:
    m, d = window.wb.training, window.wb.decoder
    done = {"running": "running", "finished": "finished", "failed": "failed", "cancelled": "cancelled"}
    return done.get(m.state, "ready" if d.name and window.wb.data.source else "")


for _entry in (
    ViewEntry("data", "Data", _data, _data_note, "Open a recording or a demo; browse and inspect it"),
    ViewEntry("decoder", "Decoder", _decoder, lambda w: w.wb.decoder.name or "choose one",
              "Pick a decoder and its parameters"),
    ViewEntry("train", "Train", _train, _train_note, "Train with live curves"),
    ViewEntry("results", "Results", _results, lambda w: "all runs", "Every run of the workspace"),
    ViewEntry("online", "Online", _online, None, "Decode a live stream"),
):
    register_view(_entry)
