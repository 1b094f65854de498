"""One sweep run, as executed inside a pool process or a Ray worker.

`execute_run` never raises for a failing run: it returns a record with the error, so the
other runs go on. It runs BLAS and torch on ``threads`` threads (one by default), so a run's
metrics do not depend on the executor or on how many runs share the machine.
"""
from __future__ import annotations

import json
import os
import threading
import time
import traceback
from pathlib import Path
from typing import Any

CANCEL_FILE = ".cancel"
# Tests only: "RUN_ID:FILE" makes that run, once its first fold is saved, create FILE and wait
# there (up to two minutes, or until the sweep is cancelled), so tests kill or cancel a sweep
# at a known point, never by timing.
PAUSE_RUN_ENV = "NEURODECK_SWEEP_PAUSE_RUN"


def limit_threads(threads: int = 1) -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)


def execute_run(run_id: str, config: dict[str, Any], sweep_dir: str, threads: int = 1) -> dict[str, Any]:
    """Run one experiment into ``sweep_dir`` (its own run folder there); returns its record."""
    limit_threads(threads)
    parent = os.getppid()
    started = time.time()
    t0 = time.perf_counter()
    record: dict[str, Any] = {"id": run_id, "pid": os.getpid(), "host": os.uname().nodename,
                              "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    sweep = Path(sweep_dir)
    progress = _ProgressFile(sweep / ".sweep" / "progress" / f"{run_id}.json")
    cancel = threading.Event()
    watcher = threading.Thread(target=_watch_cancel, args=(sweep / ".sweep" / CANCEL_FILE, cancel), daemon=True)
    watcher.start()
    target, _, flag = os.environ.get(PAUSE_RUN_ENV, "").partition(":")
    if target == run_id and flag:
        progress.pause = (Path(flag), cancel)
    if (sweep / ".sweep" / CANCEL_FILE).exists():   # queued before the sweep was cancelled
        record.update(status="cancelled", error="cancelled before it started", run_seconds=0.0)
        return record
    try:
        import scipy.linalg  # noqa: F401 - SciPy's own BLAS loaded first, so the limit covers it
        import torch
        from threadpoolctl import threadpool_limits

        from app.experiment import run_experiment
        from decoders.events import Cancelled

        torch.set_num_threads(threads)
        progress.write(0.0, "starting")
        try:
            with threadpool_limits(threads):
                t_run = time.perf_counter()
                try:
                    result = run_experiment(config, on_event=progress.on_event, cancel=cancel, out_dir=sweep_dir)
                finally:
                    record["experiment_seconds"] = time.perf_counter() - t_run   # the run itself, no imports
        except (Cancelled, KeyboardInterrupt):
            record.update(status="cancelled", error="cancelled; the folds done are kept and the sweep resumes them")
        else:
            record.update(status="done", run_dir=result.run_dir.name,
                          summary={k: v["mean"] for k, v in result.metrics.get("summary", {}).items()})
    except BaseException as exc:  # noqa: BLE001 - a failing run is recorded, the sweep goes on
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}",
                      traceback=traceback.format_exc(limit=20))
    finally:
        cancel.set()  # stops the watcher
    record["run_seconds"] = time.perf_counter() - t0
    record["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    record["started_unix"] = started
    progress.write(1.0, record["status"])
    if os.getppid() != parent:
        # The sweep process was killed: nobody will read the record, and a pool process would
        # wait for work forever. The run's folds are kept; the restarted sweep resumes them.
        os._exit(1)
    return record


def _watch_cancel(flag: Path, cancel: threading.Event) -> None:
    """Cancel on the sweep's cancel file, or when the sweep process that started this pool
    process is gone (killed): the run keeps its folds for the restarted sweep instead of
    racing it for the same run."""
    parent = os.getppid()
    while not cancel.wait(0.5):
        if flag.exists() or os.getppid() != parent:
            cancel.set()


class _ProgressFile:
    """The run's progress fraction, rewritten at most twice a second, for the sweep's watchers."""

    def __init__(self, path: Path):
        self.path = path
        self.last = 0.0
        self.pause: tuple[Path, threading.Event] | None = None
        self._first_fold_done = False
        path.parent.mkdir(parents=True, exist_ok=True)

    def on_event(self, event) -> None:
        from decoders.events import FoldEnd, Progress

        if self.pause is not None:
            if self._first_fold_done:   # the event after fold_end comes after the fold was saved
                flag, cancel = self.pause
                self.pause = None
                flag.touch()
                cancel.wait(120)
            elif isinstance(event, FoldEnd):
                self._first_fold_done = True
        if isinstance(event, Progress) and time.monotonic() - self.last > 0.5:
            self.write(float(event.fraction), event.message)

    def write(self, fraction: float, message: str) -> None:
        self.last = time.monotonic()
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps({"fraction": fraction, "message": message[:80]}), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass  # progress is a courtesy; the run's own files are what count
