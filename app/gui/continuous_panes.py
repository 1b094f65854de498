"""The Data view's Features tab, for continuous sets (spike or feature bins with targets such
as a hand's velocity): the first features as stacked traces over time, the targets below on
the same time axis, and their sizes."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from . import theme

N_FEATURES = 8      # feature traces drawn
N_SHOWN = 600       # samples (time bins) drawn


class ContinuousPane(QWidget):
    """Shown for sets of ``kind == "continuous"`` (`applies_to`); empty otherwise."""

    EMPTY = "Open a continuous set (features and targets per time bin) to see it here."

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.data = None
        self.n_curves = 0
        self.note = QLabel(self.EMPTY)
        self.note.setWordWrap(True)
        self.features_plot = pg.PlotWidget(title="features")
        self.targets_plot = pg.PlotWidget(title="targets")
        self.legend = self.targets_plot.addLegend(offset=(10, 10), labelTextSize="8pt")   # top left: the
        # top-right corner holds the Save figure button
        self.targets_plot.setXLink(self.features_plot)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.features_plot, 3)
        layout.addWidget(self.targets_plot, 2)
        self.apply_theme()

    @staticmethod
    def applies_to(data) -> bool:
        return data is not None and data.kind == "continuous"

    def apply_theme(self) -> None:
        """Colour the plots for the current theme (`theme.apply` calls it)."""
        theme.style_plot(self.features_plot)
        theme.style_plot(self.targets_plot)
        color = theme.colors()["plot_foreground"]
        self.legend.setLabelTextColor(color)
        self.legend.setBrush(theme.colors()["plot_background"])   # readable over the curves
        for _sample, label in self.legend.items:   # labels drawn before keep their colour otherwise
            label.setText(label.text, color=color)

    def set_data(self, data) -> None:
        self.data = data if self.applies_to(data) else None
        self.features_plot.clear()
        self.targets_plot.clear()
        self.n_curves = 0
        if self.data is None:
            self.note.setText(self.EMPTY)
            return
        d = self.data
        n = min(len(d), N_SHOWN)
        step = 1.0 / d.sfreq if d.sfreq else 1.0
        t = np.arange(n) * step
        unit = "s" if d.sfreq else "bin"
        X = np.asarray(d.X[:n], dtype=float).reshape(n, -1)
        shown = min(N_FEATURES, X.shape[1])
        spread = 4.0 * float(np.nanstd(X[:, :shown])) or 1.0
        names = list(d.ch_names) or [f"feature {k + 1}" for k in range(X.shape[1])]
        for k in range(shown):
            self.features_plot.plot(t, X[:, k] - np.nanmean(X[:, k]) + k * spread, pen=pg.intColor(k, shown))
        self.features_plot.getAxis("left").setTicks([[(k * spread, names[k]) for k in range(shown)]])
        self.features_plot.setTitle(f"features: first {shown} of {X.shape[1]}, first {n} of {len(d)} bins")
        self.features_plot.setLabel("bottom", f"time ({unit})")
        self.n_curves = shown
        if d.y is not None:
            Y = np.asarray(d.y[:n], dtype=float).reshape(n, -1)
            targets = list(d.target_names) or [f"target {k + 1}" for k in range(Y.shape[1])]
            for k in range(Y.shape[1]):
                self.targets_plot.plot(t, Y[:, k], pen=pg.mkPen(theme.fold_color(k), width=2), name=targets[k])
            self.n_curves += Y.shape[1]
            self.targets_plot.setTitle(f"targets: {', '.join(targets)}")
        else:
            self.targets_plot.setTitle("targets: none in this set")
        self.targets_plot.setLabel("bottom", f"time ({unit})")
        self.apply_theme()
        rate = f", {d.sfreq:g} bins/s" if d.sfreq else ""
        self.note.setText(f"{len(d)} time bins{rate}, {X.shape[1]} features, "
                          f"{len(d.target_names) or (0 if d.y is None else np.shape(d.y)[-1])} targets"
                          f"{', subjects ' + ', '.join(d.subjects) if len(d.subjects) > 1 else ''}")
