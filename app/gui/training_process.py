"""The Qt-free half of the GUI's workers: what runs where the work runs.

`run_function` calls a worker's function (a plain function or a generator function) on a
thread of the window's process; `run_in_child` is the entry point of a child process
(spawned, niced) that does the same and sends what it yields, then one outcome
(`Returned`, `Failed` or `Aborted`), back through a pipe. Yielded values cross the pipe as
they are (pickled): training sends its `decoders.events` objects unchanged.

`train` is the function the Train view runs in such a child: `app.experiment.run_experiment`
with its events yielded.
"""
from __future__ import annotations

import enum
import inspect
import json
import os
import traceback
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable

NICENESS = 10  # a child yields the CPU to the window (and the rest of the desktop) when both want it


class WorkerArg(enum.Enum):
    """Placeholders in a worker's arguments, replaced where the function runs.

    YIELD
        A function; each value passed to it reaches the worker's ``yielded`` signal (for
        callback-style producers such as ``run_experiment(on_event=...)``).
    CANCEL
        The cancel flag (``threading.Event``, or ``multiprocessing.Event`` in a child):
        set once the worker's ``cancel()`` was called.
    SHOULD_STOP
        A callable returning True once ``cancel()`` was called.

    A function given CANCEL or SHOULD_STOP stops by itself; a generator given neither is
    closed at its next ``yield`` after ``cancel()``.
    """

    YIELD = "yield"
    CANCEL = "cancel"
    SHOULD_STOP = "should_stop"


@dataclass(frozen=True)
class Returned:
    """The function's return value (a generator's ``return`` value)."""

    value: Any


@dataclass(frozen=True)
class Failed:
    """The function raised: a message for the user and the traceback ("" for bad input);
    ``exception`` is the exception itself where it was raised in this process (a child
    sends None: exceptions need not pickle)."""

    message: str
    details: str
    exception: BaseException | None = field(default=None, compare=False)

    def error(self) -> BaseException:
        """The exception to report: the original one, or a `WorkerFailed` with the texts."""
        return self.exception if self.exception is not None else WorkerFailed(self.message, self.details)


@dataclass(frozen=True)
class Aborted:
    """The work ended because it was cancelled."""


Outcome = Returned | Failed | Aborted


class WorkerFailed(Exception):
    """A function run in a child process raised; ``details`` holds its traceback."""

    def __init__(self, message: str, details: str = ""):
        super().__init__(message)
        self.message, self.details = message, details
        self.traceback_text = details


def failure_text(exc: BaseException) -> tuple[str, str]:
    """(message, details) to show for ``exc``: bad input (`data.errors.InputError`) is its
    message alone, anything else its type, message and traceback."""
    from data.errors import InputError

    if isinstance(exc, WorkerFailed):
        return exc.message, exc.details
    if isinstance(exc, InputError):
        return str(exc), ""
    details = getattr(exc, "traceback_text", "") or "".join(traceback.format_exception(exc))
    return f"{type(exc).__name__}: {exc}", details


def lower_priority() -> None:
    """Run this process at a lower scheduling priority where the OS allows it."""
    try:
        os.nice(NICENESS)
    except (AttributeError, OSError):  # Windows has no nice(); a sandbox may refuse it
        pass


def bind_arguments(args: tuple, kwargs: dict, cancel, emit: Callable[[Any], None]) -> tuple[tuple, dict, bool]:
    """Replace `WorkerArg` placeholders; returns (args, kwargs, whether the function was
    given the cancel flag in some form)."""
    values = {WorkerArg.YIELD: emit, WorkerArg.CANCEL: cancel, WorkerArg.SHOULD_STOP: cancel.is_set}
    used = [a for a in (*args, *kwargs.values()) if a in (WorkerArg.CANCEL, WorkerArg.SHOULD_STOP)]
    bound = tuple(values.get(a, a) if isinstance(a, WorkerArg) else a for a in args)
    bound_kw = {k: values.get(v, v) if isinstance(v, WorkerArg) else v for k, v in kwargs.items()}
    return bound, bound_kw, bool(used)


def run_function(function: Callable, args: tuple, kwargs: dict, cancel,
                 emit: Callable[[Any], None]) -> Outcome:
    """Call ``function`` here; each value it yields (or passes to YIELD) goes to ``emit``.

    Returns
    -------
    Returned, Failed or Aborted
        Aborted when `decoders.events.Cancelled` was raised, when it raised anything after
        ``cancel`` was set, or when a generator was closed on cancel; Failed carries
        `failure_text` of the exception and the exception. A function that returns after a
        cancel still returns (its caller can ask whether it was cancelled).
    """
    from decoders.events import Cancelled

    args, kwargs, cooperative = bind_arguments(args, kwargs, cancel, emit)
    try:
        result = function(*args, **kwargs)
        if inspect.isgenerator(result):
            result = _drain(result, cancel, emit, cooperative)
    except (Cancelled, KeyboardInterrupt):
        return Aborted()
    except BaseException as exc:  # noqa: BLE001 - reported to the window
        if cancel.is_set():
            return Aborted()
        exc.traceback_text = traceback.format_exc()
        return Failed(*failure_text(exc), exception=exc)
    if result is _CLOSED:
        return Aborted()
    return Returned(result)


_CLOSED = object()   # _drain's result for a generator it closed on cancel


def _drain(generator, cancel, emit, cooperative: bool):
    while True:
        if cancel.is_set() and not cooperative:
            generator.close()
            return _CLOSED
        try:
            value = next(generator)
        except StopIteration as stop:
            return stop.value
        emit(value)


def run_in_child(function: Callable, args: tuple, kwargs: dict, sender, cancel) -> None:
    """Entry point of a worker's child process: lower its priority, run ``function``, send
    what it yields and then its outcome through ``sender``; stop when the pipe breaks (the
    window is gone), and end when the window's process ends, however it ends."""
    from .parent_death import end_with_parent

    lower_priority()
    end_with_parent(on_parent_gone=cancel.set)

    def send(message) -> None:
        try:
            sender.send(message)
        except (BrokenPipeError, OSError):  # the window is gone: stop
            cancel.set()

    try:
        outcome = run_function(function, args, kwargs, cancel, send)
        if isinstance(outcome, Returned):
            try:
                sender.send(outcome)
            except (BrokenPipeError, OSError):
                pass
            except Exception as exc:  # noqa: BLE001 - an unpicklable result is the function's error
                send(Failed(f"the result of {getattr(function, '__name__', function)} cannot be sent "
                            f"to the window: {type(exc).__name__}: {exc}", ""))
        elif isinstance(outcome, Failed):
            send(Failed(outcome.message, outcome.details))
        else:
            send(outcome)
    finally:
        sender.close()


def train(config: dict, out_dir: str | None, on_event: Callable, cancel) -> SimpleNamespace:
    """Run one experiment (`app.experiment.run_experiment`); returns its run folder and its
    metrics (as JSON values, so they cross a process boundary)."""
    from app.experiment import run_experiment

    result = run_experiment(config, on_event=on_event, cancel=cancel, out_dir=out_dir)
    return SimpleNamespace(run_dir=str(result.run_dir), metrics=json.loads(json.dumps(result.metrics, default=str)))
