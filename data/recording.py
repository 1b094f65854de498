"""`Recording`: one continuous recording with its place in a dataset, modality-neutral."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Recording:
    """An MNE Raw (``raw``) or a plain array recording (``data``: n_channels x n_times, e.g. an
    fMRI ROI series at 1/TR Hz) plus who/when it is. ``path`` is the file ('' if simulated).

    `ch_names`, `sfreq`, `n_times` and `get_data` work for both (the GUI browser uses them).
    """

    raw: Any = None  # mne.io.BaseRaw (typed loosely so this module does not import mne)
    subject: str = "1"
    session: str = "1"
    run: str = "1"
    path: str = ""
    data: np.ndarray | None = None
    sample_rate: float | None = None   # Hz; 1 / TR for volume series
    channel_names: list[str] = field(default_factory=list)
    modality: str = "eeg"
    events: list[tuple[float, str]] = field(default_factory=list)  # (seconds, label)

    def __post_init__(self):
        if self.raw is None and (self.data is None or self.sample_rate is None):
            raise ValueError("a Recording needs an MNE raw or data plus sample_rate")
        if self.raw is None and not self.channel_names:
            self.channel_names = [f"ch{i + 1}" for i in range(self.data.shape[0])]

    @property
    def ch_names(self) -> list[str]:
        return list(self.raw.ch_names) if self.raw is not None else list(self.channel_names)

    @property
    def sfreq(self) -> float:
        return float(self.raw.info["sfreq"]) if self.raw is not None else float(self.sample_rate)

    @property
    def tr(self) -> float:
        """Seconds per sample (repetition time for volume series)."""
        return 1.0 / self.sfreq

    @property
    def n_times(self) -> int:
        return int(self.raw.n_times) if self.raw is not None else int(self.data.shape[1])

    def get_data(self, start: int = 0, stop: int | None = None, picks=None) -> np.ndarray:
        """Samples [start, stop) of the picked channels (indices), (n_channels, n_times)."""
        if self.raw is not None:
            return self.raw.get_data(picks=picks, start=start, stop=stop)
        block = self.data[:, start:stop]
        return block if picks is None else block[np.asarray(picks)]
