"""A fast multichannel signal browser (pyqtgraph).

Only the visible time window of the visible channel page is read and drawn, reduced to a
min/max pair per pixel column (the envelope a screen can show), as one curve item for all
good channels and one for bad ones. Keys: ←/→ scroll (Shift: a whole window), PgUp/PgDn
channel pages, +/− amplitude, Ctrl+wheel or [ ] zoom time; click a trace to mark it bad.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (QDoubleSpinBox, QHBoxLayout, QLabel, QScrollBar, QSpinBox, QToolButton,
                               QVBoxLayout, QWidget)

from . import theme

# Display units per channel type: (factor from SI, unit label).
UNITS = {"eeg": (1e6, "µV"), "eog": (1e6, "µV"), "emg": (1e6, "µV"), "ecg": (1e6, "µV"),
         "seeg": (1e6, "µV"), "ecog": (1e6, "µV"), "dbs": (1e6, "µV"),
         "mag": (1e15, "fT"), "grad": (1e13, "fT/cm")}


class ArraySource:
    """Signals held in memory: ``data`` (n_channels, n_times) already in display units."""

    def __init__(self, data: np.ndarray, sfreq: float, ch_names: list[str], ch_types: list[str] | None = None,
                 events: list[tuple[float, str]] | None = None, unit: str = "µV"):
        self.data = data
        self.sfreq = float(sfreq)
        self.ch_names = list(ch_names)
        self.ch_types = list(ch_types or ["eeg"] * len(ch_names))
        self.events = sorted(events or [])
        self.unit = unit

    @property
    def n_times(self) -> int:
        return self.data.shape[1]

    def get(self, picks: np.ndarray, start: int, stop: int) -> np.ndarray:
        return self.data[picks, start:stop]


class RawSource:
    """An MNE Raw read on demand, converted to display units (µV, fT ...)."""

    def __init__(self, raw, events: list[tuple[float, str]] | None = None):
        self.raw = raw
        self.sfreq = float(raw.info["sfreq"])
        self.ch_names = list(raw.ch_names)
        self.ch_types = list(raw.get_channel_types())
        self.scale = np.array([UNITS.get(t, (1.0, ""))[0] for t in self.ch_types])
        units = {UNITS.get(t, (1.0, ""))[1] for t in self.ch_types} - {""}
        self.unit = units.pop() if len(units) == 1 else "units"
        self.events = sorted(events or [])

    @property
    def n_times(self) -> int:
        return self.raw.n_times

    def get(self, picks: np.ndarray, start: int, stop: int) -> np.ndarray:
        data = self.raw.get_data(picks=np.asarray(picks), start=start, stop=stop)
        return data * self.scale[np.asarray(picks), None]


def source_of(recording, events: list[tuple[float, str]] | None = None):
    """The browser source of a `data.recording.Recording`: its MNE raw, or its plain array
    (e.g. an ROI series, shown in its own units)."""
    if recording.raw is not None:
        return RawSource(recording.raw, events)
    return ArraySource(recording.get_data(), recording.sfreq, recording.ch_names,
                       [recording.modality] * len(recording.ch_names),
                       events if events is not None else recording.events, unit="")


def minmax_decimate(data: np.ndarray, n_columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Reduce (n_channels, n_samples) to a min and a max per column.

    Returns sample positions (float, length m) and values (n_channels, m); with at most
    ``2 * n_columns`` samples the data come back unchanged.
    """
    n_ch, n = data.shape
    if n <= 2 * n_columns:
        return np.arange(n, dtype=float), data
    step = int(math.ceil(n / n_columns))
    n_full = n // step
    body = data[:, : n_full * step].reshape(n_ch, n_full, step)
    if step <= 64:  # a few strided element-wise passes beat a reduction over a short axis
        lows, highs = body[:, :, 0].copy(), body[:, :, 0].copy()
        for k in range(1, step):
            np.minimum(lows, body[:, :, k], out=lows)
            np.maximum(highs, body[:, :, k], out=highs)
    else:
        lows, highs = body.min(axis=2), body.max(axis=2)
    starts = np.arange(n_full, dtype=float) * step
    if n_full * step < n:  # the last, partial column
        tail = data[:, n_full * step:]
        lows = np.concatenate([lows, tail.min(axis=1, keepdims=True)], axis=1)
        highs = np.concatenate([highs, tail.max(axis=1, keepdims=True)], axis=1)
        starts = np.append(starts, n_full * step)
    out = np.empty((n_ch, 2 * len(starts)), dtype=data.dtype)
    out[:, 0::2], out[:, 1::2] = lows, highs
    x = np.empty(2 * len(starts))
    x[0::2], x[1::2] = starts, starts + step / 2
    return x, out


class SignalBrowser(QWidget):
    """Scroll, zoom, page channels, scale, see events, toggle bad channels."""

    bad_toggled = Signal(str)
    view_changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.source = None
        self.bads: set[str] = set()
        self.start_s = 0.0
        self.duration_s = 10.0
        self.first_channel = 0
        self.page_size = 20
        self.spacing = 50.0   # display units between two traces
        self.last_points = 0  # points drawn in the last frame (checked by tests)
        self._event_labels: list[pg.TextItem] = []
        self._build()
        self.setFocusPolicy(Qt.StrongFocus)

    # ----------------------------------------------------------------------- layout
    def _build(self) -> None:
        self.plot = pg.PlotWidget()
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.setClipToView(False)
        self.plot.getPlotItem().getViewBox().disableAutoRange()
        self.plot.getPlotItem().setLabel("bottom", "time (s)")
        self.plot.getAxis("left").setStyle(textFillLimits=[(0, 1.0)])  # label every channel
        self.plot.setToolTip("Click a trace to mark its channel bad (again to restore it). ←/→ scroll, "
                             "PgUp/PgDn channels, +/− scale, [ ] zoom.")
        self.plot.viewport().installEventFilter(self)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.curve = pg.PlotCurveItem(antialias=False)
        self.bad_curve = pg.PlotCurveItem(antialias=False)
        self.event_curve = pg.PlotCurveItem(antialias=False, skipFiniteCheck=True)
        self.plot.addItem(self.bad_curve)
        self.plot.addItem(self.curve)
        self.plot.addItem(self.event_curve, ignoreBounds=True)

        self.scrollbar = QScrollBar(Qt.Horizontal)
        self.scrollbar.valueChanged.connect(lambda v: self.set_view(start_s=v / 10.0))

        self.window_box = QDoubleSpinBox(decimals=1, minimum=0.5, maximum=120.0, singleStep=1.0, suffix=" s")
        self.window_box.setToolTip("Length of the visible time window ([ and ] zoom)")
        self.window_box.valueChanged.connect(lambda v: self.set_view(duration_s=v))
        self.page_box = QSpinBox(minimum=1, maximum=256)
        self.page_box.setToolTip("Channels shown at once (PgUp / PgDn page through them)")
        self.page_box.valueChanged.connect(self.set_page_size)
        self.page_label = QLabel()
        self.scale_label = QLabel()
        buttons = []
        for text, tip, slot in (("◀", "Previous channel page (PgUp)", lambda: self.page(-1)),
                                ("▶", "Next channel page (PgDn)", lambda: self.page(1)),
                                ("−", "Smaller traces (−)", lambda: self.scale_by(1.25)),
                                ("+", "Larger traces (+)", lambda: self.scale_by(0.8))):
            button = QToolButton(text=text, toolTip=tip)
            button.clicked.connect(slot)
            button.setFocusPolicy(Qt.NoFocus)
            buttons.append(button)

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Window"))
        bar.addWidget(self.window_box)
        bar.addSpacing(12)
        bar.addWidget(QLabel("Channels"))
        bar.addWidget(self.page_box)
        bar.addWidget(buttons[0])
        bar.addWidget(self.page_label)
        bar.addWidget(buttons[1])
        bar.addSpacing(12)
        bar.addWidget(QLabel("Scale"))
        bar.addWidget(buttons[2])
        bar.addWidget(self.scale_label)
        bar.addWidget(buttons[3])
        bar.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.scrollbar)
        self.apply_theme()

    def apply_theme(self) -> None:
        c = theme.colors()
        theme.style_plot(self.plot)
        self.plot.getPlotItem().showGrid(x=False, y=False)  # grid lines cost a third of a frame
        self.curve.setPen(pg.mkPen(c["trace"], width=1))
        self.bad_curve.setPen(pg.mkPen(c["trace_bad"], width=1))
        self.event_curve.setPen(pg.mkPen(c["event"], width=1, style=Qt.DashLine))
        for label in self._event_labels:
            label.setColor(c["event"])

    # ------------------------------------------------------------------------ model
    def set_source(self, source, bads: set[str] | None = None) -> None:
        """Show ``source`` (an `ArraySource`, `RawSource` or None to clear)."""
        self.source = source
        self.bads = set(bads or [])
        self.start_s, self.first_channel = 0.0, 0
        if source is None:
            self.curve.setData([], [])
            self.bad_curve.setData([], [])
            return
        total = source.n_times / source.sfreq
        self.duration_s = min(self.duration_s, max(total, 0.5))
        self.page_size = min(self.page_size, len(source.ch_names))
        self.spacing = self._auto_spacing()
        for widget, value in ((self.window_box, self.duration_s), (self.page_box, self.page_size)):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)
        self.page_box.setMaximum(len(source.ch_names))
        self._update_scrollbar()
        self._update_ticks()
        self.redraw()

    def _auto_spacing(self) -> float:
        n = min(self.source.n_times, int(10 * self.source.sfreq))
        picks = np.arange(min(len(self.source.ch_names), 64))
        data = np.asarray(self.source.get(picks, 0, n), dtype=float)
        spread = np.nanmedian(np.nanstd(data, axis=1)) if data.size else 1.0
        return float(6 * spread) if np.isfinite(spread) and spread > 0 else 1.0

    @property
    def total_s(self) -> float:
        return self.source.n_times / self.source.sfreq if self.source else 0.0

    def visible_channels(self) -> list[str]:
        if self.source is None:
            return []
        return self.source.ch_names[self.first_channel:self.first_channel + self.page_size]

    def set_view(self, start_s: float | None = None, duration_s: float | None = None) -> None:
        if self.source is None:
            return
        if duration_s is not None:
            self.duration_s = float(min(max(duration_s, 0.5), max(self.total_s, 0.5)))
        if start_s is not None:
            self.start_s = float(start_s)
        self.start_s = float(min(max(self.start_s, 0.0), max(self.total_s - self.duration_s, 0.0)))
        self._update_scrollbar()
        self.redraw()

    def scroll(self, windows: float) -> None:
        self.set_view(start_s=self.start_s + windows * self.duration_s)

    def zoom(self, factor: float) -> None:
        center = self.start_s + self.duration_s / 2
        duration = self.duration_s * factor
        self.set_view(start_s=center - duration / 2, duration_s=duration)
        self.window_box.blockSignals(True)
        self.window_box.setValue(self.duration_s)
        self.window_box.blockSignals(False)

    def page(self, step: int) -> None:
        if self.source is None:
            return
        n = len(self.source.ch_names)
        self.first_channel = int(min(max(self.first_channel + step * self.page_size, 0), max(n - self.page_size, 0)))
        self._update_ticks()
        self.redraw()

    def set_page_size(self, size: int) -> None:
        self.page_size = max(1, int(size))
        if self.source is not None:
            self.first_channel = min(self.first_channel, max(len(self.source.ch_names) - self.page_size, 0))
            self._update_ticks()
            self.redraw()

    def scale_by(self, factor: float) -> None:
        self.spacing *= factor
        self.redraw()

    def toggle_bad(self, channel: str) -> None:
        self.bads.symmetric_difference_update({channel})
        self._update_ticks()
        self.redraw()
        self.bad_toggled.emit(channel)

    def set_bads(self, bads: set[str]) -> None:
        self.bads = set(bads)
        self._update_ticks()
        self.redraw()

    # ---------------------------------------------------------------------- drawing
    def _update_scrollbar(self) -> None:
        self.scrollbar.blockSignals(True)
        self.scrollbar.setRange(0, int(max(self.total_s - self.duration_s, 0) * 10))
        self.scrollbar.setPageStep(int(self.duration_s * 10))
        self.scrollbar.setSingleStep(max(1, int(self.duration_s * 2.5)))
        self.scrollbar.setValue(int(self.start_s * 10))
        self.scrollbar.blockSignals(False)

    def _update_ticks(self) -> None:
        names = self.visible_channels()
        ticks = [(-i, f"{name} ✕" if name in self.bads else name) for i, name in enumerate(names)]
        self.plot.getPlotItem().getAxis("left").setTicks([ticks, []])
        self.page_label.setText(f"{self.first_channel + 1}–{self.first_channel + len(names)} "
                                f"of {len(self.source.ch_names) if self.source else 0}")

    def redraw(self) -> None:
        """Read and draw the visible window (envelope per pixel column)."""
        if self.source is None:
            return
        sfreq = self.source.sfreq
        start = int(self.start_s * sfreq)
        stop = min(int((self.start_s + self.duration_s) * sfreq) + 1, self.source.n_times)
        picks = np.arange(self.first_channel, self.first_channel + len(self.visible_channels()))
        data = np.asarray(self.source.get(picks, start, stop), dtype=np.float32)
        data = data - data.mean(axis=1, keepdims=True)
        columns = max(int(self.plot.getViewBox().width()), 200)
        x, env = minmax_decimate(data, columns)
        t = (start + x) / sfreq
        offsets = -np.arange(len(picks), dtype=np.float32)[:, None]
        y = env / np.float32(self.spacing) + offsets
        bad = np.array([self.source.ch_names[p] in self.bads for p in picks], dtype=bool)
        self.last_points = int(y.size)
        for curve, rows in ((self.curve, ~bad), (self.bad_curve, bad)):
            n_rows = int(rows.sum())
            if n_rows == 0:
                curve.setData([], [])
                continue
            # One path for all traces, a NaN between two traces ("finite" connect is
            # pyqtgraph's fastest way to draw many separate lines as one item).
            ys = np.empty((n_rows, len(t) + 1), dtype=np.float32)
            ys[:, :-1], ys[:, -1] = y[rows], np.nan
            curve.setData(np.tile(np.append(t, np.nan), n_rows), ys.ravel(), connect="finite")
        self.plot.setXRange(self.start_s, self.start_s + self.duration_s, padding=0)
        self.plot.setYRange(-len(picks) + 0.3, 0.7, padding=0)
        self.scale_label.setText(f"{self.spacing:.3g} {self.source.unit}")
        self._draw_events()
        self.view_changed.emit()

    def _draw_events(self) -> None:
        """Events as one dashed curve of vertical segments plus a label each (pooled)."""
        events = self.source.events
        times = np.array([e[0] for e in events]) if events else np.empty(0)
        lo, hi = np.searchsorted(times, [self.start_s, self.start_s + self.duration_s])
        visible = events[lo:hi][:200]
        n_rows = len(self.visible_channels())
        if visible:
            x = np.repeat([onset for onset, _ in visible], 2)
            y = np.tile([0.7, -n_rows + 0.3], len(visible))
            connect = np.tile([True, False], len(visible))
            self.event_curve.setData(x, y, connect=connect)
        else:
            self.event_curve.setData([], [])
        c = theme.colors()
        while len(self._event_labels) < len(visible):
            label = pg.TextItem(color=c["event"], anchor=(0, 0))
            self.plot.addItem(label, ignoreBounds=True)
            self._event_labels.append(label)
        for label, (onset, text) in zip(self._event_labels, visible):
            label.setText(str(text))
            label.setPos(onset, 0.7)
            label.setVisible(True)
        for label in self._event_labels[len(visible):]:
            label.setVisible(False)

    # ------------------------------------------------------------------------ input
    def _clicked(self, event) -> None:
        if self.source is None or event.button() != Qt.LeftButton:
            return
        point = self.plot.getViewBox().mapSceneToView(event.scenePos())
        index = int(round(-point.y()))
        names = self.visible_channels()
        if 0 <= index < len(names):
            self.toggle_bad(names[index])

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Wheel:
            delta = event.angleDelta().y()
            if event.modifiers() & Qt.ControlModifier:
                self.zoom(0.8 if delta > 0 else 1.25)
            else:
                self.scroll(-0.25 if delta > 0 else 0.25)
            return True
        return super().eventFilter(obj, event)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        key, shift = event.key(), bool(event.modifiers() & Qt.ShiftModifier)
        actions = {
            Qt.Key_Right: lambda: self.scroll(1.0 if shift else 0.25),
            Qt.Key_Left: lambda: self.scroll(-1.0 if shift else -0.25),
            Qt.Key_PageDown: lambda: self.page(1), Qt.Key_PageUp: lambda: self.page(-1),
            Qt.Key_Plus: lambda: self.scale_by(0.8), Qt.Key_Equal: lambda: self.scale_by(0.8),
            Qt.Key_Minus: lambda: self.scale_by(1.25),
            Qt.Key_BracketLeft: lambda: self.zoom(0.8), Qt.Key_BracketRight: lambda: self.zoom(1.25),
            Qt.Key_Home: lambda: self.set_view(start_s=0), Qt.Key_End: lambda: self.set_view(start_s=self.total_s),
        }
        if key in actions:
            actions[key]()
        else:
            super().keyPressEvent(event)
