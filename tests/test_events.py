"""Typed training events: every emitter sends registered event types, a misspelt field
cannot be constructed, events cross the training pipe unchanged, and a plugin's own event
type reaches the GUI's training model without any GUI code knowing it."""
from __future__ import annotations

import ast
import dataclasses
import multiprocessing as mp
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from decoders.events import (EpochEnd, FoldEnd, ImageReconstruction, LogMessage, Progress, RunEnd,
                             SignalReconstruction, TrainingContext, TrainingEvent, TrajectoryReconstruction,
                             event_types, is_registered)

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, kw_only=True)
class ToyGauge(TrainingEvent):
    """What a plugin decoder might report: its own event type, declared next to it."""

    pressure: float
    trace: np.ndarray

    def describe(self) -> str:
        return f"toy gauge at {self.pressure:.1f} bar"


def examples() -> list[TrainingEvent]:
    """One event of every built-in type (and the plugin's), with arrays where they carry some."""
    rng = np.random.default_rng(0)
    return [
        LogMessage(message="hello", fold=1),
        LogMessage(message="warning: few trials", warning=True),
        Progress(fraction=0.25, eta_s=12.0, message="epoch 1/4", fold=0),
        EpochEnd(epoch=1, n_epochs=4, metrics={"train_loss": 0.7, "val_acc": 0.6, "lr": 1e-3}, fold=2),
        FoldEnd(metrics={"accuracy": 0.8}, confusion=[[3.0, 1.0], [0.0, 4.0]], label="subject 1", fold=2),
        RunEnd(summary={"accuracy": {"mean": 0.8, "std": 0.1}}, run_dir="/tmp/run"),
        ImageReconstruction(truth=rng.random((2, 4, 4)), decoded=rng.random((2, 4, 4)), subjects=["a", "b"], epoch=2),
        SignalReconstruction(truth=rng.random((3, 20)), decoded=rng.random((3, 20)),
                             mask=rng.random((3, 20)) > 0.5, channel_names=["roi1", "roi2", "roi3"], tr=2.0),
        TrajectoryReconstruction(truth=rng.random((10, 2)), decoded=rng.random((10, 2)),
                                 target_names=["vx", "vy"], split="test", fold="final"),
        ToyGauge(pressure=2.5, trace=np.arange(5.0), fold=3),
    ]


def same_event(a: TrainingEvent, b: TrainingEvent) -> bool:
    if type(a) is not type(b):
        return False
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            if not (isinstance(y, np.ndarray) and x.dtype == y.dtype and np.array_equal(x, y)):
                return False
        elif x != y:
            return False
    return True


def toy_training(on_event, cancel) -> int:
    """A stand-in for run_experiment in the training child: emits every example event."""
    for event in examples():
        if cancel.is_set():
            break
        on_event(event)
    return os.getpid()


# ------------------------------------------------------------------------------ types
def test_every_built_in_and_plugin_type_is_registered():
    types = event_types()
    for cls in (LogMessage, Progress, EpochEnd, FoldEnd, RunEnd, ImageReconstruction,
                SignalReconstruction, TrajectoryReconstruction, ToyGauge):
        assert types[cls.kind] is cls
    assert all(is_registered(e) for e in examples())
    assert not is_registered({"kind": "progress", "fraction": 0.5})


def test_a_misspelt_field_or_a_kind_string_cannot_be_sent():
    with pytest.raises(TypeError, match="fractoin"):
        Progress(fractoin=0.5)
    with pytest.raises(TypeError):
        EpochEnd(epoch=1)                              # n_epochs is required
    with pytest.raises(dataclasses.FrozenInstanceError):
        Progress(fraction=0.5).fraction = 1.0
    seen = []
    with pytest.raises(TypeError, match="TrainingEvent"):
        TrainingContext(seen.append).emit("progress")   # the old string kinds are refused
    assert seen == []


def test_a_kind_cannot_be_taken_twice():
    with pytest.raises(TypeError, match="already taken"):
        @dataclass(frozen=True, kw_only=True)
        class OtherProgress(TrainingEvent):
            kind = "progress"


def test_context_stamps_its_fold_only_where_the_event_has_none():
    seen = []
    ctx = TrainingContext(seen.append, fold=4)
    ctx.emit(Progress(fraction=0.5))
    ctx.emit(Progress(fraction=0.6, fold="final"))
    ctx.log("note")
    assert [e.fold for e in seen] == [4, "final", 4]
    assert isinstance(seen[2], LogMessage) and seen[2].message == "note"


def test_no_emitter_sends_a_kind_string():
    """Every `.emit(...)` in decoders/ and data/ passes one event object, nothing else."""
    offenders = []
    for path in [*(REPO / "decoders").rglob("*.py"), *(REPO / "data").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "emit":
                if len(node.args) != 1 or node.keywords or isinstance(node.args[0], ast.Constant):
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert offenders == []


def test_every_event_of_a_real_run_is_registered(tmp_path):
    """An experiment on a continuous set (evaluation, the Kalman filter's trajectories, the
    run's log and end) and a torch training loop (epochs, progress) send only registered types."""
    from app.experiment import run_experiment
    from decoders.registry import create
    from decoders.evaluation import evaluate
    from data.decoding_set import DecodingSet

    rng = np.random.default_rng(0)
    velocity = np.c_[np.sin(np.arange(1200) * 0.1), np.cos(np.arange(1200) * 0.07)]
    X = velocity @ rng.normal(size=(2, 8)) + 0.3 * rng.normal(size=(1200, 8))
    data = DecodingSet(X=X.astype(np.float32), y=velocity, kind="continuous", modality="spikes",
                       subject="1", session="1", run="1", target_names=["vx", "vy"])
    events: list = []
    evaluate(data, create("kalman"), "blocked-kfold", n_folds=2, context=TrainingContext(events.append))

    from decoders.training import Trainer, TrainConfig, classification_loss
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8, 2))
    Xc = rng.normal(size=(64, 8)).astype(np.float32)
    yc = (Xc[:, 0] > 0).astype(np.int64)
    Trainer(model, classification_loss(), TrainConfig(epochs=2, batch_size=16), device="cpu",
            context=TrainingContext(events.append, fold=0), progress_interval_s=0.0).fit((Xc, yc), (Xc, yc))

    config = {"name": "events", "dataset": {"source": "demo:motor-imagery", "subjects": ["1"]},
              "decoder": {"name": "csp-lda"}, "evaluation": {"protocol": "kfold", "n_folds": 2},
              "output": {"save_model": False, "runs_dir": str(tmp_path / "runs")}}
    run_experiment(config, on_event=events.append)

    kinds = {type(e) for e in events}
    assert {LogMessage, Progress, EpochEnd, FoldEnd, RunEnd, TrajectoryReconstruction} <= kinds
    assert [e for e in events if not is_registered(e)] == []


def test_events_round_trip_through_a_pipe():
    receiver, sender = mp.Pipe(duplex=False)
    sent = examples()
    for event in sent:
        sender.send(event)
    received = [receiver.recv() for _ in sent]
    assert all(same_event(a, b) for a, b in zip(sent, received))
    assert all(not same_event(a, b) for a, b in zip(sent, received[1:] + received[:1]))


# ------------------------------------------------------------------ through the GUI
@pytest.mark.gui
def test_plugin_event_crosses_the_training_process_and_reaches_the_training_model(qapp):
    """The training worker's child process sends the events as they are; the Train model
    takes the built-in ones and hands the plugin's to its subscribers and its log."""
    from app.gui.models import TrainingModel
    from app.gui.worker import Worker, WorkerArg

    model = TrainingModel()
    model.start(["left", "right"])
    notified: list = []
    model.subscribe(lambda change, info: notified.append(info["event"]) if change == "event" else None)
    results: list = []
    worker = Worker(toy_training, WorkerArg.YIELD, WorkerArg.CANCEL, label="training", in_process=True)
    worker.yielded.connect(model.apply)
    worker.returned.connect(results.append)
    worker.errored.connect(lambda exc: results.append(exc))
    worker.start()
    assert worker.wait(120_000), "the training child did not finish"
    assert results and isinstance(results[0], int) and results[0] != os.getpid(), results
    assert len(notified) == len(examples())
    for sent, got in zip(examples(), notified):
        assert type(got) is type(sent)
        assert same_event(dataclasses.replace(sent, time=got.time), got)
    gauge = notified[-1]
    assert isinstance(gauge, ToyGauge) and gauge.fold == 3 and np.array_equal(gauge.trace, np.arange(5.0))
    assert model.log[-1].endswith("toy gauge at 2.5 bar")
    assert model.history[2][0]["val_acc"] == 0.6 and model.fold_metrics[2] == {"accuracy": 0.8}
    assert set(model.reconstructions) == {"images", "signal", "trajectory"}
    assert model.run_dir == "/tmp/run"
