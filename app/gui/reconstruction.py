"""Reconstruction pane: what decoders that reconstruct report while they train.

`ReconstructionPane.show_event(event)` takes a `decoders.events.Reconstruction`:
`ImageReconstruction` (truth, decoded: (n, h, w)), `SignalReconstruction` (truth, decoded,
mask: (n_times,), or (k, n_times) with channel_names and optionally subject, epoch, tr) or
`TrajectoryReconstruction` (truth, decoded: (n, d), target_names).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFontMetrics
from PySide6.QtWidgets import QGraphicsRectItem, QLabel, QStackedWidget, QVBoxLayout, QWidget

from decoders.events import (ImageReconstruction, Reconstruction, SignalReconstruction,
                             TrajectoryReconstruction)

from . import theme
from .figure_actions import attach_save_figure
from .image_grid import ImageGrid


class SignalOverlay(pg.PlotWidget):
    """Signals with their masked spans shaded, the truth and the reconstruction overlaid.

    One signal (n_times,) fills the plot; k channels (k, n_times) are stacked with vertical
    offsets, the y ticks naming them, each channel's masked spans shaded within its own row.
    """

    max_channels = 12

    def __init__(self, parent=None):
        super().__init__(parent)
        self.shaded: list[QGraphicsRectItem] = []   # one rectangle per masked span, all rows
        self.channel_names: list[str] = []          # the rows drawn, top to bottom
        self.n_channels = 0                         # channels in the event (may exceed the rows drawn)
        self.rows_range: tuple[float, float] | None = None   # y span of the stacked rows
        self.getPlotItem().getViewBox().sigResized.connect(self._fit_rows)

    def show_signal(self, truth: np.ndarray, decoded: np.ndarray, mask: np.ndarray | None,
                    channel_names: list[str] | None = None, tr: float | None = None) -> None:
        self.clear()
        self.shaded = []
        c = theme.colors()
        legend = self.addLegend(offset=(-10, 2), colCount=2)
        background = QColor(c["plot_background"])
        background.setAlphaF(0.8)
        legend.setBrush(pg.mkBrush(background))
        legend.setLabelTextColor(c["plot_foreground"])
        truth, decoded = np.atleast_2d(np.asarray(truth, float)), np.atleast_2d(np.asarray(decoded, float))
        mask = None if mask is None else np.broadcast_to(np.asarray(mask, bool), truth.shape)
        stacked = channel_names is not None or len(truth) > 1
        self.n_channels = len(truth)
        rows = min(len(truth), self.max_channels)
        names = list(channel_names or [f"channel {i}" for i in range(len(truth))])[:rows]
        self.channel_names = names if stacked else []
        step = tr or 1.0
        t = np.arange(truth.shape[1]) * step
        # Row height: the widest channel (central 98 % of its values), so rows never overlap.
        spans = [np.nanpercentile(np.r_[truth[i], decoded[i]], [1, 99]) for i in range(rows)]
        height = float(np.nanmax([hi - lo for lo, hi in spans] + [1e-12])) * 1.15
        ticks = []
        for i in range(rows):
            middle = float(np.mean(spans[i]))
            center = -height * i if stacked else middle    # each stacked row centred on its offset
            shift = center - middle if stacked else 0.0
            if mask is not None and np.any(mask[i]):
                edges = np.flatnonzero(np.diff(np.r_[0, mask[i].astype(int), 0]))
                for start, stop in zip(edges[::2], edges[1::2]):
                    rect = QGraphicsRectItem((start - 0.5) * step, center - 0.46 * height,   # a gap between rows
                                             (stop - start) * step, 0.92 * height)
                    rect.setBrush(pg.mkBrush(c["accent_soft"]))
                    rect.setPen(pg.mkPen(None))
                    rect.setZValue(-10)
                    self.addItem(rect)
                    self.shaded.append(rect)
            self.plot(t, truth[i] + shift, pen=pg.mkPen(c["trace"], width=1.5), name="true" if i == 0 else None)
            self.plot(t, decoded[i] + shift, pen=pg.mkPen(theme.class_color(1), width=1.5),
                      name="reconstructed" if i == 0 else None)
            ticks.append((center, names[i]))
        axis = self.getAxis("left")
        axis.setTicks([ticks, []] if stacked else None)
        self.setLabel("bottom", "time (s)" if tr else "sample")
        if stacked:   # the rows exactly, headroom above the first for the legend, room for every name
            metrics = QFontMetrics(axis.style["tickFont"] or axis.font())
            axis.setWidth(max(metrics.horizontalAdvance(str(n)) for n in names) + 16)
            self.setXRange(t[0], t[-1], padding=0.01)
            self.rows_range = (-height * (rows - 0.4), height * 0.55)
            self._fit_rows()
        else:
            axis.setWidth(None)
            self.rows_range = None
            self.enableAutoRange()

    def _fit_rows(self) -> None:
        """Show the stacked rows exactly, with a legend's height of room above the first."""
        if self.rows_range is None:
            return
        bottom, top = self.rows_range
        pixels = self.getPlotItem().getViewBox().height()
        legend = self.getPlotItem().legend
        cells = [legend.layout.itemAt(0, col) for col in range(legend.layout.columnCount())] if legend else []
        room = max([cell.preferredHeight() for cell in cells if cell is not None] + [0]) + 10   # its one row
        if pixels > 2 * room:
            top += (top - bottom) * room / (pixels - room)
        self.setYRange(bottom, top, padding=0)


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
    PLACEHOLDER = "Decoders that reconstruct images, signals or trajectories show them here while they train."

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.images = ImageGrid()
        self.signal = SignalOverlay()
        self.trajectory = TrajectoryView()
        self.placeholder = QLabel(self.PLACEHOLDER)
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
        self.fold = None     # the fold of the event shown
        self.apply_theme()

    def apply_theme(self) -> None:
        for plot in (self.signal, self.trajectory):
            theme.style_plot(plot)
        self.images.setBackground(theme.colors()["plot_background"])
        attach_save_figure(self.images.layout_widget)   # the image grid is no plot of its own

    def clear(self) -> None:
        self.current = None
        self.fold = None
        self.images.reset_terms()
        self.title.setText("")
        self.placeholder.setText(self.PLACEHOLDER)
        self.stack.setCurrentWidget(self.placeholder)

    def follow_fold(self, fold) -> None:
        """Training moved on to ``fold``: a preview of another fold is taken down (the pane
        says it waits for this fold's first one) instead of standing for the new fold."""
        if self.current is None or fold == self.fold:
            return
        self.current = None
        self.fold = fold
        self.title.setText("")
        which = _where(fold).strip(" ()")
        self.placeholder.setText(f"{which[:1].upper()}{which[1:]}: its first reconstruction appears after "
                                 f"its first epoch.")
        self.stack.setCurrentWidget(self.placeholder)

    def show_event(self, event: Reconstruction) -> None:
        """Show ``event`` in the view its type names; other reconstruction types are ignored."""
        where = _where(event.fold)
        match event:
            case ImageReconstruction():
                self.images.show_images(np.asarray(event.truth), np.asarray(event.decoded),
                                        event.subjects, event.epoch)
                self.stack.setCurrentWidget(self.images)
                self.title.setText(f"True and reconstructed images{where}")
            case SignalReconstruction():
                mask = event.mask
                self.signal.show_signal(np.asarray(event.truth), np.asarray(event.decoded),
                                        None if mask is None else np.asarray(mask, bool),
                                        event.channel_names, event.tr)
                self.stack.setCurrentWidget(self.signal)
                self.title.setText(signal_title(event, self.signal) + where)
            case TrajectoryReconstruction():
                self.trajectory.show_trajectory(np.asarray(event.truth), np.asarray(event.decoded),
                                                event.target_names)
                self.stack.setCurrentWidget(self.trajectory)
                self.title.setText(f"True and decoded trajectory{where}")
            case _:
                return
        self.current = event.view
        self.fold = event.fold


def _where(fold) -> str:
    """' (fold 2)', ' (final fit)', ' (pretraining SiteA)' or '' for no fold."""
    if fold is None:
        return ""
    if fold == "final":
        return " (final fit)"
    if isinstance(fold, str) and fold.startswith("pretrain:"):
        return f" (pretraining {fold.split(':', 1)[1]})"
    return f" (fold {fold})"


def signal_title(event: SignalReconstruction, overlay: SignalOverlay) -> str:
    """'Masked segments (shaded) of 4 ROIs of held-out subject 0051456 and their reconstruction, epoch 3'."""
    epoch = f", epoch {event.epoch}" if event.epoch is not None else ""
    if not overlay.channel_names:
        return f"Masked signal (shaded) and its reconstruction{epoch}"
    names = overlay.channel_names
    kind = "ROIs" if all(str(n).lower().startswith("roi") for n in names) else "channels"
    count = f"{len(names)} {kind}" if len(names) == overlay.n_channels else f"{len(names)} of {overlay.n_channels} {kind}"
    subject = f" of held-out subject {event.subject}" if event.subject is not None else ""
    return f"Masked segments (shaded) of {count}{subject} and their reconstruction{epoch}"
