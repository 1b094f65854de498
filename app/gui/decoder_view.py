"""Decoder view: the registry's decoders, a form from the chosen decoder's parameter schema
with its presets, the evaluation protocol and the device.

The decoders and protocols that fit the data in front of the user come first; the others
are greyed out with the reason (`decoders.compatibility`). Opening data picks the suggested
decoder and protocol unless the current choice still fits. Before Start, the "Before you
start" box says why the experiment cannot run, or how long it should take
(`app.preflight.estimate_for`, timed in the background).
"""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QPushButton, QScrollArea, QSpinBox, QVBoxLayout, QWidget)

from data.errors import InputError

from .param_form import ParamForm

# Parameters shown elsewhere (device selector, seed box) or filled from the data.
HIDDEN_PARAMS = {"device", "seed"}
ESTIMATE_DELAY_MS = 1500   # the estimate starts once the settings stay unchanged this long
ESTIMATE_BUDGET_S = 8.0    # the longest a neural decoder's timed stretch of training runs here


class DecoderView(QWidget):
    start_requested = Signal()

    def __init__(self, workbench, parent: QWidget | None = None):
        super().__init__(parent)
        self.wb = workbench
        self.model = workbench.decoder
        self._build()
        self._estimate_worker = None
        self._estimate_timer = QTimer(self, singleShot=True, interval=ESTIMATE_DELAY_MS)
        self._estimate_timer.timeout.connect(self._start_estimate)
        self.model.subscribe(self._changed)
        self.wb.data.subscribe(self._data_changed)
        # however training starts (button, F5, menu), a running estimate yields to it
        self.wb.training.subscribe(lambda change, info: self._cancel_estimate() if change == "state" else None)
        self.wb.devices_changed.connect(self._fill_devices)
        self._fill_devices(self.wb.devices)
        if self.wb.data.trials is not None or self.wb.data.content is not None:
            self._data_changed("trials" if self.wb.data.trials is not None else "source", {})

    def _build(self) -> None:
        title = QLabel("Decoder")
        title.setObjectName("viewTitle")
        hint = QLabel("Pick a decoder; its parameters, presets and the evaluation protocol appear on the right.")
        hint.setObjectName("viewHint")

        self.list = QListWidget()
        self.list.setObjectName("decoderList")
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        self._fill_list()
        self.list.currentItemChanged.connect(self._picked)
        self.list.setMinimumWidth(320)
        self.list.setMaximumWidth(380)

        self.heading = QLabel("No decoder chosen")
        self.heading.setStyleSheet("font-size: 13pt; font-weight: 600;")
        self.description = QLabel("")
        self.description.setWordWrap(True)
        self.description.setObjectName("viewHint")
        self.preset_box = QComboBox()
        self.preset_box.setToolTip("Presets set several parameters at once; edits below override them.")
        self.preset_box.activated.connect(self._preset_picked)
        self.form = ParamForm()
        self.form.value_changed.connect(self._param_edited)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        scroll.setFrameShape(QScrollArea.NoFrame)
        params_box = QGroupBox("Parameters")
        pl = QVBoxLayout(params_box)
        row = QHBoxLayout()
        row.addWidget(QLabel("Preset"))
        row.addWidget(self.preset_box, 1)
        pl.addLayout(row)
        pl.addWidget(scroll, 1)

        self.protocol_box = QComboBox()
        for protocol in self.model.protocols():   # the protocol registry, plugins included
            self.protocol_box.addItem(protocol.name, protocol.name)
            self.protocol_box.setItemData(self.protocol_box.count() - 1,
                                          f"{protocol.description}\nNeeds: {protocol.requires.describe()}.",
                                          Qt.ToolTipRole)
        self.protocol_box.setToolTip("How trials are split into training and test folds.")
        self.protocol_box.activated.connect(lambda i: self._evaluation_edited(protocol=self.protocol_box.itemData(i)))
        self.eval_form = ParamForm()
        self.eval_form.value_changed.connect(lambda k, v: self._evaluation_edited(**{k: v}))
        self.seed_box = QSpinBox(minimum=0, maximum=2**31 - 1)
        self.seed_box.setToolTip("Seed for the folds and the decoder: the same seed repeats a CPU run exactly.")
        self.seed_box.valueChanged.connect(lambda v: self._evaluation_edited(seed=v))
        eval_box = QGroupBox("Evaluation")
        el = QFormLayout(eval_box)
        el.addRow("protocol", self.protocol_box)
        el.addRow(self.eval_form)
        el.addRow("seed", self.seed_box)

        self.device_box = QComboBox()
        self.device_box.setToolTip("Where training runs: auto picks a GPU when torch sees one.")
        self.device_box.activated.connect(lambda i: self.wb.set_device(self.device_box.itemData(i)))
        device_group = QGroupBox("Device")
        dl = QVBoxLayout(device_group)
        dl.addWidget(self.device_box)

        self.start_button = QPushButton("Train  ▶")
        self.start_button.setObjectName("primary")
        self.start_button.setToolTip("Start training with these settings (F5)")
        self.start_button.clicked.connect(self._cancel_estimate)   # the estimate yields to the real run
        self.start_button.clicked.connect(self.start_requested)

        self.readiness = QLabel("Open data to see which decoders fit it.")
        self.readiness.setObjectName("readiness")
        self.readiness.setWordWrap(True)
        self.readiness.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.estimate_label = QLabel("")
        self.estimate_label.setObjectName("estimate")
        self.estimate_label.setWordWrap(True)
        ready_box = QGroupBox("Before you start")
        rl = QVBoxLayout(ready_box)
        rl.addWidget(self.readiness)
        rl.addWidget(self.estimate_label)

        side = QVBoxLayout()
        side.addWidget(eval_box)
        side.addWidget(device_group)
        side.addWidget(ready_box)
        side.addStretch(1)
        side.addWidget(self.start_button)

        center = QVBoxLayout()
        center.addWidget(self.heading)
        center.addWidget(self.description)
        body = QHBoxLayout()
        body.addWidget(params_box, 3)
        body.addLayout(side, 2)
        center.addLayout(body, 1)

        columns = QHBoxLayout()
        columns.addWidget(self.list)
        columns.addLayout(center, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addLayout(columns, 1)
        self._refresh_evaluation()

    def _fill_list(self) -> None:
        self.list.blockSignals(True)   # refilling must not pick a decoder
        self.list.clear()
        self.list.blockSignals(False)
        if not self.model.entries:
            item = QListWidgetItem("Loading the decoder registry…")
            item.setFlags(Qt.NoItemFlags)
            self.list.addItem(item)
            return
        by_name = {e.name: e for e in self.model.entries}
        self.list.blockSignals(True)
        for name in self.model.decoder_order or list(by_name):
            entry = by_name[name]
            item = QListWidgetItem(f"{entry.name}\n{entry.description}")
            item.setData(Qt.UserRole, entry.name)
            self.list.addItem(item)
        self.list.blockSignals(False)
        self._mark_compatible()
        self._select_current()

    # ----------------------------------------------------------------- user input
    def choose(self, name: str) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.UserRole) == name:
                self.list.setCurrentRow(i)
                return
        raise InputError(f"unknown decoder '{name}'.")

    def _picked(self, item, _previous=None) -> None:
        if item is None:
            return
        try:
            self.model.choose(item.data(Qt.UserRole))
        except InputError as exc:
            self.wb.error.emit("Cannot use this decoder", str(exc))
        except Exception as exc:  # noqa: BLE001 - a decoder module that fails to import
            self.wb.error.emit("Cannot use this decoder", f"{type(exc).__name__}: {exc}")

    def _preset_picked(self, index: int) -> None:
        self.model.apply_preset(self.preset_box.itemData(index))

    def _param_edited(self, name: str, value) -> None:
        self.model.set_param(name, value)

    def _evaluation_edited(self, **changes) -> None:
        try:
            self.model.set_evaluation(**changes)
        except InputError as exc:
            self.wb.error.emit("Invalid evaluation setting", str(exc))
            self._refresh_evaluation()

    # ------------------------------------------------------------------ model -> view
    def _changed(self, change: str, info: dict) -> None:
        if change in ("entries", "compatibility"):
            self._fill_list()
            self._mark_protocols()
            if change == "compatibility" and self.model.name:
                self._show_decoder()
        elif change == "decoder":
            self._show_decoder()
        elif change == "params":
            if "key" in info:
                self.form.set_error(info["key"], info.get("error"))
            else:
                self.form.set_values({k: v for k, v in self.model.values.items() if k not in HIDDEN_PARAMS})
                for name in self.form.editors:
                    self.form.set_error(name, None)
                self._select_preset()
        elif change == "evaluation":
            self._refresh_evaluation()
        elif change == "device":
            self._select_device()
        if change in ("compatibility", "decoder", "params", "evaluation", "device"):
            self._update_readiness()

    def _show_decoder(self) -> None:
        entry = self.model.entry
        self.heading.setText(entry.name)
        self.description.setText(f"{entry.description}  Task: {entry.task.value}; input: {entry.input_kind}.")
        self.preset_box.clear()
        self.preset_box.addItem("(defaults)", None)
        for preset in self.model.presets():
            self.preset_box.addItem(preset, preset)
        self._select_preset()
        from app.experiment import DATA_FILLED_PARAMS

        fields = [f for f in self.model.fields if f.name not in HIDDEN_PARAMS]
        readonly = {f.name: "from the data" for f in fields if f.name in DATA_FILLED_PARAMS}
        self.form.set_fields(fields, self.model.values, readonly)
        self._select_current()
        self._mark_protocols()
        self._follow_decoder_kind()

    def _follow_decoder_kind(self) -> None:
        """A protocol that cannot cut the chosen decoder's kind of input gives way to the
        data's suggestion, or else the first registered one that can (no data yet)."""
        entry = self.model.entry
        current = next((p for p in self.model.protocols() if p.name == self.model.protocol), None)
        if entry is None or current is None or entry.input_kind in current.requires.input_kinds:
            return
        if self.model.data is not None:
            from decoders.compatibility import suggest

            advice = suggest(self.model.data, self.model.entries)
            if advice.protocol:
                self._evaluation_edited(protocol=advice.protocol, **advice.options)
                return
        fitting = self.model.protocols(entry.input_kind)
        if fitting:
            self._evaluation_edited(protocol=fitting[0].name)

    def _select_current(self) -> None:
        """Show the model's decoder as the list's current row (without choosing it again)."""
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.UserRole) == self.model.name:
                if self.list.currentRow() != i:
                    self.list.blockSignals(True)
                    self.list.setCurrentRow(i)
                    self.list.blockSignals(False)
                return

    def _select_preset(self) -> None:
        index = self.preset_box.findData(self.model.preset)
        self.preset_box.setCurrentIndex(max(index, 0))

    def _refresh_evaluation(self) -> None:
        self.protocol_box.setCurrentIndex(max(self.protocol_box.findData(self.model.protocol), 0))
        fields = self.model.evaluation_fields()
        self.eval_form.set_fields(fields, {f.name: self.model.evaluation_value(f.name) for f in fields})
        self.seed_box.blockSignals(True)
        self.seed_box.setValue(self.model.seed)
        self.seed_box.blockSignals(False)

    def _fill_devices(self, devices: list) -> None:
        self.device_box.clear()
        for value, label in devices:
            self.device_box.addItem(label, value)
        if self.device_box.findData(self.model.device) < 0:
            self.device_box.addItem(self.model.device, self.model.device)
        self._select_device()

    def _select_device(self) -> None:
        self.device_box.setCurrentIndex(max(self.device_box.findData(self.model.device), 0))

    def _mark_compatible(self) -> None:
        """Grey out the decoders that cannot run on the data, their reason as text and tooltip."""
        for i in range(self.list.count()):
            item = self.list.item(i)
            entry = next((e for e in self.model.entries if e.name == item.data(Qt.UserRole)), None)
            if entry is None:
                continue
            reasons = self.model.decoder_reasons.get(entry.name, [])
            blocking = [r for r in reasons if r.blocking]
            tip = f"{entry.description}\nTask: {entry.task.value}; input: {entry.input_kind}"
            if entry.modalities:
                tip += f"; modalities: {', '.join(entry.modalities)}"
            text = f"{entry.name}\n{entry.description}"
            if reasons:
                tip += "\n\n" + "\n".join(str(r) for r in reasons)
                text += f"\n{'Not for this data' if blocking else 'Note'}: {reasons[0].text}"
            item.setText(text)
            item.setToolTip(tip)
            flags = item.flags()
            item.setFlags(flags & ~Qt.ItemIsEnabled if blocking else flags | Qt.ItemIsEnabled)

    def _mark_protocols(self) -> None:
        """Grey out the protocols that cannot evaluate the data, their reason as tooltip."""
        model = self.protocol_box.model()
        for i in range(self.protocol_box.count()):
            name = self.protocol_box.itemData(i)
            chosen = next((p for p in self.model.protocols() if p.name == name), None)
            if chosen is None:
                continue
            reasons = self.model.protocol_reasons.get(name, [])
            tip = f"{chosen.description}\nNeeds: {chosen.requires.describe()}."
            if reasons:
                tip += "\n\nNot with these settings on this data: " + " ".join(str(r) for r in reasons[:3])
            self.protocol_box.setItemData(i, tip, Qt.ToolTipRole)
            item = model.item(i) if hasattr(model, "item") else None
            if item is not None:
                # the chosen protocol stays selectable: its options may be what needs changing
                item.setEnabled(not reasons or name == self.model.protocol)

    # ------------------------------------------------------------------ data -> model
    def _data_changed(self, change: str, info: dict) -> None:
        data = self.wb.data
        if change == "trials" and data.trials is not None:
            self.model.set_data(data.trials)
        elif change == "source":
            from decoders.compatibility import DataFacts

            content = data.content
            facts = None
            if content is not None and content.summary:
                options = getattr(data.spec, "options", None) or {}
                facts = DataFacts.from_summary(content.summary, paradigm=options.get("paradigm"))
            self.model.set_data(facts)

    # ------------------------------------------------------------------ before start
    def showEvent(self, event) -> None:   # noqa: N802 - Qt's name
        super().showEvent(event)
        if self._estimate_worker is None and self.estimate_label.text().startswith("Estimating"):
            self._estimate_timer.start()   # asked for while the view was hidden

    def _update_readiness(self) -> None:
        """Why the experiment cannot run (the preflight's problems), or that it can; then an
        estimate of its time, once the settings rest."""
        self._cancel_estimate()
        trials = self.wb.data.trials
        model = self.model
        if model.name is None:
            self.readiness.setText("Choose a decoder.")
            self.estimate_label.setText("")
            return
        if model.data is None:
            self.readiness.setText("Open data to see whether this decoder fits it.")
            self.estimate_label.setText("")
            return
        problems = self._problems()
        if problems:
            self.readiness.setText("<b>Cannot start:</b><br>" + "<br>".join(_escape(str(p)) for p in problems))
            self.readiness.setProperty("state", "refused")
            self.estimate_label.setText("")
            return
        self.readiness.setProperty("state", "ok")
        self.readiness.setText(f"{model.name} with {model.protocol} fits this data.")
        self.estimate_label.setText("Estimating the time…" if trials is not None else
                                    "Estimating the time (the trials are made first)…")
        self._estimate_timer.start()

    def _problems(self) -> list:
        """The preflight's problems for the chosen decoder and protocol on the loaded trials
        (the declared facts only while the trials are not made)."""
        from decoders.compatibility import DataFacts, Problem, experiment_problems

        model = self.model
        if isinstance(model.data, DataFacts):
            out = [Problem("decoder.name", " ".join(r.text for r in model.blocking_reasons()))] \
                if model.blocking_reasons() else []
            out += [Problem("evaluation.protocol", str(r)) for r in model.protocol_reasons.get(model.protocol, [])]
            return out
        try:
            return experiment_problems(model.name, dict(model.values), model.protocol,
                                       {k: v for k, v in model.evaluation.items()}, model.data)
        except InputError as exc:
            return [Problem("evaluation", str(exc))]

    def _start_estimate(self) -> None:
        if not self.isVisible() or self.wb.training_running() or self.model.name is None:
            self.estimate_label.setText("")
            return
        try:
            config = self.wb.experiment_config()
        except InputError as exc:
            self.estimate_label.setText(f"No estimate: {exc}")
            return
        from app.gui.worker import WorkerArg
        from app.preflight import estimate_for

        def done(estimate) -> None:
            if self._estimate_worker is worker:
                self._estimate_worker = None
                self.estimate_label.setText(f"Estimated time: {estimate.describe()}")

        def failed(exc) -> None:
            if self._estimate_worker is worker:
                self._estimate_worker = None
                self.estimate_label.setText(f"No estimate: {exc}")

        worker = self.wb.background.run("estimating the time", estimate_for, done, failed, config,
                                        self.wb.data.trials, ESTIMATE_BUDGET_S, cancel=WorkerArg.CANCEL)
        self._estimate_worker = worker

    def _cancel_estimate(self) -> None:
        self._estimate_timer.stop()
        worker, self._estimate_worker = self._estimate_worker, None
        if worker is not None:
            worker.cancel()
        if self.estimate_label.text().startswith("Estimating"):
            self.estimate_label.setText("")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
