"""Work off the Qt thread: the training worker (a QObject in a QThread around
`app.experiment.run_experiment`) and one-off background calls (opening data, loading trials).
"""
from __future__ import annotations

import threading
import time
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, Signal, Slot

PROGRESS_INTERVAL_S = 0.05  # at most 20 progress updates a second reach the GUI


class TrainingWorker(QObject):
    """Runs one experiment; every `Event` comes back as the ``event`` signal (queued to the
    GUI thread). Exactly one of ``finished(result)``, ``cancelled()`` or
    ``failed(message, details)`` ends the run."""

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
        from data.errors import InputError
        from decoders.events import Cancelled

        try:
            runner = self._runner
            if runner is None:
                from app.experiment import run_experiment as runner
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
        return self.thread.wait(timeout_ms)


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
        return self.pool.waitForDone(timeout_ms)
