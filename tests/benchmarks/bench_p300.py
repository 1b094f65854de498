"""P300: every ERP decoder on the BCI2000 speller (eeg3_1 -> eeg3_2) and oddball (eeg2_1 ->
eeg2_2), trained on the first file and tested on the second (protocol ``calibration``), through
the same `run_experiment` a user's ``neurodeck run`` takes.

Arms: the shipped experiment files resources/experiments/bci2000-p300-<set>-<decoder>.yaml,
<set> speller or oddball, <decoder> lda (shrinkage LDA), xdawn (xDAWN covariances + tangent
space + LR) or eegnet (EEGNet, quick CPU preset).

Reported per arm: ROC AUC and balanced accuracy of the flashes; for the speller, character
accuracy after 1, 2, 3, 5 and 15 repetitions, the letters spelled, Wolpaw ITR (bits/min) with
the flash timing measured from the file, and dynamic stopping (posterior threshold 0.99):
accuracy, mean flashes per letter (of 180 with 15 repetitions) and ITR.

Run from the repository root (the experiment files read ../shared/datasets/bci2000):

    python tests/benchmarks/bench_p300.py                  # all arms, then the table
    python tests/benchmarks/bench_p300.py --arms speller-lda oddball-lda
    python tests/benchmarks/bench_p300.py --report-only    # table from the JSON

Run folders go to tests/benchmarks/runs/p300 (git-ignored). The table goes to stdout and the
figures to tests/benchmarks/results/p300.json.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

ARMS = tuple(f"{s}-{d}" for s in ("speller", "oddball") for d in ("lda", "xdawn", "eegnet"))
REPETITIONS = (1, 2, 3, 5, 15)
RUNS = REPO / "tests" / "benchmarks" / "runs" / "p300"
RESULTS = REPO / "tests" / "benchmarks" / "results" / "p300.json"


def run_arm(arm: str, device: str) -> dict:
    from app.experiment import load_config, run_experiment

    config = load_config(REPO / "resources" / "experiments" / f"bci2000-p300-{arm}.yaml")
    config.output.save_model = False
    config.training.device = device
    start = time.time()
    result = run_experiment(config, out_dir=RUNS)
    fold = result.metrics["folds"][0]
    row = {"arm": arm, "decoder": config.decoder.name, "seconds": round(time.time() - start, 1),
           "fit_seconds": fold["fit_seconds"], "run_dir": str(result.run_dir), "label": fold["label"]}
    keep = ("roc_auc", "balanced_accuracy", "accuracy", "speller_target_text", "dynamic_char_accuracy",
            "dynamic_flashes_per_letter", "dynamic_itr_bits_min", "fixed_flashes_per_letter", "spelled_dynamic")
    row.update({k: fold[k] for k in keep if k in fold})
    for k in REPETITIONS:
        for name in (f"char_accuracy_{k}", f"itr_bits_min_{k}", f"spelled_{k}"):
            if name in fold:
                row[name] = fold[name]
    print(f"{arm}: AUC {row['roc_auc']:.3f} in {row['seconds']:.0f} s -> {result.run_dir}", flush=True)
    return row


def table(rows: list[dict]) -> str:
    reps = " ".join(f"{'@' + str(k):>5}" for k in REPETITIONS)
    lines = [f"{'arm':<16} {'AUC':>6} {'balacc':>6} | char acc {reps} | {'spelled@15':<10} | "
             f"{'dyn acc':>7} {'flashes':>7} {'ITR dyn':>7} {'ITR@2':>6} | {'fit s':>6}"]
    for r in rows:
        chars = " ".join(f"{r[f'char_accuracy_{k}']:>5.2f}" if f"char_accuracy_{k}" in r else f"{'-':>5}"
                         for k in REPETITIONS)
        dyn = (f"{r['dynamic_char_accuracy']:>7.2f} {r['dynamic_flashes_per_letter']:>7.1f} "
               f"{r['dynamic_itr_bits_min']:>7.1f} {r['itr_bits_min_2']:>6.1f}") if "dynamic_char_accuracy" in r \
            else f"{'-':>7} {'-':>7} {'-':>7} {'-':>6}"
        lines.append(f"{r['arm']:<16} {r['roc_auc']:>6.3f} {r['balanced_accuracy']:>6.3f} | {'':8} {chars} | "
                     f"{r.get('spelled_15', '-'):<10} | {dyn} | {r['fit_seconds']:>6.1f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    saved = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {"rows": []}
    rows = {r["arm"]: r for r in saved["rows"]}
    if not args.report_only:
        for arm in args.arms:
            rows[arm] = run_arm(arm, args.device)
        ordered = [rows[a] for a in ARMS if a in rows]
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({"machine": f"{platform.machine()} {platform.system()}, "
                                                  f"{_cores()} cores, device {args.device}",
                                       "date": time.strftime("%Y-%m-%d"), "rows": ordered}, indent=1))
    print(table([rows[a] for a in ARMS if a in rows]))


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    main()
