"""The Data view's fMRI tab: for ROI-series sets, a subject's ROI series, its connectivity
matrix and the group difference of two classes; for NIfTI sets, axial slices of the mean
volume with the mask or atlas over it. What is drawn comes from `data.fmri.views`."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

N_SERIES = 8   # ROI series drawn for the chosen subject


def _image_plot(title: str) -> tuple[pg.PlotWidget, pg.ImageItem]:
    plot = pg.PlotWidget(title=title)
    plot.setAspectLocked(True)
    plot.invertY(True)
    item = pg.ImageItem()
    plot.addItem(item)
    return plot, item


class FmriPane(QWidget):
    """Shown for sets whose modality is ``fmri-roi`` or ``fmri``; empty otherwise."""

    subject_changed = Signal(int)   # the subject whose series `browser_source` gives

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.data = None
        self.note = QLabel("Open an fMRI data set (ROI series or NIfTI) to see it here.")
        self.note.setWordWrap(True)
        self.subject_box = QSpinBox()
        self.subject_box.setToolTip("Subject (sample) whose series and connectivity are shown")
        self.subject_box.valueChanged.connect(self._show_subject)
        self.series_plot = pg.PlotWidget(title="ROI series")
        self.series_plot.setLabel("bottom", "time point")
        self.fc_plot, self.fc_image = _image_plot("connectivity (Pearson r)")
        self.diff_plot, self.diff_image = _image_plot("group difference")
        self.volume_plot, self.volume_image = _image_plot("mean volume, axial slices")
        self.volume_plot.invertY(False)
        self.overlay_image = pg.ImageItem()
        self.overlay_image.setOpacity(0.3)
        self.volume_plot.addItem(self.overlay_image)
        self.roi_panel = QWidget()          # everything shown for ROI-series sets
        roi_layout = QVBoxLayout(self.roi_panel)
        roi_layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Subject"))
        row.addWidget(self.subject_box)
        row.addStretch(1)
        mats = QHBoxLayout()
        mats.addWidget(self.fc_plot)
        mats.addWidget(self.diff_plot)
        roi_layout.addLayout(row)
        roi_layout.addWidget(self.series_plot, 1)
        roi_layout.addLayout(mats, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.roi_panel, 1)
        layout.addWidget(self.volume_plot, 1)
        self.set_data(None)

    @staticmethod
    def is_roi_set(data) -> bool:
        """ROI series: trials of (ROIs, time points)."""
        return data is not None and data.modality == "fmri-roi" and np.ndim(data.X) == 3

    @staticmethod
    def is_volume_set(data) -> bool:
        """Samples read from NIfTI images (a stimulus-pair or simulated set has none to slice)."""
        from data.fmri.views import nifti_image

        return data is not None and data.modality == "fmri" and nifti_image(data) is not None

    @classmethod
    def applies_to(cls, data) -> bool:
        return cls.is_roi_set(data) or cls.is_volume_set(data)

    def apply_theme(self) -> None:
        """Colour the plots for the current theme (`theme.apply` calls it)."""
        from . import theme

        for plot in (self.series_plot, self.fc_plot, self.diff_plot, self.volume_plot):
            theme.style_plot(plot)

    def set_data(self, data) -> None:
        self.data = data if self.applies_to(data) else None
        roi = self.is_roi_set(self.data)
        nifti = self.is_volume_set(self.data)
        self.roi_panel.setVisible(roi)
        self.volume_plot.setVisible(nifti)
        if roi:
            self._show_roi_set()
        elif nifti:
            self._show_volume()
        else:
            self.note.setText("Open an fMRI data set (ROI series or NIfTI) to see it here.")
            self.series_plot.clear()
            for image in (self.fc_image, self.diff_image, self.volume_image, self.overlay_image):
                image.clear()

    # ---------------------------------------------------------------- ROI series
    def _show_roi_set(self) -> None:
        from data.fmri.views import group_difference

        d = self.data
        self.subject_box.blockSignals(True)
        self.subject_box.setRange(0, len(d) - 1)
        self.subject_box.setValue(0)
        self.subject_box.blockSignals(False)
        self._show_subject(0)
        if d.y is not None and len(d.class_names) >= 2:
            a, b = d.class_names[0], d.class_names[1]
            diff = group_difference(d, 0, 1)
            lim = float(np.percentile(np.abs(diff), 99)) or 1.0   # a few outliers would wash it out
            self.diff_image.setImage(diff, levels=(-lim, lim))
            self.diff_image.setColorMap(pg.colormap.get("CET-D1"))
            # short titles: the two matrices share the pane's width (about 300 px at 1280 x 800)
            self.diff_plot.setTitle(f"{a} − {b} (mean Fisher z)")   # group sizes: in the note
        else:
            self.diff_image.clear()
            self.diff_plot.setTitle("group difference: needs two labelled classes")
        counts = np.bincount(d.y.astype(int), minlength=len(d.class_names)) if d.y is not None else []
        self.note.setText(f"{len(d)} subjects, {d.X.shape[1]} ROIs"
                          + (", classes " + " · ".join(f"{c} {int(n)}" for c, n in zip(d.class_names, counts))
                             if d.class_names and len(counts) else ""))

    def _show_subject(self, index: int) -> None:
        from data.fmri.views import subject_connectivity

        d = self.data
        if not self.is_roi_set(d):
            return
        x = d.X[index]
        x = x[:, ~np.isnan(x).any(axis=0)]
        self.series_plot.clear()
        step = 4.0 * float(np.nanstd(x[:N_SERIES])) or 1.0
        for k in range(min(N_SERIES, len(x))):
            self.series_plot.plot(x[k] - x[k].mean() + k * step, pen=pg.intColor(k, N_SERIES))
        self.series_plot.setTitle(f"ROI series, subject {d.subject[index]} (first {min(N_SERIES, len(x))} ROIs)")
        self.fc_image.setImage(subject_connectivity(d.X, index), levels=(-1, 1))
        self.fc_image.setColorMap(pg.colormap.get("CET-D1"))
        self.fc_plot.setTitle(f"Pearson r, subject {d.subject[index]}")
        self.subject_changed.emit(index)

    def browser_source(self):
        """The chosen subject's ROI series for the signal browser (None for other sets)."""
        from .signal_browser import ArraySource

        d = self.data
        if not self.is_roi_set(d):
            return None
        x = d.X[self.subject_box.value()]
        x = x[:, ~np.isnan(x).any(axis=0)]
        sfreq = d.sfreq or 1.0   # TR unknown: one "second" per time point
        return ArraySource(x, sfreq, list(d.ch_names), ["misc"] * len(x), unit="a.u.")

    # ---------------------------------------------------------------- volumes
    def _show_volume(self) -> None:
        from data.fmri.views import mean_volume_slices

        mean, overlay, name = mean_volume_slices(self.data)
        self.volume_image.setImage(mean, levels=(float(mean.min()), float(mean.max()) or 1.0))
        if overlay is not None:
            n = int(overlay.max()) or 1
            lut = (pg.colormap.get("CET-R4").getLookupTable(nPts=max(n, 2), alpha=True)
                   if n > 1 else np.array([[255, 60, 60, 255]], np.ubyte))
            rgba = np.zeros((*overlay.shape, 4), np.ubyte)
            on = overlay > 0
            rgba[on] = lut[(np.clip(overlay[on], 1, n) - 1).astype(int) % len(lut)]
            self.overlay_image.setImage(rgba)
        else:
            self.overlay_image.clear()
        self.volume_plot.setTitle("mean volume, axial slices" + (f", {name} over it" if name else ""))
        self.note.setText(f"{len(self.data)} samples, {self.data.X.shape[1]} voxels, "
                          f"classes {', '.join(self.data.class_names)}")
