"""P300 speller: flash scores -> letters, character accuracy, information transfer rate and
dynamic stopping. No Qt, no torch: it works on a speller `DecodingSet` (``paradigm ==
"speller"``, see `data.sources.erp`) and a target probability per flash.

Evidence of a flash is the log-odds of its target probability. Summed per row and per column
code over repetitions, the letter is the matrix cell at the best row and the best column.
The same sums give each cell's posterior (softmax of row sum + column sum: with independent
flashes and a constant prior this is Bayes' rule, and any constant shift of the log-odds,
such as the classifier's class prior, cancels because every cell gets the same number of
flashes). Dynamic stopping ends a letter at the first flash after at least one full
repetition where the best cell's posterior reaches ``threshold``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from data.errors import InputError

REPETITIONS = (1, 2, 3, 5, 15)
DEFAULT_THRESHOLD = 0.99
_EPS = 1e-6


@dataclass
class Letter:
    """The flashes of one letter (one block of a run), in time order."""

    run: str
    index: int
    codes: np.ndarray          # stimulus code per flash (1..rows rows, rows+1.. columns)
    repetitions: np.ndarray    # repetition index per flash
    evidence: np.ndarray       # log-odds of "target" per flash
    truth: str | None          # the attended symbol (from the target flashes), if labelled
    matrix: list[list[str]] = field(repr=False, default_factory=list)

    @property
    def n_rows(self) -> int:
        return len(self.matrix)

    @property
    def n_cols(self) -> int:
        return len(self.matrix[0]) if self.matrix else 0

    def posterior(self, upto: int | None = None) -> np.ndarray:
        """Posterior over the matrix cells (rows x cols) from the first ``upto`` flashes."""
        sums = self.code_sums(slice(None, upto))
        logp = sums[: self.n_rows, None] + sums[None, self.n_rows:]
        logp = logp - logp.max()
        p = np.exp(logp)
        return p / p.sum()

    def code_sums(self, which) -> np.ndarray:
        """Summed evidence per code (index 0 = code 1) over the selected flashes."""
        sums = np.zeros(self.n_rows + self.n_cols)
        np.add.at(sums, self.codes[which] - 1, self.evidence[which])
        return sums

    def choose(self, n_repetitions: int | None = None) -> str:
        """The symbol at the best row and best column after ``n_repetitions`` (all: None)."""
        keep = slice(None) if n_repetitions is None else self.repetitions < n_repetitions
        sums = self.code_sums(keep)
        return self.matrix[int(sums[: self.n_rows].argmax())][int(sums[self.n_rows:].argmax())]

    def dynamic(self, threshold: float = DEFAULT_THRESHOLD) -> tuple[str, int]:
        """(symbol, flashes used): stop at the first flash after one full repetition where the
        best cell's posterior reaches ``threshold``; otherwise use every flash."""
        n_codes = self.n_rows + self.n_cols
        for upto in range(n_codes, len(self.codes) + 1):
            post = self.posterior(upto)
            if post.max() >= threshold:
                r, c = np.unravel_index(post.argmax(), post.shape)
                return self.matrix[r][c], upto
        post = self.posterior()
        r, c = np.unravel_index(post.argmax(), post.shape)
        return self.matrix[r][c], len(self.codes)


def target_evidence(proba: np.ndarray) -> np.ndarray:
    """Log-odds of the target class (column 1) of class probabilities (n, 2)."""
    p = np.clip(np.asarray(proba, dtype=np.float64)[:, 1], _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


def letters(data, index: np.ndarray, evidence: np.ndarray) -> list[Letter]:
    """The letters held by the epochs ``index`` of a speller set, each with its flashes'
    ``evidence`` (aligned with ``index``), in run and letter order."""
    if getattr(data, "paradigm", None) != "speller":
        raise InputError("speller scoring needs a speller data set (bci2000 with paradigm: speller).")
    index = np.asarray(index)
    stim = np.asarray(data.stimuli)[index]
    runs = data.run[index]
    info = data.provenance.get("speller", {})
    out = []
    for run in dict.fromkeys(runs.tolist()):
        if run not in info or "matrix" not in info[run]:
            raise InputError(f"speller: run {run!r} has no matrix in the data set's provenance.")
        matrix = info[run]["matrix"]
        in_run = runs == run
        for letter in np.unique(stim[in_run, 1]):
            sel = np.flatnonzero(in_run & (stim[:, 1] == letter))
            sel = sel[np.argsort(index[sel], kind="stable")]   # time order
            truth = _truth(stim[sel, 0], data.y[index[sel]], matrix) if data.y is not None else None
            out.append(Letter(str(run), int(letter), stim[sel, 0], stim[sel, 2], evidence[sel], truth, matrix))
    return out


def _truth(codes: np.ndarray, y: np.ndarray, matrix) -> str | None:
    """The attended symbol: the row and column codes flashed as targets most often."""
    n_rows, n_cols = len(matrix), len(matrix[0])
    hits = np.bincount(codes[y == 1], minlength=n_rows + n_cols + 1)[1:]
    if hits.sum() == 0:
        return None
    return matrix[int(hits[:n_rows].argmax())][int(hits[n_rows:].argmax())]


def wolpaw_bits(n_choices: int, accuracy: float) -> float:
    """Bits per selection (Wolpaw et al. 2002); 0 at or below chance."""
    n, p = n_choices, float(accuracy)
    if n < 2 or p <= 1.0 / n:
        return 0.0
    if p >= 1.0:
        return math.log2(n)
    return math.log2(n) + p * math.log2(p) + (1 - p) * math.log2((1 - p) / (n - 1))


def itr_bits_per_minute(n_choices: int, accuracy: float, seconds_per_selection: float) -> float:
    """Wolpaw information transfer rate in bits per minute."""
    if seconds_per_selection <= 0:
        raise InputError("speller: the time per selection must be positive.")
    return wolpaw_bits(n_choices, accuracy) * 60.0 / seconds_per_selection


def speller_metrics(data, index: np.ndarray, proba: np.ndarray, *, repetitions=REPETITIONS,
                    threshold: float = DEFAULT_THRESHOLD) -> dict:
    """Character accuracy and ITR after each number of ``repetitions`` (those the data reach),
    and dynamic stopping's accuracy, mean flashes per letter and ITR, on the epochs ``index``
    with class probabilities ``proba``. Timing (SOA, pause between letters) is the one
    measured from the run's onsets (`data.sources.erp`)."""
    found = letters(data, index, target_evidence(proba))
    found = [x for x in found if x.truth is not None]
    if not found:
        return {}
    info = data.provenance["speller"]
    n_codes = found[0].n_rows + found[0].n_cols
    n_choices = found[0].n_rows * found[0].n_cols
    soa = float(np.mean([info[x.run]["soa_s"] for x in found]))
    pauses = [info[x.run]["pause_s"] for x in found if info[x.run].get("pause_s") is not None]
    pause = float(np.mean(pauses)) if pauses else 0.0
    max_reps = int(min(x.repetitions.max() for x in found)) + 1
    out: dict = {"speller_letters": len(found), "speller_target_text": "".join(x.truth for x in found)}
    for k in [k for k in repetitions if k <= max_reps]:
        chosen = [x.choose(k) for x in found]
        acc = float(np.mean([c == x.truth for c, x in zip(chosen, found)]))
        out[f"char_accuracy_{k}"] = acc
        out[f"itr_bits_min_{k}"] = itr_bits_per_minute(n_choices, acc, k * n_codes * soa + pause)
        out[f"spelled_{k}"] = "".join(chosen)
    dyn = [x.dynamic(threshold) for x in found]
    acc = float(np.mean([c == x.truth for (c, _), x in zip(dyn, found)]))
    flashes = float(np.mean([n for _, n in dyn]))
    out.update(dynamic_char_accuracy=acc, dynamic_flashes_per_letter=flashes,
               dynamic_itr_bits_min=itr_bits_per_minute(n_choices, acc, flashes * soa + pause),
               dynamic_threshold=threshold, spelled_dynamic="".join(c for c, _ in dyn),
               fixed_flashes_per_letter=float(max_reps * n_codes))
    return out
