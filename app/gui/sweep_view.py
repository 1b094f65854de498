"""Sweep panel: open a sweep file or folder, start / watch / cancel it with progress per run,
and show its comparison table and figures (the report's PNGs).

Every action is a plain method (`open_sweep_file`, `open_folder`, `start`, `cancel`,
`refresh`) that tests drive. The sweep runs in a `Worker` thread that only waits: its runs execute in
the executor's own processes (app.sweeps), and a timer reads their progress files.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton,
                               QScrollArea, QSplitter, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout,
                               QWidget)

from data.errors import InputError

from .file_dialogs import start_folder
from .worker import Worker, WorkerArg

RUN_COLUMNS = ["run", "decoder", "subject", "seed", "state", "progress", "error"]


def _run_sweep(*args, **kwargs):
    """`app.sweeps.run_sweep`, imported on the worker's thread (not the GUI's)."""
    from app.sweeps import run_sweep

    return run_sweep(*args, **kwargs)


class SweepView(QWidget):
    finished = Signal(object)   # the SweepResult, or None after a failure

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("NeuroDeck — sweeps")
        self.spec = None
        self.base_dir: Path | None = None
        self.out_dir: str | None = None
        self.folder: Path | None = None
        self.worker: Worker | None = None
        self._build()
        self.timer = QTimer(self, interval=500)
        self.timer.timeout.connect(self.refresh)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.open_file_button = QPushButton("Open sweep file…")
        self.open_file_button.clicked.connect(self._ask_file)
        self.open_folder_button = QPushButton("Open sweep folder…")
        self.open_folder_button.clicked.connect(self._ask_folder)
        self.executor_box = QComboBox()
        self.executor_box.addItems(["local", "ray"])
        self.executor_box.setToolTip("local: a process pool on this machine; ray: a local Ray instance or RAY_ADDRESS")
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("primary")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        bar = QHBoxLayout()
        for w in (self.open_file_button, self.open_folder_button, QLabel("executor"), self.executor_box,
                  self.start_button, self.cancel_button):
            bar.addWidget(w)
        bar.addStretch(1)
        self.status_label = QLabel("Open a sweep file (resources/experiments/sweep-*.yaml) or a sweep folder.")
        self.status_label.setWordWrap(True)

        self.runs_table = QTableWidget(0, len(RUN_COLUMNS))
        self.runs_table.setHorizontalHeaderLabels(RUN_COLUMNS)
        self.runs_table.verticalHeader().setVisible(False)
        self.runs_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.runs_table.horizontalHeader().setStretchLastSection(True)
        self.comparison_table = QTableWidget(0, 0)
        self.comparison_table.verticalHeader().setVisible(False)
        self.comparison_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.figures = QWidget()
        self.figures_layout = QHBoxLayout(self.figures)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.figures)
        report = QSplitter(Qt.Vertical)
        report.addWidget(self.comparison_table)
        report.addWidget(scroll)
        report.setStretchFactor(0, 1)
        report.setStretchFactor(1, 3)
        report.setSizes([140, 460])   # the table is a few rows; the figures get the room
        self.tabs = QTabWidget()
        self.tabs.addTab(self.runs_table, "Runs")
        self.tabs.addTab(report, "Comparison")
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.status_label)
        layout.addWidget(self.tabs, 1)
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self.worker is not None
        self.start_button.setEnabled(self.spec is not None and not running)
        self.cancel_button.setEnabled(running)
        self.open_file_button.setEnabled(not running)
        self.open_folder_button.setEnabled(not running)

    # ------------------------------------------------------------------ actions
    def open_sweep_file(self, path: str | Path, out_dir: str | Path | None = None) -> None:
        """Load a sweep file; shows its planned runs (and those already finished)."""
        from app.sweeps import expand, load_sweep, sweep_folder

        spec, base_dir = load_sweep(path)
        plans = expand(spec, base_dir, path)
        self.spec, self.base_dir = spec, base_dir
        self.out_dir = None if out_dir is None else str(out_dir)
        self.folder = sweep_folder(spec, out_dir)
        self.executor_box.setCurrentText(spec.executor.kind)
        self.status_label.setText(f"{spec.name}: {len(plans)} runs; sweep folder {self.folder}")
        self._plans = {p.id: p.labels for p in plans}
        self.refresh()
        self._update_buttons()

    def open_folder(self, folder: str | Path) -> None:
        """Show a sweep folder (its runs and report) without a sweep file; Start needs the file."""
        folder = Path(folder)
        if not (folder / "sweep.json").is_file():
            raise InputError("not a sweep folder (no sweep.json).", folder)
        import json

        from app.sweeps import parse_sweep

        self.folder = folder
        saved = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))
        self.spec = None
        if isinstance(saved.get("spec"), dict) and saved["spec"].get("name") == folder.name:
            self.spec, self.base_dir, self.out_dir = parse_sweep(saved["spec"]), Path(saved.get("base_dir", ".")), str(folder.parent)
        self._plans = {}
        self.status_label.setText(f"sweep folder {folder}")
        self.refresh()
        self._update_buttons()

    def start(self) -> None:
        """Run the sweep's unfinished runs in the background; the table follows them."""
        if self.spec is None or self.worker is not None:
            return
        self.worker = Worker(_run_sweep, self.spec, self.base_dir, out_dir=self.out_dir,
                             executor=self.executor_box.currentText(), cancel=WorkerArg.CANCEL,
                             label="sweep", parent=self)
        self.worker.returned.connect(self._on_done)
        self.worker.errored.connect(self._on_error)
        self.worker.aborted.connect(self._on_aborted)
        self.worker.start()
        self.status_label.setText(f"{self.spec.name}: running on {self.executor_box.currentText()}…")
        self.timer.start()
        self._update_buttons()

    def cancel(self) -> None:
        """Stop dispatching; runs under way stop at their next check and keep their folds."""
        if self.worker is not None:
            self.worker.cancel()
        self.status_label.setText("cancelling… (finished runs and folds are kept; Start resumes)")

    def is_running(self) -> bool:
        return self.worker is not None

    def refresh(self) -> None:
        """Re-read run states and progress, and the report when there is one."""
        from app.sweeps import run_status

        if self.folder is None:
            return
        states = run_status(self.folder) if (self.folder / "sweep.json").is_file() else {}
        if not states:
            states = {rid: {"labels": labels, "state": "pending", "fraction": 0.0} for rid, labels in
                      getattr(self, "_plans", {}).items()}
        self._fill_runs(states)
        self._fill_report()

    # ------------------------------------------------------------------ internals
    def _fill_runs(self, states: dict) -> None:
        t = self.runs_table
        t.setRowCount(len(states))
        for row, (rid, s) in enumerate(states.items()):
            labels = s.get("labels", {})
            for col, text in enumerate([rid, labels.get("decoder", ""), labels.get("subject", ""),
                                        labels.get("seed", ""), s["state"]]):
                t.setItem(row, col, QTableWidgetItem(str(text)))
            bar = t.cellWidget(row, 5)
            if not isinstance(bar, QProgressBar):
                bar = QProgressBar()
                bar.setRange(0, 100)
                t.setCellWidget(row, 5, bar)
            bar.setValue(int(round(100 * float(s.get("fraction", 0.0)))))
            t.setItem(row, 6, QTableWidgetItem(s.get("error", "") or s.get("message", "")))

    def _fill_report(self) -> None:
        import csv

        summary = self.folder / "report" / "summary.csv"
        if summary.is_file():
            with open(summary, encoding="utf-8", newline="") as fh:
                rows = list(csv.DictReader(fh))
            columns = ["condition", "metric", "mean", "std", "n_done", "n_runs", "n_failed", "seconds_per_run"]
            self.comparison_table.setColumnCount(len(columns))
            self.comparison_table.setHorizontalHeaderLabels(columns)
            self.comparison_table.setRowCount(len(rows))
            for r, row in enumerate(rows):
                for c, key in enumerate(columns):
                    value = row.get(key, "")
                    try:
                        value = f"{float(value):.3f}" if key in ("mean", "std", "seconds_per_run") else value
                    except ValueError:
                        pass
                    self.comparison_table.setItem(r, c, QTableWidgetItem(value))
        shown = getattr(self, "_figure_labels", {})
        self._figure_labels = {}
        for png in sorted((self.folder / "report").glob("*.png")):
            if png.name.startswith("."):
                continue   # a figure being written (data.atomic's hidden temporary file)
            try:
                stamp = png.stat().st_mtime_ns
            except FileNotFoundError:
                continue   # replaced by the report writer meanwhile: the next refresh shows it
            label, mtime = shown.pop(png, (None, None))
            if label is None:
                label = QLabel()
                label.setObjectName(png.stem)
                self.figures_layout.addWidget(label)
            if mtime != stamp:   # redrawn: reload
                label.setPixmap(QPixmap(str(png)))
            self._figure_labels[png] = (label, stamp)
        for label, _ in shown.values():   # another sweep's figures
            self.figures_layout.removeWidget(label)
            label.deleteLater()

    def _finish(self, result) -> None:
        self.timer.stop()
        if self.worker is not None:
            self.worker.deleteLater()
        self.worker = None
        self.refresh()
        self._update_buttons()
        self.finished.emit(result)

    def _on_done(self, result) -> None:
        cancelled = self.worker is not None and self.worker.cancelled
        self.status_label.setText(
            f"{self.spec.name}: {'cancelled' if cancelled else 'finished'}: {len(result.executed)} run(s) executed, "
            f"{len(result.failed)} failed, {len(result.skipped)} already finished. Report: "
            f"{result.folder / 'report' / 'index.html'}")
        self._finish(result)

    def _on_error(self, exc: BaseException) -> None:
        self._on_failed(f"{type(exc).__name__}: {exc}")

    def _on_aborted(self) -> None:
        self._on_failed("cancelled")

    def _on_failed(self, message: str) -> None:
        self.status_label.setText(f"the sweep failed: {message}")
        self._finish(None)

    def _ask_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open sweep file", start_folder(fallback="examples"),
                                              "Sweep files (*.yaml *.yml)")
        if path:
            try:
                self.open_sweep_file(path)
            except InputError as exc:
                self.status_label.setText(f"error: {exc}")

    def _ask_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open sweep folder", start_folder())
        if path:
            try:
                self.open_folder(path)
            except InputError as exc:
                self.status_label.setText(f"error: {exc}")
