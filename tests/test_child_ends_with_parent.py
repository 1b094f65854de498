"""A worker's child process ends with the process that started it, however that one ends
(issue 20: the GUI killed during training left the training child running)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

ROOT = Path(__file__).resolve().parents[1]
RUNS = [3, 4, 7, 8, 11, 12]     # the runs the local copy holds for subjects 1-3
GONE_WITHIN_S = 4.0             # the child must be gone this soon after its parent


def gone(pid: int) -> bool:
    """True once ``pid`` has ended (a zombie waiting for whoever adopted it has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state == "Z"


def wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.05)
    return gone(pid)


def read_line(proc: subprocess.Popen, what: str, seconds: float = 180.0) -> str:
    import selectors

    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(seconds):
            proc.kill()
            pytest.fail(f"no {what} from the parent within {seconds:g} s: {proc.stderr.read()}")
    line = proc.stdout.readline().strip()
    if not line:
        pytest.fail(f"the parent ended before the {what}: {proc.stderr.read()}")
    return line


PARENT = """
import multiprocessing as mp, sys, time, yaml
from app.gui.training_process import WorkerArg, run_in_child, train

config = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
ctx = mp.get_context("spawn")
cancel = ctx.Event()
receiver, sender = ctx.Pipe(duplex=False)
child = ctx.Process(target=run_in_child, daemon=True,
                    args=(train, (config, None, WorkerArg.YIELD, WorkerArg.CANCEL), {}, sender, cancel))
child.start()
sender.close()
print(child.pid, flush=True)
receiver.recv()          # the first event: the experiment has started, the data are loading
print("training", flush=True)
time.sleep(600)
"""


def test_training_child_ends_when_its_parent_is_killed(tmp_path, datasets):
    """A real training child, killed parent (SIGKILL: nothing of the parent runs): the child is
    gone within seconds, although it is loading data and sends nothing down its pipe."""
    config = {"name": "orphan", "decoder": {"name": "csp-lda"},
              "dataset": {"source": "eegbci", "data_path": str(datasets / "eegbci"),
                          "subjects": [1, 2, 3], "runs": RUNS, "cache": False,
                          "events": {"T1": "left", "T2": "right"}, "window": [0.5, 2.5],
                          "preprocessing": {"band": [8.0, 30.0], "resample": 100.0}},
              "training": {"device": "cpu", "seed": 0}, "evaluation": {"protocol": "kfold", "n_folds": 2},
              "output": {"runs_dir": str(tmp_path / "runs"), "figures": False}}
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path / "exp.yaml")], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    child = None
    try:
        child = int(read_line(parent, "child pid"))
        assert read_line(parent, "first training event") == "training"
        assert not gone(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(30)
        killed = time.monotonic()
        assert wait_gone(child, GONE_WITHIN_S), \
            f"the training child outlived its killed parent by {time.monotonic() - killed:.1f} s"
    finally:
        if parent.poll() is None:
            parent.kill()
        if child is not None and not gone(child):
            os.kill(child, signal.SIGKILL)
        parent.communicate()


WATCHER = """
import os, sys, time
from app.gui.parent_death import end_with_parent

if os.fork() == 0:          # the child: watch without the kernel's help (as off Linux)
    end_with_parent(use_prctl=False, grace_s=0.0)
    print(os.getpid(), flush=True)
    time.sleep(600)
    os._exit(0)
time.sleep(600)
"""


def test_the_portable_fallback_polls_the_parent(tmp_path):
    """Without prctl (macOS, Windows), the watching thread ends the child on its own."""
    parent = subprocess.Popen([sys.executable, "-c", WATCHER], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    child = None
    try:
        child = int(read_line(parent, "child pid", 60))
        time.sleep(0.3)
        assert not gone(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(30)
        assert wait_gone(child, GONE_WITHIN_S), "the child outlived its parent without prctl"
    finally:
        if parent.poll() is None:
            parent.kill()
        if child is not None and not gone(child):
            os.kill(child, signal.SIGKILL)
        parent.communicate()
