"""`DatasetSpec`: what to load and how to turn it into a `DecodingSet` (the `dataset:`
section of an experiment file; the GUI's data view edits the same object)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Limits of the numeric settings, checked where a value enters (this schema), so an absurd
# value is an input error naming its key rather than a MemoryError or a hang deep in a run.
MAX_SFREQ = 100_000.0        # Hz; the same limit the readers apply to a recording's header
MAX_WINDOW_SECONDS = 600.0   # an epoch edge or baseline edge, seconds from the event
MAX_SEED = 2**32 - 1         # numpy's and torch's seed range
MAX_COUNT = 1_000_000        # trial counts, lags and other counts


class _Strict(BaseModel):
    # allow_inf_nan=False: every float setting must be a finite number (.nan / .inf refused).
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


def _edges(value, key: str, *, low: float, high: float, positive: bool = False):
    """Check a [start, end] pair (None edges allowed): inside [low, high], start < end."""
    if value is None:
        return value
    start, end = value
    for edge in (start, end):
        if edge is not None and not (low <= edge <= high) or positive and edge is not None and edge <= 0:
            bound = f"more than 0 and at most {high:g}" if positive else f"between {low:g} and {high:g}"
            raise ValueError(f"{key} edges must be {bound}")
    if start is not None and end is not None and not start < end:
        raise ValueError(f"{key} must be [start, end] with start < end")
    return value


class Preprocessing(_Strict):
    """Signal preprocessing, applied in this order (each step recorded in provenance)."""

    picks: list[str] | str = Field("eeg", description="Channel types ('eeg', 'meg', 'data') or channel names to keep.")
    reference: str | list[str] | None = Field(None, description="'average', channel name(s), or null to keep the recording's reference.")
    notch: list[float] | float | None = Field(None, description="Line-noise frequencies to notch out, in Hz.")
    band: tuple[float | None, float | None] | None = Field(None, description="Band-pass [low, high] in Hz; null for either edge leaves it open.")
    resample: float | None = Field(None, gt=0, le=MAX_SFREQ, description="New sampling rate in Hz (applied to the continuous signal before epoching).")
    align: Literal["none", "subject", "session"] = Field("none", description="Euclidean alignment of trials per subject or per session.")
    standardize: Literal["none", "trial", "subject"] = Field("none", description="Per-channel z-score per trial or per subject.")

    @field_validator("band")
    @classmethod
    def _band_in_range(cls, value):
        return _edges(value, "band", low=0.0, high=MAX_SFREQ, positive=True)

    @field_validator("notch")
    @classmethod
    def _notch_in_range(cls, value):
        for frequency in value if isinstance(value, list) else [value] if value is not None else []:
            if not 0 < frequency <= MAX_SFREQ:
                raise ValueError(f"notch frequencies must be more than 0 and at most {MAX_SFREQ:g} Hz")
        return value


class ContinuousOptions(_Strict):
    """How to read continuous features and targets (Kalman-style decoding)."""

    features: list[str | int] | str | int | None = Field(None, description="Columns (names or 0-based indices), keys or a file holding neural features.")
    targets: list[str | int] | str | int | None = Field(None, description="Columns (names or 0-based indices), keys or a file holding kinematic targets.")
    bin_width: float | None = Field(None, gt=0, le=MAX_WINDOW_SECONDS, description="Bin width in seconds for spike times or counts.")
    lags: int = Field(0, ge=0, le=MAX_COUNT, description="Number of past bins appended to each feature vector.")


class SubSource(_Strict):
    """One part of a dataset combined from several sources or data paths."""

    source: str
    data_path: str | None = None
    subjects: list[int | str] | None = None
    sessions: list[int | str] | None = None
    runs: list[int | str] | None = None


class DatasetSpec(_Strict):
    """Where the data comes from and how trials are made."""

    source: str = Field(..., description="A file, a folder, a BIDS root, 'eegbci', 'moabb:NAME' or 'demo:NAME'.")
    kind: str | None = Field(None, description="Source kind (see `neurodeck info --kinds`); null: detected from the source.")
    options: dict | None = Field(None, description="Options of the source kind, checked by that kind.")
    sources: list[SubSource] | None = Field(None, description="Several sources or data paths combined into one dataset (common channels); `source` then defaults to their names.")
    data_path: str | None = Field(None, description="Local copy of a public dataset (offline use).")
    subjects: list[int | str] | None = Field(None, description="Subjects to load; null for all.")
    sessions: list[int | str] | None = None
    runs: list[int | str] | None = Field(None, description="Runs to load; null for all.")
    events: dict[str, str] | None = Field(None, description="Event name -> class name; events not named are ignored. Null: every event is its own class.")
    window: tuple[float, float] = Field((0.0, 3.0), description="Epoch window [start, end] in seconds relative to the event.")
    baseline: tuple[float | None, float | None] | None = Field(None, description="Baseline interval in seconds, or null for none.")
    reject: float | None = Field(None, gt=0, le=1e9, description="Drop epochs whose peak-to-peak amplitude exceeds this, in µV.")
    min_trials: int = Field(5, ge=1, le=MAX_COUNT, description="Fewest trials each class must keep.")
    channel_mismatch: Literal["common", "error"] = Field("common", description="Different channel sets across files: keep the common ones (with a warning) or refuse.")
    preprocessing: Preprocessing = Field(default_factory=Preprocessing)
    continuous: ContinuousOptions | None = None
    seed: int = Field(0, ge=0, le=MAX_SEED, description="Seed for simulated (demo) data.")
    cache: bool = Field(True, description="Reuse preprocessed trials stored on disk.")

    @field_validator("window")
    @classmethod
    def _window_in_range(cls, value):
        return _edges(value, "window", low=-MAX_WINDOW_SECONDS, high=MAX_WINDOW_SECONDS)

    @field_validator("baseline")
    @classmethod
    def _baseline_in_range(cls, value):
        return _edges(value, "baseline", low=-MAX_WINDOW_SECONDS, high=MAX_WINDOW_SECONDS)

    @model_validator(mode="before")
    @classmethod
    def _source_from_parts(cls, data):
        if isinstance(data, dict) and data.get("sources") and not data.get("source"):
            parts = [p.get("source") if isinstance(p, dict) else getattr(p, "source", "?")
                     for p in data["sources"]]
            data = {**data, "source": " + ".join(map(str, parts))}
        return data

    @model_validator(mode="after")
    def _check_kind(self):
        """An explicit kind must be registered; options must suit the kind."""
        if self.kind is not None or self.options:
            from . import sources

            if self.kind is not None:
                sources.get(self.kind)
            checked = sources.validate_options(self.kind, self.source, self.options)
            if checked != self.options:
                object.__setattr__(self, "options", checked)
        return self

