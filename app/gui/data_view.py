"""Data view: choose a source (file, folder, BIDS root, public dataset, demo), read its
summary, browse the signal, set preprocessing and see the trial counts at once, inspect
the epochs.

What is shown follows what the data declares, never a kind's name: recordings (a browsable
source) get the signal browser, the EEG/MEG preprocessing controls and the epochs; a source
kind with an options model gets a form of those options; a loaded set gets the panes whose
``applies_to(data)`` accepts it (ROI series or NIfTI volumes: fMRI; stimulus images:
Stimuli; continuous features and targets: Features)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout,
                               QHeaderView, QInputDialog, QLabel, QLineEdit, QPushButton, QScrollArea, QSplitter,
                               QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from .continuous_panes import ContinuousPane
from .epochs_view import EpochsView
from .erp_panes import ErpPane
from .fmri_panes import FmriPane
from .models import describe_params, events_of
from .param_form import ParamForm, format_value, parse_text
from .signal_browser import SignalBrowser, source_of
from .stimulus_panes import StimulusPane
from .summary_text import summary_html

__all__ = ["DataView", "file_filter", "kinds_reading", "summary_html"]


def file_filter() -> str:
    """The open-file dialog's filters: every registered source kind's file patterns."""
    from data import sources

    kinds = [k for k in sources.available() if k.extensions]
    every = " ".join(dict.fromkeys(p for k in kinds for p in k.extensions))
    return ";;".join([f"Data files ({every})"] + [f"{k.description} ({' '.join(k.extensions)})" for k in kinds]
                     + ["All files (*)"])


def kinds_reading(path: str) -> list:
    """The source kinds that read the file ``path``: the detected one first, then every other
    kind whose declared file patterns match its name (``.mat`` is a feature table or stimulus
    pairs; only the person knows which)."""
    import fnmatch

    from data import sources
    from data.errors import DataError

    name = Path(path).name.lower()
    try:
        found = [sources.detect(path)]
    except DataError:
        found = []
    for kind in sources.available():
        if kind not in found and any(fnmatch.fnmatch(name, p.lower()) for p in kind.extensions):
            found.append(kind)
    return found


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

        self.preprocessing_box = QGroupBox("Preprocessing")
        form = QFormLayout(self.preprocessing_box)
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

        # the source kind's own options (a NIfTI mask, an ROI folder's phenotype columns ...)
        self.options_box = QGroupBox("Source options")
        self.options_box.setToolTip("Options of this kind of source (dataset.options in an experiment file)")
        self.options_form = ParamForm()
        self.options_form.value_changed.connect(self._option_edited)
        self.options_kind = None
        QVBoxLayout(self.options_box).addWidget(self.options_form)
        self.options_box.hide()

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(summary_box)
        ll.addWidget(self.options_box)
        ll.addWidget(self.preprocessing_box, 1)
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
        self.signal_tab = signal_tab
        self.epochs = EpochsView()
        self.tabs = QTabWidget()
        self.tabs.addTab(signal_tab, "Signal")
        self.tabs.addTab(self.epochs, "Epochs")
        self.fmri = FmriPane()
        self.fmri.subject_changed.connect(lambda _: self._browse_fmri())
        self.tabs.addTab(self.fmri, "fMRI")
        self.stimuli = StimulusPane()
        self.tabs.addTab(self.stimuli, "Stimuli")
        self.continuous = ContinuousPane()
        self.tabs.addTab(self.continuous, "Features")
        self.erp = ErpPane()
        self.tabs.addTab(self.erp, "ERP")
        self.set_panes = (self.fmri, self.stimuli, self.continuous, self.erp)   # each shown for the sets it applies to
        self._show_tabs(recordings=False, data=None)   # each modality sees only its own tabs
        self.tabs.currentChanged.connect(self._tab_changed)

        # a long summary (a BCI2000 file's two dozen event names) with the source options must
        # scroll, not push the window past its height
        left_scroll = QScrollArea()
        left_scroll.setWidget(left)
        left_scroll.setWidgetResizable(True)
        left_scroll.setFrameShape(QScrollArea.NoFrame)
        left_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        left_scroll.setMinimumWidth(left.minimumWidth())
        left_scroll.setMaximumWidth(left.maximumWidth())
        split = QSplitter(Qt.Horizontal)
        split.addWidget(left_scroll)
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
            self.open_path(path)

    def ask_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder or BIDS root", self.wb.settings.last_folder)
        if path:
            self.wb.open(path)

    def open_path(self, path: str) -> None:
        """Open ``path``; when several source kinds read its file type, ask which one."""
        kinds = kinds_reading(path) if Path(path).is_file() else []
        kind = None
        if len(kinds) > 1:
            labels = [f"{k.name}: {k.description}" for k in kinds]
            label, ok = QInputDialog.getItem(self, "Read as", f"Read {Path(path).name} as:", labels, 0, False)
            if not ok:
                return
            kind = kinds[labels.index(label)].name
        self.wb.open(path, kind=kind)

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

    def _option_edited(self, name: str, value) -> None:
        """A source option changed: check it, then remake the set (or recount the trials)."""
        if self.model.spec is None:
            return
        options = {**(self.model.spec.options or {}), name: value}
        self.options_form.set_error(name, None)
        if not self.wb.update_spec(options=options):
            self.options_form.set_error(name, "refused: see the message above")
            return
        if not self.model.recordings:
            self.wb.load_trials()

    def _show_options(self) -> None:
        """The form of the source kind's options (hidden when the kind takes none)."""
        from data import sources
        from data.errors import DataError

        spec = self.model.spec
        kind = None
        if spec is not None:
            try:
                kind = sources.detect(spec.source, spec.kind)
            except DataError:
                kind = None
        self.options_kind = kind if kind is not None and kind.options is not None else None
        if self.options_kind is None:
            self.options_form.set_fields([], {})
            self.options_box.hide()
            return
        fields = describe_params(self.options_kind.function("options"))
        self.options_form.set_fields(fields, dict(spec.options or {}))
        self.options_box.setTitle(f"Source options ({self.options_kind.name})")
        self.options_box.show()

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
            data = self.model.trials
            panes = [pane for pane in self.set_panes if pane.applies_to(data)]
            self.epochs.set_trials(None if panes or not self.model.recordings else data)
            for pane in self.set_panes:
                pane.set_data(data)
            self._show_tabs(bool(self.model.recordings), data)
            if not self.model.recordings and self.model.content is not None:
                self.summary.setText(summary_html(self.model.content.summary, data))
            if panes:
                self.tabs.setCurrentWidget(panes[0])
                self._browse_fmri()
        elif change == "bads":
            self.browser.set_bads(self.model.bads)
            self.epochs.set_trials(None)

    def _show_tabs(self, recordings: bool, data) -> None:
        """Recordings: Signal and Epochs; a set: the panes that apply to it (ROI series are
        also browsed as signals)."""
        for pane in self.set_panes:
            self.tabs.setTabVisible(self.tabs.indexOf(pane), pane.applies_to(data))
        self.tabs.setTabVisible(self.tabs.indexOf(self.epochs), recordings)
        self.tabs.setTabVisible(self.tabs.indexOf(self.signal_tab),
                                recordings or self.fmri.is_roi_set(data) or data is None)

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
        for pane in self.set_panes:   # nothing of the last source stays on screen
            pane.set_data(None)
        recordings = bool(content.recordings)
        self._show_tabs(recordings, None)
        self.tabs.setCurrentWidget(self.signal_tab)
        self.preprocessing_box.setVisible(recordings)   # band, notch, reference, window: recordings only
        self._show_options()
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
        self._set_enabled(recordings)
        self.make_trials.setEnabled(recordings)
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

