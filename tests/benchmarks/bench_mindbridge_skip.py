"""Benchmark of MindBridge's ridge skip path (issue 23, item 2) on fmri-recon.

Arms, on identical splits: per-subject ridge to pixels (leave-one-out penalty); MindBridge's
network alone (ridge_blend 0); MindBridge with the skip path (default ridge_blend 0.5, fixed a
priori, no test data involved); the blend over the 3-seed ensemble of networks. MindBridge rows
are the mean over seeds 0, 1, 2 (the network-only images come from the same fits: the codec's
decoding of the predicted embedding). Sections: the files' own holdout (digit69 90/10, miyawaki
107/12) and 5-fold cross-validation (digit69 shuffled, miyawaki grouped by image).

Run from the repository root:  python tests/benchmarks/bench_mindbridge_skip.py [--holdout-only]
Writes tests/benchmarks/results/mindbridge-skip.json and prints a table.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_mindbridge import REPO, RESULTS, cv_folds, fmri_recon  # noqa: E402

from decoders import metrics  # noqa: E402
from decoders.mindbridge import MindBridge  # noqa: E402
from decoders.ridge_images import RidgeImages  # noqa: E402

SEEDS = (0, 1, 2)
PARAMS = dict(epochs=150)
KEYS = ("pixcorr", "ssim", "two_way_pixel")


def split_scores(data, train, test) -> dict:
    """Per subject and arm: metrics on ``test`` after fitting on ``train``."""
    fit = dict(stimuli=data.stimuli[train], subject=data.subject[train])
    Xt, st = data.X[test], data.subject[test]
    ridge = RidgeImages().fit(data.X[train], **fit).predict(Xt, subject=st)
    nets, blends = [], []
    for seed in SEEDS:
        model = MindBridge(**PARAMS, seed=seed).fit(data.X[train], **fit)
        nets.append(model.codec_.decode(model.predict_embedding(Xt, subject=st)))
        blends.append(model.predict(Xt, subject=st))
    b = MindBridge(**PARAMS).validated_params().ridge_blend
    out = {}
    for s in data.subjects:
        rows = st == s
        truth = data.stimuli[test][rows]
        sc = lambda img: metrics.reconstruction(truth, img[rows])  # noqa: E731
        mean = lambda imgs: {k: float(np.mean([sc(i)[k] for i in imgs])) for k in KEYS}  # noqa: E731
        out[s] = {"ridge-pixels": {k: float(sc(ridge)[k]) for k in KEYS},
                  "mindbridge-no-skip (seed mean)": mean(nets),
                  f"mindbridge skip {b} (seed mean)": mean(blends),
                  f"mindbridge skip {b}, 3-seed ensemble": {
                      k: float(sc(b * ridge + (1 - b) * np.mean(nets, 0))[k]) for k in KEYS}}
    return out


def main(holdout_only: bool = False) -> dict:
    import torch

    torch.set_num_threads(1)
    data = fmri_recon()
    t0 = time.perf_counter()
    report = {"machine": "2-core x86-64 dev machine, no GPU, shared with other jobs",
              "params": PARAMS, "seeds": list(SEEDS)}
    report["holdout"] = split_scores(data, data.session == "train", data.session == "test")
    print_section("holdout", report["holdout"])
    if not holdout_only:
        folds = cv_folds(data)
        per = []
        for k, test in enumerate(folds):
            per.append(split_scores(data, np.setdiff1d(np.arange(len(data)), test), test))
            print(f"  cv fold {k + 1}/{len(folds)} done", flush=True)
        report["cross_validation"] = {s: {arm: {m: float(np.mean([f[s][arm][m] for f in per])) for m in KEYS}
                                          for arm in per[0][s]} for s in per[0]}
        print_section("cross_validation (5 folds)", report["cross_validation"])
    report["seconds"] = round(time.perf_counter() - t0, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "mindbridge-skip.json"
    out.write_text(json.dumps(report, indent=1))
    print(f"wrote {out.relative_to(REPO)}")
    return report


def print_section(title: str, section: dict) -> None:
    print(f"\n{title}\n{'subject':9s} {'arm':40s} " + " ".join(f"{k:>13s}" for k in KEYS))
    for s, arms in section.items():
        for arm, m in arms.items():
            print(f"{s:9s} {arm:40s} " + " ".join(f"{m[k]:13.3f}" for k in KEYS))


if __name__ == "__main__":
    main(holdout_only="--holdout-only" in sys.argv)
