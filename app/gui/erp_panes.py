"""The Data view's ERP tab, for sets whose paradigm is ``erp`` or ``speller``: the class-average
ERP of a chosen channel with the target-minus-nontarget difference, and the signed r² map
(time x channel) of target vs nontarget. The numbers come from `data.sources.erp`."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

PARADIGMS = ("erp", "speller")


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
        self.r2_plot = pg.PlotWidget(title="signed r², target vs nontarget")
        self.r2_plot.setLabel("bottom", "time after stimulus (s)")
        self.r2_plot.setLabel("left", "channel")
        self.r2_image = pg.ImageItem()
        self.r2_plot.addItem(self.r2_image)
        row = QHBoxLayout()
        row.addWidget(QLabel("Channel"))
        row.addWidget(self.channel_box)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addLayout(row)
        layout.addWidget(self.erp_plot, 1)
        layout.addWidget(self.r2_plot, 1)
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

    def set_data(self, data) -> None:
        from data.sources.erp import class_averages, signed_r2

        self.data = data if self.applies_to(data) else None
        self.erp_plot.clear()
        self.r2_image.clear()
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
