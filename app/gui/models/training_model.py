"""`TrainingModel`: what the running (or last) training reported; `read_history` reads a
finished run's epoch rows."""
from __future__ import annotations

import csv
import time
from pathlib import Path

from .helpers import Observable, fold_key

class TrainingModel(Observable):
    """What the running (or last) training reported, built from `decoders.events.Event`s.

    Changes: "reset", "state", "epoch", "progress", "log", "fold_end", "reconstruction",
    "run_end".
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
        self.reconstructions: dict[str, dict] = {}
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

    def apply(self, event) -> None:
        """Fold one training event into the model."""
        kind, data = event.kind, dict(event.data)
        fold = fold_key(data.get("fold"))
        if kind == "epoch":
            self.history.setdefault(fold, []).append(data)
            self.notify("epoch", fold=fold, point=data)
        elif kind == "progress":
            self.progress = float(data.get("fraction", self.progress))
            self.eta_s = data.get("eta_s")
            self.progress_message = str(data.get("message", ""))
            self.notify("progress")
        elif kind == "log":
            self.add_log(str(data.get("message", "")))
        elif kind == "fold_end":
            self.fold_metrics[fold] = data.get("metrics", {})
            if data.get("confusion") is not None:
                self.confusion[fold] = data["confusion"]
            self.notify("fold_end", fold=fold)
        elif kind == "reconstruction":
            self.reconstructions[str(data.get("view"))] = data
            self.notify("reconstruction", view=data.get("view"))
        elif kind == "run_end":
            self.summary = data.get("summary", {})
            self.run_dir = data.get("run_dir")
            self.notify("run_end")

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
