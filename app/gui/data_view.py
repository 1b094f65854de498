"""Data view: choose a source (file, folder, BIDS root, public dataset, demo), read its
summary, browse the signal, set preprocessing and see the trial counts at once, inspect
the epochs."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout,
                               QHeaderView, QInputDialog, QLabel, QLineEdit, QPushButton, QSplitter,
                               QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from .epochs_view import EpochsView
from .fmri_panes import FmriPane
from .models import events_of
from .param_form import format_value, parse_text
from .signal_browser import SignalBrowser, source_of


def file_filter() -> str:
    """The open-file dialog's filters: every registered source kind's file patterns."""
    from data import sources

    kinds = [k for k in sources.available() if k.extensions]
    every = " ".join(dict.fromkeys(p for k in kinds for p in k.extensions))
    return ";;".join([f"Data files ({every})"] + [f"{k.description} ({' '.join(k.extensions)})" for k in kinds]
                     + ["All files (*)"])


class DataView(QWidget):
    trials_wanted = Signal()

    def __init__(self, workbench, parent: QWidget | None = None):
        super().__init__(parent)
        self.wb = workbench
        self.model = workbench.data
        self._build()
        self.model.subscribe(self._changed)

    # ----------------------------------------------------------------------- layout
    def _build(self) -> None:
        title = QLabel("Data")
        title.setObjectName("viewTitle")
        hint = QLabel("Open a recording, a folder or a BIDS root (or drop it on the window), or pick a demo.")
        hint.setObjectName("viewHint")

        open_file = QPushButton("Open file…")
        open_file.setToolTip("Open a recording (Ctrl+O)")
        open_file.clicked.connect(self.ask_file)
        open_folder = QPushButton("Open folder…")
        open_folder.setToolTip("Open a folder of recordings or a BIDS root (Ctrl+Shift+O)")
        open_folder.clicked.connect(self.ask_folder)
        self.demo_box = QComboBox()
        self.demo_box.setMinimumWidth(260)
        self.demo_box.addItem("Built-in demos and public datasets…", None)
        self._named_kinds = self._list_named_sources()
        self.demo_box.activated.connect(self._demo_picked)
        self.source_label = QLabel("Nothing open yet.")
        self.source_label.setProperty("class", "hint")
        top = QHBoxLayout()
        top.addWidget(open_file)
        top.addWidget(open_folder)
        top.addWidget(self.demo_box)
        top.addSpacing(10)
        top.addWidget(self.source_label, 1)

        # summary
        self.summary = QLabel("Open data to see its channels, sampling rate, duration, events and subjects.")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.RichText)
        self.summary.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        summary_box = QGroupBox("Summary")
        QVBoxLayout(summary_box).addWidget(self.summary)

        # preprocessing
        self.low_box = self._hz_box("Low edge of the band-pass (off: no high-pass)")
        self.high_box = self._hz_box("High edge of the band-pass (off: no low-pass)")
        self.notch_edit = QLineEdit()
        self.notch_edit.setPlaceholderText("off, or e.g. 50 or [50, 100]")
        self.notch_edit.setToolTip("Line-noise frequencies to notch out, in Hz")
        self.resample_box = self._hz_box("New sampling rate (off: keep the recording's)", maximum=5000)
        self.tmin_box = QDoubleSpinBox(decimals=2, minimum=-10, maximum=60, singleStep=0.25, suffix=" s")
        self.tmax_box = QDoubleSpinBox(decimals=2, minimum=-10, maximum=60, singleStep=0.25, suffix=" s")
        for box in (self.tmin_box, self.tmax_box):
            box.setToolTip("Epoch window [start, end] relative to each event")
        self.subjects_edit = QLineEdit()
        self.subjects_edit.setPlaceholderText("all")
        self.subjects_edit.setToolTip("Subjects to use, e.g. 1, 3 (empty: all)")
        self.reference_box = QComboBox()
        self.reference_box.addItem("as recorded", None)
        self.reference_box.addItem("average", "average")
        self.reference_box.setToolTip("Re-reference the EEG")
        band_row, window_row = QHBoxLayout(), QHBoxLayout()
        band_row.addWidget(self.low_box)
        band_row.addWidget(QLabel("to"))
        band_row.addWidget(self.high_box)
        window_row.addWidget(self.tmin_box)
        window_row.addWidget(QLabel("to"))
        window_row.addWidget(self.tmax_box)
        self.classes = QTableWidget(0, 2)
        self.classes.setHorizontalHeaderLabels(["event", "class"])
        self.classes.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.classes.verticalHeader().setVisible(False)
        self.classes.setToolTip("Map event names to class names: two events may share a class; "
                                "an empty class leaves the event out")
        self.classes.setMaximumHeight(150)
        self.counts = QLabel("")
        self.counts.setObjectName("bigNumber")
        self.counts.setWordWrap(True)
        self.counts_note = QLabel("")
        self.counts_note.setWordWrap(True)
        self.counts_note.setProperty("class", "hint")
        self.make_trials = QPushButton("Make trials")
        self.make_trials.setToolTip("Epoch and preprocess now, for the epochs view (training does it anyway)")
        self.make_trials.clicked.connect(self.wb.load_trials)

        pre_box = QGroupBox("Preprocessing")
        form = QFormLayout(pre_box)
        form.addRow("subjects", self.subjects_edit)
        form.addRow("band", band_row)
        form.addRow("notch", self.notch_edit)
        form.addRow("resample", self.resample_box)
        form.addRow("reference", self.reference_box)
        form.addRow("window", window_row)
        form.addRow(self.classes)
        form.addRow(self.counts)
        form.addRow(self.counts_note)
        form.addRow(self.make_trials)
        self._controls = [self.subjects_edit, self.low_box, self.high_box, self.notch_edit, self.resample_box, self.tmin_box,
                          self.tmax_box, self.reference_box, self.classes, self.make_trials]
        self._wire_controls()

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(summary_box)
        ll.addWidget(pre_box, 1)
        left.setMinimumWidth(330)
        left.setMaximumWidth(420)

        # browser and epochs
        self.browser = SignalBrowser()
        self.browser.bad_toggled.connect(self._bad_toggled)
        self.recording_box = QComboBox()
        self.recording_box.setToolTip("Recording shown in the browser")
        self.recording_box.currentIndexChanged.connect(self._show_recording)
        signal_tab = QWidget()
        sl = QVBoxLayout(signal_tab)
        rec_row = QHBoxLayout()
        rec_row.addWidget(QLabel("Recording"))
        rec_row.addWidget(self.recording_box, 1)
        sl.addLayout(rec_row)
        sl.addWidget(self.browser, 1)
        self.epochs = EpochsView()
        self.tabs = QTabWidget()
        self.tabs.addTab(signal_tab, "Signal")
        self.tabs.addTab(self.epochs, "Epochs")
        self.fmri = FmriPane()
        self.fmri.subject_changed.connect(lambda _: self._browse_fmri())
        self.tabs.addTab(self.fmri, "fMRI")
        self._show_tabs_for(fmri=False)   # each modality sees only its own tabs
        self.tabs.currentChanged.connect(self._tab_changed)

        split = QSplitter(Qt.Horizontal)
        split.addWidget(left)
        split.addWidget(self.tabs)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        self._set_enabled(False)

    @staticmethod
    def _hz_box(tip: str, maximum: float = 1000.0) -> QDoubleSpinBox:
        box = QDoubleSpinBox(decimals=1, minimum=0.0, maximum=maximum, singleStep=1.0, suffix=" Hz")
        box.setSpecialValueText("off")
        box.setToolTip(tip)
        return box

    def _wire_controls(self) -> None:
        self._spec_timer = QTimer(self, singleShot=True, interval=250)
        self._spec_timer.timeout.connect(self.apply_controls)
        for box in (self.low_box, self.high_box, self.resample_box, self.tmin_box, self.tmax_box):
            box.valueChanged.connect(self._spec_timer.start)
        self.notch_edit.editingFinished.connect(self.apply_controls)
        self.subjects_edit.editingFinished.connect(self.apply_controls)
        self.reference_box.activated.connect(self.apply_controls)
        self.classes.itemChanged.connect(lambda _item: self.apply_controls())

    def _set_enabled(self, on: bool) -> None:
        for widget in self._controls:
            widget.setEnabled(on)

    # ------------------------------------------------------------------ user input
    def ask_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a recording", self.wb.settings.last_folder, file_filter())
        if path:
            self.wb.open(path)

    def ask_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder or BIDS root", self.wb.settings.last_folder)
        if path:
            self.wb.open(path)

    def _list_named_sources(self) -> dict[str, object]:
        """Fill the chooser from the source registry: each kind's ready-made sources (demos),
        then one entry per kind named ``scheme:ARGUMENT`` (public datasets), asked for on pick."""
        from data import sources

        asked = {}
        kinds = sources.available()
        for kind in kinds:
            for source, description in (kind.function("choices")() if kind.choices else []):
                self.demo_box.addItem(source, source)
                self.demo_box.setItemData(self.demo_box.count() - 1, description, Qt.ToolTipRole)
        for kind in kinds:
            if kind.scheme and kind.argument and not kind.choices:
                copy = ", local copy" if kind.local_copy else ""
                self.demo_box.addItem(f"{kind.scheme}: {kind.description}{copy}…", f"kind:{kind.name}")
                self.demo_box.setItemData(self.demo_box.count() - 1, kind.description, Qt.ToolTipRole)
                asked[f"kind:{kind.name}"] = kind
        return asked

    def _demo_picked(self, index: int) -> None:
        value = self.demo_box.itemData(index)
        self.demo_box.setCurrentIndex(0)
        if value is None:
            return
        kind = self._named_kinds.get(value)
        if kind is None:   # a ready-made source
            self.wb.open(value)
            return
        folder = None
        if kind.local_copy:
            folder = QFileDialog.getExistingDirectory(self, f"Local copy of {kind.scheme}", self.wb.settings.last_folder)
            if not folder:
                return
        argument, ok = QInputDialog.getText(self, kind.description, f"{kind.argument}:")
        source = kind.source_named(argument) if ok else None
        if source is None or not kind.function("detect")(source):   # e.g. a dataset name left empty
            return
        self.wb.open(source, data_path=folder)

    def apply_controls(self) -> None:
        """Send the preprocessing controls to the model (which recounts the trials)."""
        if self.model.spec is None:
            return
        low, high = self.low_box.value() or None, self.high_box.value() or None
        changes = {
            "band": None if low is None and high is None else [low, high],
            "notch": parse_text(self.notch_edit.text()),
            "resample": self.resample_box.value() or None,
            "reference": self.reference_box.currentData(),
            "window": [self.tmin_box.value(), self.tmax_box.value()],
            "events": self._mapping(),
            "subjects": [s for s in self.subjects_edit.text().replace(",", " ").split() if s] or None,
        }
        current = self.model.spec
        before = {"band": list(current.preprocessing.band) if current.preprocessing.band else None,
                  "notch": current.preprocessing.notch, "resample": current.preprocessing.resample,
                  "reference": current.preprocessing.reference, "window": list(current.window),
                  "events": current.events,
                  "subjects": [str(s) for s in current.subjects] if current.subjects else None}
        changed = {k: v for k, v in changes.items() if v != before[k]}
        if changed and not self.wb.update_spec(**changed):
            self._show_spec()  # put the controls back to the last valid settings

    def _mapping(self) -> dict[str, str] | None:
        mapping, identity = {}, True
        for row in range(self.classes.rowCount()):
            event = self.classes.item(row, 0).text()
            item = self.classes.item(row, 1)
            label = item.text().strip() if item else ""
            if label:
                mapping[event] = label
            identity &= label == event
        return None if identity else mapping

    def _bad_toggled(self, channel: str) -> None:
        self.model.toggle_bad(channel)  # the model notifies "bads"; the browser then shows them

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.epochs and self.model.trials is None and self.model.spec is not None \
                and not self.wb.background.is_busy():
            self.wb.load_trials()

    # ----------------------------------------------------------------- model -> view
    def _changed(self, change: str, info: dict) -> None:
        if change == "source":
            self._show_source()
        elif change == "spec":
            self._show_counts()
            self.epochs.set_trials(None)
        elif change == "trials":
            self._show_counts()
            fmri = self.fmri.applies_to(self.model.trials)   # fMRI sets: the fMRI tab, not epochs
            self.epochs.set_trials(None if fmri else self.model.trials)
            self.fmri.set_data(self.model.trials)
            self._show_tabs_for(fmri=fmri)
            if fmri:
                self.tabs.setCurrentWidget(self.fmri)
                self._browse_fmri()
        elif change == "bads":
            self.browser.set_bads(self.model.bads)
            self.epochs.set_trials(None)

    def _show_tabs_for(self, fmri: bool) -> None:
        self.tabs.setTabVisible(self.tabs.indexOf(self.fmri), fmri)
        self.tabs.setTabVisible(self.tabs.indexOf(self.epochs), not fmri)

    def _browse_fmri(self) -> None:
        """A ROI-series set's chosen subject in the signal browser, up to 120 s (or points) shown."""
        source = self.fmri.browser_source()
        if source is not None:
            self.browser.set_source(source)
            self.browser.set_view(duration_s=min(120.0, source.n_times / source.sfreq))

    def _show_source(self) -> None:
        content = self.model.content
        self.source_label.setText(content.source)
        self.summary.setText(summary_html(content.summary))
        self.recording_box.blockSignals(True)
        self.recording_box.clear()
        for rec in content.recordings:
            name = Path(rec.path).name if rec.path else "simulated"
            self.recording_box.addItem(f"subject {rec.subject} · session {rec.session} · run {rec.run} · {name}")
        self.recording_box.blockSignals(False)
        self.recording_box.setEnabled(len(content.recordings) > 1)
        self._show_recording(0)
        self.classes.blockSignals(True)
        self.classes.setRowCount(0)
        for event in self.model.event_names():
            row = self.classes.rowCount()
            self.classes.insertRow(row)
            item = QTableWidgetItem(event)
            item.setFlags(item.flags() & ~Qt.ItemIsEditable)
            self.classes.setItem(row, 0, item)
            self.classes.setItem(row, 1, QTableWidgetItem(event))
        self.classes.blockSignals(False)
        self._set_enabled(bool(content.recordings))
        self.make_trials.setEnabled(True)
        self._show_spec()
        self.epochs.set_info(content.recordings[0].raw.info if content.recordings else None)
        self.epochs.set_trials(self.model.trials)

    def _show_spec(self) -> None:
        spec = self.model.spec
        if spec is None:
            return
        pre = spec.preprocessing
        values = [(self.low_box, (pre.band or (None, None))[0] or 0.0), (self.high_box, (pre.band or (None, None))[1] or 0.0),
                  (self.resample_box, pre.resample or 0.0), (self.tmin_box, spec.window[0]), (self.tmax_box, spec.window[1])]
        for box, value in values:
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        self.notch_edit.setText(format_value(pre.notch))
        self.subjects_edit.setText(", ".join(map(str, spec.subjects or [])))
        self.reference_box.setCurrentIndex(1 if pre.reference == "average" else 0)
        self.classes.blockSignals(True)
        for row in range(self.classes.rowCount()):
            event = self.classes.item(row, 0).text()
            label = event if spec.events is None else spec.events.get(event, "")
            self.classes.item(row, 1).setText(label)
        self.classes.blockSignals(False)
        self._show_counts()

    def _show_counts(self) -> None:
        counts = self.model.trial_counts
        if not counts:
            self.counts.setText("")
            self.counts_note.setText("")
            return
        self.counts.setText("  ·  ".join(f"{name} {n}" for name, n in counts.items()))
        if self.model.trials is not None:
            self.counts_note.setText(f"trials per class after preprocessing ({len(self.model.trials)} in all)")
        else:
            self.counts_note.setText("trials per class these settings give (before amplitude rejection)")

    def _show_recording(self, index: int) -> None:
        recordings = self.model.recordings
        if not recordings or index < 0:
            self.browser.set_source(None)
            return
        rec = recordings[min(index, len(recordings) - 1)]
        self.browser.set_source(source_of(rec, events_of(rec)), self.model.bads)


def summary_html(summary: dict) -> str:
    """The summary dict (`data.info.describe` keys) as a few readable lines."""
    if not summary:
        return ""
    rows = []
    channels = summary.get("channel_counts") or {}
    if channels:
        rows.append(("channels", ", ".join(f"{n} {kind}" for kind, n in channels.items())))
    sfreq = summary.get("sfreq")
    if sfreq:
        rows.append(("sampling rate", ", ".join(f"{s:g} Hz" for s in (sfreq if isinstance(sfreq, list) else [sfreq]))))
    if summary.get("duration_s"):
        minutes = summary["duration_s"] / 60
        rows.append(("duration", f"{minutes:.1f} min in {summary.get('n_recordings', 1)} recording(s)"))
    events = summary.get("events") or {}
    if events:
        rows.append(("events", ", ".join(f"{k} ×{v}" for k, v in events.items())))
    for key in ("subjects", "sessions", "runs"):
        values = summary.get(key)
        if values:
            shown = ", ".join(map(str, values[:12])) + (" …" if len(values) > 12 else "")
            rows.append((key, f"{len(values)}: {shown}"))
    for key in ("kind", "n_samples", "n_features", "targets", "classes", "modality", "description"):
        if key in summary and key not in ("kind",) and summary[key] not in (None, "", []):
            rows.append((key, str(summary[key])))
    if not rows:
        rows = [(k, str(v)) for k, v in summary.items() if k != "source"][:10]
    cells = "".join(f"<tr><td style='padding-right:10px'><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"
