"""Small pieces shared by the GUI models: the `Observable` base, fold numbering, the device
list and time formatting."""
from __future__ import annotations

import math
from typing import Any, Callable

Listener = Callable[[str, dict], None]


class Observable:
    """Minimal subject: ``subscribe(fn)``; ``fn(change, info)`` is called on every change."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def notify(self, change: str, **info: Any) -> None:
        for listener in list(self._listeners):
            listener(change, info)


def fold_key(value) -> int | str:
    """Folds are numbered; the final fit on all data reports fold "final"."""
    if value is None:
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)


def format_eta(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = max(0, int(round(seconds)))
    if seconds >= 3600:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds}s"


def list_devices() -> list[tuple[str, str]]:
    """(value, label) of every device torch can use, ``auto`` first."""
    from decoders.training import available_devices, device_label

    return [(name, device_label(name)) for name in available_devices()]
