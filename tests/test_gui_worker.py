"""The GUI's one worker family: functions and generators, on a thread or in a child process,
all ending with one of returned / errored / aborted and then finished, on the GUI thread."""
from __future__ import annotations

import os
import sys
import threading
import time

import pytest

pytestmark = pytest.mark.gui


def count_to(n: int):
    for i in range(n):
        yield i
    return "counted"


def endless():
    i = 0
    while True:
        yield i
        i += 1
        time.sleep(0.001)


def saving_stream(should_stop, saved: list):
    """Like a recording session: stops by itself when asked, and still saves."""
    i = 0
    while not should_stop():
        yield i
        i += 1
        time.sleep(0.001)
    saved.append(i)
    yield "saved"


def bad_input(path: str):
    from data.errors import InputError

    raise InputError(f"{path}: not a recording")


def child_pid() -> int:
    return os.getpid()


def crash():
    os._exit(3)


def run_to_end(worker, timeout_ms: int = 60_000) -> list:
    seen: list = []
    worker.started.connect(lambda: seen.append(("started", threading.current_thread() is threading.main_thread())))
    worker.yielded.connect(lambda v: seen.append(("yielded", v)))
    worker.returned.connect(lambda v: seen.append(("returned", v)))
    worker.errored.connect(lambda e: seen.append(("errored", e)))
    worker.aborted.connect(lambda: seen.append(("aborted", None)))
    worker.finished.connect(lambda: seen.append(("finished", threading.current_thread() is threading.main_thread())))
    worker.start()
    assert worker.wait(timeout_ms)
    return seen


def test_function_and_generator_on_a_thread(qapp):
    from app.gui.worker import Worker

    seen = run_to_end(Worker(sum, [1, 2, 3]))
    assert seen == [("started", True), ("returned", 6), ("finished", True)]
    seen = run_to_end(Worker(count_to, 3))
    assert seen == [("started", True), ("yielded", 0), ("yielded", 1), ("yielded", 2),
                    ("returned", "counted"), ("finished", True)]


def test_errors_carry_their_traceback(qapp):
    from app.gui.worker import Worker, failure_text
    from data.errors import InputError

    seen = run_to_end(Worker(int, "x"))
    kind, exc = seen[1]
    assert kind == "errored" and isinstance(exc, ValueError) and "int()" in exc.traceback_text
    assert failure_text(exc)[0].startswith("ValueError: invalid literal")
    (_, _), (kind, exc), _ = run_to_end(Worker(bad_input, "a.fif"))
    assert isinstance(exc, InputError) and failure_text(exc) == ("a.fif: not a recording", "")


def test_cancel_closes_a_generator_or_lets_a_cooperative_one_finish(qapp):
    from app.gui.worker import Worker, WorkerArg

    worker = Worker(endless)
    worker.yielded.connect(lambda v: worker.cancel() if v == 5 else None)
    seen = run_to_end(worker)
    assert seen[-2:] == [("aborted", None), ("finished", True)]
    saved: list = []
    worker = Worker(saving_stream, WorkerArg.SHOULD_STOP, saved)
    worker.yielded.connect(lambda v: worker.cancel() if v == 5 else None)
    seen = run_to_end(worker)
    assert saved and ("yielded", "saved") in seen and seen[-1] == ("finished", True)


def test_child_process_outcomes(qapp):
    from app.gui.worker import Worker, WorkerFailed

    (_, _), (kind, pid), _ = run_to_end(Worker(child_pid, in_process=True))
    assert kind == "returned" and pid != os.getpid()
    (_, _), (kind, exc), _ = run_to_end(Worker(bad_input, "b.fif", in_process=True))
    assert kind == "errored" and isinstance(exc, WorkerFailed) and exc.message == "b.fif: not a recording"
    (_, _), (kind, exc), _ = run_to_end(Worker(crash, label="toy", in_process=True))
    assert kind == "errored" and "toy process ended unexpectedly (exit code 3)" in str(exc)


def test_group_says_what_runs(qapp):
    from app.gui.worker import Worker, WorkerArg, WorkerGroup

    group = WorkerGroup()
    texts: list = []
    group.busy_changed.connect(texts.append)
    gate = threading.Event()
    results: list = []
    group.run("opening data", gate.wait, results.append, results.append, 30)
    recording = group.start(Worker(saving_stream, WorkerArg.SHOULD_STOP, [], label="recording"))
    assert group.is_busy() and group.busy_text() == "opening data, recording"
    gate.set()
    recording.cancel()
    assert group.wait(30_000) and not group.is_busy()
    assert results == [True] and texts[-1] == ""
    late = group.start(Worker(gate.wait, 30))
    group.cancel_all()            # a function that returns after a cancel still returns
    late.returned.connect(results.append)
    assert group.wait(30_000) and late.cancelled


def niceness() -> int:
    return os.nice(0)


def sleep_and_tell(path: str) -> None:
    from pathlib import Path

    Path(path).write_text(str(os.getpid()))
    time.sleep(300)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; nice() is POSIX")
def test_child_runs_niced_and_ends_with_the_window_process(qapp, tmp_path):
    import subprocess
    from pathlib import Path

    from app.gui.worker import Worker

    (_, _), (kind, nice), _ = run_to_end(Worker(niceness, in_process=True))
    assert kind == "returned" and nice >= min(os.nice(0) + 10, 19)
    # A window process that starts a long child and exits: the child goes with it.
    pid_file = tmp_path / "child.pid"
    script = (
        "import sys, time\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from app.gui.worker import Worker\n"
        "from tests.test_gui_worker import sleep_and_tell\n"
        f"w = Worker(sleep_and_tell, {str(pid_file)!r}, in_process=True).start()\n"
        "from pathlib import Path\n"
        "deadline = time.time() + 120\n"
        f"while not Path({str(pid_file)!r}).exists() and time.time() < deadline:\n"
        "    time.sleep(0.05)\n")
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", script], cwd=root, timeout=180, check=True,
                   env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            break
        if state == "Z":     # ended, waiting to be reaped by whoever adopted it
            break
        time.sleep(0.1)
    else:
        os.kill(child, 9)
        pytest.fail("the worker's child process outlived the window process")


def allocate_until(stop: threading.Event) -> int:
    """Churn out short-lived containers (what matplotlib does building a figure) until told."""
    rounds = 0
    while not stop.is_set():
        _ = [[] for _ in range(2000)]
        rounds += 1
    return rounds


def test_garbage_of_the_gui_is_collected_on_its_thread_while_a_worker_allocates(qtbot):
    """Python collects cycles on whichever thread allocates; a worker thread must never be the
    one that destroys the GUI's objects (a closed pane's figure canvas): Qt forbids it."""
    import gc
    import weakref

    from app.gui import gui_gc
    from app.gui.worker import Worker

    automatic_before = gc.isenabled()
    stop = threading.Event()
    worker = Worker(allocate_until, stop)
    ended = []
    worker.finished.connect(lambda: ended.append(True))
    worker.start()
    assert gui_gc.holding() and not gc.isenabled()

    class Pane:   # stands for a widget and its figure referring to each other
        pass

    threads = []
    pane = Pane()
    pane.figure = Pane()
    pane.figure.canvas = pane
    weakref.finalize(pane, lambda: threads.append(threading.current_thread().name))
    del pane
    qtbot.waitUntil(lambda: bool(threads), timeout=30_000)   # collected by the timer on this thread
    stop.set()
    qtbot.waitUntil(lambda: bool(ended), timeout=30_000)
    assert threads == [threading.main_thread().name]
    assert not gui_gc.holding() and gc.isenabled() == automatic_before
