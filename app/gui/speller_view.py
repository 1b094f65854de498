"""The Online view's P300 speller pane: the letter matrix flashing in step with a replayed
speller recording, the letter chosen after each block, the spelled text against the text to
spell, character accuracy and information transfer rate.

`SpellerBoard` is the state, without Qt (tests drive it): the session's flash decisions
(``stim/<code>`` markers; codes 1..rows are rows, the next ones columns) light a row or a
column, its letter events (`app.online.speller.SpellerTracker`) add the chosen letters.
`SpellerPane` only draws a board.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

FLASH_PREFIX = "stim/"
CELL_STYLE = {   # readable on the light and the dark theme alike
    "idle": "border: 1px solid palette(mid); border-radius: 4px;",
    "lit": "border: 1px solid #d8b400; border-radius: 4px; background: #ffe14d; color: #111;",
    "chosen": "border: 2px solid #1f7a3a; border-radius: 4px; background: #2f9e55; color: white;",
}


class SpellerBoard:
    """The speller's state as a session's events arrive.

    Parameters
    ----------
    matrix : list of list of str
        The symbols, row by row (the recording's TargetDefinitions).
    text_to_spell : str
        What the user was asked to spell ('' when unknown).
    time_scale : float
        Seconds of the recording per second of stream time: the replay speed (a recording
        replayed 10 times faster has flashes 10 times closer on the stream), 1 for a live stream.
    """

    def __init__(self, matrix: list[list[str]], text_to_spell: str = "", time_scale: float = 1.0):
        if time_scale <= 0:
            raise ValueError(f"time_scale must be positive, not {time_scale}.")
        if not matrix or not matrix[0] or any(len(row) != len(matrix[0]) for row in matrix):
            raise ValueError("a speller matrix needs rows of equal, non-zero length.")
        self.matrix = [list(row) for row in matrix]
        self.text_to_spell = text_to_spell
        self.time_scale = float(time_scale)
        self.lit: tuple[str, int] | None = None        # ("row" | "column", index) of the newest flash
        self.chosen: tuple[int, int] | None = None     # the cell of the newest letter
        self.letters: list[dict] = []
        self.flashes = 0
        self._flash_times: list[float] = []

    @property
    def n_rows(self) -> int:
        return len(self.matrix)

    @property
    def n_cols(self) -> int:
        return len(self.matrix[0])

    def on_event(self, event: dict) -> bool:
        """Fold in one session event; True when the board changed."""
        if event.get("kind") == "decision":
            return self.flash(event)
        if event.get("kind") == "letter":
            self.add_letter(event)
            return True
        return False

    def flash(self, decision: dict) -> bool:
        """Light the row or column of a flash decision (``marker`` ``stim/<code>``)."""
        marker = str(decision.get("marker") or "")
        if not marker.startswith(FLASH_PREFIX):
            return False
        code = int(marker[len(FLASH_PREFIX):])
        if not 1 <= code <= self.n_rows + self.n_cols:
            return False
        self.lit = ("row", code - 1) if code <= self.n_rows else ("column", code - 1 - self.n_rows)
        self.flashes += 1
        stamp = decision.get("marker_time", decision.get("sample_time"))
        if stamp is not None:
            self._flash_times.append(float(stamp))
        return True

    def add_letter(self, event: dict) -> None:
        """A letter chosen after a block of flashes (a ``letter`` event)."""
        symbol = str(event["letter"])
        self.letters.append({**event, "flash_count": self.flashes,
                             "last_flash_time": self._flash_times[-1] if self._flash_times else None})
        self.chosen = self.cell_of(symbol)
        self.lit = None

    def cell_of(self, symbol: str) -> tuple[int, int] | None:
        for r, row in enumerate(self.matrix):
            if symbol in row:
                return r, row.index(symbol)
        return None

    def cell_state(self, r: int, c: int) -> str:
        """'chosen', 'lit' or 'idle' for the cell at row ``r``, column ``c``."""
        if self.lit is None and self.chosen == (r, c):
            return "chosen"
        if self.lit is not None and self.lit == (("row", r) if self.lit[0] == "row" else ("column", c)):
            return "lit"
        return "idle"

    @property
    def spelled(self) -> str:
        return "".join(str(e["letter"]) for e in self.letters)

    def truths(self) -> list[str | None]:
        """The attended symbol of each letter: from the flashes' labels, else the text to spell."""
        out = []
        for i, event in enumerate(self.letters):
            truth = event.get("true")
            if truth is None and i < len(self.text_to_spell):
                truth = self.text_to_spell[i]
            out.append(truth)
        return out

    def accuracy(self) -> tuple[int, int]:
        """(letters right, letters with a known truth)."""
        pairs = [(e["letter"], t) for e, t in zip(self.letters, self.truths()) if t is not None]
        return sum(a == b for a, b in pairs), len(pairs)

    def seconds_per_letter(self) -> float | None:
        """Recording time per letter: from the first flash to the last flash of the newest
        letter, plus one flash spacing, over the letters so far (pauses between letters
        included), in seconds of the recording (stream time x ``time_scale``)."""
        last = self.letters[-1]["last_flash_time"] if self.letters else None
        if last is None or len(self._flash_times) < 2:
            return None
        spacing = float(np.median(np.diff(self._flash_times)))
        return (last - self._flash_times[0] + spacing) * self.time_scale / len(self.letters)

    def itr_bits_per_minute(self) -> float | None:
        """Wolpaw ITR of the letters so far (None before the first letter with a known truth)."""
        from decoders.speller import itr_bits_per_minute

        right, known = self.accuracy()
        seconds = self.seconds_per_letter()
        if not known or not seconds:
            return None
        return itr_bits_per_minute(self.n_rows * self.n_cols, right / known, seconds)

    def summary(self) -> str:
        right, known = self.accuracy()
        if not known:
            return f"{len(self.letters)} letter(s), no truth to score them" if self.letters else ""
        itr = self.itr_bits_per_minute()
        return (f"character accuracy {right}/{known} ({right / known:.0%})"
                + (f", ITR {itr:.1f} bits/min ({self.seconds_per_letter():.1f} s a letter)" if itr is not None else ""))


class SpellerPane(QWidget):
    """Draws a `SpellerBoard`: the matrix, the spelled text against the text to spell, the
    newest letter, accuracy and ITR."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.board: SpellerBoard | None = None
        self.cells: list[list[QLabel]] = []
        self.grid = QGridLayout()
        self.grid.setSpacing(4)
        self.spelled = QLabel()
        self.spelled.setObjectName("viewTitle")
        self.target = QLabel()
        self.latest = QLabel()
        self.latest.setWordWrap(True)
        self.scores = QLabel()
        self.scores.setWordWrap(True)
        text = QVBoxLayout()
        for w in (QLabel("Spelled"), self.spelled, self.target, self.latest, self.scores):
            text.addWidget(w)
        text.addStretch(1)
        matrix = QWidget()
        matrix.setLayout(self.grid)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(matrix, 0, 0)
        layout.addLayout(text, 0, 1)
        layout.setColumnStretch(0, 3)
        layout.setColumnStretch(1, 2)

    def start(self, matrix: list[list[str]], text_to_spell: str = "", time_scale: float = 1.0) -> None:
        """A new session: a clear board for this matrix (``time_scale``: see `SpellerBoard`)."""
        self.board = SpellerBoard(matrix, text_to_spell, time_scale)
        for row in self.cells:
            for label in row:
                label.deleteLater()
        self.cells = []
        for r, symbols in enumerate(self.board.matrix):
            row = []
            for c, symbol in enumerate(symbols):
                label = QLabel(symbol)
                label.setAlignment(Qt.AlignCenter)
                label.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
                label.setMinimumSize(28, 22)
                font = label.font()
                font.setPointSize(font.pointSize() + 4)
                font.setBold(True)
                label.setFont(font)
                self.grid.addWidget(label, r, c)
                row.append(label)
            self.cells.append(row)
        self._draw()

    def on_event(self, event: dict) -> None:
        if self.board is not None and self.board.on_event(event):
            self._draw()

    def _draw(self) -> None:
        b = self.board
        if b is None:
            return
        for r, row in enumerate(self.cells):
            for c, label in enumerate(row):
                label.setStyleSheet(CELL_STYLE[b.cell_state(r, c)])
        self.spelled.setText(b.spelled or "–")
        self.target.setText(f"to spell: {b.text_to_spell}" if b.text_to_spell else "to spell: (not in the file)")
        if b.letters:
            e = b.letters[-1]
            truth = b.truths()[-1]
            self.latest.setText(f"letter {len(b.letters)}: {e['letter']}"
                                + (f" (attended {truth})" if truth is not None else "")
                                + f", {e.get('flashes', '?')} flashes"
                                + (", stopped early" if e.get("stopped_early") else ""))
        else:
            self.latest.setText(f"{b.flashes} flashes, no letter yet")
        self.scores.setText(b.summary())
