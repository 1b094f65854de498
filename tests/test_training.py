"""The torch training engine: learning, events, schedules, clipping, reproducibility,
cancellation, checkpoints and resume, NaN detection, early stopping."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from decoders.base import ParameterError
from decoders.events import Cancelled, EpochEnd, LogMessage, Progress, TrainingContext
from decoders.training import (TrainConfig, Trainer, TrainingDiverged, available_devices,
                               classification_loss, resolve_device, seed_everything)
from tests.simulated_mi import one_thread


@pytest.fixture(autouse=True)
def single_thread():
    with one_thread():
        yield


def blobs(n=200, seed=0, noise=1.0):
    """Two Gaussian classes in 10-D whose means differ along the first two axes."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.standard_normal((n, 10)).astype(np.float32) * noise
    X[:, :2] += np.where(y[:, None] == 1, 1.5, -1.5)
    return X, y.astype(np.int64)


def make_model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 2))


def weights(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    auto = resolve_device("auto")
    assert auto.type == ("cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu")
    assert "cpu" in available_devices() and "auto" in available_devices()
    with pytest.raises(ParameterError, match="not a device"):
        resolve_device("gpu-please")
    if not torch.cuda.is_available():
        with pytest.raises(ParameterError, match="no CUDA"):
            resolve_device("cuda")


def test_learns_and_reports_epoch_and_progress_events():
    X, y = blobs()
    events = []
    ctx = TrainingContext(on_event=events.append, fold=2)
    trainer = Trainer(make_model(), classification_loss(), TrainConfig(epochs=8, batch_size=32, lr=1e-2),
                      device="cpu", context=ctx, progress_interval_s=0.0)
    result = trainer.fit((X[:150], y[:150]), (X[150:], y[150:]))
    epochs = [e.row() for e in events if isinstance(e, EpochEnd)]
    assert [e["epoch"] for e in epochs] == list(range(1, 9))
    last = epochs[-1]
    assert {"fold", "n_epochs", "train_loss", "train_acc", "val_loss", "val_acc", "lr"} <= set(last)
    assert last["fold"] == 2 and last["n_epochs"] == 8
    assert last["val_acc"] > 0.9 and last["train_loss"] < epochs[0]["train_loss"]
    progress = [e for e in events if isinstance(e, Progress)]
    assert progress and progress[-1].fraction == 1.0
    assert all(0 <= p.fraction <= 1 and p.eta_s is not None and isinstance(p.message, str) for p in progress)
    assert result.epochs_run == 8 and result.samples_per_s > 0


def test_same_seed_same_weights_and_other_seed_differs():
    X, y = blobs()
    runs = []
    for seed in (3, 3, 4):
        model = make_model(0)
        Trainer(model, classification_loss(mixup=True), TrainConfig(epochs=3, batch_size=16, seed=seed),
                device="cpu").fit((X, y))
        runs.append(weights(model))
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], runs[2])


@pytest.mark.parametrize("schedule", ["step", "cosine", "onecycle", "none"])
def test_learning_rate_schedules(schedule):
    X, y = blobs(64)
    result = Trainer(make_model(), classification_loss(), TrainConfig(epochs=10, batch_size=32, lr=1e-2,
                     schedule=schedule, step_at=0.8, gamma=0.1), device="cpu").fit((X, y))
    lrs = [h["lr"] for h in result.history]
    if schedule == "step":
        assert lrs[:8] == pytest.approx([1e-2] * 8) and lrs[8:] == pytest.approx([1e-3] * 2)
    elif schedule == "cosine":
        assert lrs[0] == pytest.approx(1e-2) and all(a > b > 0 for a, b in zip(lrs, lrs[1:]))
    elif schedule == "onecycle":
        assert lrs[0] < max(lrs) and max(lrs) > 0.8e-2 and lrs[-1] < 1e-4
    else:
        assert lrs == pytest.approx([1e-2] * 10)


def test_gradient_clipping_bounds_the_update():
    X, y = blobs(32)
    X[:, 0] *= 1e3  # huge gradients
    model = make_model()
    before = weights(model).clone()
    Trainer(model, classification_loss(), TrainConfig(epochs=1, batch_size=32, optimizer="sgd", momentum=0.0,
            lr=1.0, schedule="none", grad_clip=0.01), device="cpu").fit((X, y))
    assert (weights(model) - before).norm() <= 0.01 + 1e-6


def test_nan_loss_stops_with_a_clear_error():
    X, y = blobs(64)
    X[10, 3] = np.nan
    trainer = Trainer(make_model(), classification_loss(), TrainConfig(epochs=2, batch_size=64, shuffle=False),
                      device="cpu")
    with pytest.raises(TrainingDiverged, match=r"became nan at epoch 1, batch 1"):
        trainer.fit((X, y))
    assert issubclass(TrainingDiverged, RuntimeError)


def test_cancel_stops_within_one_batch_and_leaves_no_partial_files(tmp_path):
    X, y = blobs(160)
    ctx = TrainingContext()
    calls = []
    base = classification_loss()

    def loss_fn(model, batch):
        calls.append(1)
        if len(calls) == 13:       # epoch 3 of 5 batches, third batch
            ctx.cancel()
        return base(model, batch)

    ck = tmp_path / "ck.pt"
    trainer = Trainer(make_model(), loss_fn, TrainConfig(epochs=6, batch_size=32), device="cpu",
                      context=ctx, checkpoint=ck)
    with pytest.raises(Cancelled):
        trainer.fit((X, y))
    assert len(calls) == 13                      # not one batch more
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]
    saved = torch.load(ck, weights_only=True)
    assert saved["epochs_done"] == 2 and not saved["finished"]


def test_resume_after_interruption_matches_an_uninterrupted_run(tmp_path):
    X, y = blobs(160)
    cfg = TrainConfig(epochs=6, batch_size=32, seed=1)
    reference = make_model()
    ref_result = Trainer(reference, classification_loss(mixup=True), cfg, device="cpu").fit((X, y))

    ctx = TrainingContext()
    mixup = classification_loss(mixup=True)
    seen = []

    def interrupting(model, batch):
        seen.append(1)
        if len(seen) == 17:  # during epoch 4
            ctx.cancel()
        return mixup(model, batch)

    ck = tmp_path / "run" / "ck.pt"
    with pytest.raises(Cancelled):
        Trainer(make_model(), interrupting, cfg, device="cpu", context=ctx, checkpoint=ck).fit((X, y))

    logs, epochs = [], []
    resumed = make_model(seed=99)  # weights come from the checkpoint, not from here
    result = Trainer(resumed, classification_loss(mixup=True), cfg, device="cpu",
                     context=TrainingContext(on_event=lambda e: (isinstance(e, LogMessage) and logs.append(e.message),
                                                                 isinstance(e, EpochEnd) and epochs.append(e.row()))),
                     checkpoint=ck).fit((X, y))
    assert result.resumed_from == 3
    # the epochs trained before the interruption are reported again (history.csv, learning curves)
    assert [(e["epoch"], e["train_loss"]) for e in epochs] == [(h["epoch"], h["train_loss"]) for h in ref_result.history]
    assert any("resumed" in m for m in logs)
    assert torch.equal(weights(resumed), weights(reference))
    assert [h["train_loss"] for h in result.history] == [h["train_loss"] for h in ref_result.history]

    # a finished run resumes to "nothing left to do" with the same weights
    again = make_model(seed=5)
    done = Trainer(again, classification_loss(mixup=True), cfg, device="cpu", checkpoint=ck).fit((X, y))
    assert done.resumed_from == 6 and torch.equal(weights(again), weights(reference))


def test_foreign_or_corrupt_checkpoint_restarts_cleanly(tmp_path):
    X, y = blobs(64)
    ck = tmp_path / "ck.pt"
    Trainer(make_model(), classification_loss(), TrainConfig(epochs=2, batch_size=32), device="cpu",
            checkpoint=ck).fit((X, y))
    logs = []
    ctx = TrainingContext(on_event=lambda e: isinstance(e, LogMessage) and logs.append(e.message))
    other = Trainer(make_model(), classification_loss(), TrainConfig(epochs=3, batch_size=32, lr=5e-3),
                    device="cpu", context=ctx, checkpoint=ck).fit((X, y))
    assert other.resumed_from is None and other.epochs_run == 3
    assert any("other settings or data" in m for m in logs)

    ck.write_bytes(b"not a checkpoint at all")
    logs.clear()
    fresh = Trainer(make_model(), classification_loss(), TrainConfig(epochs=2, batch_size=32), device="cpu",
                    context=ctx, checkpoint=ck).fit((X, y))
    assert fresh.epochs_run == 2 and any("cannot resume" in m for m in logs)
    assert torch.load(ck, weights_only=True)["finished"]


def test_early_stopping_restores_the_best_epoch():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 10)).astype(np.float32)
    y = rng.integers(0, 2, 120)             # pure noise: validation loss soon rises
    model = make_model()
    result = Trainer(model, classification_loss(), TrainConfig(epochs=200, batch_size=16, lr=3e-2,
                     schedule="none", early_stopping=5), device="cpu").fit((X[:80], y[:80]), (X[80:], y[80:]))
    assert result.stopped_early and result.epochs_run < 200
    assert result.epochs_run == result.best_epoch + 5
    best_val = min(h["val_loss"] for h in result.history)
    with torch.no_grad():
        logits = model(torch.as_tensor(X[80:]))
        val_loss = nn.functional.cross_entropy(logits, torch.as_tensor(y[80:])).item()
    assert val_loss == pytest.approx(best_val, rel=1e-5)
    with pytest.raises(ParameterError, match="validation"):
        Trainer(make_model(), classification_loss(), TrainConfig(epochs=2, early_stopping=2), device="cpu").fit((X, y))


def test_accepts_a_dataloader_and_amp_only_on_cuda():
    X, y = blobs()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.as_tensor(X), torch.as_tensor(y)),
                                         batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(0))
    trainer = Trainer(make_model(), classification_loss(), TrainConfig(epochs=5, lr=1e-2), device="cpu")
    assert trainer.use_amp is False
    result = trainer.fit(loader)
    assert result.history[-1]["train_acc"] > 0.9


def test_bad_settings_are_parameter_errors():
    with pytest.raises(ParameterError, match="schedule"):
        TrainConfig(schedule="exponential")
    with pytest.raises(ParameterError, match="optimizer"):
        TrainConfig(optimizer="lbfgs")


def test_seed_everything_repeats_numpy_and_torch():
    seed_everything(7)
    a = (np.random.rand(3), torch.rand(3))
    seed_everything(7)
    b = (np.random.rand(3), torch.rand(3))
    assert np.array_equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not math.isnan(float(a[1].sum()))
