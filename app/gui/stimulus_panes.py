"""The Data view's Stimuli tab, for sets whose samples carry the image shown (stimulus pairs,
the visual fMRI demo): a gallery of the distinct stimuli, the voxels each subject has and the
size of each split. What is shown comes from `data.fmri.views`."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from . import theme
from .image_grid import ImageGrid

N_COLUMNS = 8
N_SHOWN = 24
CAPTION_HEIGHT = 16   # px
SAVE_BUTTON_ROOM = 30   # px kept free above the first row


class StimulusGallery(ImageGrid):
    """An `ImageGrid` laid out as a gallery: one image per cell, its caption above it (the
    loss-term plot of the training grid is not used here)."""

    def __init__(self, max_images: int = N_SHOWN):
        super().__init__(max_images)
        self.terms.hide()
        # the top-right corner holds the Save figure button (app/gui/figure_actions.py)
        self.layout_widget.ci.setContentsMargins(2, SAVE_BUTTON_ROOM, 2, 2)

    def show_gallery(self, images: np.ndarray, captions: list[str], n_columns: int = N_COLUMNS) -> None:
        grid = self.layout_widget
        grid.clear()
        n = min(len(images), self.max_images)
        fg = theme.colors()["plot_foreground"]
        shown = np.asarray(images[:n], dtype=float)
        lo, hi = (float(np.nanmin(shown)), float(np.nanmax(shown))) if n else (0.0, 1.0)
        for i in range(n):
            row, col = divmod(i, n_columns)
            caption = grid.addLabel(captions[i], row=2 * row, col=col, color=fg, size="8pt")
            caption.setMaximumHeight(CAPTION_HEIGHT)   # the image gets the rest of the cell
            view = grid.addViewBox(row=2 * row + 1, col=col, lockAspect=True, invertY=True, enableMouse=False)
            image = shown[i] if shown[i].ndim == 2 else shown[i].mean(axis=-1)
            view.addItem(pg.ImageItem(image.T, levels=(lo, hi if hi > lo else lo + 1)))
        self.n_shown = n

    def clear_gallery(self) -> None:
        self.layout_widget.clear()
        self.n_shown = 0


class StimulusPane(QWidget):
    """Shown for sets with stimulus images (`applies_to`); empty otherwise."""

    EMPTY = "Open a set of voxel vectors paired with the images shown to see its stimuli here."

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.data = None
        self.note = QLabel(self.EMPTY)
        self.note.setWordWrap(True)
        self.grid = StimulusGallery()
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.grid, 1)

    @staticmethod
    def applies_to(data) -> bool:
        from data.fmri.views import has_stimulus_images

        return data is not None and has_stimulus_images(data)

    def apply_theme(self) -> None:
        """Redraw in the current theme's colours (`theme.apply` calls it)."""
        self.grid.setBackground(theme.colors()["plot_background"])
        self.set_data(self.data)

    def set_data(self, data) -> None:
        from data.fmri.views import distinct_stimuli, split_sizes, voxels_per_subject

        self.data = data if self.applies_to(data) else None
        if self.data is None:
            self.grid.clear_gallery()
            self.note.setText(self.EMPTY)
            return
        images, captions = distinct_stimuli(self.data, N_SHOWN)
        self.grid.show_gallery(images, captions)
        n_distinct = len(np.unique(np.asarray(self.data.stimuli).reshape(len(self.data), -1), axis=0))
        shape = "×".join(map(str, np.shape(self.data.stimuli)[1:]))
        voxels = " · ".join(f"{s} {n}" for s, n in voxels_per_subject(self.data).items())
        splits = " · ".join(f"{s} {n}" for s, n in split_sizes(self.data).items())
        self.note.setText(f"{len(self.data)} samples, {n_distinct} distinct {shape} stimuli "
                          f"(first {len(images)} shown).<br><b>voxels per subject</b>: {voxels}"
                          f"<br><b>samples per split</b>: {splits}")
