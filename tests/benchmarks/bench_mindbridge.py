"""Benchmark of MindBridge-style cross-subject reconstruction against per-subject ridge.

1. fmri-recon holdout: one MindBridge trained on both subjects' train splits (digit69: 90,
   miyawaki: 107) reconstructs each subject's test images; ridge to pixels and ridge to the
   codec embedding, fitted in the same run. Every miyawaki test image also occurs in its
   train split, so its holdout numbers measure recall of seen images.
2. fmri-recon cross-validation (5 folds, both subjects at once): digit69's 100 samples in
   shuffled folds; miyawaki's 119 samples grouped by image (GroupKFold), so a test image is
   never seen in training.
3. New-subject adaptation (reset-tuning): digit69 as the new subject after pretraining on
   miyawaki + the demo's subjects A and B; and the demo's subject C after pretraining on A
   and B. For 20, 40 and all training samples: reset-tuned MindBridge vs the same network
   trained from scratch on those samples vs ridge; tested on the subject's test split.
Also: fit seconds and peak resident memory (CPU).

Run from the repository root:  python tests/benchmarks/bench_mindbridge.py [--quick]
Writes tests/benchmarks/results/mindbridge.json, grid PNGs in tests/benchmarks/results/, a table.
"""
from __future__ import annotations

import copy
import json
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from app.reconstruction_figure import draw_reconstruction_grid  # noqa: E402
from data.loading import load_dataset  # noqa: E402
from data.stimuli import combine_subjects  # noqa: E402
from decoders import metrics  # noqa: E402
from decoders.mindbridge import MindBridge  # noqa: E402
from decoders.ridge_images import RidgeImages  # noqa: E402

RESULTS = REPO / "tests" / "benchmarks" / "results"
RECON = REPO.parent / "shared" / "datasets" / "fmri-recon"
PARAMS = dict(epochs=150, finetune_epochs=150)
QUICK = dict(epochs=30, finetune_epochs=30, codec_epochs=60)


def fmri_recon():
    files = [str(RECON / "digit69_28x28.mat"), str(RECON / "miyawaki_structured_28x28.mat")]
    parts = [load_dataset({"source": f, "kind": "stimulus-pairs",
                           "options": {"image_order": "F", "subject_names": [name]}})
             for f, name in zip(files, ["digit69", "miyawaki"])]
    from data.stimuli import subject_voxels

    return combine_subjects({p.subjects[0]: {"X": subject_voxels(p, p.subjects[0]), "stimuli": p.stimuli,
                                             "y": p.y, "split": p.session} for p in parts},
                            "fmri-recon", files)


def score(model, data, rows, codec=None) -> dict:
    """Reconstruction metrics, plus two-way identification in the embedding space of ``codec``
    (the model's own codec by default): predicted embedding vs the codec's embedding of the truth."""
    images = model.predict(data.X[rows], subject=data.subject[rows])
    out = metrics.reconstruction(data.stimuli[rows], images)
    codec = codec or getattr(model, "codec_", None)
    if codec is not None:
        emb = (model.predict_embedding(data.X[rows], subject=data.subject[rows])
               if getattr(model, "codec_", None) is codec else codec.encode(images))
        out["two_way_embedding"] = metrics.two_way_identification(codec.encode(data.stimuli[rows]), emb)
    return {k: round(float(v), 4) for k, v in out.items()}, images


def fit(model, data, rows):
    t0 = time.perf_counter()
    model.fit(data.X[rows], stimuli=data.stimuli[rows], subject=data.subject[rows])
    return time.perf_counter() - t0


def models(params):
    return {"mindbridge": lambda: MindBridge(**params),
            "mindbridge-no-skip": lambda: MindBridge(**{**params, "ridge_blend": 0.0}),
            "ridge-pixels": lambda: RidgeImages(),
            "ridge-embedding": lambda: RidgeImages(target="embedding",
                                                   codec_epochs=params.get("codec_epochs", 300))}


def holdout(data, params) -> dict:
    train, test = data.session == "train", data.session == "test"
    out, grids = {}, {}
    for name, make in models(params).items():
        model = make()
        seconds = fit(model, data, train)
        out[name] = {"fit_seconds": round(seconds, 1)}
        for s in data.subjects:
            rows = test & (data.subject == s)
            out[name][s], grids[name] = score(model, data, rows)[0], model.predict(data.X[test], subject=data.subject[test])
    draw_reconstruction_grid(RESULTS / "mindbridge-fmri-recon-holdout.png", data.stimuli[test], grids,
                             data.subject[test])
    return out


def cv_folds(data, n_folds: int = 5) -> list[np.ndarray]:
    """Test rows of each fold: digit69 shuffled (KFold, seed 0), miyawaki grouped by image."""
    from sklearn.model_selection import GroupKFold, KFold

    folds = [[] for _ in range(n_folds)]
    for s in data.subjects:
        idx = np.flatnonzero(data.subject == s)
        if s == "miyawaki":   # group by image: a test image never occurs in training
            flat = data.stimuli[idx].reshape(len(idx), -1).round(4)
            _, groups = np.unique(flat, axis=0, return_inverse=True)
            splits = GroupKFold(n_splits=n_folds).split(idx, groups=groups.ravel())
        else:
            splits = KFold(n_splits=n_folds, shuffle=True, random_state=0).split(idx)
        for k, (_, te) in enumerate(splits):
            folds[k].append(idx[te])
    return [np.concatenate(f) for f in folds]


def cross_validation(data, params, n_folds: int = 5) -> dict:
    folds = cv_folds(data, n_folds)
    per = {name: {s: [] for s in data.subjects} for name in models(params)}
    for k in range(n_folds):
        test = folds[k]
        train = np.setdiff1d(np.arange(len(data)), test)
        for name, make in models(params).items():
            model = make()
            fit(model, data, train)
            for s in data.subjects:
                rows = test[data.subject[test] == s]
                per[name][s].append(score(model, data, rows)[0])
        print(f"  cv fold {k + 1}/{n_folds} done", flush=True)
    return {name: {s: {m: round(float(np.mean([f[m] for f in fs])), 4) for m in fs[0]}
                   for s, fs in subj.items()} for name, subj in per.items()}


def adaptation(data, target: str, pretrain_rows, sizes, params) -> dict:
    """Reset-tuning on ``target`` with the first n train samples vs scratch vs ridge."""
    t0 = time.perf_counter()
    base = MindBridge(**params).fit(data.X[pretrain_rows], stimuli=data.stimuli[pretrain_rows],
                                    subject=data.subject[pretrain_rows])
    out = {"pretrain_seconds": round(time.perf_counter() - t0, 1), "curve": []}
    train = np.flatnonzero((data.subject == target) & (data.session == "train"))
    test = (data.subject == target) & (data.session == "test")
    for n in sizes:
        rows = train[:n] if n else train
        tuned = copy.deepcopy(base)
        t0 = time.perf_counter()
        tuned.fine_tune(data.X[rows], stimuli=data.stimuli[rows], subject=data.subject[rows])
        tune_s = time.perf_counter() - t0
        scratch = MindBridge(**params)
        scratch_s = fit(scratch, data, rows)
        ridge = RidgeImages()
        fit(ridge, data, rows)
        point = {"n": int(len(rows)), "reset_tuned": score(tuned, data, test)[0],
                 "scratch": score(scratch, data, test)[0], "ridge": score(ridge, data, test, codec=base.codec_)[0],
                 "tune_seconds": round(tune_s, 1), "scratch_seconds": round(scratch_s, 1)}
        out["curve"].append(point)
        print(f"  {target} n={point['n']}: tuned {point['reset_tuned']['pixcorr']:.3f} "
              f"scratch {point['scratch']['pixcorr']:.3f} ridge {point['ridge']['pixcorr']:.3f}", flush=True)
    return out


def with_demo(real, demo, subjects):
    """fmri-recon plus the demo's ``subjects`` (all their samples as training data)."""
    from data.stimuli import subject_voxels

    parts = {s: {"X": subject_voxels(real, s), "stimuli": real.stimuli[real.subject == s],
                 "y": None, "split": real.session[real.subject == s]} for s in real.subjects}
    for s in subjects:
        parts[f"demo-{s}"] = {"X": subject_voxels(demo, s), "stimuli": demo.stimuli[demo.subject == s],
                              "y": None, "split": np.full((demo.subject == s).sum(), "train")}
    return combine_subjects(parts, "fmri-recon+demo", [])


def main(quick: bool = False) -> dict:
    import torch

    torch.set_num_threads(2)
    params = {**PARAMS, **(QUICK if quick else {})}
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = fmri_recon()
    demo = load_dataset({"source": "demo:visual-fmri"})
    report = {"machine": "2-core x86-64 dev machine, no GPU, shared with other jobs",
              "platform": platform.platform(), "torch": torch.__version__, "params": params,
              "n_parameters": None}
    print("holdout (fmri-recon test splits)", flush=True)
    report["holdout"] = holdout(data, params)
    print("cross-validation", flush=True)
    report["cross_validation"] = cross_validation(data, params)
    print("adaptation", flush=True)
    mixed = with_demo(data, demo, ["A", "B"])
    pre = (mixed.subject != "digit69")
    report["adaptation_digit69"] = adaptation(mixed, "digit69", pre, [20, 40, None], params)
    pre_demo = np.isin(demo.subject, ["A", "B"]) & (demo.session == "train")
    report["adaptation_demo_C"] = adaptation(demo, "C", pre_demo, [20, 40, None], params)
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    net = MindBridge(**params)
    fit_rows = data.session == "train"
    net.fit(data.X[fit_rows][:8], stimuli=data.stimuli[fit_rows][:8], subject=data.subject[fit_rows][:8])
    report["n_parameters"] = int(sum(p.numel() for p in net.network_.parameters()))
    out = RESULTS / ("mindbridge-quick.json" if quick else "mindbridge.json")
    out.write_text(json.dumps(report, indent=1))
    print_table(report)
    print(f"wrote {out}")
    return report


def print_table(report: dict) -> None:
    keys = ("pixcorr", "ssim", "pixel_mse", "two_way_pixel", "two_way_embedding")
    for section in ("holdout", "cross_validation"):
        print(f"\n{section}")
        print(f"{'model':16s} {'subject':9s} " + " ".join(f"{k:>17s}" for k in keys))
        for name, subj in report[section].items():
            for s, m in subj.items():
                if isinstance(m, dict):
                    print(f"{name:16s} {s:9s} " + " ".join(f"{m.get(k, float('nan')):17.3f}" for k in keys))
    for section in ("adaptation_digit69", "adaptation_demo_C"):
        print(f"\n{section} (PixCorr / two-way pixel)")
        for p in report[section]["curve"]:
            print(f"n={p['n']:4d} " + "  ".join(f"{k} {p[k]['pixcorr']:.3f}/{p[k]['two_way_pixel']:.3f}"
                                                 for k in ("reset_tuned", "scratch", "ridge")))
    print(f"\npeak RSS {report['peak_rss_mb']} MB, MindBridge parameters {report['n_parameters']}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
