"""Self-supervised pretraining of `BrainMAENet` on segment windows (loss 0.75 x masked-segment
MSE + 0.25 x visible-segment MSE, as in the paper) and masked-segment evaluation."""
from __future__ import annotations

import time

import numpy as np
import torch

from .masking import baseline_fills, mask_segments, masked_r2
from .network import BrainMAENet


def pretrain(W: np.ndarray, *, dim: int = 64, depth: int = 2, heads: int = 4, epochs: int = 3,
             batch_size: int = 32, lr: float = 1e-3, mask_ratio: float = 0.5, seed: int = 0,
             log=None) -> tuple[BrainMAENet, dict]:
    """Train on windows ``W`` (n, rois, segments, seg_len); returns the network and timings."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = BrainMAENet(W.shape[1], W.shape[2], W.shape[3], dim=dim, depth=depth, heads=heads)
    opt = torch.optim.AdamW(net.parameters(), lr, weight_decay=0.05)
    data = torch.as_tensor(W)
    start, seen, losses = time.perf_counter(), 0, []
    net.train()
    for epoch in range(epochs):
        total, order = 0.0, torch.as_tensor(rng.permutation(len(data)))
        for b in range(0, len(data), batch_size):
            x = data[order[b:b + batch_size]]
            m = torch.as_tensor(mask_segments(tuple(x.shape[:3]), mask_ratio, rng))
            err = ((net.reconstruct(x, m) - x) ** 2).mean(-1)
            loss = 0.75 * err[m].mean() + 0.25 * err[~m].mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen += len(x)
            total += loss.item() * len(x)
        losses.append(total / len(data))
        if log:
            log(f"epoch {epoch + 1}/{epochs} loss {losses[-1]:.4f}")
    seconds = time.perf_counter() - start
    return net, {"seconds": seconds, "windows_per_s": seen / seconds, "losses": losses}


@torch.no_grad()
def masked_scores(net: BrainMAENet, W: np.ndarray, mask_ratio: float = 0.5, seed: int = 1) -> dict[str, float]:
    """Masked-segment R^2 of the network and of the ROI-mean and linear-interpolation fills."""
    mask = mask_segments(W.shape[:3], mask_ratio, np.random.default_rng(seed))
    net.eval()
    pred = net.reconstruct(torch.as_tensor(W), torch.as_tensor(mask)).numpy()
    M = np.repeat(mask[..., None], W.shape[3], axis=-1)
    scores = {"brainmae": masked_r2(W[M], pred[M])}
    scores.update({k: masked_r2(W[M], v[M]) for k, v in baseline_fills(W, mask).items()})
    return scores
