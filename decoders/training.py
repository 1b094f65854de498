"""The one torch training loop behind every neural decoder.

`Trainer` runs epochs of mini-batches with an optimizer and a learning-rate schedule,
gradient clipping, mixed precision on CUDA, per-epoch ``epoch`` events and ``progress``
events with an ETA, cancellation checked before every batch, a clear error when the loss
turns NaN/Inf, optional early stopping on a validation split, and an atomically written
checkpoint that a later run resumes from.

The decoder supplies the model and a ``loss_fn(model, batch) -> loss`` or
``-> (loss, {"acc": 0.75, ...})``: the dict holds per-batch means that the trainer averages
over the epoch (weighted by batch size) and reports as ``train_<name>`` / ``val_<name>``.
``batch`` is the tuple of tensors for one mini-batch, already on the device.

Checkpoints are our own files (``torch.save`` of state dicts plus RNG states) and are only
read back with ``weights_only=True``; a checkpoint that does not match the current model,
data and settings is ignored (logged) and training restarts from scratch.
"""
from __future__ import annotations

import hashlib
import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn

from data.atomic import atomic_path

from .events import EpochEnd, Progress, TrainingContext

from .training_settings import OPTIMIZERS, SCHEDULES, TrainConfig, TrainingSettings  # noqa: F401  (one schema)


class TrainingDiverged(RuntimeError):
    """The loss became NaN or Inf; training stopped (nothing further is saved)."""


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """A torch device from ``auto`` (cuda, then mps, then cpu), ``cpu``, ``cuda[:i]`` or ``mps``.

    Raises ``ParameterError`` when an explicit device is not available here.
    """
    from .base import ParameterError

    if isinstance(name, torch.device):
        return name
    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ParameterError(f"device: '{name}' is not a device name.",
                             hint="Use auto, cpu, cuda, cuda:N or mps.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError("device: CUDA was asked for but no CUDA GPU is available.",
                             hint="Use device 'auto' or 'cpu'.")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ParameterError(f"device: '{name}' does not exist ({torch.cuda.device_count()} GPU(s) here).")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) is not None
                                     and torch.backends.mps.is_available()):
        raise ParameterError("device: MPS was asked for but is not available.", hint="Use 'auto' or 'cpu'.")
    return device


def available_devices() -> list[str]:
    """Device names a user can pick here (for the GUI's selector)."""
    out = ["auto", "cpu"]
    if torch.cuda.is_available():
        out += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        out.append("mps")
    return out


def device_label(name: str) -> str:
    """A readable name for a device choice, e.g. 'GPU 0: NVIDIA H100 80GB HBM3'."""
    if name == "auto":
        return "auto (best available)"
    if name == "cpu":
        return f"CPU ({torch.get_num_threads()} threads)"
    if name == "mps":
        return "Apple GPU (MPS)"
    index = int(name.split(":")[1]) if ":" in name else torch.cuda.current_device()
    return f"GPU {index}: {torch.cuda.get_device_name(index)}"


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) so CPU runs repeat exactly."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass
class TrainResult:
    history: list[dict[str, float]] = field(default_factory=list)
    epochs_run: int = 0
    best_epoch: int | None = None
    stopped_early: bool = False
    resumed_from: int | None = None       # epochs already done in the checkpoint, if resumed
    seconds: float = 0.0
    samples_per_s: float = 0.0


class ArrayBatches:
    """Mini-batches over in-memory tensors (faster than a DataLoader for arrays that fit).

    The shuffle order comes from its own ``torch.Generator`` so it is reproducible and its
    state is saved in checkpoints.
    """

    def __init__(self, tensors: Sequence[torch.Tensor], batch_size: int, *, shuffle: bool,
                 drop_last: bool, seed: int):
        n = len(tensors[0])
        if any(len(t) != n for t in tensors):
            raise ValueError("all arrays must have the same first dimension")
        self.tensors, self.n = list(tensors), n
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        full, rest = divmod(self.n, self.batch_size)
        return full if (self.drop_last and full) or not rest else full + 1

    def __iter__(self):
        order = torch.randperm(self.n, generator=self.generator) if self.shuffle else torch.arange(self.n)
        order = order.to(self.tensors[0].device)
        n_batches = len(self)
        for i in range(n_batches):
            idx = order[i * self.batch_size:(i + 1) * self.batch_size]
            yield tuple(t[idx] for t in self.tensors)


LossFn = Callable[[nn.Module, tuple], "torch.Tensor | tuple[torch.Tensor, dict[str, float]]"]


class Trainer:
    """Train ``model`` with ``loss_fn``; see the module docstring for the contract.

    Parameters
    ----------
    model, loss_fn
        The module and ``loss_fn(model, batch)``; ``val_loss_fn`` (default ``loss_fn``) is
        used on the validation split in eval mode without gradients.
    config
        A `TrainConfig`.
    device
        ``auto`` / ``cpu`` / ``cuda`` ... (see `resolve_device`), or a context's device.
    context
        A `TrainingContext` for events and cancellation (optional).
    checkpoint
        Path of a checkpoint file: written atomically after every ``checkpoint_every``
        epochs and at the end; if it exists and matches, training resumes from it.
    """

    def __init__(self, model: nn.Module, loss_fn: LossFn, config: TrainConfig | None = None, *,
                 val_loss_fn: LossFn | None = None, device: str | torch.device | None = None,
                 context: TrainingContext | None = None, checkpoint: str | Path | None = None,
                 checkpoint_every: int = 1, progress_interval_s: float = 0.5):
        self.config = config or TrainConfig()
        self.context = context or TrainingContext()
        self.device = resolve_device(device if device is not None else self.context.device)
        self.model = model.to(self.device)
        self.loss_fn = loss_fn
        self.val_loss_fn = val_loss_fn or loss_fn
        self.checkpoint = None if checkpoint is None else Path(checkpoint)
        self.checkpoint_every = max(1, int(checkpoint_every))
        self.progress_interval_s = progress_interval_s
        self.use_amp = bool(self.config.amp and self.device.type == "cuda")
        # bfloat16 needs no loss scaling (no GradScaler, whose inf check syncs every step)
        self.amp_dtype = (torch.bfloat16 if self.use_amp and torch.cuda.is_bf16_supported() else torch.float16)
        # on CPU reading the loss each batch is free; on a GPU it would stall the queue, so
        # the loss is read (and checked for NaN/Inf) with the progress events and per epoch
        self.sync_every_batch = self.device.type == "cpu"

    # ------------------------------------------------------------------ public
    def fit(self, train: Sequence[np.ndarray | torch.Tensor] | Iterable,
            val: Sequence[np.ndarray | torch.Tensor] | Iterable | None = None) -> TrainResult:
        """Train for ``config.epochs`` epochs (fewer when resuming or stopping early).

        ``train`` / ``val``: a tuple of arrays (batched here, on the device) or any iterable
        of batches (e.g. a DataLoader) yielding tuples of tensors.
        """
        cfg, ctx = self.config, self.context
        if cfg.early_stopping and val is None:
            from .base import ParameterError
            raise ParameterError("early_stopping needs a validation split (val data).")
        seed_everything(cfg.seed)
        train_batches = self._batches(train, shuffle=cfg.shuffle, drop_last=cfg.drop_last, seed=cfg.seed)
        val_batches = None if val is None else self._batches(val, shuffle=False, drop_last=False, seed=cfg.seed)
        n_batches = len(train_batches)
        optimizer = self._optimizer()
        scheduler = self._scheduler(optimizer, n_batches)
        scaler = torch.amp.GradScaler("cuda") if self.use_amp and self.amp_dtype == torch.float16 else None
        result = TrainResult()
        state = _RunState()
        fingerprint = self._fingerprint(train, val) if self.checkpoint is not None else ""
        start_epoch = self._resume(fingerprint, optimizer, scheduler, scaler, train_batches, result, state)
        for point in result.history:   # epochs trained before an interruption: history.csv and curves keep them
            ctx.emit(epoch_end(point))

        t0 = time.perf_counter()
        done_batches, total_batches = 0, max(1, (cfg.epochs - start_epoch) * n_batches)
        last_progress = 0.0
        n_seen = 0
        for epoch in range(start_epoch, cfg.epochs):
            self.model.train()
            sums = _Averager()
            batch_lr = optimizer.param_groups[0]["lr"]
            for b, batch in enumerate(train_batches):
                ctx.check_cancel()
                batch = self._to_device(batch)
                loss, extras = self._forward(self.loss_fn, batch)
                if self.sync_every_batch:
                    _check_finite(float(loss.detach()), f"at epoch {epoch + 1}, batch {b + 1}")
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    if cfg.grad_clip:
                        scaler.unscale_(optimizer)
                        nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    loss.backward()
                    if cfg.grad_clip:
                        nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
                    optimizer.step()
                batch_lr = optimizer.param_groups[0]["lr"]
                if cfg.schedule == "onecycle":
                    scheduler.step()
                n = len(batch[0])
                n_seen += n
                sums.add(n, loss=loss.detach(), **extras)
                done_batches += 1
                now = time.perf_counter()
                if now - last_progress >= self.progress_interval_s:
                    last_progress = now
                    if not self.sync_every_batch:
                        _check_finite(float(sums.sums["loss"]), f"in epoch {epoch + 1} (by batch {b + 1})")
                    self._progress(epoch, done_batches, total_batches, now - t0)
            if scheduler is not None and cfg.schedule != "onecycle":
                scheduler.step()
            means = sums.means()
            _check_finite(means.get("loss", 0.0), f"in epoch {epoch + 1}")
            point = {"epoch": epoch + 1, "n_epochs": cfg.epochs,
                     **{f"train_{k}": v for k, v in means.items()},
                     "lr": batch_lr}  # the rate the epoch's last batch used
            if val_batches is not None:
                point.update({f"val_{k}": v for k, v in self._evaluate(val_batches).items()})
            result.history.append(point)
            ctx.emit(epoch_end(point))
            stop = self._early_stopping(point, epoch, state, result)
            if self.checkpoint is not None and ((epoch + 1) % self.checkpoint_every == 0
                                                or epoch + 1 == cfg.epochs or stop):
                self._save_checkpoint(fingerprint, epoch + 1, optimizer, scheduler, scaler,
                                      train_batches, result, state, finished=stop or epoch + 1 == cfg.epochs)
            if stop:
                result.stopped_early = True
                break
        if state.best_weights is not None and cfg.restore_best:
            self.model.load_state_dict(state.best_weights)
        result.epochs_run = len(result.history)
        result.seconds = time.perf_counter() - t0
        result.samples_per_s = n_seen / result.seconds if result.seconds > 0 else 0.0
        ctx.emit(Progress(fraction=1.0, eta_s=0.0, message="training finished"))
        return result

    # ---------------------------------------------------------------- helpers
    def _batches(self, data, *, shuffle: bool, drop_last: bool, seed: int):
        if isinstance(data, (tuple, list)) and data and all(isinstance(a, (np.ndarray, torch.Tensor)) for a in data):
            tensors = [torch.as_tensor(a) for a in data]
            if self.device.type == "cuda":
                tensors = [t.to(self.device) for t in tensors]  # small sets: keep them on the GPU
            return ArrayBatches(tensors, self.config.batch_size, shuffle=shuffle, drop_last=drop_last, seed=seed)
        return data

    def _to_device(self, batch) -> tuple:
        if isinstance(batch, torch.Tensor):
            batch = (batch,)
        return tuple(t.to(self.device, non_blocking=True) if isinstance(t, torch.Tensor) else t for t in batch)

    def _forward(self, fn: LossFn, batch: tuple):
        with torch.autocast(device_type="cuda", dtype=self.amp_dtype, enabled=self.use_amp):
            out = fn(self.model, batch)
        loss, extras = (out if isinstance(out, tuple) else (out, {}))
        return loss, {k: v.detach() if isinstance(v, torch.Tensor) else float(v) for k, v in extras.items()}

    @torch.no_grad()
    def _evaluate(self, batches) -> dict[str, float]:
        self.model.eval()
        sums = _Averager()
        for batch in batches:
            self.context.check_cancel()
            batch = self._to_device(batch)
            loss, extras = self._forward(self.val_loss_fn, batch)
            sums.add(len(batch[0]), loss=loss.detach(), **extras)
        self.model.train()
        return sums.means()

    def _optimizer(self) -> torch.optim.Optimizer:
        cfg, params = self.config, [p for p in self.model.parameters() if p.requires_grad]
        if cfg.optimizer == "adam":
            return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        if cfg.optimizer == "adamw":
            return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)

    def _scheduler(self, optimizer, n_batches: int):
        cfg = self.config
        if cfg.schedule == "step":
            return torch.optim.lr_scheduler.StepLR(optimizer, max(1, int(cfg.epochs * cfg.step_at)), cfg.gamma)
        if cfg.schedule == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(1, cfg.epochs))
        if cfg.schedule == "onecycle":
            return torch.optim.lr_scheduler.OneCycleLR(optimizer, cfg.lr, total_steps=max(1, cfg.epochs * n_batches))
        return None

    def _progress(self, epoch: int, done: int, total: int, elapsed: float) -> None:
        fraction = min(1.0, done / total)
        eta = elapsed / fraction * (1 - fraction) if fraction > 0 else float("nan")
        self.context.emit(Progress(fraction=fraction, eta_s=eta,
                                   message=f"epoch {epoch + 1}/{self.config.epochs}"))

    def _early_stopping(self, point: dict, epoch: int, state: "_RunState", result: TrainResult) -> bool:
        patience = self.config.early_stopping
        if not patience or "val_loss" not in point:
            return False
        if point["val_loss"] < state.best_loss:
            state.best_loss, state.bad_epochs = point["val_loss"], 0
            result.best_epoch = epoch + 1
            if self.config.restore_best:
                state.best_weights = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            return False
        state.bad_epochs += 1
        return state.bad_epochs >= patience

    # ------------------------------------------------------------- checkpoints
    def _fingerprint(self, train, val) -> str:
        """What must match for a checkpoint to be resumed: settings, model shapes, data."""
        h = hashlib.sha256()
        h.update(json.dumps(asdict(self.config), sort_keys=True).encode())
        h.update(json.dumps([(k, list(v.shape)) for k, v in self.model.state_dict().items()]).encode())
        for part in (train, val):
            if isinstance(part, (tuple, list)):
                for a in part:
                    arr = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
                    h.update(str((arr.shape, arr.dtype.str)).encode())
                    h.update(np.ascontiguousarray(arr).tobytes())
            elif part is not None:
                h.update(str(len(getattr(part, "dataset", part))).encode())
        return h.hexdigest()

    def _save_checkpoint(self, fingerprint, epochs_done, optimizer, scheduler, scaler, batches,
                         result, state, finished: bool) -> None:
        payload = {
            "fingerprint": fingerprint, "epochs_done": epochs_done, "finished": finished,
            "model": self.model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": None if scheduler is None else scheduler.state_dict(),
            "scaler": None if scaler is None else scaler.state_dict(),
            "history": json.dumps(result.history),
            "best": json.dumps({"loss": state.best_loss if math.isfinite(state.best_loss) else None,
                                "bad_epochs": state.bad_epochs, "best_epoch": result.best_epoch,
                                "stopped_early": finished and epochs_done < self.config.epochs}),
            "best_weights": state.best_weights,
            "rng_torch": torch.get_rng_state(),
            "rng_numpy": json.dumps(_numpy_state()),
            "rng_python": json.dumps(_python_state()),
            "rng_batches": batches.generator.get_state() if isinstance(batches, ArrayBatches) else None,
        }
        with atomic_path(self.checkpoint) as tmp:
            torch.save(payload, tmp)

    def _resume(self, fingerprint, optimizer, scheduler, scaler, batches, result, state) -> int:
        if self.checkpoint is None or not self.checkpoint.exists():
            return 0
        try:
            ck = torch.load(self.checkpoint, map_location=self.device, weights_only=True)
            if ck.get("fingerprint") != fingerprint:
                self.context.log(f"{self.checkpoint}: checkpoint is from other settings or data; starting afresh.")
                return 0
            self.model.load_state_dict(ck["model"])
            optimizer.load_state_dict(ck["optimizer"])
            if scheduler is not None and ck["scheduler"] is not None:
                scheduler.load_state_dict(ck["scheduler"])
            if scaler is not None and ck["scaler"] is not None:
                scaler.load_state_dict(ck["scaler"])
            torch.set_rng_state(ck["rng_torch"].cpu())
            np.random.set_state(_numpy_state_from(json.loads(ck["rng_numpy"])))
            random.setstate(_python_state_from(json.loads(ck["rng_python"])))
            if isinstance(batches, ArrayBatches) and ck["rng_batches"] is not None:
                batches.generator.set_state(ck["rng_batches"].cpu())
            result.history = json.loads(ck["history"])
            best = json.loads(ck["best"])
            state.best_loss = best["loss"] if best["loss"] is not None else math.inf
            state.bad_epochs = best["bad_epochs"]
            state.best_weights = ck["best_weights"]
            result.best_epoch = best["best_epoch"]
            result.stopped_early = best["stopped_early"]
        except Exception as exc:  # unreadable or half-foreign file: never fatal, just restart
            self.context.log(f"{self.checkpoint}: cannot resume ({type(exc).__name__}: {exc}); starting afresh.")
            seed_everything(self.config.seed)
            return 0
        done = int(ck["epochs_done"])
        result.resumed_from = done
        self.context.log(f"resumed from {self.checkpoint} after epoch {done}")
        if ck.get("finished"):
            return self.config.epochs  # nothing left to do
        return done


@dataclass
class _RunState:
    best_loss: float = math.inf
    bad_epochs: int = 0
    best_weights: dict | None = None


def epoch_end(point: dict) -> EpochEnd:
    """The `EpochEnd` event of a history point ({"epoch", "n_epochs", metric: value ...})."""
    metrics = {k: v for k, v in point.items() if k not in ("epoch", "n_epochs")}
    return EpochEnd(epoch=int(point["epoch"]), n_epochs=int(point["n_epochs"]), metrics=metrics)


def _check_finite(value: float, where: str) -> None:
    if not math.isfinite(value):
        raise TrainingDiverged(
            f"training loss became {value} {where}. "
            "Lower the learning rate, enable grad_clip, or check the input for NaN/Inf values.")


class _Averager:
    """Batch-size weighted means of per-batch values (floats or tensors, read at the end)."""

    def __init__(self):
        self.n, self.sums = 0, {}

    def add(self, n: int, **values: float) -> None:
        self.n += n
        for k, v in values.items():
            self.sums[k] = self.sums.get(k, 0.0) + v * n

    def means(self) -> dict[str, float]:
        return {k: float(v) / self.n for k, v in self.sums.items()} if self.n else {}


def _numpy_state() -> list:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]


def _numpy_state_from(s: list) -> tuple:
    return (s[0], np.asarray(s[1], dtype=np.uint32), s[2], s[3], s[4])


def _python_state() -> list:
    version, internal, gauss = random.getstate()
    return [version, list(internal), gauss]


def _python_state_from(s: list) -> tuple:
    return (s[0], tuple(s[1]), s[2])


def classification_loss(mixup: bool = False) -> LossFn:
    """Cross-entropy on ``(x, y)`` batches, optionally with mixup (lambda ~ U(0, 1)).

    Reports ``acc`` (under mixup: against the label with the larger weight).
    """
    import torch.nn.functional as F

    def loss_fn(model: nn.Module, batch: tuple):
        x, y = batch[0], batch[1]
        if mixup and model.training:
            lam = float(torch.rand(()))
            perm = torch.randperm(len(x), device=x.device)
            logits = model(lam * x + (1 - lam) * x[perm])
            loss = lam * F.cross_entropy(logits, y) + (1 - lam) * F.cross_entropy(logits, y[perm])
            target = y if lam >= 0.5 else y[perm]
        else:
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            target = y
        acc = (logits.argmax(1) == target).float().mean()
        return loss, {"acc": acc}

    return loss_fn
