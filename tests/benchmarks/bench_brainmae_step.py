"""Cost of one BrainMAE fine-tuning step on CPU (batch 32 windows of 200 ROIs x 4 segments x 8
points, dim 32, depth 1, head on the ROI-token similarities), per encoder variant, with the
attention dropout as configured and switched off; the fraction of time in the top operators.

    OMP_NUM_THREADS=1 python tests/benchmarks/bench_brainmae_step.py

Writes results/bench_brainmae_step.json.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from decoders.brainmae.decoder import _head_loss  # noqa: E402
from decoders.brainmae.network import BrainMAENet  # noqa: E402

RESULTS = ROOT / "tests" / "benchmarks" / "results"


def step_ms(variant: str, attention_dropout: bool, steps: int = 10) -> tuple[float, list[tuple[str, float]]]:
    """Mean ms of a training step (forward, backward, AdamW) and the top self-time operators."""
    torch.manual_seed(0)
    net = BrainMAENet(200, 4, 8, dim=32, depth=1, variant=variant)
    net.head = torch.nn.Linear(net.pooled_size("similarity", 32), 2)
    if not attention_dropout:
        for block in net.blocks:
            if hasattr(block, "attn"):
                block.attn.dropout = 0.0
            else:
                block.drop.p = 0.0
    W, y = torch.randn(32, 200, 4, 8), torch.randint(0, 2, (32,))
    opt, loss_fn = torch.optim.AdamW(net.parameters()), _head_loss("similarity")

    def step():
        loss, _ = loss_fn(net, (W, y))
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    ms = (time.perf_counter() - start) / steps * 1000
    with torch.autograd.profiler.profile() as prof:
        step()
    ops = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in ops)
    return ms, [(e.key, e.self_cpu_time_total / total) for e in ops[:3]]


def main() -> None:
    torch.set_num_threads(1)
    rows = []
    print(f"{'variant':<16}{'attn dropout':>13}{'ms/step':>9}  top operators (self time)")
    for variant in ("region-aware", "static-graph", "self-attention"):
        for dropout in (True, False):
            ms, top = step_ms(variant, dropout)
            rows.append({"variant": variant, "attention_dropout": dropout, "ms_per_step": ms, "top_ops": top})
            print(f"{variant:<16}{'0.1' if dropout else '0':>13}{ms:>9.1f}  "
                  + ", ".join(f"{k} {f:.0%}" for k, f in top))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_brainmae_step.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
