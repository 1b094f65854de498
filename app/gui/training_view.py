"""Training view: start and cancel, live loss and accuracy curves per fold (train solid,
validation dashed), progress with ETA, confusion matrix after each fold, fold metrics, the
reconstruction pane and the log."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QLabel, QPlainTextEdit, QProgressBar,
                               QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout,
                               QWidget)

from decoders.tasks import curve_names

from . import theme
from .models import format_eta
from .reconstruction import ReconstructionPane

LOSS_KEYS, SCORE_KEYS = curve_names()   # every task's curves (decoders.tasks)
SCORE_TITLE = "score"
SCORE_NAMES = {"acc": "accuracy", "masked_r2": "masked R²", "r2": "R²"}   # curve suffix -> pane title


class WholeEpochAxis(pg.AxisItem):
    """An x axis that ticks whole epochs only (never 1.5)."""

    def tickValues(self, minVal, maxVal, size):  # noqa: N802 - pyqtgraph's name
        levels = []
        for spacing, values in super().tickValues(minVal, maxVal, size):
            whole = [v for v in values if float(v).is_integer()]
            if spacing >= 1 and whole:
                levels.append((spacing, whole))
        return levels or [(1.0, [float(v) for v in range(int(np.ceil(minVal)), int(np.floor(maxVal)) + 1)])]


class CurvePlot(pg.PlotWidget):
    """One metric family, a curve per (fold, metric); points appended as epochs arrive."""

    def __init__(self, title: str, keys: tuple[str, ...], ylabel: str, legend: bool = True):
        super().__init__(axisItems={"bottom": WholeEpochAxis("bottom")})
        self.keys = keys
        self.ylabel = ylabel
        self.setTitle(title)
        self.setLabel("bottom", "epoch")
        self.setLabel("left", ylabel)
        self.getAxis("left").enableAutoSIPrefix(False)
        self.getAxis("bottom").enableAutoSIPrefix(False)
        # one legend entry per fold, in rows of four: the note under the plots explains solid / dashed
        self.legend = self.addLegend(offset=(-10, 5), labelTextSize="8pt", colCount=4) if legend else None
        self.curves: dict[tuple, pg.PlotDataItem] = {}
        self.note = pg.TextItem("", anchor=(0.5, 0.5))
        self.note.setParentItem(self.getPlotItem().getViewBox())

    def reset(self, title: str | None = None) -> None:
        """Empty the plot for a new run: no curves, no note, the axes back to a neutral range
        and following the data again (a previous run's range or a zoom must not stay)."""
        self.clear()
        if self.legend is not None:
            self.legend.clear()
        self.curves.clear()
        if title is not None:
            self.setTitle(title)
        self.setLabel("left", self.ylabel)
        view = self.getPlotItem().getViewBox()
        view.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
        view.enableAutoRange()
        self.show_note("")

    def show_note(self, text: str) -> None:
        """A line of text in the middle of the plot (e.g. why it stays empty)."""
        self.note.setText(text)
        self.note.setColor(theme.colors()["muted"])
        box = self.getPlotItem().getViewBox().boundingRect()
        self.note.setPos(box.center())

    def update_fold(self, fold, rows: list[dict]) -> None:
        for key in self.keys:
            points = [(r.get("epoch", i + 1), r[key]) for i, r in enumerate(rows)
                      if r.get(key) is not None and np.isfinite(r[key])]
            if not points:
                continue
            curve = self.curves.get((fold, key))
            if curve is None:
                color = theme.fold_color(fold if isinstance(fold, int) else 7)
                style = Qt.SolidLine if key.startswith("train") else Qt.DashLine
                first_of_fold = not any(f == fold for f, _ in self.curves)
                label = "all data" if fold == "final" else f"fold {fold}"
                curve = self.plot([], [], pen=pg.mkPen(color, width=2, style=style),
                                  name=label if self.legend is not None and first_of_fold else None)
                self.curves[(fold, key)] = curve
            x, y = zip(*points)
            curve.setData(np.asarray(x, float), np.asarray(y, float))

    def n_points(self, fold, key: str) -> int:
        curve = self.curves.get((fold, key))
        return 0 if curve is None or curve.xData is None else len(curve.xData)


class ConfusionView(QWidget):
    """Confusion matrix (rows: true class, columns: predicted) of a fold or of all folds."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.fold_box = QComboBox()
        self.fold_box.currentIndexChanged.connect(self._redraw)
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.caption = QLabel("After each fold, its confusion matrix appears here (rows: true class, "
                              "columns: predicted).")
        self.caption.setProperty("class", "hint")
        self.caption.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(QLabel("Show"))
        row.addWidget(self.fold_box)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.caption)
        self.matrices: dict = {}
        self.class_names: list[str] = []

    def reset(self, class_names: list[str]) -> None:
        self.matrices = {}
        self.class_names = list(class_names)
        self.fold_box.clear()
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)

    def add_fold(self, fold, matrix) -> None:
        self.matrices[fold] = np.asarray(matrix, dtype=float)
        self.fold_box.blockSignals(True)
        self.fold_box.clear()
        if len(self.matrices) > 1:
            self.fold_box.addItem("all folds", "all")
        for key in self.matrices:
            self.fold_box.addItem(f"fold {key}", key)
        self.fold_box.setCurrentIndex(self.fold_box.findData(fold))
        self.fold_box.blockSignals(False)
        self._redraw()

    def _redraw(self) -> None:
        key = self.fold_box.currentData()
        if key is None:
            return
        matrix = sum(self.matrices.values()) if key == "all" else self.matrices[key]
        n = matrix.shape[0]
        names = self.class_names if len(self.class_names) == n else [str(i) for i in range(n)]
        self.table.setRowCount(n)
        self.table.setColumnCount(n)
        self.table.setHorizontalHeaderLabels([f"→ {c}" for c in names])
        self.table.setVerticalHeaderLabels(names)
        accent = QColor(theme.colors()["accent"])
        rows = matrix.sum(axis=1, keepdims=True)
        share = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
        for i in range(n):
            for j in range(n):
                item = QTableWidgetItem(f"{matrix[i, j]:g}  ({share[i, j]:.0%})")
                item.setTextAlignment(Qt.AlignCenter)
                color = QColor(accent)
                color.setAlphaF(0.12 + 0.75 * float(share[i, j]))
                item.setBackground(QBrush(color))
                self.table.setItem(i, j, item)
        total = matrix.sum()
        accuracy = np.trace(matrix) / total if total else float("nan")
        self.caption.setText(f"{'All folds' if key == 'all' else f'Fold {key}'}: {total:g} test trials, "
                             f"accuracy {accuracy:.1%}. Rows: true class; columns: predicted.")


class TrainingView(QWidget):
    start_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, workbench, parent: QWidget | None = None):
        super().__init__(parent)
        self.wb = workbench
        self.model = workbench.training
        self._previews_sized = False
        self._build()
        self.model.subscribe(self._changed)
        self._clock = QTimer(self, interval=500)
        self._clock.timeout.connect(self._show_progress)

    def _build(self) -> None:
        title = QLabel("Train")
        title.setObjectName("viewTitle")
        self.setup = QLabel("Choose data and a decoder, then start.")
        self.setup.setObjectName("viewHint")
        self.setup.setWordWrap(True)
        self.start_button = QPushButton("Start training")
        self.start_button.setObjectName("primary")
        self.start_button.setToolTip("Train and evaluate with the current settings (F5)")
        self.start_button.clicked.connect(self.start_requested)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop after the current batch; finished folds are kept for a resume (Esc)")
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.cancel_button.setEnabled(False)
        head = QHBoxLayout()
        titles = QVBoxLayout()
        titles.addWidget(title)
        titles.addWidget(self.setup)
        head.addLayout(titles, 1)
        head.addWidget(self.start_button)
        head.addWidget(self.cancel_button)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress_label = QLabel("idle")
        self.progress_label.setFixedWidth(430)  # text changes must not re-lay the view out
        prow = QHBoxLayout()
        prow.addWidget(self.progress, 1)
        prow.addWidget(self.progress_label)

        self.loss_plot = CurvePlot("loss", LOSS_KEYS, "loss")
        self.score_plot = CurvePlot(SCORE_TITLE, SCORE_KEYS, "accuracy / R²", legend=False)
        curves = QSplitter(Qt.Horizontal)
        curves.addWidget(self.loss_plot)
        curves.addWidget(self.score_plot)
        self.curve_note = QLabel("One colour per fold; solid: training, dashed: validation (when the decoder "
                                 "holds some trials out, e.g. val_fraction).")
        self.curve_note.setProperty("class", "hint")

        self.confusion = ConfusionView()
        self.folds = QTableWidget()
        self.folds.setEditTriggers(QTableWidget.NoEditTriggers)
        self.folds.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.reconstruction = ReconstructionPane()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        self.log.setObjectName("log")
        self.tabs = QTabWidget()
        self.tabs.addTab(self.confusion, "Confusion matrix")
        self.tabs.addTab(self.folds, "Fold results")
        self.tabs.addTab(self.reconstruction, "Reconstruction")
        self.tabs.addTab(self.log, "Log")

        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(curves, 1)
        tl.addWidget(self.curve_note)
        self.split = split = QSplitter(Qt.Vertical)
        split.addWidget(top)
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)

        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addLayout(prow)
        layout.addWidget(split, 1)
        self.apply_theme()

    def apply_theme(self) -> None:
        for plot in (self.loss_plot, self.score_plot):
            theme.style_plot(plot)
            plot.showGrid(x=False, y=True, alpha=theme.colors()["plot_grid"])  # y grid: half the paint

    def describe_setup(self, text: str) -> None:
        self.setup.setText(text)

    # --------------------------------------------------------------------- model
    def _changed(self, change: str, info: dict) -> None:
        if change == "reset":
            self.loss_plot.reset()
            self.score_plot.reset(SCORE_TITLE)
            self.score_plot.setVisible(True)
            self._previews_sized = False
            self.confusion.reset(self.model.class_names)
            self.folds.clear()
            self.folds.setRowCount(0)
            self.folds.setColumnCount(0)
            self.reconstruction.clear()
            self.log.clear()
            self._show_progress()
        elif change == "state":
            running = self.model.running
            self.start_button.setEnabled(not running)
            self.cancel_button.setEnabled(running)
            self.confusion.class_names = self.model.class_names
            classes = bool(self.model.class_names)   # regression and reconstruction have no confusion matrix
            self.tabs.setTabVisible(self.tabs.indexOf(self.confusion), classes)
            if not classes and self.tabs.currentWidget() is self.confusion:
                self.tabs.setCurrentWidget(self.folds)
            (self._clock.start if running else self._clock.stop)()
            self._show_progress()
        elif change == "epoch":
            rows = self.model.history[info["fold"]]
            self.loss_plot.update_fold(info["fold"], rows)
            self.score_plot.update_fold(info["fold"], rows)
            name_score_pane(self.score_plot, rows)
            # a decoder with losses only (reconstruction, pretraining) leaves the loss curves the width
            self.score_plot.setVisible(bool(self.score_plot.curves) or not rows)
            self.reconstruction.follow_fold(info["fold"])    # another fold's preview does not stay
            self.reconstruction.images.update_terms(rows)   # per-term losses (e.g. MindBridge)
        elif change == "progress":
            self._show_progress()
        elif change == "log":
            self.log.appendPlainText(info["line"])
        elif change == "fold_end":
            fold = info["fold"]
            if fold in self.model.confusion:
                self.confusion.add_fold(fold, self.model.confusion[fold])
            self._show_fold_table()
        elif change == "reconstruction":
            self.reconstruction.show_event(self.model.reconstructions[info["view"]])
            if not self._previews_sized:   # the images need more room than the curves; the user may drag it back
                self._previews_sized = True
                total = sum(self.split.sizes())
                self.split.setSizes([int(total * 0.45), total - int(total * 0.45)])
        elif change == "run_end":
            self._show_progress()
        if change == "state" and self.model.state == "finished" and not self.model.history:
            for plot in (self.loss_plot, self.score_plot):
                plot.show_note("this decoder fits in one step: no per-epoch curves")

    def _show_progress(self) -> None:
        m = self.model
        self.progress.setValue(int(1000 * min(max(m.progress, 0.0), 1.0)))
        elapsed = format_eta(m.elapsed_s())
        if m.state == "running":
            text = f"{m.progress:.0%} · {elapsed} elapsed · about {format_eta(m.eta_s)} left"
            if m.progress_message:
                text += f" · {m.progress_message}"
        elif m.state == "finished":
            text = f"finished in {elapsed}" + (f" · {headline(m.summary)}" if m.summary else "")
        elif m.state == "failed":
            text = f"failed after {elapsed}: {m.error}"
        elif m.state == "cancelled":
            text = f"cancelled after {elapsed}"
        else:
            text = "idle"
        self.progress_label.setText(text)

    def _show_fold_table(self) -> None:
        folds = self.model.fold_metrics
        keys = []
        for metrics in folds.values():
            keys += [k for k, v in metrics.items() if isinstance(v, (int, float)) and k not in keys]
        self.folds.setColumnCount(len(keys))
        self.folds.setHorizontalHeaderLabels(keys)
        self.folds.setRowCount(len(folds))
        self.folds.setVerticalHeaderLabels([f"fold {f}" for f in folds])
        for row, metrics in enumerate(folds.values()):
            for col, key in enumerate(keys):
                value = metrics.get(key)
                self.folds.setItem(row, col, QTableWidgetItem("" if value is None else f"{value:.4g}"))


def name_score_pane(plot: CurvePlot, rows: list[dict]) -> None:
    """Title the score pane after the score the run reports per epoch, or say that it reports none.

    Parameters
    ----------
    plot : CurvePlot
        The score pane.
    rows : list of dict
        The epoch rows of the fold that just reported.
    """
    reported = [k for k in plot.keys if any(r.get(k) is not None for r in rows)]
    if reported:
        suffix = reported[0].split("_", 1)[1]
        plot.setTitle(SCORE_NAMES.get(suffix, suffix))
        plot.setLabel("left", SCORE_NAMES.get(suffix, suffix))
        plot.show_note("")
    elif rows and not plot.curves:
        plot.setTitle(SCORE_TITLE)
        plot.show_note("this decoder reports no score per epoch, only its losses")


def headline(summary: dict) -> str:
    """'accuracy 0.83 ± 0.05' from a summary {metric: {mean, std}} (first known metric)."""
    from decoders.tasks import headline_order

    for key in headline_order():
        value = summary.get(key)
        if isinstance(value, dict) and value.get("mean") is not None:
            return f"{key} {value['mean']:.3f} ± {value.get('std') or 0:.3f}"
    return ""
