"""Online view: decode an LSL stream (or a recording replayed as one) with a saved decoder.

The session itself is `app.online.live.live_session` (plain Python), a generator run by a `Worker`;
this view only collects the settings and draws what the session yields: the live signal, the
decision as a feedback bar, probabilities over time, latency median / p99, a running
confusion matrix when markers carry the truth, and the log. Each session starts on clear
panes; "Go online with latest run" takes the newest run whose decoder fits the chosen stream or
replay (`app.online.compatibility`). Sessions and calibration recordings are written to the
workspace (`app.output_paths`). The view fits a 1280 x 800 window whatever its texts say: the
status line is elided (whole in its tooltip and the log), the side panel's texts wrap.
"""
from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGridLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QProgressBar,
                               QPushButton, QSizePolicy, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from .figure_actions import attach_save_figure
from .file_dialogs import start_folder
from .speller_view import SpellerPane
from .worker import Worker, WorkerArg

MAX_POINTS = 200      # decisions kept on the probability plot
MAX_CHANNELS = 8      # channels drawn in the live signal
SIDE_WIDTH = 320      # the feedback panel (decision, bars, latency, confusion)


class ElidedLabel(QLabel):
    """A one-line label that never widens its window: its text is elided to the width the
    layout gives it (``text()`` and the tooltip keep the whole text)."""

    def __init__(self, text: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self._text = ""
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self._text = str(text)
        self.setToolTip(self._text)
        self._elide()

    def text(self) -> str:
        return self._text

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(0, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(0, super().sizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self._text, Qt.ElideMiddle, max(self.width(), 1))
        super().setText(shown)


class OnlineView(QWidget):
    def __init__(self, workbench=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.wb = workbench
        self.job: Worker | None = None
        self.session = None
        self.decisions: list[dict] = []
        self.latencies: deque[float] = deque(maxlen=2000)
        self.proba: deque[list[float]] = deque(maxlen=MAX_POINTS)
        self._build()
        self.refresh_runs()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        title = QLabel("Online")
        title.setObjectName("viewTitle")
        self.stream = QComboBox()
        self.stream.setEditable(True)
        self.stream.setToolTip("Name of the LSL stream to decode (type it, or Refresh to list the network)")
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh_streams)
        self.replay = QLineEdit()
        self.replay.setPlaceholderText("or a recording to replay as a stream (with its events as markers)")
        browse_replay = QPushButton("Browse…")
        browse_replay.clicked.connect(lambda: self._browse(self.replay, "Recording to replay"))
        self.decoder = QComboBox()
        self.decoder.setEditable(True)
        self.decoder.setToolTip("A run of the workspace or a bundle folder / .zip")
        for combo in (self.stream, self.decoder):   # long run names or paths must not widen the window
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(24)
        browse_bundle = QPushButton("Bundle…")
        browse_bundle.clicked.connect(lambda: self._browse_bundle())
        self.mode = QComboBox()
        self.mode.addItems(["events", "sliding"])
        self.mode.setToolTip("events: decide on the window after each marker; sliding: every step")
        self.step = QDoubleSpinBox()
        self.step.setRange(10, 10000)
        self.step.setValue(250)
        self.step.setSuffix(" ms")
        self.speed = QDoubleSpinBox()
        self.speed.setRange(0.1, 100)
        self.speed.setValue(1.0)
        self.speed.setSuffix(" ×")
        self.speed.setToolTip("Replay speed (times real time)")
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.record_button = QPushButton("Record calibration")
        self.record_button.setToolTip("Record the stream and its markers to a FIF file in the workspace, "
                                      "then open it in the Data view to train a decoder")
        self.record_button.clicked.connect(self.record)
        self.latest_button = QPushButton("Go online with latest run")
        self.latest_button.setToolTip("Pick the newest run of the workspace whose decoder fits the "
                                      "stream or replay, and start decoding")
        self.latest_button.clicked.connect(self.go_online_latest)

        form = QFormLayout()
        row = QHBoxLayout()
        row.addWidget(self.stream, 1)
        row.addWidget(refresh)
        form.addRow("Stream", row)
        row = QHBoxLayout()
        row.addWidget(self.replay, 1)
        row.addWidget(browse_replay)
        form.addRow("Replay", row)
        row = QHBoxLayout()
        row.addWidget(self.decoder, 1)
        row.addWidget(browse_bundle)
        form.addRow("Decoder", row)
        row = QHBoxLayout()
        for w in (QLabel("mode"), self.mode, QLabel("step"), self.step, QLabel("speed"), self.speed):
            row.addWidget(w)
        row.addStretch(1)
        row.addWidget(self.record_button)
        row.addWidget(self.latest_button)
        row.addWidget(self.start_button)
        row.addWidget(self.stop_button)
        form.addRow(row)

        self.status = ElidedLabel("Not connected.")
        self.status.setObjectName("viewHint")
        self.latency = QLabel("latency: –")
        self.latency.setWordWrap(True)
        self.signal_plot = pg.PlotWidget(title="Signal")
        self.signal_plot.setMouseEnabled(False, False)
        self.signal_plot.hideAxis("left")
        self.signal_curves: list = []
        self.proba_plot = pg.PlotWidget(title="Probabilities")
        self.proba_plot.setYRange(0, 1)
        self.proba_plot.addLegend(offset=(5, 5))
        for plot in (self.signal_plot, self.proba_plot):
            attach_save_figure(plot)
        self.proba_curves: list = []
        self.bars_box = QVBoxLayout()
        self.bars: list[QProgressBar] = []
        self.decision = QLabel("–")
        self.decision.setObjectName("viewTitle")
        self.decision.setWordWrap(True)
        self.confusion = QTableWidget(0, 0)
        self.confusion.setMaximumHeight(130)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(500)

        feedback = QVBoxLayout()
        feedback.addWidget(QLabel("Decision"))
        feedback.addWidget(self.decision)
        feedback.addLayout(self.bars_box)
        feedback.addWidget(self.latency)
        feedback.addWidget(QLabel("Confusion (true × predicted)"))
        feedback.addWidget(self.confusion)
        feedback.addStretch(1)
        grid = QGridLayout()
        grid.addWidget(self.signal_plot, 0, 0)
        grid.addWidget(self.proba_plot, 1, 0)
        self.speller = SpellerPane()   # shown instead of the probabilities for a speller bundle's replay
        self.speller.hide()
        grid.addWidget(self.speller, 1, 0)
        side = QWidget()
        side.setLayout(feedback)
        side.setMaximumWidth(SIDE_WIDTH)
        grid.addWidget(side, 0, 1, 2, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addLayout(grid, 1)
        layout.addWidget(self.log)

    def _browse(self, edit: QLineEdit, caption: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, caption, start_folder(getattr(self.wb, "settings", None)))
        if path:
            edit.setText(path)

    def _browse_bundle(self) -> None:
        runs = getattr(self.wb, "runs_dir", None)   # the workspace's run folders hold the models
        path = QFileDialog.getExistingDirectory(self, "Decoder bundle or run folder",
                                                str(runs) if runs is not None and Path(runs).is_dir()
                                                else start_folder(getattr(self.wb, "settings", None)))
        if path:
            self.decoder.setEditText(path)

    # ------------------------------------------------------------------ lists
    def refresh_runs(self) -> None:
        """Runs of the workspace whose model can decode windows of a signal."""
        if self.wb is None:
            return
        from app.workspace import list_runs

        current = self.decoder.currentText()
        self.decoder.clear()
        for info in list_runs(self.wb.runs_dir):
            if (Path(info.path) / "model").is_dir():
                self.decoder.addItem(f"{info.name} ({info.decoder})", str(info.path))
        if current:
            self.decoder.setEditText(current)

    def refresh_streams(self) -> None:
        from app.online.stream import list_streams

        def done(streams) -> None:
            current = self.stream.currentText()
            self.stream.clear()
            for s in streams:
                if s["type"] not in ("annotations", "Markers", "decisions"):
                    self.stream.addItem(s["name"])
            self.stream.setEditText(current)
            self.status.setText(f"{len(streams)} stream(s) on the network.")

        if self.wb is not None:
            self.wb.background.run("listing streams", list_streams, done, self._error, 1.0)
        else:
            done(list_streams(1.0))

    def use_decoder(self, path: str | Path) -> None:
        """Go online with this run or bundle (the Training view's one-click path)."""
        self.decoder.setEditText(str(path))

    def bundle_path(self) -> str:
        index = self.decoder.currentIndex()
        text = self.decoder.currentText()
        if index >= 0 and text == self.decoder.itemText(index):
            return self.decoder.itemData(index)
        return text

    # ------------------------------------------------------------------ session
    def start(self) -> None:
        from app.online.live import live_session

        if self.job is not None and self.job.is_running():
            return
        bundle, replay = self.bundle_path(), self.replay.text().strip() or None
        stream = None if replay else self.stream.currentText().strip() or None
        if not bundle:
            self._error(ValueError("choose a decoder (a run or a bundle) first."))
            return
        out = None
        if self.wb is not None:
            from app.output_paths import session_folder

            out = str(session_folder(self.wb.runs_dir, bundle))
        self.session_dir = out
        self._clear()
        kwargs = dict(stream=stream, replay=replay, mode=self.mode.currentText(),
                      step_ms=self.step.value(), speed=self.speed.value(), out=out, signal_every=0.1)
        self.job = Worker(live_session, bundle, should_stop=WorkerArg.SHOULD_STOP, label="online session",
                          parent=self, **kwargs)
        self.job.yielded.connect(self._on_event)
        self.job.errored.connect(self._error)
        self.job.finished.connect(self._ended)
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.status.setText("Connecting…")
        self.job.start()

    def go_online_latest(self) -> None:
        """One click from a freshly trained run to decoding with it: the newest run of the
        workspace whose decoder fits the chosen stream or replay; none fitting is said before
        anything starts, naming why each run does not fit."""
        from app.online.compatibility import latest_compatible_run
        from data.errors import InputError

        if self.wb is None or (self.job is not None and self.job.is_running()):
            return
        try:
            facts = self.signal_facts()
            run, passed = latest_compatible_run(self.wb.runs_dir, facts)
        except Exception as exc:  # noqa: BLE001 - shown in the view: the file, the stream
            self._error(exc)
            return
        if run is None:
            reasons = "; ".join(f"{info.name} ({info.decoder}): {why}" for info, why in passed[:3])
            self._error(InputError(f"no run in the workspace can decode {facts.label}"
                                   + (f": {reasons}" if reasons else " (it holds no trained decoder)")
                                   + ("; ..." if len(passed) > 3 else "")))
            return
        self.refresh_runs()
        self.decoder.setCurrentIndex(self.decoder.findData(str(run.path)))
        self.start()
        for info, why in passed:
            self.log.appendPlainText(f"passed over {info.name} ({info.decoder}): {why}")

    def signal_facts(self):
        """Channels, rate and modality of the chosen replay or stream (`SignalFacts`)."""
        from app.online.compatibility import recording_facts, stream_facts
        from data.errors import InputError

        replay, stream = self.replay.text().strip(), self.stream.currentText().strip()
        if replay:
            return recording_facts(replay)
        if stream:
            return stream_facts(stream)
        raise InputError("choose a stream or a recording to replay first.")

    def record(self) -> None:
        """Record a calibration session from the stream (or replay) into the workspace."""
        from app.online.record import record_session

        if self.job is not None and self.job.is_running():
            return
        replay = self.replay.text().strip() or None
        stream = None if replay else self.stream.currentText().strip() or None
        from app.output_paths import recording_path

        path = recording_path(self.wb.runs_dir if self.wb is not None else Path.cwd())
        self.recorded = None
        self._clear()
        speed = self.speed.value()
        self.job = Worker(record_session, path, stream=stream, replay=replay, speed=speed,
                          should_stop=WorkerArg.SHOULD_STOP, label="recording", parent=self)
        self.job.yielded.connect(self._on_record)
        self.job.errored.connect(self._error)
        self.job.finished.connect(self._ended)
        self.start_button.setEnabled(False)
        self.record_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.status.setText("Recording…")
        self.job.start()

    def _on_record(self, event: dict) -> None:
        if event["kind"] == "recording":
            self.status.setText(f"Recording: {event['n_samples']} samples, {event['n_markers']} markers")
        elif event["kind"] == "saved":
            self.recorded = event["path"]
            self.status.setText(f"Calibration saved to {event['path']} ({event['n_markers']} markers); "
                                "opened in the Data view")
            self.log.appendPlainText(f"calibration saved: {event['path']}")
            if self.wb is not None:
                self.wb.open(event["path"])

    def stop(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        self.stop()
        return self.job.wait(timeout_ms) if self.job is not None else True

    def _ended(self) -> None:
        self.start_button.setEnabled(True)
        self.record_button.setEnabled(True)
        self.stop_button.setEnabled(False)

    def _error(self, exc: BaseException) -> None:
        self._ended()
        self.status.setText(f"Error: {exc}")
        self.log.appendPlainText(f"error: {exc}")

    def _clear(self) -> None:
        """Take the last session off every pane: decision, bars, probabilities, latency,
        confusion, signal and log."""
        self.session = None
        self.decisions.clear()
        self.latencies.clear()
        self.proba.clear()
        self.log.clear()
        self.decision.setText("–")
        self.latency.setText("latency: –")
        for bar in self.bars:
            bar.deleteLater()
        self.bars = []
        self.proba_plot.clear()
        self.proba_curves = []
        self.confusion.clear()
        self.confusion.setRowCount(0)
        self.confusion.setColumnCount(0)
        self.signal_plot.clear()
        self.signal_curves = []
        self.speller.hide()
        self.proba_plot.show()

    # ------------------------------------------------------------------ drawing
    def _on_event(self, event: dict) -> None:
        kind = event["kind"]
        if kind == "session":
            self._setup(event["session"], event["outlet"])
            if event.get("speller") is not None:
                layout = event["speller"].layout
                scale = self.speed.value() if self.replay.text().strip() else 1.0   # replayed faster: closer flashes
                self.speller.start(layout.matrix, layout.text_to_spell, scale)
                self.proba_plot.hide()
                self.speller.show()
        elif kind == "letter":
            self.speller.on_event(event)
            self.decision.setText(f"letter {event['index'] + 1}: {event['letter']}")
            self.log.appendPlainText(f"letter {event['index'] + 1}: {event['letter']}"
                                     + (f" (true {event['true']})" if event.get("true") else "")
                                     + f", {event['message']}")
        elif kind == "signal":
            self._draw_signal(event)
        elif kind == "decision":
            self._draw_decision(event)
        elif kind == "marker":
            self.log.appendPlainText(f"{event['sample_time']:.3f}  marker {event['marker']}")
        elif kind == "status":
            text = event["status"] + (f": {event['message']}" if event.get("message") else "")
            if event["status"] != "connected":     # keep "Decoding ... outlet ... log" visible
                self.status.setText(f"Stream {text}")
            self.log.appendPlainText(f"stream {text}")

    def _setup(self, session, outlet: str) -> None:
        self.session = session
        names = session.class_names
        self.status.setText(f"Decoding '{session.source.name}' ({session.mode}); decisions on LSL "
                            f"outlet '{outlet}'" + (f"; log in {self.session_dir}" if self.session_dir else ""))
        for bar in self.bars:
            bar.deleteLater()
        self.bars = []
        for name in names:
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setFormat(f"{name}  %p%")
            self.bars_box.addWidget(bar)
            self.bars.append(bar)
        self.proba_plot.clear()
        self.proba_curves = [self.proba_plot.plot(pen=pg.intColor(i, max(len(names), 2)), name=n)
                             for i, n in enumerate(names)]
        self.confusion.setRowCount(len(names))
        self.confusion.setColumnCount(len(names))
        self.confusion.setHorizontalHeaderLabels(names)
        self.confusion.setVerticalHeaderLabels(names)
        self.signal_plot.clear()
        self.signal_curves = []

    def _draw_signal(self, event: dict) -> None:
        data = event["data"][:MAX_CHANNELS]
        if data.shape[1] == 0:
            return
        if not self.signal_curves:
            self.signal_curves = [self.signal_plot.plot(pen=pg.intColor(i, len(data))) for i in range(len(data))]
        t = (np.arange(data.shape[1]) - data.shape[1]) / event["sfreq"]
        centred = data - data.mean(axis=1, keepdims=True)
        scale = np.percentile(np.abs(centred), 99) or 1.0
        for i, (curve, row) in enumerate(zip(self.signal_curves, centred)):
            curve.setData(t, row / scale - 2.0 * i)

    def _draw_decision(self, event: dict) -> None:
        self.decisions.append(event)
        if self.speller.isVisibleTo(self):
            self.speller.on_event(event)
        self.latencies.append(event["latency_ms"])
        proba = event.get("proba") or []
        self.decision.setText(str(event["pred"]))
        for bar, p in zip(self.bars, proba):
            bar.setValue(int(round(p * 1000)))
        if proba:
            self.proba.append(proba)
            values = np.array(self.proba)
            for i, curve in enumerate(self.proba_curves):
                curve.setData(values[:, i])
        lat = np.array(self.latencies)
        self.latency.setText(f"latency: median {np.median(lat):.1f} ms, p99 {np.percentile(lat, 99):.1f} ms "
                             f"({len(lat)} decisions)")
        if self.session is not None and event.get("true") is not None:
            matrix = self.session.confusion
            for i in range(matrix.shape[0]):
                for j in range(matrix.shape[1]):
                    self.confusion.setItem(i, j, QTableWidgetItem(str(int(matrix[i, j]))))
        truth = f" (true {event['true']})" if event.get("true") else ""
        self.log.appendPlainText(f"{event['sample_time']:.3f}  {event['pred']}{truth}  "
                                 f"{event['latency_ms']:.1f} ms")
