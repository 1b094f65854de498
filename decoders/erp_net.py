"""``eegnet-erp``: a compact CNN for ERPs (EEGNet, Lawhern et al. 2018), trained through the
shared engine (`decoders.training`).

Network (EEGNet-F1,D): temporal convolution (F1 kernels of about half a second) -> depthwise
spatial convolution (D filters per kernel, max-norm 1) -> BatchNorm, ELU, average pooling,
dropout -> separable convolution (F2 maps) -> BatchNorm, ELU, pooling, dropout -> linear.
Input: per-channel z-score with the training epochs' statistics. Class imbalance (one target in
six flashes) is handled by a class-weighted cross-entropy (weights inverse to the training
class frequencies), so the network is not pushed to call every flash a non-target.
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from data.errors import InputError

from .base import ClassifierDecoder, DecoderParams, Task
from .events import TrainingContext
from .neural import NeuralDecoder
from .training_settings import with_training_settings


class EEGNetNetworkParams(DecoderParams):
    """EEGNet's own parameters."""

    F1: int = Field(8, ge=1, description="Temporal filters.")
    D: int = Field(2, ge=1, description="Spatial (depthwise) filters per temporal filter.")
    F2: int = Field(16, ge=1, description="Feature maps of the separable convolution.")
    kernel_seconds: float = Field(0.5, gt=0, description="Temporal kernel length in seconds (EEGNet: half the sampling rate in samples).")
    dropout: float = Field(0.25, ge=0, lt=1, description="Dropout probability after each block.")
    sfreq: float | None = Field(None, gt=0, description="Sampling rate of the input epochs in Hz (filled from the dataset).")
    balance_classes: bool = Field(True, description="Weight the cross-entropy inversely to the training class frequencies.")


EEGNetParams = with_training_settings("EEGNetParams", EEGNetNetworkParams, epochs=60, batch_size=64,
                                      optimizer="adam", lr=1e-3, schedule="cosine", val_fraction=0.2)


def _net(n_chans: int, n_times: int, n_classes: int, p, sfreq: float):
    import torch
    from torch import nn

    kernel = max(3, int(round(p.kernel_seconds * sfreq)) | 1)   # odd, so "same" padding is symmetric
    pool1 = 4 if n_times >= 16 else 1
    pool2 = 8 if n_times // pool1 >= 8 else 1

    class EEGNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.temporal = nn.Sequential(nn.Conv2d(1, p.F1, (1, kernel), padding=(0, kernel // 2), bias=False),
                                          nn.BatchNorm2d(p.F1))
            self.spatial = nn.Conv2d(p.F1, p.F1 * p.D, (n_chans, 1), groups=p.F1, bias=False)
            self.block1 = nn.Sequential(nn.BatchNorm2d(p.F1 * p.D), nn.ELU(), nn.AvgPool2d((1, pool1)),
                                        nn.Dropout(p.dropout))
            self.block2 = nn.Sequential(
                nn.Conv2d(p.F1 * p.D, p.F1 * p.D, (1, 15), padding=(0, 7), groups=p.F1 * p.D, bias=False),
                nn.Conv2d(p.F1 * p.D, p.F2, 1, bias=False), nn.BatchNorm2d(p.F2), nn.ELU(),
                nn.AvgPool2d((1, pool2)), nn.Dropout(p.dropout))
            n_out = p.F2 * (n_times // pool1 // pool2)
            self.classify = nn.Linear(n_out, n_classes)

        def forward(self, x):
            with torch.no_grad():   # EEGNet's max-norm constraint on the spatial filters
                self.spatial.weight.data = torch.renorm(self.spatial.weight.data, 2, 0, 1.0)
            x = self.block1(self.spatial(self.temporal(x.unsqueeze(1))))
            return self.classify(self.block2(x).flatten(1))

    return EEGNet()


class EEGNetERP(NeuralDecoder, ClassifierDecoder):
    """EEGNet for ERP epochs (see the module docstring)."""

    name: ClassVar[str] = "eegnet-erp"
    description: ClassVar[str] = "ERP: EEGNet, a compact CNN for event-related potentials (Lawhern et al. 2018)."
    task: ClassVar[Task] = Task.CLASSIFICATION
    input_kind: ClassVar[str] = "trials"
    modalities: ClassVar[tuple[str, ...]] = ("eeg",)
    paradigms: ClassVar[tuple[str, ...]] = ("erp", "speller")
    Params = EEGNetParams
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": dict(epochs=30, batch_size=64, val_fraction=0.0),
        "standard": dict(epochs=60, batch_size=64, val_fraction=0.2),
    }

    def fit(self, X, y=None, *, subject=None, session=None, context: TrainingContext | None = None):
        import torch

        from .training import seed_everything

        p = self.validated_params()
        X = self._check(X)
        if y is None:
            raise InputError("eegnet-erp needs class labels y to train.")
        self.classes_, y_idx = np.unique(np.asarray(y), return_inverse=True)
        if len(self.classes_) < 2:
            raise InputError("eegnet-erp needs at least two classes to train.")
        if p.sfreq is None:
            raise InputError("eegnet-erp: sfreq (the epochs' sampling rate) is needed for its kernel length.")
        self.n_chans_, self.n_times_ = X.shape[1], X.shape[2]
        self.mean_ = X.mean(axis=(0, 2))[:, None].astype(np.float32)
        std = X.std(axis=(0, 2))[:, None]
        self.std_ = np.where(std > 0, std, 1.0).astype(np.float32)
        seed_everything(p.seed)
        device = self.training_device(context)
        self.net_ = self.build_network(p)
        counts = np.bincount(y_idx, minlength=len(self.classes_)).astype(np.float64)
        weights = counts.sum() / (len(counts) * np.maximum(counts, 1)) if p.balance_classes else np.ones(len(counts))
        inputs = torch.as_tensor(self._normalise(X))
        arrays = [inputs, torch.as_tensor(y_idx, dtype=torch.long)]
        train, val = _split(arrays, y_idx, p.val_fraction, p.seed)
        loss = _weighted_loss(torch.as_tensor(weights, dtype=torch.float32))
        result = self.train_network(self.net_, loss, train, val, context=context, val_loss_fn=loss, device=device,
                                    checkpoint=p.checkpoint)
        self.net_.to(device)
        self.history_ = result.history
        return self

    def build_network(self, p):
        return _net(self.n_chans_, self.n_times_, len(self.classes_), p, p.sfreq)

    def predict_proba(self, X, *, subject=None) -> np.ndarray:
        import torch

        self._require_fitted("net_")
        X = self._check(X)
        if X.shape[1:] != (self.n_chans_, self.n_times_):
            raise InputError(f"eegnet-erp was trained on epochs of {self.n_chans_} channels x {self.n_times_} "
                             f"samples; these are {X.shape[1]} x {X.shape[2]}.")
        net = self.net_.eval()
        device = next(net.parameters()).device
        x = torch.as_tensor(self._normalise(X))
        with torch.inference_mode():
            parts = [torch.softmax(net(x[i:i + 512].to(device)), 1).float().cpu() for i in range(0, len(x), 512)]
        return torch.cat(parts).numpy()

    def predict(self, X, *, subject=None) -> np.ndarray:
        proba = self.predict_proba(X)   # raises NotFittedError before classes_ is read
        return self.classes_[proba.argmax(1)]

    def get_state(self):
        self._require_fitted("net_")
        arrays = {f"model.{k}": v.detach().cpu().numpy() for k, v in self.net_.state_dict().items()}
        arrays.update({"input.mean": self.mean_, "input.std": self.std_})
        return arrays, {"classes": self.classes_.tolist(), "n_chans": self.n_chans_, "n_times": self.n_times_}

    def set_state(self, arrays, extra):
        import torch

        self.classes_ = np.asarray(extra["classes"])
        self.n_chans_, self.n_times_ = int(extra["n_chans"]), int(extra["n_times"])
        self.mean_ = np.asarray(arrays["input.mean"], dtype=np.float32)
        self.std_ = np.asarray(arrays["input.std"], dtype=np.float32)
        self.net_ = self.build_network(self.validated_params())
        self.net_.load_state_dict({k[len("model."):]: torch.as_tensor(v) for k, v in arrays.items()
                                   if k.startswith("model.")})
        self.net_.eval()
        self.history_ = []
        return self

    def _normalise(self, X: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray((X - self.mean_) / self.std_, dtype=np.float32)

    @staticmethod
    def _check(X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 3 or len(X) == 0:
            raise InputError(f"eegnet-erp expects epochs shaped (n_epochs, n_channels, n_times); got shape {X.shape}.")
        if not np.isfinite(X).all():
            raise InputError("eegnet-erp: the epochs contain NaN or Inf values.")
        return X


def _weighted_loss(weights):
    import torch.nn.functional as F

    def loss_fn(net, batch):
        x, y = batch[0], batch[1]
        logits = net(x)
        loss = F.cross_entropy(logits, y, weight=weights.to(logits.device))
        return loss, {"acc": (logits.argmax(1) == y).float().mean()}

    return loss_fn


def _split(arrays, y_idx, fraction, seed):
    from .simpleconv import _split as split

    return split(arrays, y_idx, fraction, seed)
