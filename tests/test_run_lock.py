"""The run lock: exclusive creation (one winner among processes started together), host +
PID + PID start time (a reused PID is stale), another host's lock, and --restart."""
from __future__ import annotations

import json
import multiprocessing
import os

import pytest

from app import workspace
from data.errors import InputError


def _contend(runs_dir, start, done, results):
    start.wait()
    try:
        workspace.open_run_folder(runs_dir, "csp-lda", "abcdef0123")
        results.put("won")
    except InputError:
        results.put("refused")
    done.wait()   # every process stays alive until all have tried: no lock goes stale meanwhile


def test_processes_started_together_get_one_lock(tmp_path):
    ctx = multiprocessing.get_context("fork")
    n = 6
    start, done, results = ctx.Barrier(n), ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_contend, args=(tmp_path, start, done, results)) for _ in range(n)]
    for p in procs:
        p.start()
    outcomes = sorted(results.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(60)
    assert outcomes == ["refused"] * (n - 1) + ["won"]


def _lock(folder):
    return folder / workspace.LOCK


def test_a_lock_naming_a_reused_pid_is_stale(tmp_path):
    run = workspace.open_run_folder(tmp_path, "csp-lda", "abcdef0123")
    record = json.loads(_lock(run.path).read_text())
    # the parent process is alive, but it is not the process that took the lock
    record.update(pid=os.getppid(), pid_start=-1)
    _lock(run.path).write_text(json.dumps(record))
    again = workspace.open_run_folder(tmp_path, "csp-lda", "abcdef0123")
    assert json.loads(_lock(again.path).read_text())["pid"] == os.getpid()


def test_a_live_lock_blocks_even_with_restart_and_another_hosts_lock_yields_to_restart(tmp_path):
    run = workspace.open_run_folder(tmp_path, "csp-lda", "abcdef0123")
    (run.folds_dir / "fold_0000.json").write_text("{}")
    record = json.loads(_lock(run.path).read_text())
    parent_start = workspace._process_start(os.getppid())
    _lock(run.path).write_text(json.dumps({**record, "pid": os.getppid(), "pid_start": parent_start}))
    for restart in (False, True):
        with pytest.raises(InputError, match=f"already running \\(process {os.getppid()}"):
            workspace.open_run_folder(tmp_path, "csp-lda", "abcdef0123", restart=restart)
    _lock(run.path).write_text(json.dumps({**record, "host": "elsewhere"}))
    with pytest.raises(InputError, match="on host elsewhere.*--restart"):
        workspace.open_run_folder(tmp_path, "csp-lda", "abcdef0123")
    fresh = workspace.open_run_folder(tmp_path, "csp-lda", "abcdef0123", restart=True)
    assert not fresh.resumed and not list(fresh.folds_dir.iterdir())
    assert json.loads(_lock(fresh.path).read_text())["host"] != "elsewhere"
