"""MindBridge's network (Wang et al., CVPR 2024), small: per-subject voxel pooling to a common
length, per-subject embedder and builder with low-rank adapters, a shared residual-MLP
translator and a head predicting the stimulus embedding."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class LowRankAdapter(nn.Module):
    """x + up(down(x)); ``up`` starts at zero so a new adapter begins as the identity."""

    def __init__(self, width: int, rank: int):
        super().__init__()
        self.down = nn.Linear(width, rank)
        self.up = nn.Linear(rank, width)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x):
        return x + self.up(self.down(x))


def pool_voxels(v: torch.Tensor, length: int, mode: str = "max") -> torch.Tensor:
    """(n, n_voxels) -> (n, length): adaptive max or average pooling, or linear resizing."""
    x = v[:, None, :]
    if mode == "max":
        return F.adaptive_max_pool1d(x, length)[:, 0]
    if mode == "avg":
        return F.adaptive_avg_pool1d(x, length)[:, 0]
    return F.interpolate(x, size=length, mode="linear", align_corners=True)[:, 0]


class Embedder(nn.Module):
    """Pooled voxels -> hidden: adapter, Linear, LayerNorm, GELU, Dropout."""

    def __init__(self, pooled: int, hidden: int, rank: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(LowRankAdapter(pooled, rank), nn.Linear(pooled, hidden),
                                 nn.LayerNorm(hidden), nn.GELU(), nn.Dropout(dropout))

    def forward(self, x):
        return self.net(x)


class Builder(nn.Module):
    """Hidden -> pooled voxels (the inverse path): Linear, LayerNorm, GELU, adapter."""

    def __init__(self, pooled: int, hidden: int, rank: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(hidden, pooled), nn.LayerNorm(pooled), nn.GELU(),
                                 LowRankAdapter(pooled, rank))

    def forward(self, x):
        return self.net(x)


class Translator(nn.Module):
    """Shared residual MLP: ``blocks`` x (x + Dropout(GELU(LayerNorm(Linear(x)))))."""

    def __init__(self, hidden: int, blocks: int, dropout: float):
        super().__init__()
        self.blocks = nn.ModuleList(nn.Sequential(nn.Linear(hidden, hidden), nn.LayerNorm(hidden),
                                                  nn.GELU(), nn.Dropout(dropout)) for _ in range(blocks))

    def forward(self, x):
        for block in self.blocks:
            x = x + block(x)
        return x


class MindBridgeNet(nn.Module):
    """Subjects are indexed 0..n-1 (the decoder maps names to indices).

    ``voxel_mean`` / ``voxel_std`` (buffers, padded to the widest subject) z-score each
    subject's voxels before pooling; ``n_voxels`` says how many columns are real.
    """

    def __init__(self, n_voxels: list[int], emb_dim: int, pooled: int = 1024, hidden: int = 256,
                 rank: int = 32, blocks: int = 2, dropout: float = 0.5, translator_dropout: float = 0.15,
                 pooling: str = "max"):
        super().__init__()
        self.pooled, self.hidden, self.rank, self.dropout, self.pooling = pooled, hidden, rank, dropout, pooling
        self.n_voxels = list(n_voxels)
        width = max(self.n_voxels)
        self.register_buffer("voxel_mean", torch.zeros(len(n_voxels), width))
        self.register_buffer("voxel_std", torch.ones(len(n_voxels), width))
        self.embedders = nn.ModuleList(Embedder(pooled, hidden, rank, dropout) for _ in n_voxels)
        self.builders = nn.ModuleList(Builder(pooled, hidden, rank) for _ in n_voxels)
        self.translator = Translator(hidden, blocks, translator_dropout)
        self.head = nn.Linear(hidden, emb_dim)

    def pooled_input(self, v: torch.Tensor, s: int) -> torch.Tensor:
        n = self.n_voxels[s]
        z = (v[:, :n] - self.voxel_mean[s, :n]) / self.voxel_std[s, :n]
        return pool_voxels(z, self.pooled, self.pooling)

    def by_subject(self, v: torch.Tensor, subject: torch.Tensor):
        """Yield (subject index, row indices, pooled voxels) for each subject in the batch."""
        for s in torch.unique(subject).tolist():
            rows = torch.nonzero(subject == s).squeeze(1)
            yield s, rows, self.pooled_input(v[rows], s)

    def forward(self, v: torch.Tensor, subject: torch.Tensor) -> torch.Tensor:
        """Predicted stimulus embeddings (n, emb_dim)."""
        out = v.new_zeros(len(v), self.head.out_features)
        for s, rows, p in self.by_subject(v, subject):
            out[rows] = self.head(self.translator(self.embedders[s](p)))
        return out

    def add_subject(self, n_voxels: int) -> int:
        """A fresh embedder and builder (and voxel statistics) for a new subject; its index."""
        device = self.head.weight.device
        self.n_voxels.append(int(n_voxels))
        width = max(self.n_voxels)
        mean = torch.zeros(len(self.n_voxels), width, device=device)
        std = torch.ones(len(self.n_voxels), width, device=device)
        old = self.voxel_mean.shape[1]
        mean[:-1, :old], std[:-1, :old] = self.voxel_mean, self.voxel_std
        self.voxel_mean, self.voxel_std = mean, std
        self.embedders.append(Embedder(self.pooled, self.hidden, self.rank, self.dropout).to(device))
        self.builders.append(Builder(self.pooled, self.hidden, self.rank).to(device))
        return len(self.n_voxels) - 1

    def reset_subject(self, s: int) -> None:
        device = self.head.weight.device
        self.embedders[s] = Embedder(self.pooled, self.hidden, self.rank, self.dropout).to(device)
        self.builders[s] = Builder(self.pooled, self.hidden, self.rank).to(device)
