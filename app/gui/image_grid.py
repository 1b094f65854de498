"""Live reconstruction grid of the Train view: true versus reconstructed images of a fixed set
of validation stimuli (each column titled with its subject), refreshed as the decoder's
`ImageReconstruction` events arrive, beside the training curve of each loss term."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from . import theme

TERM_PREFIX = "train_"
NOT_TERMS = {"train_loss", "train_acc", "train_r2"}


class ImageGrid(QWidget):
    """True images on the top row, reconstructions below (up to ``max_images``), and the
    per-term loss curves (``train_<term>`` columns of the epoch rows) beside them."""

    def __init__(self, max_images: int = 8):
        super().__init__()
        self.max_images = max_images
        self.n_shown = 0
        self.refreshes = 0
        self._shown = None
        self.caption = QLabel("")
        self.caption.setProperty("class", "hint")
        self.layout_widget = pg.GraphicsLayoutWidget()
        self.terms = pg.PlotWidget(title="loss terms (training)")
        self.terms.setLabel("bottom", "epoch")
        self.terms.setLogMode(x=False, y=True)   # the terms differ by orders of magnitude
        self.terms.addLegend(offset=(-10, 5), labelTextSize="8pt", colCount=3)
        self.term_curves: dict[str, pg.PlotDataItem] = {}
        split = QSplitter(Qt.Horizontal)
        split.addWidget(self.layout_widget)
        split.addWidget(self.terms)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(split, 1)

    def setBackground(self, color) -> None:  # noqa: N802 (Qt naming, as pyqtgraph widgets)
        self.layout_widget.setBackground(color)
        theme.style_plot(self.terms)
        if self._shown is not None:   # the labels were drawn in the old theme's colour
            self._draw(*self._shown)

    def show_images(self, truth: np.ndarray, decoded: np.ndarray, subjects=None, epoch=None) -> None:
        self._shown = (truth, decoded, subjects, epoch)
        self._draw(truth, decoded, subjects, epoch)
        self.refreshes += 1

    def _draw(self, truth, decoded, subjects, epoch) -> None:
        grid = self.layout_widget
        grid.clear()
        n = min(len(truth), len(decoded), self.max_images)
        fg = theme.colors()["plot_foreground"]
        if subjects is not None:
            for i in range(n):
                grid.addLabel(str(subjects[i]), row=0, col=i + 1, color=fg, size="8pt")
        lo = float(min(np.nanmin(truth[:n]), 0.0))
        hi = float(max(np.nanmax(truth[:n]), 1.0))
        for row, (label, images) in enumerate((("true", truth), ("reconstructed", decoded)), start=1):
            grid.addLabel(label, row=row, col=0, angle=-90, color=fg)
            for i in range(n):
                view = grid.addViewBox(row=row, col=i + 1, lockAspect=True, invertY=True, enableMouse=False)
                view.addItem(pg.ImageItem(np.asarray(images[i], dtype=float).T, levels=(lo, hi)))
        self.n_shown = n
        self.caption.setText(f"epoch {epoch}" if epoch is not None else "")

    def update_terms(self, rows: list[dict]) -> None:
        """Plot every ``train_<term>`` loss column (other than the total) of the epoch rows."""
        keys = [k for k in (rows[-1] if rows else {}) if k.startswith(TERM_PREFIX) and k not in NOT_TERMS]
        for j, key in enumerate(keys):
            points = [(r.get("epoch", i + 1), r[key]) for i, r in enumerate(rows)
                      if r.get(key) is not None and np.isfinite(r[key])]
            if not points:
                continue
            curve = self.term_curves.get(key)
            if curve is None:
                curve = self.terms.plot([], [], pen=pg.mkPen(theme.fold_color(j), width=2),
                                        name=key[len(TERM_PREFIX):])
                self.term_curves[key] = curve
            x, y = zip(*points)
            curve.setData(np.asarray(x, float), np.asarray(y, float))

    def reset_terms(self) -> None:
        for curve in self.term_curves.values():
            self.terms.removeItem(curve)
        self.term_curves.clear()
        legend = self.terms.getPlotItem().legend
        if legend is not None:
            legend.clear()
