"""EEG-SimpleConv on small recordings (issue 13): published broadband recipe vs the auto
small-data recipe (8-30 Hz band-pass below 300 training trials), same folds as CSP + LDA.

Case 1: EEGBCI subject 1, runs 5/9/13 (executed fists T1 vs feet T2), 0-3 s, 64 channels at
160 Hz, 45 trials, StratifiedKFold(5, shuffle, random_state=0) -> 36 training trials per fold.
Case 2 (``--left-right``): resources/experiments/eegbci-simpleconv.yaml (subjects 1-3, left vs
right, 15 within-subject folds) through the experiment runner, published vs auto.

    python tests/benchmarks/bench_small_data.py [--left-right]

Prints a table; writes tests/benchmarks/results/small_data.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(HERE))

from tests.simulated_mi import one_blas_thread  # noqa: E402
from tests.test_simpleconv_small_data import fists_vs_feet  # noqa: E402

ARMS = {"csp-lda 8-30 Hz": None, "eeg-simpleconv published (before)": {"recipe": "published", "val_fraction": 0.0},
        "eeg-simpleconv auto small-data (after)": {}}


def fists_vs_feet_arms(datasets: Path) -> list[dict]:
    import mne
    from sklearn.model_selection import StratifiedKFold

    from decoders.classical import CSPLDA  # noqa: F401  (registry name below)
    from decoders.registry import create
    from decoders.simpleconv import EEGSimpleConv

    X, y = fists_vs_feet(datasets)
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    rows = []
    for arm, params in ARMS.items():
        accs, times = [], []
        for tr, te in folds:
            t0 = time.perf_counter()
            if params is None:
                Xb = mne.filter.filter_data(X.astype(np.float64), 160.0, 8.0, 30.0, verbose="error")
                model = create("csp-lda", {}).fit(Xb[tr], y[tr])
                pred = model.predict(Xb[te])
            else:
                model = EEGSimpleConv(sfreq=160.0, device="cpu", **params).fit(X[tr], y[tr])
                pred = model.predict(X[te])
            times.append(time.perf_counter() - t0)
            accs.append(float((pred == y[te]).mean()))
        rows.append({"case": "S1 fists vs feet, 5-fold", "arm": arm, "accuracy": float(np.mean(accs)),
                     "fold_accuracies": accs, "fit_s_per_fold": float(np.mean(times)),
                     "train_trials": int(len(folds[0][0]))})
    return rows


def left_right_arms() -> list[dict]:
    import yaml

    from app.experiment import run_experiment
    rows = []
    for arm, recipe in (("eeg-simpleconv published (before)", {"recipe": "published", "val_fraction": 0.0}),
                        ("eeg-simpleconv auto small-data (after)", {})):
        config = yaml.safe_load((HERE / "resources/experiments/eegbci-simpleconv.yaml").read_text())
        config["dataset"]["data_path"] = str(HERE.parent / "shared/datasets/eegbci")
        config["decoder"]["params"] = recipe
        config["output"] = {"runs_dir": "/tmp/bench_small_data_runs"}
        config["training"]["device"] = "cpu"
        t0 = time.perf_counter()
        result = run_experiment(config)
        metrics = result["metrics"] if isinstance(result, dict) else result.metrics
        rows.append({"case": "EEGBCI S1-3 left/right, 15 folds", "arm": arm,
                     "accuracy": float(metrics["accuracy"]["mean"] if isinstance(metrics["accuracy"], dict) else metrics["accuracy"]),
                     "fit_s_per_fold": (time.perf_counter() - t0) / 15, "train_trials": 36})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--left-right", action="store_true")
    args = ap.parse_args()
    with one_blas_thread():
        rows = fists_vs_feet_arms(HERE.parent / "shared/datasets")
        if args.left_right:
            rows += left_right_arms()
    print(f"{'case':34s} {'arm':42s} {'acc':>6s} {'s/fold':>7s} {'n_train':>7s}")
    for r in rows:
        print(f"{r['case']:34s} {r['arm']:42s} {r['accuracy']:6.3f} {r['fit_s_per_fold']:7.1f} {r['train_trials']:7d}")
    out = HERE / "tests/benchmarks/results/small_data.json"
    out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
