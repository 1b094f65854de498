"""What a sweep folder holds and how to read it: ``.sweep/`` (`STATE`: each executed run's
status record and the progress of the running ones) beside the finished run folders. Both the
runner (which writes it) and the report (which reads it) use this module."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

STATE = ".sweep"


def finished_runs(folder: str | Path) -> dict[str, Path]:
    """Run id -> its finished run folder, from the metrics.json of each run folder."""
    from app.workspace import list_runs

    out = {}
    for info in sorted(list_runs(folder), key=lambda r: r.date):
        sweep, _, run_id = info.experiment.partition("/")
        if run_id and sweep == Path(folder).name:
            out[run_id] = info.path
    return out


def run_status(folder: str | Path) -> dict[str, dict[str, Any]]:
    """Each planned run's state for watchers: finished, failed/cancelled (with the error),
    running (with its progress fraction) or pending."""
    folder = Path(folder)
    try:
        plan = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))["runs"]
    except (OSError, ValueError, KeyError):
        return {}
    finished = finished_runs(folder)
    out = {}
    for run in plan:
        rid = run["id"]
        state: dict[str, Any] = {"labels": run.get("labels", {}), "state": "pending", "fraction": 0.0}
        status = _read(folder / STATE / "status" / f"{rid}.json")
        progress = _read(folder / STATE / "progress" / f"{rid}.json")
        if rid in finished:
            state.update(state="done", fraction=1.0, run_dir=str(finished[rid]))
        elif status and status.get("status") in ("failed", "cancelled") and not (progress and progress.get("fraction", 1) < 1):
            state.update(state=status["status"], error=status.get("error", ""))
        elif progress:
            state.update(state="running" if progress.get("fraction", 0) < 1 else "pending",
                         fraction=float(progress.get("fraction", 0)), message=progress.get("message", ""))
        out[rid] = state
    return out


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
