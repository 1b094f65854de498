"""A form built from a parameter schema (`models.FieldInfo`): the right editor per type,
ranges from the schema's bounds, descriptions as tooltips, inline errors."""
from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QLabel, QLineEdit, QSpinBox,
                               QWidget)

from .models import FieldInfo

INT_LIMIT = 2_000_000_000


def parse_text(text: str) -> Any:
    """Text editors accept YAML: ``none`` or empty for null, ``[1, 2]`` for lists, numbers."""
    from data.errors import InputError
    from data.safe_yaml import parse_yaml

    text = text.strip()
    if text.lower() in ("", "none", "null", "auto"):
        return None
    try:
        return parse_yaml(text)   # alias and tag limits: a pasted alias bomb cannot hang the window
    except InputError:
        return text


def format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def range_text(f: FieldInfo) -> str:
    parts = []
    if f.minimum is not None:
        parts.append(f"{'>' if f.exclusive_min else '≥'} {f.minimum:g}")
    if f.maximum is not None:
        parts.append(f"{'<' if f.exclusive_max else '≤'} {f.maximum:g}")
    return ", ".join(parts)


def _decimals(default: Any) -> int:
    if not isinstance(default, (int, float)) or default == 0:
        return 3
    return int(min(max(math.ceil(-math.log10(abs(default))) + 2, 2), 6))


class ParamForm(QWidget):
    """Editors for a list of fields; ``value_changed(name, value)`` on every user edit."""

    value_changed = Signal(str, object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.layout_ = QFormLayout(self)
        self.layout_.setLabelAlignment(self.layout_.labelAlignment())
        self.layout_.setFieldGrowthPolicy(QFormLayout.ExpandingFieldsGrow)
        self.editors: dict[str, QWidget] = {}
        self.fields: dict[str, FieldInfo] = {}

    def set_fields(self, fields: list[FieldInfo], values: dict[str, Any],
                   readonly: dict[str, str] | None = None) -> None:
        """Rebuild the form. ``readonly`` maps a field to the text shown instead of an editor."""
        while self.layout_.rowCount():
            self.layout_.removeRow(0)
        self.editors.clear()
        self.fields = {f.name: f for f in fields}
        for f in fields:
            tip = f.description + (f" ({range_text(f)})" if range_text(f) else "") + \
                f"\nDefault: {format_value(f.default) or 'none'}"
            if readonly and f.name in readonly:
                editor: QWidget = QLabel(readonly[f.name])
                editor.setProperty("class", "hint")
            else:
                editor = self._editor(f, values.get(f.name, f.default))
            editor.setToolTip(tip)
            label = QLabel(f.name)
            label.setToolTip(tip)
            self.layout_.addRow(label, editor)
            self.editors[f.name] = editor

    def _editor(self, f: FieldInfo, value: Any) -> QWidget:
        emit = lambda v, name=f.name: self.value_changed.emit(name, v)  # noqa: E731
        if f.kind == "bool":
            editor = QCheckBox()
            editor.setChecked(bool(value))
            editor.toggled.connect(emit)
        elif f.kind == "choice":
            editor = QComboBox()
            for choice in f.choices:
                editor.addItem(str(choice), choice)
            editor.setCurrentIndex(max(0, f.choices.index(value) if value in f.choices else 0))
            editor.currentIndexChanged.connect(lambda i, e=editor: emit(e.itemData(i)))
        elif f.kind == "int" and not f.optional and abs(int(value)) <= INT_LIMIT:
            editor = QSpinBox()
            # QSpinBox holds 32-bit ints: wider schema bounds (seeds up to 2**32-1) are clamped
            low = -INT_LIMIT if f.minimum is None else int(f.minimum) + (1 if f.exclusive_min else 0)
            high = INT_LIMIT if f.maximum is None else int(f.maximum) - (1 if f.exclusive_max else 0)
            editor.setRange(max(low, -INT_LIMIT), min(high, INT_LIMIT))
            editor.setValue(int(value))
            editor.valueChanged.connect(emit)
        elif f.kind == "float" and not f.optional:
            editor = QDoubleSpinBox()
            decimals = _decimals(f.default)
            editor.setDecimals(decimals)
            step = 10 ** -decimals
            low = -1e12 if f.minimum is None else f.minimum + (step if f.exclusive_min else 0)
            high = 1e12 if f.maximum is None else f.maximum - (step if f.exclusive_max else 0)
            editor.setRange(low, high)
            editor.setSingleStep(max(step, abs(float(f.default or 1)) / 10))
            editor.setValue(float(value))
            editor.valueChanged.connect(emit)
        else:
            editor = QLineEdit(format_value(value))
            editor.setPlaceholderText("none" if f.optional else "")
            editor.editingFinished.connect(lambda e=editor: emit(parse_text(e.text())))
        return editor

    def set_value(self, name: str, value: Any) -> None:
        """Show ``value`` without emitting ``value_changed``."""
        editor = self.editors.get(name)
        if editor is None:
            return
        editor.blockSignals(True)
        if isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, QComboBox):
            index = editor.findData(value)
            editor.setCurrentIndex(max(index, 0))
        elif isinstance(editor, QSpinBox) and value is not None:
            editor.setValue(min(max(int(value), editor.minimum()), editor.maximum()))
        elif isinstance(editor, QDoubleSpinBox) and value is not None:
            editor.setValue(value)
        elif isinstance(editor, QLineEdit):
            editor.setText(format_value(value))
        editor.blockSignals(False)

    def set_values(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            self.set_value(name, value)

    def set_error(self, name: str, message: str | None) -> None:
        editor = self.editors.get(name)
        if editor is None:
            return
        editor.setProperty("invalid", bool(message))
        f = self.fields[name]
        editor.setToolTip((f"⚠ {message}\n\n" if message else "") + f.description)
        editor.style().unpolish(editor)
        editor.style().polish(editor)

    def edit(self, name: str, value: Any) -> None:
        """Set a value as if the user typed it (tests, scripted screenshots)."""
        editor = self.editors[name]
        if isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, QComboBox):
            editor.setCurrentIndex(editor.findData(value))
        elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
            editor.setValue(value)
        elif isinstance(editor, QLineEdit):
            editor.setText(format_value(value))
            editor.editingFinished.emit()
