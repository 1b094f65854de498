"""`DecodingSet`: the arrays and metadata every decoder consumes."""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .atomic import atomic_path

Kind = Literal["trials", "continuous", "volumes"]


@dataclass
class DecodingSet:
    """Decoder input plus everything needed to reproduce it.

    kind
        ``trials``: ``X`` (n_trials, n_channels, n_times), ``y`` integer codes into
        ``class_names``. ``continuous``: ``X`` (n_samples, n_features), ``y``
        (n_samples, n_targets) named by ``target_names``. ``volumes``: ``X``
        (n_samples, n_voxels) with ``stimuli`` (n_samples, ...) and optional ``y``.
    subject, session, run
        One string per sample (trial, time bin or volume).
    provenance
        ``{"source": ..., "files": [...], "steps": [{"name": ..., "params": {...}}]}``.
    tr
        fMRI: repetition time in seconds of each sample (float64, (n,)), so decoders can turn
        seconds into time points per subject; None when unknown or not fMRI (decoders then
        use their own default).
    paradigm
        What the trials are: ``motor-imagery``, ``erp`` (one epoch per stimulus of an oddball)
        or ``speller`` (one epoch per flash of a P300 speller); None when not known. Decoder and
        metric defaults follow it. For ``erp`` and ``speller`` sets ``stimuli`` holds one row
        per epoch: stimulus code, letter (block) index within its run, repetition index.
    """

    X: np.ndarray
    y: np.ndarray | None
    kind: Kind
    modality: str
    subject: np.ndarray
    session: np.ndarray
    run: np.ndarray
    sfreq: float | None = None
    ch_names: list[str] = field(default_factory=list)
    ch_types: list[str] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)
    target_names: list[str] = field(default_factory=list)
    times: np.ndarray | None = None
    stimuli: np.ndarray | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    tr: np.ndarray | None = None
    paradigm: str | None = None

    def __post_init__(self) -> None:
        n = len(self.X)
        for name in ("subject", "session", "run"):
            arr = np.asarray(getattr(self, name)).astype(str)
            if arr.ndim == 0:
                arr = np.full(n, str(arr))
            if len(arr) != n:
                raise ValueError(f"{name} has {len(arr)} entries for {n} samples")
            setattr(self, name, arr)
        if self.y is not None and len(self.y) != n:
            raise ValueError(f"y has {len(self.y)} entries for {n} samples")
        if self.tr is not None:
            self.tr = _checked_tr(self.tr, n)

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return len(self.X)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def subjects(self) -> list[str]:
        """Distinct subjects in order of first appearance."""
        return list(dict.fromkeys(self.subject.tolist()))

    def subset(self, index) -> "DecodingSet":
        """A new set holding the samples selected by a boolean mask or index array."""
        idx = np.asarray(index)
        pick = lambda a: None if a is None else a[idx]  # noqa: E731
        return replace(
            self, X=self.X[idx], y=pick(self.y), subject=self.subject[idx],
            session=self.session[idx], run=self.run[idx], stimuli=pick(self.stimuli),
            tr=pick(self.tr),
        )

    def with_step(self, name: str, **params: Any) -> "DecodingSet":
        """Record a processing step in the provenance (returns self for chaining)."""
        self.provenance.setdefault("steps", []).append({"name": name, "params": params})
        return self

    def summary(self) -> dict[str, Any]:
        """Counts a person wants to see: samples, shape, classes, subjects."""
        out: dict[str, Any] = {
            "kind": self.kind, "modality": self.modality, "n_samples": len(self),
            "shape": list(self.X.shape), "sfreq": self.sfreq,
            "subjects": self.subjects,
        }
        if self.kind == "trials" and self.y is not None and self.class_names:
            counts = np.bincount(self.y.astype(int), minlength=self.n_classes)
            out["classes"] = dict(zip(self.class_names, counts.tolist()))
        if self.target_names:
            out["targets"] = list(self.target_names)
        if self.tr is not None:
            out["tr"] = sorted(set(self.tr.tolist()))
        return out

    # ------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> None:
        """Write to one ``.npz`` file (no pickles); atomically replaces ``path``."""
        path = Path(path)
        meta = {
            "kind": self.kind, "modality": self.modality, "sfreq": self.sfreq,
            "ch_names": self.ch_names, "ch_types": self.ch_types,
            "class_names": self.class_names, "target_names": self.target_names,
            "provenance": self.provenance, "paradigm": self.paradigm,
        }
        arrays = {"X": self.X, "subject": self.subject, "session": self.session, "run": self.run,
                  "meta": np.array(json.dumps(meta))}
        for name in ("y", "times", "stimuli", "tr"):
            if getattr(self, name) is not None:
                arrays[name] = getattr(self, name)
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> "DecodingSet":
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            get = lambda k: z[k] if k in z.files else None  # noqa: E731
            return cls(X=z["X"], y=get("y"), subject=z["subject"], session=z["session"],
                       run=z["run"], times=get("times"), stimuli=get("stimuli"), tr=get("tr"),
                       **meta)


def _checked_tr(tr, n: int) -> np.ndarray:
    """``tr`` as float64 (n,), or ValueError when its length or a value is wrong."""
    try:
        arr = np.asarray(tr, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"tr must be numbers (seconds): {exc}") from exc
    if arr.ndim != 1 or len(arr) != n:
        raise ValueError(f"tr has shape {arr.shape} for {n} samples; one TR per sample is needed")
    if not (np.isfinite(arr).all() and (arr > 0).all()):
        raise ValueError("tr must be finite and > 0 seconds for every sample")
    return arr
