"""Training events and cancellation, shared by every decoder and by the GUI/CLI fronts.

A decoder reports what happens while it trains by emitting typed events through its
`TrainingContext`: one frozen dataclass per kind, all subclasses of `TrainingEvent`.
Fronts (the Train view, ``neurodeck run``, sweeps) dispatch on the type::

    match event:
        case Progress(fraction=f):
            ...
        case EpochEnd() as epoch:
            ...
        case _:                      # a plugin's own event: its describe() text
            log(event.describe())

Every subclass is registered when it is defined (`event_types`), so a plugin decoder can
declare its own event type next to the decoder; it reaches the GUI (log pane, and the
Train model's subscribers) without any NeuroDeck file edited. Events are plain picklable
dataclasses (arrays stay numpy), so the GUI's training process sends them as they are.
"""
from __future__ import annotations

import dataclasses
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import numpy as np

_EVENT_TYPES: dict[str, type["TrainingEvent"]] = {}


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass(frozen=True, kw_only=True)
class TrainingEvent:
    """Base of every training event.

    Parameters
    ----------
    fold
        The fold (an int, ``"final"`` or ``"pretrain:<subject>"``) the event belongs to;
        `TrainingContext.emit` stamps its own fold where the event has none.
    time
        When the event was made (``time.time()``).

    Subclasses are registered under their ``kind`` (by default the class name in
    snake_case); two different classes cannot share a kind.
    """

    kind: ClassVar[str] = "training_event"

    fold: int | str | None = None
    time: float = field(default_factory=time.time)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" not in cls.__dict__:
            cls.kind = _snake_case(cls.__name__)
        known = _EVENT_TYPES.get(cls.kind)
        if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
            raise TypeError(f"training event kind '{cls.kind}' of {cls.__module__}.{cls.__qualname__} is "
                            f"already taken by {known.__module__}.{known.__qualname__}; give it another `kind`.")
        _EVENT_TYPES[cls.kind] = cls

    def with_fold(self, fold: int | str | None) -> "TrainingEvent":
        """The same event, stamped with ``fold``."""
        return dataclasses.replace(self, fold=fold)

    def payload(self) -> dict[str, Any]:
        """The event's own fields (without ``fold`` and ``time``), as a dict."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("fold", "time")}

    def describe(self) -> str:
        """One line for a log: what a front that does not know this type shows of it."""
        shown = ", ".join(f"{name}={_short(value)}" for name, value in self.payload().items())
        where = "" if self.fold is None else f"[fold {self.fold}] "
        return f"{where}{self.kind}: {shown}" if shown else f"{where}{self.kind}"


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array{tuple(value.shape)}"
    if isinstance(value, float):
        return f"{value:.4g}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def event_types() -> dict[str, type[TrainingEvent]]:
    """Every registered event type, by kind (built-in ones and those plugins defined).

    Returns
    -------
    dict
        ``kind -> class``; a copy, changing it changes nothing.
    """
    return dict(_EVENT_TYPES)


def is_registered(event: Any) -> bool:
    """Whether ``event`` is an instance of a registered `TrainingEvent` type."""
    return isinstance(event, TrainingEvent) and _EVENT_TYPES.get(type(event).kind) is type(event)


@dataclass(frozen=True, kw_only=True)
class LogMessage(TrainingEvent):
    """A line for the run's log. ``warning`` marks setup warnings."""

    kind: ClassVar[str] = "log"
    message: str
    warning: bool = False

    def describe(self) -> str:
        return self.message


@dataclass(frozen=True, kw_only=True)
class Progress(TrainingEvent):
    """Overall progress: ``fraction`` in 0..1, the estimated seconds left, a short message."""

    kind: ClassVar[str] = "progress"
    fraction: float
    eta_s: float | None = None
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class EpochEnd(TrainingEvent):
    """One epoch done (a point of the live curves and a row of history.csv).

    ``metrics`` holds ``train_loss`` and any of ``train_acc``, ``val_loss``, ``val_acc``,
    ``val_r2``, ``lr``, per-term losses (``train_<term>``) ...
    """

    kind: ClassVar[str] = "epoch"
    epoch: int
    n_epochs: int
    metrics: Mapping[str, float] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        """The history row: epoch, n_epochs, the metrics, then the fold (when there is one)."""
        row: dict[str, Any] = {"epoch": self.epoch, "n_epochs": self.n_epochs, **self.metrics}
        if self.fold is not None:
            row["fold"] = self.fold
        return row


@dataclass(frozen=True, kw_only=True)
class FoldEnd(TrainingEvent):
    """A fold evaluated: its scalar metrics, its confusion matrix (classification) and label."""

    kind: ClassVar[str] = "fold_end"
    metrics: Mapping[str, float] = field(default_factory=dict)
    confusion: list[list[float]] | None = None
    label: str = ""


@dataclass(frozen=True, kw_only=True)
class RunEnd(TrainingEvent):
    """The experiment finished: its metric summary and its run folder."""

    kind: ClassVar[str] = "run_end"
    summary: Mapping[str, Any] = field(default_factory=dict)
    run_dir: str = ""


@dataclass(frozen=True, kw_only=True, eq=False)
class Reconstruction(TrainingEvent):
    """Truth against what the model makes of it, for the live reconstruction pane.

    Subclasses name their ``view``; equality is identity (the fields are arrays).
    """

    kind: ClassVar[str] = "reconstruction"
    view: ClassVar[str] = ""
    truth: np.ndarray
    decoded: np.ndarray
    epoch: int | None = None


@dataclass(frozen=True, kw_only=True, eq=False)
class ImageReconstruction(Reconstruction):
    """True (n, h, w) and reconstructed (n, h, w) images; ``subjects`` of each image."""

    kind: ClassVar[str] = "image_reconstruction"
    view: ClassVar[str] = "images"
    subjects: list | None = None


@dataclass(frozen=True, kw_only=True, eq=False)
class SignalReconstruction(Reconstruction):
    """A masked signal (n_times,) or (n_channels, n_times) and its reconstruction; ``mask``
    (bool, same shape) marks what was hidden, ``tr`` the seconds per sample."""

    kind: ClassVar[str] = "signal_reconstruction"
    view: ClassVar[str] = "signal"
    mask: np.ndarray | None = None
    channel_names: list[str] | None = None
    subject: str | None = None
    tr: float | None = None


@dataclass(frozen=True, kw_only=True, eq=False)
class TrajectoryReconstruction(Reconstruction):
    """True (n, d) and decoded (n, d) continuous targets; ``split`` is "test" for held-out data."""

    kind: ClassVar[str] = "trajectory_reconstruction"
    view: ClassVar[str] = "trajectory"
    target_names: list[str] = field(default_factory=list)
    split: str | None = None


class Cancelled(Exception):
    """Raised inside training when the user asked to stop."""


@dataclass
class TrainingContext:
    """What a decoder's `fit` gets from the front end: an event sink, a cancel flag, a device.

    Parameters
    ----------
    on_event
        Called with every `TrainingEvent` (None: events are dropped).
    cancel_flag
        Set to stop training (``threading.Event`` or ``multiprocessing.Event``).
    device
        "auto", "cpu", "cuda:0" ...
    fold
        Stamped onto every event that has no fold, so live plots draw one curve per fold.

    Examples
    --------
    >>> seen = []
    >>> ctx = TrainingContext(seen.append, fold=2)
    >>> ctx.emit(Progress(fraction=0.5, message="half way"))
    >>> seen[0].fold
    2
    """

    on_event: Callable[[TrainingEvent], None] | None = None
    cancel_flag: threading.Event = field(default_factory=threading.Event)
    device: str = "auto"
    fold: int | str | None = None

    def emit(self, event: TrainingEvent) -> None:
        """Send ``event`` to the sink (stamped with this context's fold where it has none).

        Raises
        ------
        TypeError
            ``event`` is not a `TrainingEvent`.
        """
        if not isinstance(event, TrainingEvent):
            raise TypeError(f"TrainingContext.emit takes a TrainingEvent, not {type(event).__name__} "
                            f"({event!r:.80}); see decoders.events.event_types().")
        if self.on_event is not None:
            if event.fold is None and self.fold is not None:
                event = event.with_fold(self.fold)
            self.on_event(event)

    def log(self, message: str, *, warning: bool = False) -> None:
        """Emit a `LogMessage`."""
        self.emit(LogMessage(message=message, warning=warning))

    def cancel(self) -> None:
        self.cancel_flag.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_flag.is_set()

    def check_cancel(self) -> None:
        """Call between batches; raises `Cancelled` once cancel() was called."""
        if self.cancel_flag.is_set():
            raise Cancelled("training cancelled")

    def for_fold(self, fold: int | str | None) -> "TrainingContext":
        """Same sink and flag, events stamped with another fold."""
        return TrainingContext(self.on_event, self.cancel_flag, self.device, fold)
