"""Epochs view: per-class PSD, ERD/ERS time courses, and the channel x frequency signed-r²
map of how well band power separates two classes, with a scalp map of its best band."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from data import spectra

from . import theme

MODES = ("PSD per class", "ERD/ERS per class", "signed r² map")
TOPO_SIZE = (280, 320)  # pixels of the scalp map beside the r² map


class EpochsView(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.trials = None
        self.info = None  # mne.Info of the recording: channel positions for the scalp map
        self.topo_band = self.topo_values = None
        self.mode_box = QComboBox()
        self.mode_box.addItems(MODES)
        self.mode_box.setToolTip("What to show of the trials of each class")
        self.channel_box = QComboBox()
        self.channel_box.setToolTip("Channel shown in the PSD and ERD/ERS plots")
        self.low_box = QDoubleSpinBox(decimals=1, minimum=0.5, maximum=200, value=8.0, suffix=" Hz")
        self.high_box = QDoubleSpinBox(decimals=1, minimum=1, maximum=250, value=13.0, suffix=" Hz")
        for box in (self.low_box, self.high_box):
            box.setToolTip("Band of the ERD/ERS power")
        self.status = QLabel("Make trials in the panel on the left to see them here.")
        self.status.setProperty("class", "hint")
        self.status.setWordWrap(True)
        for signal in (self.mode_box.currentIndexChanged, self.channel_box.currentIndexChanged,
                       self.low_box.valueChanged, self.high_box.valueChanged):
            signal.connect(self.redraw)

        bar = QHBoxLayout()
        bar.addWidget(self.mode_box)
        bar.addWidget(QLabel("Channel"))
        bar.addWidget(self.channel_box)
        self.band_label = QLabel("Band")
        bar.addWidget(self.band_label)
        bar.addWidget(self.low_box)
        bar.addWidget(self.high_box)
        bar.addStretch(1)

        self.curves = pg.PlotWidget()
        self.curves.addLegend(offset=(-10, 10))
        self.map_widget = pg.GraphicsLayoutWidget()
        self.map_plot = self.map_widget.addPlot()
        self.map_image = pg.ImageItem()
        self.map_plot.addItem(self.map_image)
        self.map_plot.setLabel("bottom", "frequency (Hz)")
        self.colorbar = pg.ColorBarItem(colorMap=pg.colormap.get("CET-D1A"), interactive=False, width=14)
        self.colorbar.setImageItem(self.map_image, insert_in=self.map_plot)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.curves)
        self.topo_label = QLabel()
        self.topo_label.setAlignment(Qt.AlignCenter)
        self.topo_label.setWordWrap(True)
        self.topo_label.setFixedWidth(TOPO_SIZE[0] + 8)
        self.topo_label.setProperty("class", "hint")
        self.topo_label.setToolTip("Signed r² of each channel averaged over the band around the strongest "
                                   "|r²| frequency (peak ± 2 Hz)")
        map_page = QWidget()
        map_row = QHBoxLayout(map_page)
        map_row.setContentsMargins(0, 0, 0, 0)
        map_row.setSpacing(4)
        map_row.addWidget(self.map_widget, 1)
        map_row.addWidget(self.topo_label)
        self.stack.addWidget(map_page)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.status)
        self.apply_theme()

    def apply_theme(self) -> None:
        theme.style_plot(self.curves)
        self.map_widget.setBackground(theme.colors()["plot_background"])
        theme.style_plot(self.map_plot)
        self.redraw()

    def set_info(self, info) -> None:
        """The recording's `mne.Info` (channel positions for the scalp map; None: none known)."""
        self.info = info
        if self.mode_box.currentText() == MODES[2]:
            self.redraw()

    def set_trials(self, trials) -> None:
        """Show a `DecodingSet` of trials (None clears)."""
        self.trials = trials if trials is not None and trials.kind == "trials" else None
        self.channel_box.blockSignals(True)
        self.channel_box.clear()
        if self.trials is not None:
            self.channel_box.addItems(self.trials.ch_names)
            preferred = next((c for c in ("C3", "C4", "Cz") if c in self.trials.ch_names), None)
            if preferred:
                self.channel_box.setCurrentText(preferred)
        self.channel_box.blockSignals(False)
        if trials is not None and trials.kind != "trials":
            self.status.setText(f"{trials.kind} data: class averages apply to trials only.")
        self.redraw()

    def redraw(self) -> None:
        mode = self.mode_box.currentText()
        is_map = mode == MODES[2]
        self.stack.setCurrentIndex(1 if is_map else 0)
        for widget in (self.low_box, self.high_box, self.band_label):
            widget.setVisible(mode == MODES[1])
        self.channel_box.setEnabled(not is_map)
        self.curves.clear()
        legend = self.curves.getPlotItem().legend
        if legend is not None:
            legend.clear()
        if self.trials is None:
            self.map_image.clear()
            self.topo_band = self.topo_values = None
            self._show_topo_text("")
            return
        X, y, sfreq = self.trials.X, np.asarray(self.trials.y), float(self.trials.sfreq)
        names = self.trials.class_names
        counts = ", ".join(f"{n} {int((y == i).sum())}" for i, n in enumerate(names))
        if is_map:
            self._draw_map(X, y, sfreq, names, counts)
            return
        channel = max(self.channel_box.currentIndex(), 0)
        plot = self.curves.getPlotItem()
        if mode == MODES[0]:
            freqs, psd = spectra.psd_per_class(X[:, channel:channel + 1], y, sfreq)
            for i, name in enumerate(names):
                self.curves.plot(freqs, psd[i, 0], pen=pg.mkPen(theme.class_color(i), width=2), name=name)
            plot.setLabel("bottom", "frequency (Hz)")
            plot.setLabel("left", "power (dB)")
            self.status.setText(f"Mean power spectrum of each class at {self.trials.ch_names[channel]} "
                                f"({counts} trials).")
        else:
            low, high = self.low_box.value(), self.high_box.value()
            if high <= low + 0.5 or low >= 0.45 * sfreq:
                self.status.setText("Choose a band with low < high, below half the sampling rate.")
                return
            course, reference = spectra.erd_ers(X[:, channel:channel + 1], y, sfreq, (low, high), self.trials.times)
            times = self.trials.times if self.trials.times is not None else np.arange(X.shape[-1]) / sfreq
            for i, name in enumerate(names):
                self.curves.plot(times, course[i, 0], pen=pg.mkPen(theme.class_color(i), width=2), name=name)
            self.curves.addItem(pg.InfiniteLine(0, angle=0, pen=pg.mkPen(theme.colors()["muted"], style=Qt.DashLine)))
            plot.setLabel("bottom", "time (s)")
            plot.setLabel("left", "band power change (%)")
            self.status.setText(f"{low:g}-{high:g} Hz power at {self.trials.ch_names[channel]} relative to the "
                                f"{reference}: below 0 is desynchronisation (ERD), above 0 synchronisation (ERS).")
        plot.enableAutoRange()

    def _draw_map(self, X, y, sfreq, names, counts) -> None:
        if len(names) < 2:
            self.status.setText("The signed r² map needs two classes.")
            self._show_topo_text("")
            return
        freqs, r2 = spectra.signed_r2(X, y, sfreq)
        limit = float(np.nanmax(np.abs(r2))) or 1.0
        step = freqs[1] - freqs[0] if len(freqs) > 1 else 1.0
        self.map_image.setImage(r2.T[:, ::-1], autoLevels=False)
        self.map_image.setRect(freqs[0] - step / 2, 0, len(freqs) * step, r2.shape[0])
        self.colorbar.setLevels((-limit, limit))
        ch = self.trials.ch_names
        n = len(ch)
        every = max(1, n // 32)
        self.map_plot.getAxis("left").setTicks([[(n - i - 0.5, ch[i]) for i in range(0, n, every)], []])
        self.map_plot.setXRange(freqs[0], freqs[-1], padding=0)
        self.map_plot.setYRange(0, n, padding=0)
        best = np.unravel_index(np.nanargmax(np.abs(r2)), r2.shape)
        self.status.setText(f"Signed r² of log power, {names[1]} vs {names[0]} ({counts} trials): red where "
                            f"{names[1]} has more power, blue where it has less. Strongest: {ch[best[0]]} at "
                            f"{freqs[best[1]]:g} Hz (r² {r2[best]:+.2f}).")
        self._draw_topo(r2, freqs)

    def _draw_topo(self, r2, freqs) -> None:
        ch = self.trials.ch_names
        self.topo_band, self.topo_values, placed = spectra.r2_band_topography(r2, freqs, self.info, ch)
        if len(placed) < 3:
            self._show_topo_text("No scalp map: the channels of this recording have no positions (montage).")
            return
        c = theme.colors()
        try:
            png = spectra.topomap_png(self.topo_values, ch, self.info, self.topo_band, size_px=TOPO_SIZE,
                                      background=c["plot_background"], foreground=c["plot_foreground"])
        except Exception as exc:  # a map beside the map: never worth failing the view for
            self._show_topo_text(f"No scalp map: {exc}")
            return
        self.topo_label.setPixmap(QPixmap.fromImage(QImage.fromData(png, "PNG")))

    def _show_topo_text(self, text: str) -> None:
        self.topo_label.clear()
        self.topo_label.setText(text)
