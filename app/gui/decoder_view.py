"""Decoder view: the registry's decoders, a form from the chosen decoder's parameter schema
with its presets, the evaluation protocol and the device."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QPushButton, QScrollArea, QSpinBox, QVBoxLayout, QWidget)

from data.errors import InputError

from .param_form import ParamForm

# Parameters shown elsewhere (device selector, seed box) or filled from the data.
HIDDEN_PARAMS = {"device", "seed"}


class DecoderView(QWidget):
    start_requested = Signal()

    def __init__(self, workbench, parent: QWidget | None = None):
        super().__init__(parent)
        self.wb = workbench
        self.model = workbench.decoder
        self._build()
        self.model.subscribe(self._changed)
        self.wb.data.subscribe(lambda change, info: self._mark_compatible() if change in ("source", "trials") else None)
        self.wb.devices_changed.connect(self._fill_devices)
        self._fill_devices(self.wb.devices)

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
        self.start_button.clicked.connect(self.start_requested)

        side = QVBoxLayout()
        side.addWidget(eval_box)
        side.addWidget(device_group)
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
        self.list.clear()
        if not self.model.entries:
            item = QListWidgetItem("Loading the decoder registry…")
            item.setFlags(Qt.NoItemFlags)
            self.list.addItem(item)
            return
        for entry in self.model.entries:
            item = QListWidgetItem(f"{entry.name}\n{entry.description}")
            item.setData(Qt.UserRole, entry.name)
            item.setToolTip(f"{entry.description}\nTask: {entry.task.value}; input: {entry.input_kind}")
            self.list.addItem(item)
        self._mark_compatible()

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
        if change == "entries":
            self._fill_list()
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
        if self.model.entry.input_kind == "continuous" and self.model.protocol == "kfold":
            self._evaluation_edited(protocol="blocked-kfold")

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
        """Grey out decoders whose input kind the chosen data cannot give."""
        data = self.wb.data
        kind = "trials" if data.recordings else (data.trials.kind if data.trials is not None else None)
        for i in range(self.list.count()):
            item = self.list.item(i)
            entry = next((e for e in self.model.entries if e.name == item.data(Qt.UserRole)), None)
            if entry is None:
                continue
            ok = kind is None or entry.input_kind == kind
            flags = item.flags()
            item.setFlags(flags | Qt.ItemIsEnabled if ok else flags & ~Qt.ItemIsEnabled)
