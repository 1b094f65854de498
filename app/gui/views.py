"""The workflow views, declared in one table: the steps down the left of the window.

A view is a module plus one registration: ``register_view(ViewEntry(key, label, factory))``
from any code, or an entry point in the group ``neurodeck.views`` (a `ViewEntry`, or a
callable that calls `register_view`). ``factory(window) -> QWidget`` builds the view on first
use; ``note(window) -> str`` is the short line under the step's label (optional); ``icon`` is
its icon in the workflow bar. Views are built lazily, so a factory may import heavy modules.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QWidget

ENTRY_POINT_GROUP = "neurodeck.views"


@dataclass(frozen=True)
class ViewEntry:
    """One workflow view.

    Parameters
    ----------
    key : str
        Identifies the view (`register_view`'s ``before``, `MainWindow.show_view`).
    label : str
        The step's name in the workflow bar and the View menu.
    factory : callable or str
        ``factory(window) -> QWidget``, or its ``"module:function"`` (imported on first use).
    note : callable, optional
        ``note(window) -> str``: the short line under the label, refreshed as the work goes on.
    tooltip : str
        What the view is for (the step's tooltip).
    icon : str
        An image file (SVG, PNG) or the name of one of NeuroDeck's icons (resources/icons);
        empty: the icon named like the key, else a badge with the label's first letter.
    """

    key: str
    label: str
    factory: Callable[..., QWidget] | str   # a callable or "module:function"
    note: Callable[..., str] | None = None
    tooltip: str = ""
    icon: str = ""

    def build(self, window) -> QWidget:
        """Build the view's widget for ``window`` (the main window; ``window.wb`` is the Workbench)."""
        factory = self.factory
        if isinstance(factory, str):
            module, name = factory.split(":")
            factory = getattr(importlib.import_module(module), name)
        return factory(window)

    def note_for(self, window) -> str:
        """The line under the step's label ("" without a ``note``)."""
        return self.note(window) if self.note else ""

    def qicon(self) -> QIcon:
        """The step's icon (needs a QGuiApplication): ``icon`` as a file or a NeuroDeck icon
        name, the key's icon, or a letter badge, so no step is drawn without one."""
        from . import theme

        if self.icon and Path(self.icon).is_file():
            found = QIcon(self.icon)
        else:
            found = theme.icon(self.icon or self.key)
        return found if not found.isNull() else _letter_badge(self.label or self.key)


def _letter_badge(text: str) -> QIcon:
    pixmap = QPixmap(40, 40)
    pixmap.fill(Qt.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.Antialiasing)
    painter.setPen(Qt.NoPen)
    painter.setBrush(QColor("#6b7a8f"))
    painter.drawRoundedRect(2, 2, 36, 36, 8, 8)
    painter.setPen(QColor("white"))
    font = painter.font()
    font.setPixelSize(22)
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(pixmap.rect(), Qt.AlignCenter, text[:1].upper())
    painter.end()
    return QIcon(pixmap)


_views: dict[str, ViewEntry] = {}
_plugins_loaded = False


def register_view(entry: ViewEntry, *, before: str | None = None) -> None:
    """Add a workflow view (registering a key again replaces its view).

    Parameters
    ----------
    entry : ViewEntry
        The view.
    before : str, optional
        The key of the view to put it ahead of; by default it goes last.

    Raises
    ------
    TypeError
        ``entry`` is not a `ViewEntry`.

    Examples
    --------
    >>> register_view(ViewEntry("notes", "Notes", "my_lab.views:build"), before="online")  # doctest: +SKIP
    """
    if not isinstance(entry, ViewEntry):
        raise TypeError(f"register_view() takes a ViewEntry, not {type(entry).__name__}")
    items = [(k, v) for k, v in _views.items() if k != entry.key]
    at = next((i for i, (k, _) in enumerate(items) if k == before), len(items))
    items.insert(at, (entry.key, entry))
    _views.clear()
    _views.update(items)


def unregister_view(key: str) -> None:
    """Remove the view registered under ``key`` (nothing happens if there is none)."""
    _views.pop(key, None)


def available_views() -> list[ViewEntry]:
    """Every registered view, in workflow order.

    The ``neurodeck.views`` entry points are loaded the first time (each a `ViewEntry`, or a
    function that calls `register_view`).

    Returns
    -------
    list of ViewEntry
    """
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
