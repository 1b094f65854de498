"""The training process the GUI spawns (no Qt here): it runs the experiment and sends its
events and outcome back through a pipe."""
from __future__ import annotations

import json
import os
import traceback

NICENESS = 10  # training yields the CPU to the window (and the rest of the desktop) when both want it


def lower_priority() -> None:
    """Run this process at a lower scheduling priority where the OS allows it."""
    try:
        os.nice(NICENESS)
    except (AttributeError, OSError):  # Windows has no nice(); a sandbox may refuse it
        pass


def run_in_child(config: dict, out_dir, sender, cancel) -> None:
    """Entry point of the training process: run the experiment, send events and the outcome."""
    lower_priority()
    from data.errors import InputError
    from decoders.events import Cancelled

    def send(message) -> None:
        try:
            sender.send(message)
        except (BrokenPipeError, OSError):  # the window is gone: stop training
            cancel.set()

    try:
        from app.experiment import run_experiment

        result = run_experiment(config, on_event=lambda event: send(("event", event)), cancel=cancel,
                                out_dir=out_dir)
        metrics = json.loads(json.dumps(result.metrics, default=str))
        send(("result", {"run_dir": str(result.run_dir), "metrics": metrics}))
    except Cancelled:
        send(("cancelled", None))
    except InputError as exc:
        send(("input_error", str(exc)))
    except BaseException as exc:  # noqa: BLE001 - reported in the window
        if cancel.is_set():
            send(("cancelled", None))
        else:
            send(("error", (f"{type(exc).__name__}: {exc}", traceback.format_exc())))
    finally:
        sender.close()
