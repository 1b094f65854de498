"""`Recording`: one continuous recording with its place in a dataset."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Recording:
    """An MNE Raw plus who/when it is. ``path`` is the file it came from ('' if simulated)."""

    raw: Any  # mne.io.BaseRaw (typed loosely so this module does not import mne)
    subject: str = "1"
    session: str = "1"
    run: str = "1"
    path: str = ""
