"""BrainMAE on ABIDE CC200: pretrain on six sites, masked-segment R^2 on the seventh (vs ROI
mean and linear interpolation), CPU throughput and memory; FC+LR and tangent+LR
leave-one-site-out accuracy.

    python tests/benchmarks/bench_brainmae.py [--held-out OHSU] [--epochs 3] [--skip-fc]
    python tests/benchmarks/bench_brainmae.py --compare [--arm pretrained|scratch|linear]

``--compare``: autism / control, leave-one-site-out over the seven sites, same folds:
BrainMAE fine-tuned after pretraining on the six training sites only (labels unused), the
same network from scratch, FC+LR and tangent+LR; per site, mean over sites, subject-weighted.
Small CPU settings (dim 32, depth 1, 2 pretraining epochs, 8 fine-tuning epochs). Each arm
writes results/bench_brainmae_compare_<arm>.json, so arms can run as separate processes.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from data.fmri.roi_series import load_roi_folder  # noqa: E402
from decoders.brainmae.masking import segment_windows  # noqa: E402
from decoders.brainmae.pretrain import masked_scores, pretrain  # noqa: E402
from decoders.connectivity import FCLR, TangentFCLR  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets" / "abide-cc200"


def compare(arm: str) -> None:
    from decoders.brainmae.decoder import BrainMAE

    torch.set_num_threads(1)
    d = load_roi_folder(DATA)
    small = dict(dim=32, depth=1, finetune_epochs=8, lr=1e-3, seed=0)
    models = {"pretrained": {"brainmae-pretrained": lambda: BrainMAE(pretrain_epochs=2, **small)},
              "scratch": {"brainmae-scratch": lambda: BrainMAE(pretrain_epochs=0, **small)},
              "linear": {"fc-lr": FCLR, "tangent-fc-lr": TangentFCLR}}[arm]
    out, start = {"arm": arm, "settings": small}, time.perf_counter()
    for name, make in models.items():
        accs, ns, secs = {}, [], {}
        for site in dict.fromkeys(d.session.tolist()):
            tr, te = d.session != site, d.session == site
            t = time.perf_counter()
            accs[site] = float((make().fit(d.X[tr], d.y[tr]).predict(d.X[te]) == d.y[te]).mean())
            secs[site] = time.perf_counter() - t
            ns.append(int(te.sum()))
            print(name, site, f"{accs[site]:.3f} ({secs[site]:.0f} s)", flush=True)
        out[name] = {"per_site": accs, "n": dict(zip(accs, ns)), "seconds": secs,
                     "mean": float(np.mean(list(accs.values()))),
                     "subject_weighted": float(np.average(list(accs.values()), weights=ns))}
        print(name, f"mean {out[name]['mean']:.3f} weighted {out[name]['subject_weighted']:.3f}", flush=True)
    out["seconds"] = time.perf_counter() - start
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    res = ROOT / "tests" / "benchmarks" / "results" / f"bench_brainmae_compare_{arm}.json"
    res.write_text(json.dumps(out, indent=2))


def main() -> None:
    if "--compare" in sys.argv:
        arm = sys.argv[sys.argv.index("--arm") + 1] if "--arm" in sys.argv else "pretrained"
        return compare(arm)
    ap = argparse.ArgumentParser()
    ap.add_argument("--held-out", default="OHSU")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--skip-fc", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(2)
    d = load_roi_folder(DATA)
    out: dict = {"held_out_site": a.held_out, "epochs": a.epochs}
    W, owner = segment_windows(d.X, 4, 12, stride=24)
    test = d.session[owner] == a.held_out
    net, timing = pretrain(W[~test], epochs=a.epochs, log=print)
    out["pretraining"] = {**timing, "n_windows": int((~test).sum()), "window": "200 ROIs x 4 segments x 12 TRs",
                          "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    out["masked_r2"] = masked_scores(net, W[test])
    print(f"held-out {a.held_out}: masked-segment R^2", {k: round(v, 3) for k, v in out["masked_r2"].items()})
    print(f"pretraining {timing['windows_per_s']:.1f} windows/s, {timing['seconds']:.0f} s")
    if not a.skip_fc:
        for cls in (FCLR, TangentFCLR):
            accs, ns = {}, []
            for site in dict.fromkeys(d.session.tolist()):
                tr, te = d.session != site, d.session == site
                accs[site] = float((cls().fit(d.X[tr], d.y[tr]).predict(d.X[te]) == d.y[te]).mean())
                ns.append(int(te.sum()))
            out[cls.name] = {"per_site": accs, "mean": float(np.mean(list(accs.values()))),
                             "subject_weighted": float(np.average(list(accs.values()), weights=ns))}
            print(cls.name, {k: round(v, 3) for k, v in accs.items()},
                  f"mean {out[cls.name]['mean']:.3f} weighted {out[cls.name]['subject_weighted']:.3f}")
    res = ROOT / "tests" / "benchmarks" / "results" / "bench_brainmae.json"
    res.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
