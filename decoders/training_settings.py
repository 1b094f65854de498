"""`TrainingSettings`: the one typed schema of how a torch decoder trains (torch-free, so
listing decoders and building the GUI form never import torch). `decoders.training`
re-exports it; `decoders.neural` merges it into every neural decoder's parameters."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, create_model

from .base import DecoderParams, ParameterError

MAX_EPOCHS = 100_000
MAX_BATCH_SIZE = 1_000_000
MAX_SEED = 2**32 - 1   # numpy's and torch's seed range

SCHEDULES = ("step", "cosine", "onecycle", "none")
OPTIMIZERS = ("adam", "adamw", "sgd")


@dataclass
class TrainConfig:
    """Settings of one training run of `decoders.training.Trainer` (all JSON-able; part of the
    checkpoint fingerprint). Torch-free, so the schema below builds it without loading torch."""

    epochs: int = 50
    batch_size: int = 32
    lr: float = 1e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    momentum: float = 0.9                 # sgd only
    schedule: str = "step"                # step | cosine | onecycle | none
    step_at: float = 0.8                  # step: fraction of the epochs where lr *= gamma
    gamma: float = 0.1
    grad_clip: float | None = None        # max global grad norm; None: no clipping
    amp: bool = True                      # mixed precision, used on CUDA only
    seed: int = 0
    shuffle: bool = True
    drop_last: bool = False
    early_stopping: int | None = None     # patience in epochs on val_loss; needs val data
    restore_best: bool = True             # with early stopping: keep the best epoch's weights

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ParameterError(f"schedule: '{self.schedule}' is not one of {', '.join(SCHEDULES)}.")
        if self.optimizer not in OPTIMIZERS:
            raise ParameterError(f"optimizer: '{self.optimizer}' is not one of {', '.join(OPTIMIZERS)}.")
        if self.epochs < 0 or self.batch_size < 1 or not self.lr > 0:
            raise ParameterError("epochs must be >= 0, batch_size >= 1 and lr > 0.")
        if not 0 < self.step_at <= 1:
            raise ParameterError("step_at must be in (0, 1].")


class TrainingSettings(DecoderParams):
    """How a network is trained. A decoder changes defaults (`with_training_settings`), never the fields."""

    epochs: int = Field(50, ge=0, le=MAX_EPOCHS, description="Training epochs.")
    batch_size: int = Field(16, ge=1, le=MAX_BATCH_SIZE, description="Mini-batch size.")
    optimizer: Literal["adam", "adamw", "sgd"] = Field("adam", description="Optimizer.")
    lr: float = Field(1e-3, gt=0, le=100, description="Learning rate.")
    schedule: Literal["step", "cosine", "onecycle", "none"] = Field("step", description="Learning-rate schedule.")
    step_at: float = Field(0.8, gt=0, le=1, description="Step schedule: fraction of the epochs after which lr is multiplied by gamma.")
    gamma: float = Field(0.1, gt=0, le=1, description="Step schedule: learning-rate factor.")
    weight_decay: float = Field(0.0, ge=0, le=100, description="Weight decay.")
    grad_clip: float | None = Field(None, gt=0, description="Clip the gradient norm to this value; null: no clipping.")
    val_fraction: float = Field(0.0, ge=0, lt=1, description="Fraction of the training samples held out for validation curves (0: none).")
    early_stopping: int | None = Field(None, ge=1, le=MAX_EPOCHS, description="Stop after this many epochs without a better validation loss (needs validation data).")
    amp: bool = Field(True, description="Mixed precision on CUDA GPUs.")
    device: str = Field("auto", pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$",
                        description="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps.")
    seed: int = Field(0, ge=0, le=MAX_SEED, description="Seed for weights, shuffling and augmentation (CPU runs repeat exactly).")
    checkpoint: str | None = Field(None, description="Checkpoint file: training resumes from it after an interruption.")

    def train_config(self, **overrides: Any):
        """The engine's `TrainConfig` for these settings (``overrides`` e.g. for fine-tuning)."""
        values = dict(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, optimizer=self.optimizer,
                      weight_decay=self.weight_decay, schedule=self.schedule, step_at=self.step_at,
                      gamma=self.gamma, grad_clip=self.grad_clip, amp=self.amp, seed=self.seed,
                      early_stopping=self.early_stopping)
        return TrainConfig(**{**values, **overrides})


TRAINING_FIELDS = tuple(TrainingSettings.model_fields)


def with_training_settings(name: str, network: type[DecoderParams], *, exclude: tuple[str, ...] = (),
                           **defaults: Any) -> type[DecoderParams]:
    """A decoder's parameter schema: its own (network) fields, then the training settings
    once, with the decoder's ``defaults``; ``exclude`` names settings the decoder cannot
    honour (e.g. a validation split it draws itself)."""
    unknown = set(defaults) - set(TRAINING_FIELDS)
    if unknown:
        raise TypeError(f"{name}: {sorted(unknown)} are not training settings")
    fields = {}
    for key, info in TrainingSettings.model_fields.items():
        if key in exclude:
            continue
        info = copy.copy(info)
        if key in defaults:
            info.default = defaults[key]
        fields[key] = (info.annotation, info)
    return create_model(name, __base__=network, __doc__=network.__doc__, **fields)


def training_settings_of(params: DecoderParams) -> TrainingSettings:
    """The training settings part of a decoder's validated parameters (excluded ones at their defaults)."""
    return TrainingSettings(**{k: getattr(params, k) for k in TRAINING_FIELDS if hasattr(params, k)})
