"""Light and dark themes: a palette, a style sheet (resources/themes) and plot colours."""
from __future__ import annotations

import json
from functools import lru_cache
from string import Template

from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QWidget

import resources

THEMES = ("light", "dark")
# One colour per fold (colour-blind friendly, after Okabe & Ito), reused in every plot.
FOLD_COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#8C6D31", "#7F7F7F"]
CLASS_COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8C6D31", "#7F7F7F"]

_current = "light"


def colors(name: str | None = None) -> dict:
    """The colour table of a theme (the current one by default)."""
    return _colors(name or _current)


@lru_cache(maxsize=None)
def _colors(name: str) -> dict:
    return json.loads(resources.path("themes", f"{name}.json").read_text())


def current() -> str:
    return _current


def fold_color(fold: int | None) -> str:
    return FOLD_COLORS[(fold or 0) % len(FOLD_COLORS)]


def class_color(index: int) -> str:
    return CLASS_COLORS[index % len(CLASS_COLORS)]


def style_sheet(name: str) -> str:
    template = Template(resources.path("themes", "base.qss").read_text())
    values = {k: v for k, v in colors(name).items() if isinstance(v, str)}
    return template.safe_substitute(values, icons=resources.path("icons").as_posix())


def palette(name: str) -> QPalette:
    c = colors(name)
    pal = QPalette()
    roles = {
        QPalette.Window: c["window"], QPalette.WindowText: c["text"], QPalette.Base: c["surface"],
        QPalette.AlternateBase: c["surface_alt"], QPalette.Text: c["text"], QPalette.Button: c["surface"],
        QPalette.ButtonText: c["text"], QPalette.Highlight: c["accent"], QPalette.HighlightedText: c["accent_text"],
        QPalette.ToolTipBase: c["surface"], QPalette.ToolTipText: c["text"], QPalette.PlaceholderText: c["muted"],
        QPalette.Link: c["accent"],
    }
    for role, value in roles.items():
        pal.setColor(role, QColor(value))
    pal.setColor(QPalette.Disabled, QPalette.Text, QColor(c["muted"]))
    pal.setColor(QPalette.Disabled, QPalette.ButtonText, QColor(c["muted"]))
    return pal


def apply(app: QApplication, name: str, root: QWidget | None = None) -> None:
    """Switch the whole application (and the plots under ``root``) to theme ``name``."""
    global _current
    import pyqtgraph as pg

    if name not in THEMES:
        name = "light"
    _current = name
    c = colors(name)
    app.setStyle("Fusion")
    app.setPalette(palette(name))
    app.setStyleSheet(style_sheet(name))
    pg.setConfigOptions(background=c["plot_background"], foreground=c["plot_foreground"], antialias=False)
    if root is not None:
        for widget in [root, *root.findChildren(QWidget)]:
            restyle = getattr(widget, "apply_theme", None)
            if callable(restyle):
                restyle()


def style_plot(plot_widget) -> None:
    """Colour a pyqtgraph PlotWidget / PlotItem for the current theme, and give the widget
    showing it a Save figure button (`app.gui.figure_actions`)."""
    import pyqtgraph as pg

    from .figure_actions import attach_save_figure, attach_to_scene_view

    if isinstance(plot_widget, pg.GraphicsView):
        attach_save_figure(plot_widget)
    else:
        attach_to_scene_view(plot_widget)
    c = colors()
    item = plot_widget.getPlotItem() if hasattr(plot_widget, "getPlotItem") else plot_widget
    if hasattr(plot_widget, "setBackground"):
        plot_widget.setBackground(c["plot_background"])
    for axis in ("left", "bottom", "right", "top"):
        ax = item.getAxis(axis)
        ax.setPen(pg.mkPen(c["plot_foreground"]))
        ax.setTextPen(pg.mkPen(c["plot_foreground"]))
    item.showGrid(x=True, y=True, alpha=c["plot_grid"])
    title = item.titleLabel
    if title is not None and title.text:
        item.setTitle(title.text, color=c["plot_foreground"])


def app_icon() -> QIcon:
    return QIcon(str(resources.path("icons", "neurodeck.svg")))


def icon(name: str) -> QIcon:
    path = resources.path("icons", f"{name}.svg")
    return QIcon(str(path)) if path.exists() else QIcon()
