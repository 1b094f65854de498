"""Save figure: every pyqtgraph plot gets a small button in its top-right corner and a
"Save figure…" entry in its right-click menu that save the figure as PNG or SVG (pyqtgraph's
``ImageExporter`` / ``SVGExporter``), the dialog starting in the last folder used or the
workspace (`app.gui.file_dialogs`).

`attach_save_figure(view)` adds both to one ``PlotWidget`` / ``GraphicsLayoutWidget`` (twice
is harmless); `install(app, window)`, called by the main window, attaches them to every plot
of the window and, through an application event filter, to every plot shown later (panes
built when data opens, the sweep window); `theme.style_plot` attaches them too. `save_figure(
view, path)` is the export itself.
"""
from __future__ import annotations

import re
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMessageBox, QToolButton

from data.errors import InputError

from .file_dialogs import remember_folder, start_folder

BUTTON_NAME = "saveFigureButton"
FILTERS = {"PNG image (*.png)": ".png", "SVG vector image (*.svg)": ".svg"}


def save_figure(view: pg.GraphicsView, path: str | Path) -> Path:
    """Save what ``view`` shows to ``path``: PNG (raster) or SVG (vector) by its suffix.

    Parameters
    ----------
    view : pyqtgraph.GraphicsView
        A ``PlotWidget`` (its plot, axes and title) or a ``GraphicsLayoutWidget`` (its whole layout).
    path : str or Path
        Ends in ``.png`` or ``.svg``; its folder must exist.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InputError
        The suffix is neither .png nor .svg, or the folder does not exist.
    OSError
        The file could not be written.
    """
    from pyqtgraph.exporters import ImageExporter, SVGExporter

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FILTERS.values():
        raise InputError(f"a figure is saved as .png or .svg, not '{path.suffix or 'no suffix'}'.", path,
                         hint="Name the file figure.png or figure.svg.")
    if not path.parent.is_dir():
        raise InputError("this folder does not exist.", path.parent, hint="Choose an existing folder.")
    item = view.getPlotItem() if hasattr(view, "getPlotItem") else view.ci
    if suffix == ".png":
        exporter = ImageExporter(item)
        exporter.parameters()["width"] = max(1, int(item.boundingRect().width()))   # as on screen
        exporter.export(str(path))
    else:
        try:
            SVGExporter(item).export(str(path))
        except ValueError:
            # pyqtgraph's SVG clean-up cannot parse the path syntax of recent Qt 6 releases
            # (pyqtgraph issue #3485): let Qt's own SVG generator draw the same area instead.
            _render_svg(view, item, path)
    if not path.is_file():
        raise OSError(f"{path}: the figure could not be written.")
    return path


def _render_svg(view: pg.GraphicsView, item, path: Path) -> None:
    """Draw ``item``'s area of the scene, on the view's background, into an SVG file."""
    from PySide6.QtCore import QRectF, QSize
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    source = item.sceneBoundingRect()
    width, height = max(1, int(source.width())), max(1, int(source.height()))
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(QSize(width, height))
    generator.setViewBox(QRectF(0, 0, width, height))
    generator.setResolution(view.logicalDpiX())   # else fonts and axes come out at 90 dpi, off the curves
    generator.setTitle(suggested_name(view).rsplit(".", 1)[0])
    painter = QPainter(generator)
    try:
        target = QRectF(0, 0, width, height)
        painter.fillRect(target, view.backgroundBrush())
        view.scene().render(painter, target, source)
    finally:
        painter.end()


def suggested_name(view: pg.GraphicsView) -> str:
    """A file name from the plot's title ('loss' -> 'loss.png'), 'figure.png' without one."""
    title = ""
    if hasattr(view, "getPlotItem") and view.getPlotItem().titleLabel is not None:
        title = re.sub(r"<[^>]+>", "", view.getPlotItem().titleLabel.text or "")
    stem = re.sub(r"[^\w.-]+", "-", title).strip("-.")[:60]
    return f"{stem or 'figure'}.png"


def ask_save_figure(view: pg.GraphicsView) -> Path | None:
    """The Save figure dialog (PNG or SVG), then the export; errors are shown, not raised."""
    start = Path(start_folder()) / suggested_name(view)
    path, chosen = QFileDialog.getSaveFileName(view.window(), "Save figure", str(start), ";;".join(FILTERS))
    if not path:
        return None
    path = Path(path)
    if path.suffix.lower() not in FILTERS.values():
        path = path.with_name(path.name + FILTERS.get(chosen, ".png"))
    try:
        written = save_figure(view, path)
    except (InputError, OSError) as exc:
        QMessageBox.warning(view.window(), "Cannot save the figure", str(exc))
        return None
    remember_folder(written)
    return written


class _CornerKeeper(QObject):
    """Keeps the button in the top-right corner of its plot as the plot is resized."""

    def __init__(self, view: pg.GraphicsView, button: QToolButton):
        super().__init__(view)
        self.view, self.button = view, button
        view.installEventFilter(self)
        self.place()

    def place(self) -> None:
        self.button.adjustSize()
        self.button.move(max(0, self.view.width() - self.button.width() - 4), 4)
        self.button.raise_()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if obj is self.view and event.type() in (QEvent.Resize, QEvent.Show):
            self.place()
        return False


def _style(button: QToolButton) -> None:
    """A small framed button in the window's palette (the theme sets it), readable over traces."""
    button.setStyleSheet(
        f"QToolButton#{BUTTON_NAME} {{ background: palette(base); color: palette(text); "
        f"border: 1px solid palette(mid); border-radius: 3px; padding: 0px 4px; font-size: 11pt; }}"
        f"QToolButton#{BUTTON_NAME}:hover {{ border-color: palette(highlight); }}")


def attach_save_figure(view: pg.GraphicsView) -> QToolButton:
    """Give ``view`` its Save figure button (top-right corner) and right-click menu entry.

    Parameters
    ----------
    view : pyqtgraph.GraphicsView
        A ``PlotWidget`` or ``GraphicsLayoutWidget``.

    Returns
    -------
    QToolButton
        The button (the existing one when ``view`` already has it).
    """
    existing = view.findChild(QToolButton, BUTTON_NAME)
    if existing is not None:
        _style(existing)          # the theme may have changed since
        return existing
    button = QToolButton(view)
    button.setObjectName(BUTTON_NAME)
    button.setText("⤓")
    _style(button)
    button.setToolTip("Save figure as PNG or SVG")
    button.setAccessibleName("Save figure")
    button.clicked.connect(lambda: ask_save_figure(view))
    _CornerKeeper(view, button)
    if hasattr(view, "getPlotItem"):
        menu = view.getPlotItem().getViewBox().menu
        if menu is not None:
            action = QAction("Save figure (PNG, SVG)…", menu)
            action.triggered.connect(lambda: ask_save_figure(view))
            menu.addAction(action)
    button.show()
    return button


class _PlotWatcher(QObject):
    """An application event filter: every pyqtgraph view gets its Save figure button when
    Qt first polishes it (just before it is first shown), whichever view or pane made it."""

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Polish and isinstance(obj, pg.GraphicsView):
            attach_save_figure(obj)
        return False


_WATCHER: _PlotWatcher | None = None


def install(app, root=None) -> None:
    """Give every pyqtgraph plot of ``app`` a Save figure button: those under ``root`` now,
    and every one shown later (an event filter on the application, installed once)."""
    global _WATCHER
    if _WATCHER is None:
        _WATCHER = _PlotWatcher(app)
        app.installEventFilter(_WATCHER)
    for view in root.findChildren(pg.GraphicsView) if root is not None else []:
        attach_save_figure(view)


def attach_to_scene_view(item) -> None:
    """`attach_save_figure` on the widget showing ``item`` (a PlotItem styled on its own)."""
    scene = item.scene() if hasattr(item, "scene") else None
    for view in scene.views() if scene is not None else []:
        if isinstance(view, pg.GraphicsView):
            attach_save_figure(view)
