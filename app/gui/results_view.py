"""Results view: the runs of the workspace folder (those made from the CLI too), sortable;
a run's curves, metrics and figures; two runs side by side; export a decoder; open a folder."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QSortFilterProxyModel, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QPixmap, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QScrollArea, QSplitter, QTableView, QTableWidget, QTableWidgetItem, QTabWidget,
                               QVBoxLayout, QWidget)

from data.errors import InputError
from decoders.tasks import headline_order

from .file_dialogs import start_folder
from .models import read_history
from .training_view import LOSS_KEYS, SCORE_KEYS, CurvePlot

COLUMNS = ["run", "finished", "decoder", "dataset", "protocol", "score", "± std", "device"]
SCORE_ORDER = headline_order()  # the tasks' headline metrics (decoders.tasks)


def main_score(run) -> tuple[str, float | None, float | None]:
    for key in SCORE_ORDER:
        if key in run.metrics:
            return key, run.metrics[key], run.stds.get(key)
    return "", None, None


class ResultsView(QWidget):
    exported = Signal(str)

    def __init__(self, workbench, parent: QWidget | None = None):
        super().__init__(parent)
        self.wb = workbench
        self.runs: list = []
        self._build()
        self.watcher = QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(lambda _p: self._refresh_timer.start())
        self._refresh_timer = QTimer(self, singleShot=True, interval=400)
        self._refresh_timer.timeout.connect(self.refresh)
        self.wb.runs_changed.connect(self.refresh)

    def _build(self) -> None:
        title = QLabel("Results")
        title.setObjectName("viewTitle")
        self.folder_label = QLabel("")
        self.folder_label.setObjectName("viewHint")
        self.table_model = QStandardItemModel(0, len(COLUMNS))
        self.table_model.setHorizontalHeaderLabels(COLUMNS)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.table_model)
        self.proxy.setSortRole(Qt.UserRole)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
        self.table.doubleClicked.connect(lambda _i: self.open_folder())

        buttons = QHBoxLayout()
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.compare_button = QPushButton("Compare two")
        self.compare_button.setToolTip("Select two runs (Ctrl+click) to see them side by side")
        self.compare_button.clicked.connect(self.compare_selected)
        self.export_button = QPushButton("Export decoder…")
        self.export_button.setObjectName("primary")
        self.export_button.setToolTip("Save the run's trained decoder bundle (folder or .zip) (Ctrl+E)")
        self.export_button.clicked.connect(self.ask_export)
        self.open_button = QPushButton("Open folder")
        self.open_button.clicked.connect(self.open_folder)
        self.sweeps_button = QPushButton("Sweeps…")
        self.sweeps_button.setToolTip("Open, start, watch and cancel a sweep; its comparison table and figures")
        self.sweeps_button.clicked.connect(self.show_sweeps)
        for b in (self.refresh_button, self.compare_button, self.open_button, self.export_button, self.sweeps_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.table, 1)
        ll.addLayout(buttons)

        self.loss_plot = CurvePlot("loss", LOSS_KEYS, "loss")
        self.score_plot = CurvePlot("accuracy", SCORE_KEYS, "accuracy / R²", legend=False)
        curves = QWidget()
        cl = QHBoxLayout(curves)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(self.loss_plot)
        cl.addWidget(self.score_plot)
        self.metrics = QTableWidget()
        self.metrics.setEditTriggers(QTableWidget.NoEditTriggers)
        self.metrics.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.figures = QWidget()
        self.figures_layout = QVBoxLayout(self.figures)
        figure_scroll = self.figure_scroll = QScrollArea()
        figure_scroll.setWidgetResizable(True)
        figure_scroll.setWidget(self.figures)
        self._figures_run = self._figures_shown = None
        self.by_subject = QTableWidget()
        self.by_subject.setEditTriggers(QTableWidget.NoEditTriggers)
        self.by_subject.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.by_subject_note = QLabel("")
        self.by_subject_note.setProperty("class", "hint")
        self.by_subject_note.setWordWrap(True)
        subjects_tab = QWidget()
        st = QVBoxLayout(subjects_tab)
        st.setContentsMargins(0, 0, 0, 0)
        st.addWidget(self.by_subject, 1)
        st.addWidget(self.by_subject_note)
        self.compare = QWidget()
        comp = QVBoxLayout(self.compare)
        self.compare_note = QLabel("")
        self.compare_note.setObjectName("compareNote")
        self.compare_note.setWordWrap(True)
        self.compare_note.setVisible(False)
        comp.addWidget(self.compare_note)
        self.compare_table = QTableWidget()
        self.compare_table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.compare_table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.compare_plot = CurvePlot("validation / training score per epoch (mean over folds)", SCORE_KEYS, "score")
        comp.addWidget(self.compare_table, 1)
        comp.addWidget(self.compare_plot, 1)
        self.details = QTabWidget()
        self.details.addTab(curves, "Curves")
        self.details.addTab(self.metrics, "Metrics")
        self.details.addTab(subjects_tab, "By subject")
        self.details.addTab(figure_scroll, "Figures")
        self.details.addTab(self.compare, "Compare")
        from .explain_view import ExplainPane   # maps of the run's final model (issue 22)
        self.explain = ExplainPane(self.wb)
        self.details.addTab(self.explain, "Explain")
        self.details.currentChanged.connect(
            lambda _i: self._show_figures() if self.details.currentWidget() is self.figure_scroll else None)
        self.details_title = QLabel("Select a run to see its curves, metrics and figures.")
        self.details_title.setObjectName("viewHint")
        self.model_note = QLabel("")      # what the run's saved model was trained on
        self.model_note.setWordWrap(True)
        self.model_note.setProperty("class", "hint")
        self.model_note.setVisible(False)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.details_title)
        rl.addWidget(self.model_note)
        rl.addWidget(self.details, 1)

        split = QSplitter(Qt.Vertical)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([260, 440])
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.folder_label)
        layout.addWidget(split, 1)
        self._selection_changed()
        self.apply_theme()

    def apply_theme(self) -> None:
        from . import theme

        for plot in (self.loss_plot, self.score_plot, self.compare_plot):
            theme.style_plot(plot)

    # ---------------------------------------------------------------------- listing
    def refresh(self) -> None:
        folder = self.wb.runs_dir
        self.folder_label.setText(f"Runs in {folder} (the CLI's `neurodeck run` writes here too)")
        selected = {r.path for r in self.selected_runs()}
        try:
            self.runs = self.wb.list_runs()
        except Exception as exc:  # noqa: BLE001 - an unreadable workspace is a message, not a crash
            self.runs = []
            self.wb.error.emit("Cannot list runs", f"{folder}: {type(exc).__name__}: {exc}")
        if folder.is_dir() and str(folder) not in self.watcher.directories():
            for old in self.watcher.directories():
                self.watcher.removePath(old)
            self.watcher.addPath(str(folder))
        self.table.setSortingEnabled(False)
        self.table_model.removeRows(0, self.table_model.rowCount())
        for index, run in enumerate(self.runs):
            metric, mean, std = main_score(run)
            values = [run.name, run.date[:19].replace("T", " "), run.decoder, run.dataset, run.protocol,
                      mean, std, run.device]
            row = []
            for col, value in enumerate(values):
                text = ("" if value is None else f"{value:.3f}") if col in (5, 6) else str(value)
                item = QStandardItem(f"{metric} {text}" if col == 5 and text else text)
                item.setData(value if value is not None else (-1.0 if col in (5, 6) else ""), Qt.UserRole)
                item.setData(index, Qt.UserRole + 1)
                item.setEditable(False)
                item.setToolTip(str(run.path))
                row.append(item)
            self.table_model.appendRow(row)
        self.table.setSortingEnabled(True)
        for row in range(self.proxy.rowCount()):
            if self.run_at(row).path in selected:
                self.table.selectRow(row)
        self._selection_changed()

    def run_at(self, proxy_row: int):
        source_row = self.proxy.mapToSource(self.proxy.index(proxy_row, 0)).row()
        return self.runs[self.table_model.item(source_row, 0).data(Qt.UserRole + 1)]

    def select_run(self, run_dir: str | Path) -> bool:
        for row in range(self.proxy.rowCount()):
            if Path(self.run_at(row).path) == Path(run_dir):
                self.table.selectRow(row)
                return True
        return False

    def selected_runs(self) -> list:
        if not self.runs:
            return []
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.run_at(r) for r in rows]

    # ---------------------------------------------------------------------- details
    def _selection_changed(self) -> None:
        runs = self.selected_runs()
        self.export_button.setEnabled(len(runs) == 1)
        self.open_button.setEnabled(len(runs) == 1)
        self.compare_button.setEnabled(len(runs) == 2)
        if len(runs) == 1:
            self.show_run(runs[0])
        elif len(runs) == 2:
            self.compare_selected()

    def show_run(self, run) -> None:
        self.details_title.setText(f"{run.name} · {run.decoder} on {run.dataset} · {run.protocol} · {run.device}")
        self.explain.set_run(run)
        history = read_history(run.path)
        self.loss_plot.reset()
        self.score_plot.reset()
        for fold, rows in history.items():
            self.loss_plot.update_fold(fold, rows)
            self.score_plot.update_fold(fold, rows)
        if not self.loss_plot.curves and not self.score_plot.curves:
            for plot in (self.loss_plot, self.score_plot):
                plot.show_note(f"{run.decoder} reports no per-epoch curves")
        keys = list(run.metrics)
        self.metrics.setRowCount(len(keys))
        self.metrics.setColumnCount(2)
        self.metrics.setHorizontalHeaderLabels(["mean", "std"])
        self.metrics.setVerticalHeaderLabels(keys)
        for row, key in enumerate(keys):
            self.metrics.setItem(row, 0, QTableWidgetItem(_fmt(run.metrics[key])))
            self.metrics.setItem(row, 1, QTableWidgetItem(_fmt(run.stds.get(key))))
        self._show_by_subject(run)
        self.model_note.setText(final_model_text(run))
        self.model_note.setVisible(bool(self.model_note.text()))
        self._figures_run = run
        self._figures_shown = None
        if self.details.currentWidget() is self.figure_scroll:
            self._show_figures()
        if self.details.currentWidget() is self.compare:
            self.details.setCurrentIndex(0)

    def _show_by_subject(self, run) -> None:
        """The run's metrics per test subject (metrics.json's by_subject), headline metrics first."""
        table = self.by_subject
        subjects = list(run.by_subject)
        keys = list(dict.fromkeys(k for values in run.by_subject.values() for k in values))
        keys = [k for k in SCORE_ORDER if k in keys] + [k for k in keys if k not in SCORE_ORDER]
        table.clear()
        table.setRowCount(len(subjects))
        table.setColumnCount(len(keys))
        table.setHorizontalHeaderLabels(keys)
        table.setVerticalHeaderLabels([f"subject {s}" for s in subjects])
        for row, subject in enumerate(subjects):
            for col, key in enumerate(keys):
                value = run.by_subject[subject].get(key)
                table.setItem(row, col, QTableWidgetItem(_fmt(value) if isinstance(value, (int, float)) else ""))
        self.by_subject_note.setText(
            f"Mean over each subject's test folds ({len(subjects)} subjects)." if subjects else
            "This run has no per-subject results: its folds test one subject only, or mix subjects in one score.")

    def _show_figures(self) -> None:
        """Load the selected run's PNG figures (only when the Figures tab is shown)."""
        run = getattr(self, "_figures_run", None)
        if run is None or self._figures_shown is run:
            return
        self._figures_shown = run
        while self.figures_layout.count():
            widget = self.figures_layout.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        pngs = sorted((Path(run.path) / "figures").glob("*.png"))
        for png in pngs:
            caption = QLabel(png.stem.replace("_", " "))
            caption.setProperty("class", "hint")
            image = QLabel()
            pixmap = QPixmap(str(png))
            if pixmap.width() > 900:
                pixmap = pixmap.scaledToWidth(900, Qt.SmoothTransformation)
            image.setPixmap(pixmap)
            self.figures_layout.addWidget(caption)
            self.figures_layout.addWidget(image)
        if not pngs:
            self.figures_layout.addWidget(QLabel("This run has no figures."))
        self.figures_layout.addStretch(1)

    def compare_selected(self) -> None:
        runs = self.selected_runs()
        if len(runs) != 2:
            self.wb.error.emit("Compare runs", "Select exactly two runs (Ctrl+click) to compare them.")
            return
        a, b = runs
        keys = list(dict.fromkeys([*a.metrics, *b.metrics]))
        rows = [("decoder", a.decoder, b.decoder), ("dataset", a.dataset, b.dataset),
                ("protocol", a.protocol, b.protocol), ("device", a.device, b.device)]
        rows += [(k, _pm(a, k), _pm(b, k)) for k in keys]
        differences = data_differences(a, b)
        self.compare_note.setText(
            "These runs were not on the same data, so their scores are not a like-for-like comparison: "
            + "; ".join(differences) + "." if differences else "")
        self.compare_note.setVisible(bool(differences))
        self.compare_table.setRowCount(len(rows))
        self.compare_table.setColumnCount(2)
        self.compare_table.setHorizontalHeaderLabels([a.name, b.name])
        self.compare_table.setVerticalHeaderLabels([r[0] for r in rows])
        for i, (_, left, right) in enumerate(rows):
            self.compare_table.setItem(i, 0, QTableWidgetItem(left))
            self.compare_table.setItem(i, 1, QTableWidgetItem(right))
        self.compare_plot.reset()
        for index, run in enumerate((a, b)):
            self.compare_plot.update_fold(index, _mean_curve(read_history(run.path)))
        self.compare_plot.legend.clear()  # one entry per run instead of per "fold" index
        for index, run in enumerate((a, b)):
            for (fold, key), curve in self.compare_plot.curves.items():
                if fold == index:
                    self.compare_plot.legend.addItem(curve, f"{run.decoder} ({run.name[:19]}) {key}")
        self.details_title.setText(f"{a.name}  vs  {b.name}")
        self.details.setCurrentWidget(self.compare)

    # ---------------------------------------------------------------------- actions
    def ask_export(self) -> None:
        runs = self.selected_runs()
        if len(runs) != 1:
            self.wb.error.emit("Export decoder", "Select one run to export its decoder.")
            return
        run = runs[0]
        suggestion = str(Path(start_folder(self.wb.settings)) / f"{run.name}-decoder.zip")
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the trained decoder", suggestion,
            "Decoder bundle (*.zip);;ONNX, checked against onnxruntime (*.onnx);;TorchScript (*.pt);;Bundle folder (*)")
        if path:
            self.export(run, path)

    def export(self, run, destination: str | Path) -> None:
        """Export in the background; ``exported(path)`` or an error message follows."""
        def done(written: Path) -> None:
            self.wb.settings.last_folder = Path(written).parent
            self.details_title.setText(f"Decoder of {run.name} exported to {written}")
            self.exported.emit(str(written))

        def failed(exc: BaseException) -> None:
            if isinstance(exc, OSError) and not isinstance(exc, InputError):
                self.wb.error.emit("Cannot export the decoder", f"{destination}: {exc.strerror or exc}")
            else:
                self.wb._report("Cannot export the decoder", exc)

        self.wb.background.run(f"exporting {run.name}", self.wb.export_decoder, done, failed, run.path, destination)

    def show_sweeps(self):
        """The sweep panel (app/gui/sweep_view.py) in its own window; one per results view."""
        from .sweep_view import SweepView

        if getattr(self, "sweep_view", None) is None:
            self.sweep_view = SweepView()
            self.sweep_view.finished.connect(lambda _r: self.refresh())
            self.sweep_view.resize(1000, 600)
        self.sweep_view.show()
        self.sweep_view.raise_()
        return self.sweep_view

    def open_folder(self) -> None:
        runs = self.selected_runs()
        if len(runs) == 1:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(runs[0].path)))


def final_model_text(run) -> str:
    """'Saved model: trained on all 320 samples pooled over 3 subjects (...). The kfold folds ...'."""
    facts = run.final_model
    if not facts:
        return ""
    text = f"Saved model: trained on {facts.get('trained_on', '?')}."
    return f"{text} {facts['note']}" if facts.get("note") else text


def data_differences(a, b) -> list[str]:
    """How the data of runs ``a`` and ``b`` differ (empty: the same, or nothing tells them apart).

    The data fingerprints decide when both runs have one; the dataset settings of their
    config.yaml, the sample counts and the subjects say where they differ.
    """
    found = []
    if a.dataset != b.dataset:
        found.append(f"dataset {a.dataset} vs {b.dataset}")
    settings_a, settings_b = _dataset_settings(a.path), _dataset_settings(b.path)
    changed = [k for k in dict.fromkeys([*settings_a, *settings_b])
               if k != "source" and settings_a.get(k) != settings_b.get(k)]
    if changed:
        shown = ", ".join(f"{k} {settings_a.get(k, '–')} vs {settings_b.get(k, '–')}" for k in changed[:4])
        found.append(f"dataset settings differ ({shown}{', …' if len(changed) > 4 else ''})")
    if a.n_samples is not None and b.n_samples is not None and a.n_samples != b.n_samples:
        found.append(f"{a.n_samples} vs {b.n_samples} samples")
    if a.subjects and b.subjects and a.subjects != b.subjects:
        found.append(f"subjects {', '.join(a.subjects[:5])} vs {', '.join(b.subjects[:5])}")
    if a.data_fingerprint and b.data_fingerprint:
        if a.data_fingerprint == b.data_fingerprint:
            return []          # the same samples, whatever the settings' spelling
        if not found:
            found.append(f"the samples differ (data fingerprints {a.data_fingerprint} vs {b.data_fingerprint})")
    return found


def _dataset_settings(run_dir) -> dict[str, str]:
    """The dataset section of a run's config.yaml, flattened to 'key.sub': text (empty if unreadable)."""
    import yaml

    try:
        section = (yaml.safe_load((Path(run_dir) / "config.yaml").read_text(encoding="utf-8")) or {}).get("dataset")
    except (OSError, yaml.YAMLError, AttributeError):
        return {}
    flat: dict[str, str] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        else:
            flat[prefix] = str(value)

    walk("", section or {})
    return flat


def _fmt(value) -> str:
    return "" if value is None else f"{value:.4g}"


def _pm(run, key: str) -> str:
    if key not in run.metrics:
        return "–"
    std = run.stds.get(key)
    return f"{run.metrics[key]:.4g}" + (f" ± {std:.3g}" if std is not None else "")


def _mean_curve(history: dict) -> list[dict]:
    """Per-epoch mean over the evaluation folds (the final fit left out)."""
    import numpy as np

    by_epoch: dict[float, dict[str, list[float]]] = {}
    for fold, rows in history.items():
        if fold == "final":
            continue
        for row in rows:
            slot = by_epoch.setdefault(row.get("epoch", 0), {})
            for key in SCORE_KEYS:
                if isinstance(row.get(key), float):
                    slot.setdefault(key, []).append(row[key])
    return [{"epoch": e, **{k: float(np.mean(v)) for k, v in vals.items()}} for e, vals in sorted(by_epoch.items())]
