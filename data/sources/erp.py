"""Event-related-potential trials from BCI2000 recordings: one epoch per stimulus (flash).

The ``bci2000`` source kind loads through `load_bci2000`. Without options (or with
``paradigm: trials``) a recording is read as before: every stimulus code is an event and the
generic trial pipeline cuts epochs. With ``paradigm: erp`` (an oddball) or ``paradigm: speller``
(a P300 speller matrix) each stimulus onset becomes one epoch labelled ``target`` /
``nontarget`` from the StimulusType state, cut by `load_erp`:

- band-pass (default 0.5-20 Hz unless ``preprocessing.band`` is set), then epochs of the
  ``window`` (default 0-0.8 s unless set), then decimation by ``decim`` (default: the largest
  factor whose Nyquist frequency stays at or above the band's upper edge);
- ``DecodingSet.stimuli`` holds one row per epoch: stimulus code (speller: 1-6 rows, 7-12
  columns), letter (the block of flashes between two pauses, counted within its run) and
  repetition (how often that code has flashed before in the letter);
- ``provenance["speller"][run]`` holds each run's matrix (``TargetDefinitions``), text to
  spell (``TextToSpell``), the stimulus onset asynchrony and the pause between letters
  measured from the onsets (seconds), and the number of sequences (``NumberOfSequences``).
"""
from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..decoding_set import DecodingSet
from ..errors import DataError, InputError

PARADIGMS = ("trials", "erp", "speller")
DEFAULT_WINDOW = (0.0, 0.8)
DEFAULT_BAND = (0.5, 20.0)
STIMULI_COLUMNS = ("code", "letter", "repetition")
LETTER_GAP_FACTOR = 3.0   # an onset gap this many times the usual spacing starts a new letter


class Bci2000Options(BaseModel):
    """Options of the ``bci2000`` source kind (``dataset.options``)."""

    model_config = ConfigDict(extra="forbid")

    paradigm: Literal["trials", "erp", "speller"] = Field(
        "trials", description="trials: every stimulus code is a class (generic epochs); erp: an oddball, "
                              "one target/nontarget epoch per stimulus; speller: the same for a P300 matrix "
                              "speller, with its matrix and text to spell.")
    decim: int | None = Field(None, ge=1, description="Keep every decim-th sample of each epoch after the "
                                                      "low-pass; null: the largest factor that keeps the band.")


def load_bci2000(spec) -> DecodingSet:
    """The ``bci2000`` kind's loader: the generic trial pipeline or, with an ERP paradigm, `load_erp`."""
    options = Bci2000Options.model_validate(spec.options or {})
    if options.paradigm == "trials":
        from .recordings import load

        return load(spec)
    return load_erp(spec, options)


def load_erp(spec, options: Bci2000Options) -> DecodingSet:
    """One target/nontarget epoch per stimulus onset of every BCI2000 recording of ``spec``."""
    from ..channels import common_channels
    from ..epochs import _check_counts, _label, _modality
    from ..preprocess import check_finite, pick_channels, preprocess_raw, unit_of
    from .recordings import open_recordings

    if spec.events is not None:
        raise InputError(f"dataset.events: paradigm '{options.paradigm}' labels each stimulus target or "
                         "nontarget from the StimulusType state; leave events unset.")
    window = tuple(spec.window) if "window" in spec.model_fields_set else DEFAULT_WINDOW
    if window[1] <= window[0]:
        raise InputError(f"window: end ({window[1]} s) must be after start ({window[0]} s).")
    pre = spec.preprocessing
    if "band" not in pre.model_fields_set:
        pre = pre.model_copy(update={"band": DEFAULT_BAND})
    recordings = open_recordings(spec.source, data_path=spec.data_path, subjects=spec.subjects,
                                 sessions=spec.sessions, runs=spec.runs, preload=False)
    if not recordings:
        raise DataError("no recordings to load.", spec.source)
    names = [_label(r) for r in recordings]
    for rec, name in zip(recordings, names):
        if not rec.path or not _is_bci2000(rec.path):
            raise DataError(f"paradigm '{options.paradigm}' reads BCI2000 .dat recordings only.", name)
    channel_sets = []
    for rec, name in zip(recordings, names):
        pick_channels(rec.raw, pre.picks, name)
        channel_sets.append(list(rec.raw.ch_names))
    common, dropped = common_channels(channel_sets, names, spec.channel_mismatch)

    parts, speller, steps = [], {}, []
    for rec, name in zip(recordings, names):
        rec.raw.load_data(verbose="error")
        check_finite(rec.raw, name)
        raw_steps = preprocess_raw(rec.raw, pre, name, common_channels=common)
        steps = steps or raw_steps
        part = _epochs(rec.raw, name, window, options.decim, pre.band)
        if part["n"] == 0:
            raise DataError("no stimulus onsets (StimulusCode state) in this recording.", name)
        part.update(subject=np.full(part["n"], rec.subject), session=np.full(part["n"], rec.session),
                    run=np.full(part["n"], rec.run))
        speller[str(rec.run)] = _run_info(rec.path, part["onsets_s"], part["stimuli"], options.paradigm)
        parts.append(part)
        rec.raw = None
    rates = {p["sfreq"] for p in parts}
    if len(rates) > 1:
        raise DataError(f"the recordings have different rates after decimation ({sorted(rates)} Hz).",
                        spec.source, hint="Set preprocessing.resample to one rate for all of them.")
    X = np.concatenate([p["X"] for p in parts])
    y = np.concatenate([p["y"] for p in parts]).astype(np.int64)
    class_names = ["nontarget", "target"]
    _check_counts(y, class_names, spec)
    ch_types = ["eeg"] * len(common)
    steps = [{"name": "pick", "params": {"picks": pre.picks}}, *steps,
             {"name": "erp_epochs", "params": {"paradigm": options.paradigm, "window": list(window),
                                               "decim": parts[0]["decim"], "sfreq": parts[0]["sfreq"],
                                               "stimuli_columns": list(STIMULI_COLUMNS)}}]
    provenance = {"source": spec.source, "files": [r.path for r in recordings],
                  "unit": unit_of("eeg")[0], "units": {"eeg": unit_of("eeg")[0]}, "steps": steps,
                  "dropped_channels": dropped, "spec": spec.model_dump(mode="json"), "speller": speller}
    return DecodingSet(
        X=X.astype(np.float32, copy=False), y=y, kind="trials", modality=_modality(ch_types),
        subject=np.concatenate([p["subject"] for p in parts]),
        session=np.concatenate([p["session"] for p in parts]),
        run=np.concatenate([p["run"] for p in parts]), sfreq=parts[0]["sfreq"], ch_names=list(common),
        ch_types=ch_types, class_names=class_names, times=parts[0]["times"],
        stimuli=np.concatenate([p["stimuli"] for p in parts]), provenance=provenance,
        paradigm=options.paradigm)


def _is_bci2000(path: str) -> bool:
    from ..bci2000 import is_bci2000_file

    return is_bci2000_file(path)


def stimulus_onsets(raw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sample, stimulus code, is-target) of every ``stim/<code>`` annotation of ``raw``."""
    samples, codes, target_at = [], [], {}
    for ann in raw.annotations:
        sample = int(raw.time_as_index(ann["onset"], use_rounding=True)[0])
        text = ann["description"]
        if text.startswith("stim/"):
            samples.append(sample)
            codes.append(int(text.split("/", 1)[1]))
        elif text in ("target", "nontarget"):
            target_at[sample] = text == "target"
    targets = [target_at.get(s, False) for s in samples]
    order = np.argsort(samples, kind="stable")
    return (np.asarray(samples, int)[order], np.asarray(codes, int)[order],
            np.asarray(targets, bool)[order])


def letters_and_repetitions(samples: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Letter (block) index of each onset, a new block after a gap longer than
    `LETTER_GAP_FACTOR` times the median spacing, and its repetition index: how often the
    same code flashed earlier in that block."""
    if len(samples) == 0:
        return np.zeros(0, int), np.zeros(0, int)
    gaps = np.diff(samples)
    usual = np.median(gaps) if len(gaps) else 1
    letter = np.r_[0, np.cumsum(gaps > LETTER_GAP_FACTOR * usual)]
    repetition = np.zeros(len(codes), int)
    seen: dict[tuple[int, int], int] = {}
    for i, key in enumerate(zip(letter.tolist(), codes.tolist())):
        repetition[i] = seen.get(key, 0)
        seen[key] = repetition[i] + 1
    return letter, repetition


def _epochs(raw, name: str, window, decim: int | None, band) -> dict:
    sfreq = float(raw.info["sfreq"])
    samples, codes, targets = stimulus_onsets(raw)
    letter, repetition = letters_and_repetitions(samples, codes)
    start, n_times = int(round(window[0] * sfreq)), int(round((window[1] - window[0]) * sfreq))
    high = band[1] if band is not None and band[1] is not None else None
    if decim is None:
        decim = max(1, int(sfreq // (2 * high))) if high else 1
    data = raw.get_data() * _eeg_scale()
    inside = (samples + start >= 0) & (samples + start + n_times <= data.shape[1])
    index = (samples[inside] + start)[:, None] + np.arange(0, n_times, decim)[None, :]
    X = data[:, index].transpose(1, 0, 2)
    stimuli = np.column_stack([codes, letter, repetition])[inside].astype(np.int64)
    return {"X": X, "y": targets[inside].astype(int), "stimuli": stimuli, "n": int(inside.sum()),
            "onsets_s": samples[inside] / sfreq, "sfreq": sfreq / decim, "decim": decim,
            "times": (start + np.arange(0, n_times, decim)) / sfreq}


def _eeg_scale() -> float:
    from ..preprocess import unit_of

    return unit_of("eeg")[1]


def _run_info(path: str, onsets_s: np.ndarray, stimuli: np.ndarray, paradigm: str) -> dict:
    """Speller layout and timing of one run: matrix, text to spell, SOA and pause (s)."""
    from BCI2000Tools.FileReader import bcistream

    params = bcistream(str(path)).params
    letters = stimuli[:, 1]
    within = np.diff(onsets_s)[np.diff(letters) == 0]
    soa = float(np.median(within)) if len(within) else None
    ends = [onsets_s[letters == k].max() for k in np.unique(letters)]
    starts = [onsets_s[letters == k].min() for k in np.unique(letters)]
    pauses = [b - a - (soa or 0.0) for a, b in zip(ends[:-1], starts[1:])]
    info = {"soa_s": soa, "pause_s": float(np.median(pauses)) if pauses else None,
            "n_letters": int(len(starts)), "n_sequences": _int(params.get("NumberOfSequences"))}
    if paradigm == "speller":
        info.update(matrix=_matrix(params, path), text_to_spell=str(params.get("TextToSpell") or ""))
    return info


def _int(value) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _matrix(params, path) -> list[list[str]]:
    """The speller matrix (rows of displayed symbols) from TargetDefinitions and NumMatrixRows/Columns."""
    defs = params.get("TargetDefinitions")
    rows = _int(_first(params.get("NumMatrixRows")))
    cols = _int(_first(params.get("NumMatrixColumns")))
    if defs is None or not rows or not cols:
        raise DataError("paradigm 'speller' needs the TargetDefinitions, NumMatrixRows and NumMatrixColumns "
                        "parameters, which this recording lacks.", path,
                        hint="Use paradigm: erp for an oddball recording.")
    symbols = [str(d[0]) if isinstance(d, (list, tuple)) else str(d) for d in defs]
    if len(symbols) < rows * cols:
        raise DataError(f"TargetDefinitions has {len(symbols)} entries for a {rows} x {cols} matrix.", path)
    return [symbols[r * cols:(r + 1) * cols] for r in range(rows)]


def _first(value):
    if isinstance(value, (list, tuple, np.ndarray)):
        return value[0] if len(value) else None
    return value


def class_averages(data) -> dict[str, np.ndarray]:
    """Average epoch (channels x times) per class of an ERP set, by class name."""
    return {name: data.X[data.y == k].mean(axis=0) for k, name in enumerate(data.class_names)
            if (data.y == k).any()}


def signed_r2(data, positive: int = 1) -> np.ndarray:
    """Signed r² (channels x times): the squared point-biserial correlation of each sample with
    "class ``positive``", with the sign of the correlation (BCI2000's r² map of target vs
    nontarget). Zero where a channel-time sample is constant."""
    x = data.X.reshape(len(data.X), -1).astype(np.float64)
    label = (np.asarray(data.y) == positive).astype(np.float64)
    xc, lc = x - x.mean(axis=0), label - label.mean()
    denom = np.sqrt((xc ** 2).sum(axis=0) * (lc ** 2).sum())
    r = np.divide(lc @ xc, denom, out=np.zeros(x.shape[1]), where=denom > 0)
    return (np.sign(r) * r ** 2).reshape(data.X.shape[1:])
