"""Online P300 speller: per-flash decisions of an ERP bundle -> one letter per block of flashes.

`SpellerTracker` takes the session's decisions in time order (each after a flash marker
``stim/<code>``), turns each into the log-odds of "target" (`decoders.speller.target_evidence`)
and accumulates them per row and column code with `decoders.speller.Letter`, the very object the
offline speller metrics use, so the online letters are the offline ones for the same flash scores:

- a letter (block of flashes) ends where the flash onsets leave a gap longer than
  `data.sources.erp.LETTER_GAP_FACTOR` times the usual spacing (the offline rule, on the gaps
  seen so far), after ``n_sequences`` full repetitions when the layout gives that number, or
  when the stream ends;
- with a ``threshold`` (dynamic stopping) a letter is decided at the first flash after one full
  repetition where the best cell's posterior reaches it (`Letter.dynamic`'s rule); the rest of
  its flashes are ignored.

The layout (matrix, text to spell, repetitions) comes from the replayed BCI2000 file's
parameters (`speller_layout`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data.errors import InputError

from .session import FLASH_PREFIX


@dataclass
class SpellerLayout:
    """The speller matrix (rows of symbols), the text to spell and the repetitions per letter."""

    matrix: list[list[str]]
    text_to_spell: str = ""
    n_sequences: int | None = None

    @property
    def n_codes(self) -> int:
        return len(self.matrix) + len(self.matrix[0])


def speller_layout(path: str) -> SpellerLayout:
    """The layout of a BCI2000 speller recording (TargetDefinitions, TextToSpell, NumberOfSequences)."""
    from data.bci2000 import is_bci2000_file
    from data.errors import DataError
    from data.sources.erp import _int, _matrix

    if not is_bci2000_file(str(path)):
        raise DataError("an online speller replays a BCI2000 speller recording (its matrix is in the "
                        "file's parameters).", str(path))
    from BCI2000Tools.FileReader import bcistream

    params = bcistream(str(path)).params
    return SpellerLayout(_matrix(params, str(path)), str(params.get("TextToSpell") or ""),
                         _int(params.get("NumberOfSequences")))


class SpellerTracker:
    """Letters from the per-flash decisions of a session (see the module docstring).

    ``add(decision)`` returns the letter events the decision completes (zero, one, or two when
    a gap both ends a letter and starts the next); ``finish()`` decides the letter in progress.
    """

    def __init__(self, layout: SpellerLayout, class_names: list[str], *, threshold: float | None = None):
        from data.sources.erp import LETTER_GAP_FACTOR

        if "target" not in class_names:
            raise InputError("an online speller needs a bundle trained on target / nontarget flashes "
                             f"(this one decides between {', '.join(class_names)}).")
        if threshold is not None and not 0 < threshold <= 1:
            raise InputError(f"--stop-threshold must be above 0 and at most 1, not {threshold}.")
        self.layout, self.threshold = layout, threshold
        self.target = class_names.index("target")
        self.gap_factor = LETTER_GAP_FACTOR
        self.gaps: list[float] = []
        self.last_time: float | None = None
        self.letters: list[dict] = []
        self._new_letter()

    def _new_letter(self) -> None:
        self.codes: list[int] = []
        self.evidence: list[float] = []
        self.truths: list[str | None] = []
        self.decided = False
        self.seen = 0
        self.last_decision: dict = {}   # the newest flash decision folded in

    def add(self, decision: dict) -> list[dict]:
        """Fold one flash decision in; the letter events it completes."""
        from decoders.speller import target_evidence

        marker = decision.get("marker") or ""
        if not marker.startswith(FLASH_PREFIX) or decision.get("proba") is None:
            return []
        code = int(marker[len(FLASH_PREFIX):])
        if not 1 <= code <= self.layout.n_codes:
            raise InputError(f"flash marker {marker!r}: the {len(self.layout.matrix)} x "
                             f"{len(self.layout.matrix[0])} matrix has codes 1-{self.layout.n_codes}.")
        out = []
        stamp = float(decision.get("marker_time", decision["sample_time"]))
        if self.last_time is not None:
            gap = stamp - self.last_time
            self.gaps.append(gap)
            if self.seen and gap > self.gap_factor * float(np.median(self.gaps)):
                out += self._close()
        self.last_time = stamp
        self.seen += 1
        if self.decided:
            return out
        p = np.asarray(decision["proba"], dtype=np.float64)
        self.codes.append(code)
        self.evidence.append(float(target_evidence(np.array([[1 - p[self.target], p[self.target]]]))[0]))
        self.truths.append(decision.get("true"))
        self.last_decision = decision
        letter = self._letter()
        n = len(self.codes)
        if self.threshold is not None and n >= self.layout.n_codes \
                and letter.posterior().max() >= self.threshold:
            out.append(self._decide(letter, decision, stopped_early=True))
        elif self.layout.n_sequences and n >= self.layout.n_sequences * self.layout.n_codes:
            out.append(self._decide(letter, decision))
        return out

    def finish(self) -> list[dict]:
        """Decide the letter in progress (end of the stream)."""
        return self._close()

    def _close(self) -> list[dict]:
        """End the letter in progress, deciding it (timed from its last flash) if not done yet."""
        out = []
        if self.codes and not self.decided:
            out.append(self._decide(self._letter(), self.last_decision))
        self._new_letter()
        return out

    def _letter(self):
        from decoders.speller import Letter

        codes = np.asarray(self.codes, int)
        repetitions = np.array([int((codes[:i] == c).sum()) for i, c in enumerate(codes)], int)
        return Letter("online", len(self.letters), codes, repetitions, np.asarray(self.evidence),
                      self._truth(codes), self.layout.matrix)

    def _truth(self, codes: np.ndarray) -> str | None:
        from decoders.speller import _truth

        if any(t is None for t in self.truths):
            return None
        y = np.array([t == "target" for t in self.truths], int)
        return _truth(codes, y, self.layout.matrix)

    def _decide(self, letter, decision: dict, stopped_early: bool = False) -> dict:
        from mne_lsl.lsl import local_clock

        post = letter.posterior()
        r, c = np.unravel_index(post.argmax(), post.shape)
        symbol = letter.choose() if not stopped_early else letter.matrix[r][c]
        now = local_clock()
        received = decision.get("received_time")
        event = {"kind": "letter", "index": letter.index, "pred": symbol, "letter": symbol,
                 "true": letter.truth, "flashes": len(letter.codes), "posterior": float(post.max()),
                 "stopped_early": stopped_early, "sample_time": decision.get("sample_time"),
                 "received_time": received, "decision_time": now,
                 "latency_ms": None if received is None else (now - received) * 1e3,
                 "marker": f"letter {letter.index + 1}",
                 "message": f"{len(letter.codes)} flashes" + (", stopped early" if stopped_early else "")}
        self.decided = True
        self.letters.append(event)
        return event

    @property
    def text(self) -> str:
        """The letters spelled so far."""
        return "".join(e["letter"] for e in self.letters)
