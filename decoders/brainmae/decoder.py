"""``brainmae``: a classifier of ROI series (one sample per subject). Fit pretrains the
network on the training subjects' windows (masked reconstruction, ``pretrain_epochs``; 0 is
the from-scratch arm), then fine-tunes it with a linear head on the mean token; a subject's
class probabilities are the mean over its windows.

The head reads the upper triangle of the ROI tokens' cosine similarities (``pool:
similarity``, a learned connectivity); the mean token (``pool: mean``) carries less of the
between-ROI coupling that separates the classes on demo:resting-state (first two
leave-one-site-out folds, dim 32, depth 1, 10 epochs, from scratch: 0.66 mean token vs 0.77
similarity).
Limitations: ``seg_len`` is a fixed number of time points (not yet seconds converted with each
subject's TR), and pretraining runs inside ``fit`` on the training subjects (no separate
encoder bundle yet)."""
from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from pydantic import Field

from data.errors import InputError

from ..base import ClassifierDecoder, DecoderParams, Task
from ..events import TrainingContext
from .masking import segment_windows
from .network import BrainMAENet
from .pretrain import pretrain


class BrainMAEParams(DecoderParams):
    n_segments: int = Field(4, ge=1, description="Segments per window.")
    seg_len: int = Field(12, ge=2, description="Time points per segment (about 15-30 s at ABIDE TRs).")
    dim: int = Field(64, ge=8, description="Token width.")
    depth: int = Field(2, ge=1, description="Region-aware attention blocks.")
    pretrain_epochs: int = Field(2, ge=0, description="Masked-reconstruction epochs before fine-tuning (0: from scratch).")
    finetune_epochs: int = Field(5, ge=1, description="Supervised epochs.")
    lr: float = Field(5e-4, gt=0, description="Fine-tuning learning rate.")
    pool: str = Field("similarity", pattern="^(similarity|mean)$", description="Head input: upper triangle of the ROI tokens' cosine similarities (similarity) or the mean token (mean).")
    seed: int = 0


class BrainMAE(ClassifierDecoder):
    name: ClassVar[str] = "brainmae"
    description: ClassVar[str] = "BrainMAE: region-aware masked autoencoder of ROI series, pretrained then fine-tuned."
    task: ClassVar[Task] = Task.CLASSIFICATION
    input_kind: ClassVar[str] = "trials"
    Params: ClassVar[type] = BrainMAEParams

    def _windows(self, X, p):
        try:
            return segment_windows(np.asarray(X), p.n_segments, p.seg_len, stride=p.n_segments * p.seg_len // 2)
        except ValueError as exc:
            raise InputError(f"{self.name}: {exc}") from exc

    def fit(self, X, y=None, *, subject=None, session=None, context: TrainingContext | None = None):
        p = self.validated_params()
        if y is None or len(np.unique(y)) < 2:
            raise InputError(f"{self.name} needs at least two classes to train.")
        ctx = context or TrainingContext()
        W, owner = self._windows(X, p)
        self.classes_ = np.unique(y)
        codes = np.searchsorted(self.classes_, np.asarray(y))[owner]
        if p.pretrain_epochs:
            net, _ = pretrain(W, dim=p.dim, depth=p.depth, epochs=p.pretrain_epochs, seed=p.seed, log=ctx.log)
        else:
            torch.manual_seed(p.seed)
            net = BrainMAENet(W.shape[1], p.n_segments, p.seg_len, dim=p.dim, depth=p.depth)
        n_in = p.dim if p.pool == "mean" else W.shape[1] * (W.shape[1] - 1) // 2
        net.head = torch.nn.Linear(n_in, len(self.classes_))
        opt = torch.optim.AdamW(net.parameters(), p.lr, weight_decay=0.05)
        rng = np.random.default_rng(p.seed)
        data, target = torch.as_tensor(W), torch.as_tensor(codes)
        net.train()
        for epoch in range(p.finetune_epochs):
            ctx.check_cancel()
            order = torch.as_tensor(rng.permutation(len(data)))
            for b in range(0, len(order), 32):
                idx = order[b:b + 32]
                loss = torch.nn.functional.cross_entropy(net.classify(data[idx], p.pool), target[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            ctx.emit("progress", fraction=(epoch + 1) / p.finetune_epochs, message=f"epoch {epoch + 1}")
        self.net_ = net.eval()
        return self

    @torch.no_grad()
    def predict_proba(self, X, *, subject=None) -> np.ndarray:
        self._require_fitted("net_")
        W, owner = self._windows(X, self.validated_params())
        proba = torch.softmax(self.net_.classify(torch.as_tensor(W), self.validated_params().pool), dim=1).numpy()
        return np.stack([proba[owner == i].mean(axis=0) for i in range(len(X))])

    def predict(self, X, *, subject=None) -> np.ndarray:
        self._require_fitted("net_")
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
