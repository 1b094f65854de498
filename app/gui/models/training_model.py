"""`TrainingModel`: what the running (or last) training reported; `read_history` reads a
finished run's epoch rows."""
from __future__ import annotations

import csv
import time
from pathlib import Path

from decoders.events import (EpochEnd, FoldEnd, LogMessage, Progress, Reconstruction, RunEnd,
                             TrainingEvent)

from .helpers import Observable, fold_key

class TrainingModel(Observable):
    """What the running (or last) training reported, built from `decoders.events.TrainingEvent`s.

    Changes: "reset", "state", "epoch", "progress", "log", "fold_end", "reconstruction",
    "run_end", and "event" (info ``event``) for every event, so a plugin's own event type
    reaches whoever subscribes; events of a type this model does not know are also written
    to the log (their ``describe()``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.reset()

    def reset(self) -> None:
        self.state = "idle"           # idle | running | finished | failed | cancelled
        self.history: dict[int | str, list[dict]] = {}
        self.fold_metrics: dict[int | str, dict] = {}
        self.confusion: dict[int | str, list[list[float]]] = {}
        self.log: list[str] = []
        self.progress = 0.0
        self.eta_s: float | None = None
        self.progress_message = ""
        self.reconstructions: dict[str, Reconstruction] = {}
        self.summary: dict = {}
        self.run_dir: str | None = None
        self.error: str | None = None
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.class_names: list[str] = []
        self.notify("reset")

    @property
    def running(self) -> bool:
        return self.state == "running"

    def start(self, class_names: list[str] | None = None) -> None:
        self.reset()
        self.class_names = list(class_names or [])
        self.state = "running"
        self.started_at = time.monotonic()
        self.notify("state")

    def apply(self, event: TrainingEvent) -> None:
        """Fold one training event into the model."""
        fold = fold_key(event.fold)
        match event:
            case EpochEnd():
                point = event.row()
                self.history.setdefault(fold, []).append(point)
                self.notify("epoch", fold=fold, point=point)
            case Progress():
                self.progress = float(event.fraction)
                self.eta_s = event.eta_s
                self.progress_message = event.message
                self.notify("progress")
            case LogMessage():
                self.add_log(event.message)
            case FoldEnd():
                self.fold_metrics[fold] = dict(event.metrics)
                if event.confusion is not None:
                    self.confusion[fold] = event.confusion
                self.notify("fold_end", fold=fold)
            case Reconstruction():
                self.reconstructions[event.view] = event
                self.notify("reconstruction", view=event.view)
            case RunEnd():
                self.summary = dict(event.summary)
                self.run_dir = event.run_dir
                self.notify("run_end")
            case _:
                text = event.describe() if isinstance(event, TrainingEvent) else repr(event)
                if text:
                    self.add_log(text)
        self.notify("event", event=event)

    def add_log(self, message: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        self.log.append(f"{stamp}  {message}")
        self.notify("log", line=self.log[-1])

    def finish(self, run_dir: str | None = None, summary: dict | None = None) -> None:
        self.state = "finished"
        self.progress = 1.0
        self.eta_s = 0.0
        self.run_dir = run_dir or self.run_dir
        self.summary = summary or self.summary
        self.finished_at = time.monotonic()
        self.notify("state")

    def fail(self, message: str) -> None:
        self.state = "failed"
        self.error = message
        self.finished_at = time.monotonic()
        self.add_log(f"failed: {message}")
        self.notify("state")

    def cancel(self) -> None:
        self.state = "cancelled"
        self.finished_at = time.monotonic()
        self.add_log("cancelled")
        self.notify("state")

    def elapsed_s(self) -> float:
        if self.started_at is None:
            return 0.0
        end = self.finished_at if self.finished_at is not None else time.monotonic()
        return end - self.started_at


def read_history(run_dir: str | Path) -> dict[int | str, list[dict]]:
    """Per-fold epoch rows of a run's history.csv (numbers parsed; empty cells dropped)."""
    path = Path(run_dir) / "history.csv"
    out: dict[int, list[dict]] = {}
    if not path.exists():
        return out
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            parsed = {}
            for key, value in row.items():
                if key is None or value in (None, ""):
                    continue
                try:
                    parsed[key] = float(value)
                except ValueError:
                    parsed[key] = value
            out.setdefault(fold_key(parsed.get("fold")), []).append(parsed)
    return out
