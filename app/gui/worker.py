"""Work off the Qt thread: one worker family, after napari's ``thread_worker``.

A `Worker` runs a function or a generator function on a thread, or in a spawned child
process (``in_process=True``: training, so the window never competes for the GIL and a
crash in native code cannot take it down). Whatever it runs, it speaks one vocabulary,
always delivered on the GUI thread:

``started()``, then ``yielded(value)`` for each value the generator yields (or passes to
`WorkerArg.YIELD`), then exactly one of ``returned(value)``, ``errored(exception)`` or
``aborted()`` (stopped by `Worker.cancel`: `decoders.events.Cancelled`, an error after the
cancel, or a generator closed), and last ``finished()``. Work that returns although it was
cancelled still returns; ``worker.cancelled`` tells.

`WorkerGroup` keeps the running workers of the window (what the status bar says is busy,
and what closing the window waits for). Opening data, loading trials, training and live
sessions all run this way.
"""
from __future__ import annotations

import threading
import time
import warnings
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

from . import gui_gc
from .training_process import (Aborted, Failed, Returned, WorkerArg, WorkerFailed, failure_text,
                               run_function)

__all__ = ["Worker", "WorkerArg", "WorkerFailed", "WorkerGroup", "failure_text"]

CANCEL_GRACE_S = 15.0  # after a cancel, how long a child process may take to stop


class Worker(QObject):
    """Run ``function(*args, **kwargs)`` off the GUI thread.

    Parameters
    ----------
    function
        A plain function (its return value reaches ``returned``) or a generator function
        (each yielded value reaches ``yielded``, its ``return`` value ``returned``). For a
        child process it must be importable (a module-level function) and its arguments,
        yielded values and result picklable.
    args, kwargs
        Its arguments; `WorkerArg` placeholders are replaced where it runs.
    label
        What the status bar says while it runs ("opening data.fif").
    in_process
        Run in a spawned child process at lower priority (ended when the window's process
        ends) instead of on a thread.
    keep
        Called with each yielded value (on the worker's thread); False drops it (e.g. to
        send at most 20 progress updates a second to the window).
    """

    started = Signal()
    yielded = Signal(object)
    returned = Signal(object)
    errored = Signal(object)
    aborted = Signal()
    finished = Signal()
    _relay = Signal(str, object)   # from the worker's thread to this object's (the GUI) thread

    def __init__(self, function: Callable[..., Any], *args: Any, label: str = "", in_process: bool = False,
                 keep: Callable[[Any], bool] | None = None, parent: QObject | None = None, **kwargs: Any):
        super().__init__(parent)
        self.function, self.args, self.kwargs = function, args, kwargs
        self.label = label or getattr(function, "__name__", "working")
        self.in_process = in_process
        self.keep = keep
        self.cancel_flag = threading.Event()
        self.exitcode: int | None = None
        self._thread: threading.Thread | None = None
        self._finished = False
        self._holds_gc = False
        self._relay.connect(self._deliver)

    # ------------------------------------------------------------------ control
    def start(self) -> "Worker":
        """Start the work (once); returns self."""
        if self._thread is not None:
            raise RuntimeError(f"worker '{self.label}' was already started")
        self._thread = threading.Thread(target=self._run, name=f"neurodeck-{self.label}", daemon=True)
        self._holds_gc = gui_gc.hold()   # no Qt object may be collected on this thread
        try:
            self._thread.start()
        except BaseException:
            self._release_gc()
            raise
        return self

    def cancel(self) -> None:
        """Ask the work to stop: functions given `WorkerArg.CANCEL` / ``SHOULD_STOP`` see it,
        other generators are closed at their next yield, a child process gets
        `CANCEL_GRACE_S` seconds before it is terminated."""
        self.cancel_flag.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_flag.is_set()

    def is_running(self) -> bool:
        """True from `start` until ``finished`` was delivered."""
        return self._thread is not None and not self._finished

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Wait until ``finished`` was delivered, keeping the GUI thread's events flowing (the
        signals reach it through them) and without holding the GIL the work needs.

        Returns
        -------
        bool
            False if it still runs after ``timeout_ms``.
        """
        deadline = time.monotonic() + timeout_ms / 1000
        while self.is_running() and time.monotonic() < deadline:
            QCoreApplication.processEvents()
            time.sleep(0.02)
        return not self.is_running()

    # --------------------------------------------------------------- delivering
    @Slot(str, object)
    def _deliver(self, kind: str, value: Any) -> None:
        if kind == "started":
            self.started.emit()
        elif kind == "yielded":
            self.yielded.emit(value)
        elif kind == "ended":
            # The thread's last act was to send this: once it is joined nothing touches this
            # object any more, so handlers below may deleteLater() it safely.
            self._thread.join()
            self._release_gc()
            if isinstance(value, Returned):
                self.returned.emit(value.value)
            elif isinstance(value, Failed):
                self.errored.emit(value.error())
            else:
                self.aborted.emit()
            self._finished = True
            self.finished.emit()
            self._disconnect_all()

    def _release_gc(self) -> None:
        if self._holds_gc:
            self._holds_gc = False
            gui_gc.release()

    def _disconnect_all(self) -> None:
        # Plain Python callables (lambdas, closures) connected to a QObject's signals crash
        # PySide at exit once that object was deleted (deleteLater) with them still connected;
        # nothing is emitted after ``finished``, so every connection goes now.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # "failed to disconnect": none connected
            for signal in (self.started, self.yielded, self.returned, self.errored, self.aborted, self.finished):
                try:
                    signal.disconnect()
                except (RuntimeError, TypeError):
                    pass

    def _send(self, value: Any) -> None:
        if self.keep is None or self.keep(value):
            self._relay.emit("yielded", value)

    def _run(self) -> None:
        self._relay.emit("started", None)
        try:
            if self.in_process:
                outcome = self._run_in_child()
            else:
                outcome = run_function(self.function, self.args, self.kwargs, self.cancel_flag, self._send)
        except BaseException as exc:  # noqa: BLE001 - a bug here must still end the worker
            outcome = Failed(*failure_text(exc), exception=exc)
        self._relay.emit("ended", outcome)

    def _run_in_child(self):
        import multiprocessing as mp

        from .training_process import run_in_child

        ctx = mp.get_context("spawn")
        child_cancel = ctx.Event()
        receiver, sender = ctx.Pipe(duplex=False)
        process = ctx.Process(target=run_in_child,
                              args=(self.function, self.args, self.kwargs, sender, child_cancel),
                              name=f"neurodeck-{self.label}", daemon=True)   # daemon: ends with the window
        try:
            process.start()
        except Exception as exc:  # noqa: BLE001
            return Failed(f"cannot start the {self.label} process: {type(exc).__name__}: {exc}", "")
        sender.close()
        cancel_time = None
        outcome = None
        while outcome is None:
            if self.cancel_flag.is_set() and cancel_time is None:
                child_cancel.set()
                cancel_time = time.monotonic()
            if cancel_time is not None and time.monotonic() - cancel_time > CANCEL_GRACE_S:
                process.terminate()
                outcome = Aborted()
                break
            try:
                ready = receiver.poll(0.05)  # waits without holding the GIL
            except (EOFError, OSError):
                ready = False
            if ready:
                try:
                    message = receiver.recv()
                except (EOFError, OSError):
                    outcome = self._died(process)
                    break
                if isinstance(message, (Returned, Failed, Aborted)):
                    outcome = message
                else:
                    self._send(message)
            elif not process.is_alive():
                outcome = self._died(process)
        process.join(5)
        receiver.close()
        self.exitcode = process.exitcode
        if self.cancel_flag.is_set() and isinstance(outcome, Failed):
            return Aborted()   # terminated, or failing because it was stopped
        return outcome

    def _died(self, process):
        process.join(1)
        return Failed(f"the {self.label} process ended unexpectedly (exit code {process.exitcode}).", "")


class WorkerGroup(QObject):
    """The window's running workers: `start` one, ask what is busy, wait for all.

    ``busy_changed(text)`` says what runs now ("" when nothing does).
    """

    busy_changed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._running: list[Worker] = []

    def start(self, worker: Worker) -> Worker:
        """Track ``worker`` until it finishes, and start it."""
        self._running.append(worker)
        worker.finished.connect(lambda w=worker: self._ended(w))
        self.busy_changed.emit(self.busy_text())
        return worker.start()

    def run(self, label: str, function: Callable[..., Any], on_done: Callable[[Any], None],
            on_error: Callable[[BaseException], None], *args: Any, **kwargs: Any) -> Worker:
        """Run a plain call on a thread: ``on_done(result)`` or ``on_error(exception)`` on the
        GUI thread."""
        worker = Worker(function, *args, label=label, parent=self, **kwargs)
        worker.returned.connect(on_done)
        worker.errored.connect(on_error)
        return self.start(worker)

    def _ended(self, worker: Worker) -> None:
        if worker in self._running:
            self._running.remove(worker)
        if worker.parent() is self:
            worker.deleteLater()
        self.busy_changed.emit(self.busy_text())

    def busy_text(self) -> str:
        return ", ".join(dict.fromkeys(w.label for w in self._running))

    def is_busy(self) -> bool:
        return bool(self._running)

    def cancel_all(self) -> None:
        for worker in list(self._running):
            worker.cancel()

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Wait for every running worker (see `Worker.wait`)."""
        deadline = time.monotonic() + timeout_ms / 1000
        for worker in list(self._running):
            if not worker.wait(max(0, int((deadline - time.monotonic()) * 1000))):
                return False
        return True
