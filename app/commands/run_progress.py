"""What `neurodeck run` says while it works, on standard error.

- On a terminal: a progress bar of the whole run (tqdm) with the folds done, the decoder's
  own progress (``epoch 12/50``), the time spent and the time left (the decoders' estimate), and
  the fold results and the run's log lines printed above it.
- Anywhere else (a file, a pipe, a CI log): plain lines, each flushed as it is written: the
  run's log lines, one line per fold (its result, the time spent, the time left) and, in a
  long fold, a progress line at most every `PROGRESS_EVERY_S` seconds.
- ``--quiet``: the setup warnings only.
"""
from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

PROGRESS_EVERY_S = 30.0     # plain output: at most one progress line this often within a fold
DEFAULT_COLUMNS = 100       # a terminal that does not say its width


def duration(seconds: float | None) -> str:
    """``seconds`` as h:mm:ss or m:ss ("?" when unknown)."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class RunDisplay:
    """Shows the events of `app.experiment.run_experiment` (call it with each event).

    Parameters
    ----------
    mode : {"terminal", "lines", "quiet"}
        A progress bar, plain flushed lines, or warnings only; `for_stream` picks one.
    stream : file, optional
        Where to write (default: standard error).
    """

    def __init__(self, mode: str, stream: TextIO | None = None):
        if mode not in ("terminal", "lines", "quiet"):
            raise ValueError(f"mode must be terminal, lines or quiet, not {mode!r}")
        self.mode, self.stream = mode, stream if stream is not None else sys.stderr
        self.bar = None
        self.started = time.monotonic()
        self.folds_done = 0
        self.eta_s: float | None = None
        self.step = ""                  # the decoder's own progress text ("epoch 3/50")
        self.last_line = self.started   # plain output: when progress was last printed

    @classmethod
    def for_stream(cls, quiet: bool, stream: TextIO | None = None) -> "RunDisplay":
        """A bar on a terminal, plain lines elsewhere, warnings only when ``quiet``."""
        stream = stream if stream is not None else sys.stderr
        isatty = getattr(stream, "isatty", lambda: False)
        return cls("quiet" if quiet else "terminal" if isatty() else "lines", stream)

    def __call__(self, event) -> None:
        from decoders.events import FoldEnd, LogMessage, Progress

        if isinstance(event, LogMessage):
            if event.warning or (event.fold is None and self.mode != "quiet"):
                self._line(event.message)
        elif self.mode == "quiet":
            return
        elif isinstance(event, Progress):
            self._progress(event)
        elif isinstance(event, FoldEnd):
            self._fold_end(event)

    # ------------------------------------------------------------------ events
    def _progress(self, event) -> None:
        if event.eta_s is not None:
            self.eta_s = float(event.eta_s)
        if event.message:
            self.step = event.message
        if self.mode == "terminal":
            bar = self._bar()
            target = int(round(1000 * min(max(float(event.fraction), 0.0), 1.0)))
            if target > bar.n:
                bar.update(target - bar.n)
            bar.set_description_str(self._status(), refresh=True)
        elif time.monotonic() - self.last_line >= PROGRESS_EVERY_S:
            self._line(f"{100 * float(event.fraction):.0f}% · {self._status()}")

    def _fold_end(self, event) -> None:
        from decoders.tasks import headline_order

        self.folds_done += 1
        m = event.metrics
        shown = ", ".join(f"{k} {m[k]:.3f}" for k in headline_order() if k in m)
        label = f"{event.label}: " if event.label else ""
        self._line(f"fold {event.fold}: {label}{shown} ({duration(self.elapsed())} elapsed, "
                   f"about {duration(self.eta_s)} left)")

    # ------------------------------------------------------------------ output
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _status(self) -> str:
        parts = [f"{self.folds_done} fold{'' if self.folds_done == 1 else 's'} done"]
        parts += [self.step] if self.step else []
        parts += [f"{duration(self.elapsed())} elapsed", f"about {duration(self.eta_s)} left"]
        return " · ".join(parts)

    def _line(self, text: str) -> None:
        self.last_line = time.monotonic()
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def _bar(self):
        if self.bar is None:
            from tqdm import tqdm

            columns = shutil.get_terminal_size((DEFAULT_COLUMNS, 24)).columns or DEFAULT_COLUMNS
            self.bar = tqdm(total=1000, file=self.stream, leave=False, ncols=columns, mininterval=0.2,
                            bar_format="{percentage:3.0f}%|{bar:24}| {desc}")
        return self.bar

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
