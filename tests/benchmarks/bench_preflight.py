"""Preflight time estimate against the measured wall time of the run (issue 20).

For each arm (a decoder on a demo, classical and neural), `app.preflight.preflight` with
``estimate=True`` predicts the run's wall time (a timed stretch of training on one fold,
scaled to the epochs, the folds and the final fit), then `app.experiment.run_experiment`
runs the same experiment and its wall time is measured. Goal: the ratio estimate/measured
within [0.5, 2].

Run from the repository root (niced: the machine is shared):

    nice -n 10 python tests/benchmarks/bench_preflight.py                 # all arms
    nice -n 10 python tests/benchmarks/bench_preflight.py --arms csp-lda-mi fc-lr-rest
    python tests/benchmarks/bench_preflight.py --report-only              # table from the JSON

Run folders go to tests/benchmarks/runs/preflight (git-ignored); the figures to
tests/benchmarks/results/preflight.json; the table to stdout.
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

RUNS = REPO / "tests" / "benchmarks" / "runs" / "preflight"
RESULTS = REPO / "tests" / "benchmarks" / "results" / "preflight.json"

MI = {"source": "demo:motor-imagery"}
ARMS: dict[str, dict] = {
    "csp-lda-mi": {"dataset": MI, "decoder": {"name": "csp-lda"},
                   "evaluation": {"protocol": "kfold", "within": "subject"}},
    "tangent-space-lr-mi": {"dataset": MI, "decoder": {"name": "tangent-space-lr"},
                            "evaluation": {"protocol": "loso"}},
    "fc-lr-rest": {"dataset": {"source": "demo:resting-state"}, "decoder": {"name": "fc-lr"},
                   "evaluation": {"protocol": "leave-one-site-out"}},
    "kalman-center-out": {"dataset": {"source": "demo:center-out"}, "decoder": {"name": "kalman"},
                          "evaluation": {"protocol": "blocked-kfold"}},
    "ridge-images-visual": {"dataset": {"source": "demo:visual-fmri"}, "decoder": {"name": "ridge-images"},
                            "evaluation": {"protocol": "holdout", "train_range": [0, 750], "test_range": [750, 900]}},
    "simpleconv-mi": {"dataset": MI, "decoder": {"name": "eeg-simpleconv", "preset": "within-subject",
                                                 "params": {"epochs": 6}},
                      "evaluation": {"protocol": "kfold", "within": "subject", "n_folds": 3}},
    "brainmae-rest": {"dataset": {"source": "demo:resting-state"},
                      "decoder": {"name": "brainmae", "preset": "tiny", "params": {"epochs": 8}},
                      "evaluation": {"protocol": "leave-one-site-out"}},
    "mindbridge-visual": {"dataset": {"source": "demo:visual-fmri"},
                          "decoder": {"name": "mindbridge", "preset": "tiny", "params": {"epochs": 6, "codec_epochs": 10}},
                          "evaluation": {"protocol": "holdout", "train_range": [0, 750], "test_range": [750, 900]}},
}


def run_arm(arm: str, device: str) -> dict:
    from app.experiment import run_experiment
    from app.preflight import preflight

    config = {"name": f"preflight-{arm}", **ARMS[arm], "training": {"device": device, "seed": 0},
              "output": {"runs_dir": str(RUNS)}}
    start = time.perf_counter()
    check = preflight(config, estimate=True)
    preflight_s = time.perf_counter() - start
    if check.estimate is None:
        raise RuntimeError(f"{arm}: no estimate ({check.estimate_error})")
    start = time.perf_counter()
    result = run_experiment(config, out_dir=RUNS, restart=True)
    measured = time.perf_counter() - start
    shutil.rmtree(result.run_dir, ignore_errors=True)
    row = {"arm": arm, "decoder": config["decoder"]["name"], "protocol": check.protocol,
           "folds": check.n_folds, "estimate_s": round(check.estimate.seconds, 1),
           "measured_s": round(measured, 1), "ratio": round(check.estimate.seconds / measured, 2),
           "preflight_s": round(preflight_s, 1), "method": check.estimate.method}
    print(f"{arm}: estimate {row['estimate_s']} s, measured {row['measured_s']} s, "
          f"ratio {row['ratio']} (preflight {row['preflight_s']} s)", flush=True)
    return row


def table(rows: list[dict]) -> str:
    lines = ["| arm | decoder | protocol | folds | estimate (s) | measured (s) | estimate / measured | preflight (s) | how |",
             "|---|---|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['arm']} | {r['decoder']} | {r['protocol']} | {r['folds']} | {r['estimate_s']} | "
                     f"{r['measured_s']} | {r['ratio']} | {r['preflight_s']} | {r['method']} |")
    within = sum(0.5 <= r["ratio"] <= 2 for r in rows)
    lines.append(f"\n{within} of {len(rows)} estimates within a factor of 2 of the measured time.")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arms", nargs="+", choices=list(ARMS), default=list(ARMS))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    if args.report_only:
        print(table(json.loads(RESULTS.read_text())["rows"]))
        return 0
    RUNS.mkdir(parents=True, exist_ok=True)
    rows = [run_arm(arm, args.device) for arm in args.arms]
    if RESULTS.exists():   # keep the other arms' rows of an earlier run, in the arms' order
        kept = {r["arm"]: r for r in json.loads(RESULTS.read_text())["rows"]}
        kept.update({r["arm"]: r for r in rows})
        rows = [kept[a] for a in ARMS if a in kept]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": platform.platform(), "processor": platform.processor(),
                                   "device": args.device, "rows": rows}, indent=2))
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
