"""Training events and cancellation, shared by every decoder and by the GUI/CLI fronts."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

# Event kinds (`Event.kind`) and the fields their `data` carries:
#   "log":            message
#   "progress":       fraction (0..1), eta_s, message
#   "epoch":          fold, epoch, n_epochs, train_loss, and any of train_acc, val_loss,
#                     val_acc, val_r2, lr ... (one point per epoch for the live curves)
#   "reconstruction": view ("images" | "signal" | "trajectory"), fold, and arrays:
#                     images: truth (n, h, w), decoded (n, h, w)
#                     signal: truth (n_times,), decoded (n_times,), mask (n_times,) bool
#                     trajectory: truth (n, d), decoded (n, d), target_names
#   "fold_end":       fold, metrics (dict), confusion (list of lists, classification)
#   "run_end":        summary (dict), run_dir (str)
EVENT_KINDS = ("log", "progress", "epoch", "reconstruction", "fold_end", "run_end")


@dataclass
class Event:
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)


class Cancelled(Exception):
    """Raised inside training when the user asked to stop."""


@dataclass
class TrainingContext:
    """What a decoder's `fit` gets from the front end: an event sink, a cancel flag, a device.

    ``fold`` is stamped onto every event so live plots can draw one curve per fold.
    """

    on_event: Callable[[Event], None] | None = None
    cancel_flag: threading.Event = field(default_factory=threading.Event)
    device: str = "auto"
    fold: int | None = None

    def emit(self, kind: str, **data: Any) -> None:
        if self.on_event is not None:
            if self.fold is not None:
                data.setdefault("fold", self.fold)
            self.on_event(Event(kind, data))

    def log(self, message: str) -> None:
        self.emit("log", message=message)

    def cancel(self) -> None:
        self.cancel_flag.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_flag.is_set()

    def check_cancel(self) -> None:
        """Call between batches; raises `Cancelled` once cancel() was called."""
        if self.cancel_flag.is_set():
            raise Cancelled("training cancelled")

    def for_fold(self, fold: int | None) -> "TrainingContext":
        """Same sink and flag, events stamped with another fold."""
        return TrainingContext(self.on_event, self.cancel_flag, self.device, fold)
