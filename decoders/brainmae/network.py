"""The BrainMAE network. A token is one ROI's window of ``n_segments`` segments of
``seg_points`` samples, masked segments set to 0 and flagged: a linear embedding of that plus
the ROI's learnable embedding (one token per ROI keeps attention 200 x 200 on CPU). A linear
decoder maps each token back to its window; a head (set for fine-tuning) reads the pooled
tokens.

Encoder blocks (``variant``):

- ``static-graph`` (SG, the paper's best): pure graph attention. The attention between ROIs
  comes only from their learned embeddings (per head, queries and keys are projections of the
  embeddings), self-loops removed; the same graph mixes every sample's tokens.
- ``region-aware``: attention on the signal tokens whose logits get a learned multiple of the
  cosine similarity of the two ROIs' embeddings, self-loops removed.
- ``self-attention``: plain multi-head self-attention on the signal tokens (no graph prior).
"""
from __future__ import annotations

import math

import torch
from torch import nn

VARIANTS = ("static-graph", "region-aware", "self-attention")


class _Block(nn.Module):
    def __init__(self, dim: int, dropout: float):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(2 * dim, dim))

    def forward(self, x, roi_embedding):
        x = x + self.mix(self.norm1(x), roi_embedding)
        return x + self.mlp(self.norm2(x))


class StaticGraphBlock(_Block):
    """Graph attention whose weights come from the ROI embeddings alone."""

    def __init__(self, dim: int, heads: int, dropout: float, attention_dropout: float | None = None):
        super().__init__(dim, dropout)
        self.heads = heads
        self.query, self.key = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.value, self.out = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout if attention_dropout is None else attention_dropout)

    def graph(self, roi_embedding: torch.Tensor) -> torch.Tensor:
        """(heads, rois, rois) attention weights, rows summing to 1, zero diagonal."""
        r, d = roi_embedding.shape
        dh = d // self.heads
        q = self.query(roi_embedding).view(r, self.heads, dh).transpose(0, 1)
        k = self.key(roi_embedding).view(r, self.heads, dh).transpose(0, 1)
        logits = q @ k.transpose(1, 2) / math.sqrt(dh)
        eye = torch.eye(r, dtype=torch.bool, device=logits.device)
        return torch.softmax(logits.masked_fill(eye, float("-inf")), dim=-1)

    def mix(self, h, roi_embedding):
        n, r, d = h.shape
        v = self.value(h).view(n, r, self.heads, d // self.heads).transpose(1, 2)
        y = (self.drop(self.graph(roi_embedding)) @ v).transpose(1, 2).reshape(n, r, d)
        return self.out(y)


class RegionAwareBlock(_Block):
    """Self-attention on the signal with an embedding-similarity bias and no self-loops."""

    def __init__(self, dim: int, heads: int, dropout: float, graph_prior: bool = True,
                 attention_dropout: float | None = None):
        super().__init__(dim, dropout)
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout if attention_dropout is None else attention_dropout,
                                          batch_first=True)
        self.graph_prior = graph_prior
        self.similarity_scale = nn.Parameter(torch.tensor(1.0)) if graph_prior else None

    def mix(self, h, roi_embedding):
        bias = None
        if self.graph_prior:
            e = nn.functional.normalize(roi_embedding, dim=1)
            eye = torch.eye(len(e), dtype=torch.bool, device=e.device)
            bias = ((e @ e.T) * self.similarity_scale).masked_fill(eye, float("-inf")).to(h.dtype)
        return self.attn(h, h, h, attn_mask=bias, need_weights=False)[0]


def _block(variant: str, dim: int, heads: int, dropout: float, attention_dropout: float | None = None) -> _Block:
    """One encoder block; ``attention_dropout`` (None: ``dropout``) drops attention weights."""
    if variant == "static-graph":
        return StaticGraphBlock(dim, heads, dropout, attention_dropout)
    if variant == "region-aware":
        return RegionAwareBlock(dim, heads, dropout, attention_dropout=attention_dropout)
    if variant == "self-attention":
        return RegionAwareBlock(dim, heads, dropout, graph_prior=False, attention_dropout=attention_dropout)
    raise ValueError(f"unknown BrainMAE variant '{variant}' (known: {', '.join(VARIANTS)})")


class BrainMAENet(nn.Module):
    def __init__(self, n_rois: int, n_segments: int, seg_points: int, dim: int = 64, depth: int = 2,
                 heads: int = 4, dropout: float = 0.1, variant: str = "static-graph",
                 attention_dropout: float | None = None):
        super().__init__()
        self.n_rois, self.n_segments, self.seg_points = n_rois, n_segments, seg_points
        self.embed = nn.Linear(n_segments * seg_points + n_segments, dim)
        self.roi_embedding = nn.Parameter(torch.randn(n_rois, dim) * 0.02)
        self.blocks = nn.ModuleList(_block(variant, dim, heads, dropout, attention_dropout) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.decoder = nn.Linear(dim, n_segments * seg_points)
        self.head: nn.Module | None = None

    def encode(self, W: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """W (batch, rois, segments, seg_points), mask (batch, rois, segments) -> tokens (batch, rois, dim)."""
        if mask is None:
            mask = torch.zeros(W.shape[:3], dtype=torch.bool, device=W.device)
        visible = W.masked_fill(mask[..., None], 0.0).flatten(2)
        x = self.embed(torch.cat([visible, mask.to(W.dtype)], dim=2)) + self.roi_embedding
        for block in self.blocks:
            x = block(x, self.roi_embedding)
        return self.norm(x)

    def reconstruct(self, W, mask):
        return self.decoder(self.encode(W, mask)).view_as(W)

    def pooled(self, W, pool: str = "similarity"):
        """What the head reads: the mean token (``mean``) or the upper triangle of the ROI
        tokens' cosine similarities (``similarity``, a learned connectivity)."""
        z = self.encode(W)
        if pool == "mean":
            return z.mean(dim=1)
        z = nn.functional.normalize(z - z.mean(dim=1, keepdim=True), dim=2)
        iu = torch.triu_indices(self.n_rois, self.n_rois, 1, device=z.device)
        return (z @ z.transpose(1, 2))[:, iu[0], iu[1]]

    def pooled_size(self, pool: str, dim: int) -> int:
        return dim if pool == "mean" else self.n_rois * (self.n_rois - 1) // 2

    def predict_head(self, W, pool: str):
        return self.head(self.pooled(W, pool))
