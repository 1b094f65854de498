"""The BrainMAE network. A token is one ROI's window of ``n_segments`` segments of ``seg_len``
time points, masked segments set to 0 and flagged: a linear embedding of that plus the ROI's
learnable embedding (one token per ROI keeps attention 200 x 200 on CPU). Attention between
ROIs is region-aware: its logits get a learned multiple of the cosine
similarity of the two ROIs' embeddings, and a token never attends to itself (no self-loop).
A linear decoder maps each token back to its window."""
from __future__ import annotations

import torch
from torch import nn


class RegionAwareBlock(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(2 * dim, dim))

    def forward(self, x, bias):
        h = self.norm1(x)
        x = x + self.attn(h, h, h, attn_mask=bias, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class BrainMAENet(nn.Module):
    def __init__(self, n_rois: int, n_segments: int, seg_len: int, dim: int = 64, depth: int = 2,
                 heads: int = 4, dropout: float = 0.1, n_classes: int = 0):
        super().__init__()
        self.n_rois, self.n_segments, self.seg_len = n_rois, n_segments, seg_len
        self.embed = nn.Linear(n_segments * seg_len + n_segments, dim)
        self.roi_embedding = nn.Parameter(torch.randn(n_rois, dim) * 0.02)
        self.similarity_scale = nn.Parameter(torch.tensor(1.0))
        self.blocks = nn.ModuleList(RegionAwareBlock(dim, heads, dropout) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.decoder = nn.Linear(dim, n_segments * seg_len)
        self.head = nn.Linear(dim, n_classes) if n_classes else None

    def _bias(self) -> torch.Tensor:
        e = nn.functional.normalize(self.roi_embedding, dim=1)
        sim = (e @ e.T) * self.similarity_scale
        return sim.masked_fill(torch.eye(self.n_rois, dtype=torch.bool, device=sim.device), float("-inf"))

    def encode(self, W: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """W (batch, rois, segments, seg_len), mask (batch, rois, segments) -> tokens (batch, rois, dim)."""
        if mask is None:
            mask = torch.zeros(W.shape[:3], dtype=torch.bool, device=W.device)
        visible = W.masked_fill(mask[..., None], 0.0).flatten(2)
        x = self.embed(torch.cat([visible, mask.float()], dim=2)) + self.roi_embedding
        bias = self._bias()
        for block in self.blocks:
            x = block(x, bias)
        return self.norm(x)

    def reconstruct(self, W, mask):
        return self.decoder(self.encode(W, mask)).view_as(W)

    def pooled(self, W, pool: str = "similarity"):
        """The representation the head reads: the mean token (``mean``) or the upper triangle
        of the ROI tokens' cosine similarities (``similarity``, a learned connectivity)."""
        z = self.encode(W)
        if pool == "mean":
            return z.mean(dim=1)
        z = nn.functional.normalize(z - z.mean(dim=1, keepdim=True), dim=2)
        iu = torch.triu_indices(self.n_rois, self.n_rois, 1, device=z.device)
        return (z @ z.transpose(1, 2))[:, iu[0], iu[1]]

    def classify(self, W, pool: str = "mean"):
        return self.head(self.pooled(W, pool))
