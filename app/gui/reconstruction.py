"""Reconstruction pane: what decoders that reconstruct report while they train.

`ReconstructionPane.show_event(data)` takes the fields of a "reconstruction" event
(decoders/events.py): view "images" (truth, decoded: (n, h, w)), "signal" (truth,
decoded, mask: (n_times,)) or "trajectory" (truth, decoded: (n, d), target_names).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from . import theme
from .image_grid import ImageGrid


class SignalOverlay(pg.PlotWidget):
    """A signal with its masked spans shaded, the truth and the reconstruction overlaid."""

    def show_signal(self, truth: np.ndarray, decoded: np.ndarray, mask: np.ndarray | None) -> None:
        self.clear()
        self.addLegend(offset=(-10, 10))
        t = np.arange(len(truth))
        c = theme.colors()
        if mask is not None and np.any(mask):
            edges = np.flatnonzero(np.diff(np.r_[0, np.asarray(mask, dtype=int), 0]))
            for start, stop in zip(edges[::2], edges[1::2]):
                region = pg.LinearRegionItem((start, stop), movable=False,
                                             brush=pg.mkBrush(c["accent_soft"]), pen=pg.mkPen(None))
                self.addItem(region)
        self.plot(t, truth, pen=pg.mkPen(c["trace"], width=1.5), name="true")
        self.plot(t, decoded, pen=pg.mkPen(theme.class_color(1), width=1.5), name="reconstructed")
        self.setLabel("bottom", "sample")


class TrajectoryView(pg.PlotWidget):
    """True versus decoded trajectory: each target over time (the last ``max_samples``)."""

    max_samples = 400

    def show_trajectory(self, truth: np.ndarray, decoded: np.ndarray, target_names: list[str] | None = None) -> None:
        self.clear()
        self.addLegend(offset=(-10, 10))
        truth, decoded = np.asarray(truth, float), np.asarray(decoded, float)
        if truth.ndim == 1:
            truth, decoded = truth[:, None], decoded[:, None]
        names = list(target_names or [f"target {i}" for i in range(truth.shape[1])])
        truth, decoded = truth[-self.max_samples:], decoded[-self.max_samples:]
        c = theme.colors()
        # Each target over time, stacked: the true trace and the decoded one on top of it.
        spread = float(np.nanstd(truth)) or 1.0
        t = np.arange(len(truth))
        ticks = []
        for i, name in enumerate(names):
            offset = -4.0 * spread * i
            self.plot(t, truth[:, i] + offset, pen=pg.mkPen(c["trace"], width=1.5), name="true" if i == 0 else None)
            self.plot(t, decoded[:, i] + offset, pen=pg.mkPen(theme.class_color(1), width=1.5),
                      name="decoded" if i == 0 else None)
            ticks.append((offset, name))
        self.getAxis("left").setTicks([ticks, []])
        self.setLabel("bottom", f"sample (last {len(truth)})")


class ReconstructionPane(QWidget):
    """Shows the latest reconstruction event of the running decoder."""

    VIEWS = ("images", "signal", "trajectory")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.images = ImageGrid()
        self.signal = SignalOverlay()
        self.trajectory = TrajectoryView()
        self.placeholder = QLabel("Decoders that reconstruct images, signals or trajectories show them here "
                                  "while they train.")
        self.placeholder.setAlignment(Qt.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setProperty("class", "hint")
        self.title = QLabel("")
        self.stack = QStackedWidget()
        for widget in (self.placeholder, self.images, self.signal, self.trajectory):
            self.stack.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.stack, 1)
        self.current: str | None = None
        self.apply_theme()

    def apply_theme(self) -> None:
        for plot in (self.signal, self.trajectory):
            theme.style_plot(plot)
        self.images.setBackground(theme.colors()["plot_background"])

    def clear(self) -> None:
        self.current = None
        self.images.reset_terms()
        self.title.setText("")
        self.stack.setCurrentWidget(self.placeholder)

    def show_event(self, data: dict) -> None:
        view = data.get("view")
        where = f" (fold {data['fold']})" if data.get("fold") is not None else ""
        if view == "images":
            self.images.show_images(np.asarray(data["truth"]), np.asarray(data["decoded"]),
                                    data.get("subjects"), data.get("epoch"))
            self.stack.setCurrentWidget(self.images)
            self.title.setText(f"True and reconstructed images{where}")
        elif view == "signal":
            mask = data.get("mask")
            self.signal.show_signal(np.asarray(data["truth"]), np.asarray(data["decoded"]),
                                    None if mask is None else np.asarray(mask, bool))
            self.stack.setCurrentWidget(self.signal)
            self.title.setText(f"Masked signal (shaded) and its reconstruction{where}")
        elif view == "trajectory":
            self.trajectory.show_trajectory(np.asarray(data["truth"]), np.asarray(data["decoded"]),
                                            data.get("target_names"))
            self.stack.setCurrentWidget(self.trajectory)
            self.title.setText(f"True and decoded trajectory{where}")
        else:
            return
        self.current = view
