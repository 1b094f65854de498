"""Work off the Qt thread: the training worker (a QObject in a QThread around
`app.experiment.run_experiment`) and one-off background calls (opening data, loading trials).
"""
from __future__ import annotations

import threading
import time
import traceback
from types import SimpleNamespace
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, Signal, Slot

PROGRESS_INTERVAL_S = 0.05  # at most 20 progress updates a second reach the GUI


CANCEL_GRACE_S = 15.0  # after a cancel, how long the training process may take to stop


class TrainingWorker(QObject):
    """Runs one experiment; every `Event` comes back as the ``event`` signal (queued to the
    GUI thread). Exactly one of ``finished(result)``, ``cancelled()`` or
    ``failed(message, details)`` ends the run.

    By default `app.experiment.run_experiment` runs in a child process (spawned), and this
    worker, in its QThread, relays the child's events. The GUI process then never competes
    for the GIL with data loading or training code, so the window keeps drawing, and a crash
    in native code cannot take the window down. ``runner`` (a callable with
    run_experiment's signature) runs in this thread instead.
    """

    event = Signal(object)
    finished = Signal(object)
    cancelled = Signal()
    failed = Signal(str, str)

    def __init__(self, config: dict, out_dir: str | None = None,
                 runner: Callable[..., Any] | None = None):
        super().__init__()
        self.config = config
        self.out_dir = out_dir
        self.cancel_flag = threading.Event()
        self._runner = runner
        self._last_progress = 0.0

    def cancel(self) -> None:
        self.cancel_flag.set()

    def _on_event(self, event) -> None:
        if event.kind == "progress":
            now = time.monotonic()
            if now - self._last_progress < PROGRESS_INTERVAL_S and event.data.get("fraction", 0) < 1:
                return
            self._last_progress = now
        self.event.emit(event)

    @Slot()
    def run(self) -> None:
        if self._runner is None:
            self._run_process()
        else:
            self._run_here(self._runner)

    def _run_here(self, runner) -> None:
        from data.errors import InputError
        from decoders.events import Cancelled

        try:
            result = runner(self.config, on_event=self._on_event, cancel=self.cancel_flag, out_dir=self.out_dir)
        except Cancelled:
            self.cancelled.emit()
        except InputError as exc:
            self.failed.emit(str(exc), "")
        except Exception as exc:  # noqa: BLE001 - shown in the window, never a crash
            if self.cancel_flag.is_set():
                self.cancelled.emit()
            else:
                self.failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc())
        else:
            if self.cancel_flag.is_set():
                self.cancelled.emit()
            else:
                self.finished.emit(result)

    def _run_process(self) -> None:
        import multiprocessing as mp

        from .training_process import run_in_child

        ctx = mp.get_context("spawn")
        child_cancel = ctx.Event()
        receiver, sender = ctx.Pipe(duplex=False)
        process = ctx.Process(target=run_in_child, args=(self.config, self.out_dir, sender, child_cancel),
                              name="neurodeck-training", daemon=True)
        try:
            process.start()
        except Exception as exc:  # noqa: BLE001
            self.failed.emit(f"cannot start the training process: {type(exc).__name__}: {exc}", "")
            return
        sender.close()
        cancel_time = None
        outcome = None
        while outcome is None:
            if self.cancel_flag.is_set() and cancel_time is None:
                child_cancel.set()
                cancel_time = time.monotonic()
            if cancel_time is not None and time.monotonic() - cancel_time > CANCEL_GRACE_S:
                process.terminate()
                outcome = ("cancelled", None)
                break
            try:
                ready = receiver.poll(0.05)  # waits without holding the GIL
            except (EOFError, OSError):
                ready = False
            if ready:
                try:
                    kind, payload = receiver.recv()
                except (EOFError, OSError):
                    kind, payload = "died", None
                if kind == "event":
                    self._on_event(payload)
                    continue
                outcome = (kind, payload)
            elif not process.is_alive():
                outcome = ("died", None)
        process.join(5)
        receiver.close()
        kind, payload = outcome
        if kind == "result":
            self.finished.emit(SimpleNamespace(run_dir=payload["run_dir"], metrics=payload["metrics"]))
        elif kind == "cancelled" or self.cancel_flag.is_set():
            self.cancelled.emit()
        elif kind == "input_error":
            self.failed.emit(payload, "")
        elif kind == "error":
            self.failed.emit(*payload)
        else:
            self.failed.emit(f"the training process ended unexpectedly (exit code {process.exitcode}).", "")


class TrainingThread(QObject):
    """Owns a QThread running a `TrainingWorker`; ``done`` fires once the thread has ended."""

    done = Signal()

    def __init__(self, worker: TrainingWorker, parent: QObject | None = None):
        super().__init__(parent)
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName("neurodeck-training")
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        for signal in (worker.finished, worker.cancelled, worker.failed):
            signal.connect(self.thread.quit)
        self.thread.finished.connect(self.done)

    def start(self) -> None:
        self.thread.start()

    def cancel(self) -> None:
        self.worker.cancel()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Wait for the thread to end, keeping the GUI thread's events flowing (the worker's
        end reaches ``thread.quit`` through them) and without holding the GIL the worker needs."""
        from PySide6.QtCore import QCoreApplication

        deadline = time.monotonic() + timeout_ms / 1000
        while self.thread.isRunning() and time.monotonic() < deadline:
            QCoreApplication.processEvents()
            time.sleep(0.02)
        return not self.thread.isRunning()


class _TaskSignals(QObject):
    done = Signal(int, object)
    failed = Signal(int, object)


class _Task(QRunnable):
    def __init__(self, number: int, fn: Callable[[], Any], signals: _TaskSignals):
        super().__init__()
        self.number = number
        self.fn = fn
        self.signals = signals

    def run(self) -> None:
        try:
            result = self.fn()
        except BaseException as exc:  # noqa: BLE001 - reported to the window
            exc.traceback_text = traceback.format_exc()
            self.signals.failed.emit(self.number, exc)
        else:
            self.signals.done.emit(self.number, result)


class Background(QObject):
    """Runs plain calls on a thread pool and delivers results on the GUI thread.

    Results reach bound methods of this object (which lives in the GUI thread), so Qt
    queues them to that thread; callbacks then run there. ``busy_changed(text)`` says what
    is running ("" when nothing is).
    """

    busy_changed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self.signals = _TaskSignals(self)
        self.signals.done.connect(self._done)
        self.signals.failed.connect(self._failed)
        self._pending: dict[int, tuple[str, Callable, Callable]] = {}
        self._count = 0

    def submit(self, label: str, fn: Callable[[], Any], on_done: Callable[[Any], None],
               on_error: Callable[[BaseException], None]) -> None:
        self._count += 1
        self._pending[self._count] = (label, on_done, on_error)
        self.busy_changed.emit(self.busy_text())
        self.pool.start(_Task(self._count, fn, self.signals))

    @Slot(int, object)
    def _done(self, number: int, result: Any) -> None:
        _label, on_done, _ = self._pending.pop(number)
        self.busy_changed.emit(self.busy_text())
        on_done(result)

    @Slot(int, object)
    def _failed(self, number: int, exc: BaseException) -> None:
        _label, _, on_error = self._pending.pop(number)
        self.busy_changed.emit(self.busy_text())
        on_error(exc)

    def busy_text(self) -> str:
        return ", ".join(dict.fromkeys(label for label, _, _ in self._pending.values()))

    def is_busy(self) -> bool:
        return bool(self._pending)

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Wait for running calls (polling: QThreadPool.waitForDone would hold the GIL)."""
        deadline = time.monotonic() + timeout_ms / 1000
        while self.pool.activeThreadCount() and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.pool.activeThreadCount() == 0


class StreamJob(QObject):
    """Runs a generator off the Qt thread and delivers each item on the GUI thread.

    ``factory(should_stop)`` returns an iterator; ``item(obj)`` fires for each value it yields,
    then ``finished()`` (or ``failed(message, details)``). `stop()` asks the generator to end
    (it polls ``should_stop()``); live sessions (online decoding) run this way.
    """

    item = Signal(object)
    finished = Signal()
    failed = Signal(str, str)

    def __init__(self, factory: Callable[[Callable[[], bool]], Any], parent: QObject | None = None):
        super().__init__(parent)
        self._factory = factory
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="neurodeck-stream", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for value in self._factory(self._stop.is_set):
                self.item.emit(value)
        except BaseException as exc:  # noqa: BLE001 - reported to the window
            self.failed.emit(str(exc), traceback.format_exc())
        else:
            self.finished.emit()

    def stop(self) -> None:
        self._stop.set()

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Wait for the generator to end, keeping the GUI thread's events flowing."""
        from PySide6.QtCore import QCoreApplication

        deadline = time.monotonic() + timeout_ms / 1000
        while self.is_running() and time.monotonic() < deadline:
            QCoreApplication.processEvents()
            time.sleep(0.02)
        QCoreApplication.processEvents()
        return not self.is_running()
