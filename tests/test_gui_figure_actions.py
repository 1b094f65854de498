"""Save figure (issue 20): every pyqtgraph plot of the window has a Save figure button (and a
right-click entry) that writes PNG or SVG through pyqtgraph's exporters; file dialogs start in
the folder last used, else the workspace or the example experiments, never the home folder."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from data.errors import InputError

pytestmark = pytest.mark.gui


def shown_plot(qtbot):
    from PySide6.QtWidgets import QApplication

    from app.gui import figure_actions
    from app.gui.training_view import CurvePlot

    figure_actions.install(QApplication.instance())
    plot = CurvePlot("validation accuracy", ("train_acc",), "accuracy")
    qtbot.addWidget(plot)
    plot.resize(420, 300)
    plot.show()
    plot.update_fold(0, [{"epoch": e, "train_acc": 0.5 + 0.1 * e} for e in (1, 2, 3)])
    return plot


def gray(image) -> np.ndarray:
    from PySide6.QtGui import QImage

    image = image.convertToFormat(QImage.Format_Grayscale8)
    rows = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * image.height())
    return rows.reshape(image.height(), image.bytesPerLine())[:, :image.width()].astype(float)


def svg_image(path, size):
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    image = QImage(size, QImage.Format_ARGB32)
    image.fill(0xFFFFFFFF)
    painter = QPainter(image)
    QSvgRenderer(str(path)).render(painter)
    painter.end()
    return image


def test_save_figure_writes_png_and_svg(qtbot, tmp_path):
    from PySide6.QtGui import QImage

    from app.gui.figure_actions import save_figure

    plot = shown_plot(qtbot)
    png = save_figure(plot, tmp_path / "curve.png")
    image = QImage(str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and abs(image.width() - plot.width()) <= 2
    svg = save_figure(plot, tmp_path / "curve.SVG").read_text()
    assert "<svg" in svg and "validation accuracy" in svg and ("polyline" in svg or "path" in svg)
    # the SVG draws what the PNG shows, in the same places (axes, ticks and curves aligned)
    assert np.abs(gray(QImage(str(png))) - gray(svg_image(tmp_path / "curve.SVG", image.size()))).mean() < 4
    with pytest.raises(InputError, match=r"\.png or \.svg, not '\.jpg'"):
        save_figure(plot, tmp_path / "curve.jpg")
    with pytest.raises(InputError, match="does not exist"):
        save_figure(plot, tmp_path / "missing" / "curve.png")


def test_a_layout_of_images_saves_too(qtbot, tmp_path):
    import pyqtgraph as pg

    from app.gui.figure_actions import attach_save_figure, save_figure

    grid = pg.GraphicsLayoutWidget()
    qtbot.addWidget(grid)
    grid.resize(300, 200)
    grid.show()
    view = grid.addViewBox()
    view.addItem(pg.ImageItem(np.random.default_rng(0).random((16, 16))))
    button = attach_save_figure(grid)
    assert attach_save_figure(grid) is button                      # attached once
    assert save_figure(grid, tmp_path / "grid.png").stat().st_size > 100


def test_the_button_asks_where_and_remembers_the_folder(qtbot, tmp_path, settings_file, monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QToolButton

    from app.gui import figure_actions
    from app.gui.settings import Settings

    workspace = tmp_path / "runs"
    workspace.mkdir()
    Settings().workspace = str(workspace)
    plot = shown_plot(qtbot)
    button = plot.findChild(QToolButton, figure_actions.BUTTON_NAME)
    assert button is not None and button.isVisible()
    assert button.geometry().right() > plot.width() - 40 and button.geometry().top() < 20   # top-right corner
    asked = []

    def answer(parent, caption, start, filters):
        asked.append((caption, start, filters))
        return str(tmp_path / "out" / "mine"), "SVG vector image (*.svg)"

    (tmp_path / "out").mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(answer))
    button.click()
    caption, start, filters = asked[0]
    assert Path(start) == workspace / "validation-accuracy.png"        # the workspace, not the home folder
    assert "PNG" in filters and "SVG" in filters
    assert (tmp_path / "out" / "mine.svg").read_text().count("<svg") == 1
    assert Settings().last_folder == str(tmp_path / "out")
    button.click()
    assert Path(asked[1][1]).parent == tmp_path / "out"
    menu = plot.getPlotItem().getViewBox().menu
    assert any(a.text().startswith("Save figure") for a in menu.actions())


def test_dialogs_start_in_the_workspace_or_the_examples(settings_file, tmp_path):
    from app.gui.file_dialogs import EXAMPLES, start_folder
    from app.gui.settings import Settings

    settings = Settings()
    settings.workspace = str(tmp_path / "runs" / "not-yet")
    assert settings.last_folder == str(tmp_path) != str(Path.home())     # the nearest existing folder
    assert start_folder(settings) == str(tmp_path)
    assert start_folder(settings, fallback="examples") == str(EXAMPLES)
    assert any(EXAMPLES.glob("sweep-*.yaml"))
    settings.last_folder = tmp_path / "chosen.edf"                        # a file: its folder is kept
    assert start_folder(settings, fallback="examples") == str(tmp_path)
    with pytest.raises(ValueError, match="fallback"):
        start_folder(settings, fallback="home")


def test_every_plot_of_the_window_has_the_button(qtbot, settings_file, tmp_path):
    import pyqtgraph as pg
    from PySide6.QtWidgets import QToolButton

    from app.gui.figure_actions import BUTTON_NAME
    from app.gui.main_window import MainWindow

    from PySide6.QtWidgets import QWidget

    window = MainWindow()
    qtbot.addWidget(window)
    window.wb.set_runs_dir(tmp_path)
    window.show()
    for key in window._keys:          # every view, polished as the window does before showing it
        for child in window.view(key).findChildren(QWidget):
            child.ensurePolished()
    plots = [w for w in window.findChildren(pg.GraphicsView)]
    assert len(plots) >= 8
    missing = [f"{type(p.parent()).__name__}/{type(p).__name__}" for p in plots
               if p.findChild(QToolButton, BUTTON_NAME) is None]
    assert not missing, f"plots without Save figure: {missing}"
    window.close()
