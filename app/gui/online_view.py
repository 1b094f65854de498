"""Online view: the place for live decoding (an LSL stream or a replayed recording with the
decoder's output and latency). A later issue fills it; for now it says what will be here."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class OnlineView(QWidget):
    def __init__(self, workbench=None, parent: QWidget | None = None):
        super().__init__(parent)
        title = QLabel("Online")
        title.setObjectName("viewTitle")
        text = QLabel(
            "Live decoding will appear here: connect to an LSL stream (or replay a recording as one), "
            "see the signal and the decoder's output with its latency.\n\n"
            "Until then, apply an exported decoder from the command line:\n"
            "    neurodeck predict BUNDLE DATA")
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        text.setTextInteractionFlags(Qt.TextSelectableByMouse)
        text.setObjectName("viewHint")
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(text)
        layout.addStretch(1)
