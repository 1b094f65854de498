"""EEGBCI left vs right fist, subjects 1-3 (90 trials each): every decoder on the same trials
and the same test folds, through the same `run_experiment` a user's `neurodeck run` takes.

Arms (the shipped experiment files, resources/experiments/eegbci-<arm>.yaml):
  csp-lda, tangent-space   classical baselines, 5-fold within subject
  simpleconv               EEG-SimpleConv, published within-subject recipe, per subject
  finetune                 EEG-SimpleConv cross-subject preset (Euclidean alignment),
                           pretrained on the other subjects, fine-tuned on the target's
                           training folds, tested on the same test folds
  finetune-band            the same with the trials band-passed to 8-30 Hz
  finetune-subject-head    the same (broadband) with the subject-head preset (T=0.2)

Run from the repository root (the experiment files read ../shared/datasets/eegbci):

    python tests/benchmarks/bench_eegbci.py                     # all arms, then the table
    python tests/benchmarks/bench_eegbci.py --arms finetune     # one arm (resumes if interrupted)
    python tests/benchmarks/bench_eegbci.py --report-only       # table from finished runs

Run folders go to tests/benchmarks/runs/eegbci (git-ignored); an interrupted arm resumes from
its finished folds. The table goes to stdout and tests/benchmarks/results/eegbci.json.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

ARMS = ("csp-lda", "tangent-space", "simpleconv", "finetune", "finetune-band", "finetune-subject-head")
RUNS = REPO / "tests" / "benchmarks" / "runs" / "eegbci"
RESULTS = REPO / "tests" / "benchmarks" / "results" / "eegbci.json"


def run_arm(arm: str, runs_dir: Path, device: str) -> None:
    from app.experiment import load_config, run_experiment

    config = load_config(REPO / "resources" / "experiments" / f"eegbci-{arm}.yaml")
    config.output.save_model = False
    config.training.device = device

    from decoders.events import FoldEnd, LogMessage

    def show(event):
        if isinstance(event, FoldEnd):
            print(f"  [{arm}] fold {event.fold:>2} {event.label}: "
                  f"accuracy {event.metrics['accuracy']:.3f}", flush=True)
        elif isinstance(event, LogMessage) and "pretrain" in event.message:
            print(f"  [{arm}] {event.message}", flush=True)

    start = time.time()
    result = run_experiment(config, on_event=show, out_dir=runs_dir)
    print(f"{arm}: accuracy {result.metrics['summary']['accuracy']['mean']:.3f} "
          f"in {time.time() - start:.0f} s -> {result.run_dir}", flush=True)


def latest_runs(runs_dir: Path) -> dict[str, Path]:
    from app.workspace import list_runs

    out: dict[str, Path] = {}
    for info in list_runs(runs_dir):  # newest first
        arm = info.experiment.removeprefix("eegbci-")
        if arm in ARMS and arm not in out:
            out[arm] = info.path
    return out


def test_folds(run_dir: Path) -> dict[int, list[int]]:
    folds: dict[int, list[int]] = {}
    with open(run_dir / "predictions.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            folds.setdefault(int(row["fold"]), []).append(int(row["index"]))
    return {k: sorted(v) for k, v in folds.items()}


def report(runs_dir: Path) -> dict:
    runs = latest_runs(runs_dir)
    if not runs:
        raise SystemExit(f"no finished EEGBCI runs under {runs_dir}")
    reference = None
    rows = []
    for arm in ARMS:
        if arm not in runs:
            continue
        m = json.loads((runs[arm] / "metrics.json").read_text())
        folds = test_folds(runs[arm])
        same = None
        if reference is None:
            reference = folds
        else:
            same = folds == reference
        s, t = m["summary"], m["timings"]
        rows.append({
            "arm": arm, "decoder": m["decoder"], "preset": m.get("preset"), "protocol": m["protocol"],
            "n_folds": len(m["folds"]), "same_test_folds_as_first": same,
            "accuracy": s["accuracy"]["mean"], "accuracy_std": s["accuracy"]["std"],
            "kappa": s["kappa"]["mean"], "roc_auc": s.get("roc_auc", {}).get("mean"),
            "by_subject": {k: v["accuracy"] for k, v in m.get("by_subject", {}).items()},
            "fit_seconds_per_fold": t["fit_seconds_mean"],
            "pretrain_seconds": t.get("pretrain_seconds_mean"),
            "predict_ms_per_trial": t["predict_ms_per_sample"], "total_seconds": t["total_seconds"],
            "device": m["device"], "run": runs[arm].name,
        })
    _paired_comparison(rows, runs, baseline="tangent-space")
    print(f"{'arm':<22} {'acc':>6} {'±std':>6} {'kappa':>6} {'AUC':>6}  {'S1':>5} {'S2':>5} {'S3':>5} "
          f"{'fit s/fold':>10} {'ms/trial':>8} {'total s':>8}  same folds")
    for r in rows:
        subj = [r["by_subject"].get(k) for k in ("1", "2", "3")]
        print(f"{r['arm']:<22} {r['accuracy']:6.3f} {r['accuracy_std']:6.3f} {r['kappa']:6.3f} "
              f"{(r['roc_auc'] or float('nan')):6.3f}  "
              + " ".join(f"{v:5.3f}" if v is not None else "    -" for v in subj)
              + f" {r['fit_seconds_per_fold']:10.1f} {r['predict_ms_per_trial']:8.2f} {r['total_seconds']:8.0f}  "
              f"{'(reference)' if r['same_test_folds_as_first'] is None else r['same_test_folds_as_first']}")
    print(f"\nfold by fold against tangent-space (same 15 test folds; Wilcoxon signed-rank):")
    for r in rows:
        c = r.get("vs_tangent_space")
        if c:
            print(f"  {r['arm']:<22} mean difference {c['mean_difference']:+.3f}, better in {c['better']}, "
                  f"worse in {c['worse']}, tied in {c['tied']} folds, p = {c['wilcoxon_p']:.2f}")
    out = {"benchmark": "eegbci left/right fist, subjects 1-3, 90 trials each, 5-fold within subject",
           "machine": "2-core x86-64 CPU, no GPU", "date": time.strftime("%Y-%m-%d"),
           "command": "python tests/benchmarks/bench_eegbci.py", "rows": rows}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, indent=2) + "\n")
    tmp.replace(RESULTS)
    return out


def _paired_comparison(rows: list[dict], runs: dict[str, Path], baseline: str) -> None:
    """Per-fold accuracy differences of every arm against ``baseline`` on the same folds."""
    import numpy as np
    from scipy.stats import wilcoxon

    if baseline not in runs:
        return
    base = [f["accuracy"] for f in json.loads((runs[baseline] / "metrics.json").read_text())["folds"]]
    for r in rows:
        if r["arm"] == baseline or not r["same_test_folds_as_first"]:
            continue
        acc = [f["accuracy"] for f in json.loads((runs[r["arm"]] / "metrics.json").read_text())["folds"]]
        diff = np.asarray(acc) - np.asarray(base)
        p = float(wilcoxon(diff).pvalue) if np.any(diff != 0) else 1.0
        r["vs_tangent_space"] = {"mean_difference": float(diff.mean()), "better": int((diff > 0).sum()),
                                 "worse": int((diff < 0).sum()), "tied": int((diff == 0).sum()),
                                 "wilcoxon_p": p}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated subset of {', '.join(ARMS)}")
    parser.add_argument("--runs-dir", type=Path, default=RUNS)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    if not args.report_only:
        for arm in [a.strip() for a in args.arms.split(",") if a.strip()]:
            if arm not in ARMS:
                parser.error(f"unknown arm {arm!r}; choose from {', '.join(ARMS)}")
            run_arm(arm, args.runs_dir, args.device)
    report(args.runs_dir)


if __name__ == "__main__":
    main()
