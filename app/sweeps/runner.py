"""Run a sweep: expand it, skip the runs already finished, execute the rest, write the report.

The sweep folder ``<sweeps_dir>/<name>/`` holds ordinary run folders (the results view lists
them), ``sweep.json`` (the spec and the plan), ``.sweep/status/<run>.json`` (each executed
run's record: done, failed with its error, or cancelled) and ``report/``. A run counts as
finished when a run folder whose metrics.json names it exists: run folders appear only
complete (workspace renames them into place), so a sweep killed at any point resumes with
exactly the missing runs, and a run killed mid-way resumes from its finished folds.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .executors import SweepJob, make_executor
from .folder import STATE, finished_runs
from .spec import RunPlan, SweepSpec, expand
from .worker import CANCEL_FILE


@dataclass
class SweepResult:
    folder: Path
    plans: list[RunPlan]
    skipped: list[str] = field(default_factory=list)     # finished before this start
    executed: list[dict[str, Any]] = field(default_factory=list)   # records of the runs started now
    wall_seconds: float = 0.0

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.executed if r.get("status") == "failed"]


def sweep_folder(spec: SweepSpec, out_dir: str | Path | None = None) -> Path:
    return (Path(out_dir if out_dir is not None else spec.output.sweeps_dir).expanduser().resolve() / spec.name)


def run_sweep(spec: SweepSpec, base_dir: str | Path = ".", *, out_dir: str | Path | None = None,
              executor: str | None = None, address: str | None = None, workers: int | str | None = None,
              on_event: Callable[[dict[str, Any]], None] | None = None,
              cancel: threading.Event | None = None, report: bool = True, source: str | Path | None = None) -> SweepResult:
    """Execute the runs of ``spec`` that are not finished yet; see the module docstring."""
    from app.workspace import write_json

    emit = on_event or (lambda event: None)
    cancel = cancel or threading.Event()
    plans = expand(spec, base_dir, source)
    folder = sweep_folder(spec, out_dir)
    (folder / STATE / "status").mkdir(parents=True, exist_ok=True)
    (folder / STATE / CANCEL_FILE).unlink(missing_ok=True)
    for stale in (folder / STATE / "progress").glob("*.json"):   # from a start that was killed
        stale.unlink(missing_ok=True)
    write_json(folder / "sweep.json", {"spec": spec.model_dump(mode="json"), "base_dir": str(Path(base_dir).resolve()), "runs": [
        {"id": p.id, "labels": p.labels, "uses_torch": p.uses_torch} for p in plans]})
    done = finished_runs(folder)
    todo = [p for p in plans if p.id not in done]
    result = SweepResult(folder, plans, skipped=[p.id for p in plans if p.id in done])
    kind = executor or spec.executor.kind
    if kind.startswith("ray://"):
        kind, address = "ray", kind
    runner = make_executor(kind, address=address or spec.executor.address,
                           workers=workers or spec.executor.workers, cpus_per_run=spec.executor.cpus_per_run,
                           gpus_per_run=spec.executor.gpus_per_run) if todo else None
    emit({"kind": "sweep_start", "folder": str(folder), "runs": [p.id for p in todo], "skipped": result.skipped,
          "executor": kind})
    jobs = [SweepJob(p.id, _with_runs_dir(p.config, folder), p.uses_torch and p.config["training"]["device"] != "cpu")
             for p in todo]
    t0 = time.perf_counter()
    finished = threading.Event()
    stop = threading.Thread(target=_forward_cancel, args=(cancel, finished, folder / STATE / CANCEL_FILE), daemon=True)
    stop.start()
    try:
        for record in runner.run(jobs, str(folder), cancel) if runner else ():
            record["executor"] = kind
            write_json(folder / STATE / "status" / f"{record['id']}.json", record)
            result.executed.append(record)
            emit({"kind": "run_end", "record": record})
    finally:
        result.wall_seconds = time.perf_counter() - t0
        finished.set()
        stop.join()
        (folder / STATE / CANCEL_FILE).unlink(missing_ok=True)
    if report:
        from .report import write_report

        write_report(folder)
    emit({"kind": "sweep_end", "folder": str(folder), "executed": len(result.executed),
          "failed": len(result.failed), "skipped": len(result.skipped)})
    return result


def _with_runs_dir(config: dict[str, Any], folder: Path) -> dict[str, Any]:
    return {**config, "output": {**config.get("output", {}), "runs_dir": str(folder)}}


def _forward_cancel(cancel: threading.Event, finished: threading.Event, flag: Path) -> None:
    """A cancel of this process becomes the cancel file every run (in any process) watches."""
    while not finished.wait(0.2):
        if cancel.is_set():
            try:
                flag.touch()
            except OSError:
                pass
            return
