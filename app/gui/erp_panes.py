"""The Data view's ERP tab, for sets whose paradigm is ``erp`` or ``speller``: the class-average
ERP of a chosen channel with the target-minus-nontarget difference, the signed r² map
(time x channel) of target vs nontarget, and topomaps of the difference at its peak latencies
(MNE's ``plot_topomap`` with the standard 10-05 positions of the channels whose names have
one; without three such channels the pane says the positions are unknown). The numbers come
from `data.sources.erp`."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..explain_figures import standard_positions

PARADIGMS = ("erp", "speller")
N_PEAKS = 3           # topomaps drawn
PEAK_GAP_S = 0.1      # peaks closer than this are one peak
MIN_POSITIONED = 3    # channels with a known position needed for a topomap


def peak_latencies(diff: np.ndarray, times: np.ndarray, n: int = N_PEAKS,
                   min_gap_s: float = PEAK_GAP_S) -> list[int]:
    """Sample indices of the ``n`` largest peaks (in time order) of the difference wave's
    global field power (the root mean square over channels of ``diff``, channels x times),
    at least ``min_gap_s`` apart."""
    from scipy.signal import find_peaks

    gfp = np.sqrt(np.mean(np.square(diff), axis=0))
    step = float(times[1] - times[0]) if len(times) > 1 else 1.0
    peaks, _ = find_peaks(gfp, distance=max(1, int(round(min_gap_s / step))))
    if len(peaks) == 0:
        peaks = np.array([int(np.argmax(gfp))])
    return sorted(int(k) for k in peaks[np.argsort(gfp[peaks])[::-1][:n]])


class ErpPane(QWidget):
    """Shown for ERP and speller sets; empty otherwise."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.data = None
        self._averages: dict[str, np.ndarray] = {}
        self.note = QLabel("Load an ERP set (a BCI2000 recording with paradigm erp or speller) to see it here.")
        self.note.setWordWrap(True)
        self.channel_box = QComboBox()
        self.channel_box.setToolTip("Channel whose class averages are drawn")
        self.channel_box.currentIndexChanged.connect(self._show_channel)
        self.erp_plot = pg.PlotWidget(title="class averages")
        self.erp_plot.setLabel("bottom", "time after stimulus (s)")
        self.erp_plot.setLabel("left", "µV")
        self.erp_plot.addLegend(offset=(10, 10))
        self.r2_plot = pg.PlotWidget(title="signed r² map")   # short: Save figure sits right of the title
        self.r2_plot.setToolTip("Signed r² of target vs nontarget per channel and time (red: target larger)")
        self.r2_plot.setLabel("bottom", "time after stimulus (s)")
        self.r2_plot.setLabel("left", "channel")
        self.r2_image = pg.ImageItem()
        self.r2_plot.addItem(self.r2_image)
        for plot in (self.erp_plot, self.r2_plot):   # seconds stay seconds (no "(x0.001)" rescaling)
            plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.topo_note = QLabel()
        self.topo_note.setWordWrap(True)
        self.topo_figure = Figure(figsize=(6, 1.8), layout="constrained")
        self.topo_canvas = FigureCanvasQTAgg(self.topo_figure)
        self.topo_canvas.setMinimumHeight(80)
        self.topo_times: list[float] = []   # latencies of the topomaps drawn
        row = QHBoxLayout()
        row.addWidget(QLabel("Channel"))
        row.addWidget(self.channel_box)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addLayout(row)
        plots = QHBoxLayout()
        plots.addWidget(self.erp_plot, 1)
        plots.addWidget(self.r2_plot, 1)
        layout.addLayout(plots, 3)
        layout.addWidget(self.topo_note)
        layout.addWidget(self.topo_canvas, 2)
        self.set_data(None)

    @staticmethod
    def applies_to(data) -> bool:
        return data is not None and getattr(data, "paradigm", None) in PARADIGMS and data.y is not None \
            and np.ndim(data.X) == 3

    def apply_theme(self) -> None:
        """Colour the plots for the current theme (`theme.apply` calls it)."""
        from . import theme

        for plot in (self.erp_plot, self.r2_plot):
            theme.style_plot(plot)
        self.erp_plot.plotItem.legend.setLabelTextColor(theme.colors()["plot_foreground"])
        self._show_channel(self.channel_box.currentIndex())   # legend labels take the colour when redrawn
        self._draw_topomaps()

    def set_data(self, data) -> None:
        from data.sources.erp import class_averages, signed_r2

        self.data = data if self.applies_to(data) else None
        self.erp_plot.clear()
        self.r2_image.clear()
        self._averages = {}
        self._draw_topomaps()
        self.channel_box.blockSignals(True)
        self.channel_box.clear()
        if self.data is None:
            self.channel_box.blockSignals(False)
            self.note.setText("Load an ERP set (a BCI2000 recording with paradigm erp or speller) to see it here.")
            return
        d = self.data
        self._averages = class_averages(d)
        self.channel_box.addItems(list(d.ch_names))
        r2 = signed_r2(d)
        best = int(np.argmax(r2.max(axis=1)))   # open on the channel with the strongest target effect
        self.channel_box.setCurrentIndex(best)
        self.channel_box.blockSignals(False)
        lim = float(np.abs(r2).max()) or 1.0
        times = np.asarray(d.times, dtype=float)
        step = float(times[1] - times[0]) if len(times) > 1 else 1.0
        self.r2_image.setImage(r2.T, levels=(-lim, lim))   # x: time, y: channel
        self.r2_image.setColorMap(pg.colormap.get("CET-D1"))
        self.r2_image.setRect(float(times[0]), 0.0, step * len(times), float(len(d.ch_names)))
        axis = self.r2_plot.getAxis("left")
        axis.setTicks([[(k + 0.5, name) for k, name in enumerate(d.ch_names)]])
        peak_ch, peak_t = np.unravel_index(int(np.argmax(r2)), r2.shape)
        counts = np.bincount(d.y, minlength=len(d.class_names))
        self.note.setText(f"{len(d)} epochs ({', '.join(f'{n} {c}' for c, n in zip(d.class_names, counts))}), "
                          f"{len(d.ch_names)} channels, {times[0]:.2f}-{times[-1] + step:.2f} s at {d.sfreq:.1f} Hz; "
                          f"largest r² {r2.max():.3f} at {d.ch_names[peak_ch]}, {times[peak_t]:.3f} s")
        self._show_channel(best)
        self._draw_topomaps()

    def _draw_topomaps(self) -> None:
        """Topomaps of target − nontarget at the difference's peak latencies (or why not)."""
        from . import theme

        fig = self.topo_figure
        fig.clear()
        colours = theme.colors()
        fig.set_facecolor(colours["plot_background"])
        self.topo_times = []
        d = self.data
        if d is None or not {"target", "nontarget"} <= set(self._averages):
            self.topo_note.setText("")
            self.topo_canvas.hide()
            self.topo_canvas.draw_idle()
            return
        times = np.asarray(d.times, dtype=float)
        diff = self._averages["target"] - self._averages["nontarget"]
        positions = standard_positions(d.ch_names)
        peaks = peak_latencies(diff, times)
        at = ", ".join(f"{times[k]:.3f} s" for k in peaks)
        if len(positions) < MIN_POSITIONED:
            self.topo_note.setText(f"Topomaps: channel positions unknown ({len(positions)} of {len(d.ch_names)} "
                                   f"channel names are on the standard 10-05 montage, e.g. "
                                   f"{', '.join(list(d.ch_names)[:3])}); peaks of target − nontarget at {at}.")
            self.topo_canvas.hide()
            self.topo_canvas.draw_idle()
            return
        import mne

        keep = [i for i, name in enumerate(d.ch_names) if name in positions]
        names = [d.ch_names[i] for i in keep]
        info = mne.create_info(names, float(d.sfreq), "eeg")
        info.set_montage(mne.channels.make_dig_montage(ch_pos={n: positions[n] for n in names}, coord_frame="head"))
        lim = float(np.abs(diff[keep][:, peaks]).max()) or 1.0
        axes = fig.subplots(1, len(peaks) + 1, width_ratios=[1] * len(peaks) + [0.08])
        image = None
        for ax, k in zip(axes, peaks):
            image, _ = mne.viz.plot_topomap(diff[keep, k], info, axes=ax, show=False, cmap="RdBu_r",
                                            vlim=(-lim, lim), contours=4, sensors=True,
                                            extrapolate="local")   # few channels: no guessing beyond them
            ax.set_title(f"{times[k]:.3f} s", color=colours["plot_foreground"], fontsize=9)
            for line in ax.get_lines():   # head, nose and ears: drawn black, unseen on the dark theme
                line.set_color(colours["plot_foreground"])
        bar = fig.colorbar(image, cax=axes[-1])
        bar.ax.tick_params(colors=colours["plot_foreground"], labelsize=8)
        bar.set_label("µV", color=colours["plot_foreground"], fontsize=8)
        self.topo_times = [float(times[k]) for k in peaks]
        missing = len(d.ch_names) - len(keep)
        self.topo_note.setText(f"Topomaps of target − nontarget at its peak latencies ({at}); standard 10-05 "
                               f"positions" + (f", {missing} channel(s) without one left out" if missing else ""))
        self.topo_canvas.show()
        self.topo_canvas.draw_idle()

    def _show_channel(self, index: int) -> None:
        d = self.data
        if d is None or index < 0:
            return
        self.erp_plot.clear()
        times = np.asarray(d.times, dtype=float)
        colours = {"nontarget": (120, 120, 120), "target": (220, 60, 60)}
        for name, avg in self._averages.items():
            self.erp_plot.plot(times, avg[index], pen=pg.mkPen(colours.get(name, (60, 120, 220)), width=2), name=name)
        if {"target", "nontarget"} <= set(self._averages):
            diff = self._averages["target"][index] - self._averages["nontarget"][index]
            self.erp_plot.plot(times, diff, pen=pg.mkPen((60, 120, 220), width=2, style=pg.QtCore.Qt.DashLine),
                               name="target − nontarget")
        self.erp_plot.setTitle(f"class averages, {d.ch_names[index]}")
