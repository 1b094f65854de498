"""Online latency through the real CLI path: `neurodeck online BUNDLE --replay FILE --out SESSION`
run as a subprocess (a fresh interpreter, as a user starts it), figures read from its session log.

Bundles: CSP+LDA, tangent space + LR and EEG-SimpleConv (10 epochs) trained on eegbci subject 1
runs 8 and 12 (17 motor channels, 8-30 Hz, window 0.5-2.5 s), decoding run 4 replayed at
``--speed`` times real time with sliding windows every ``--step`` ms; the Kalman filter and the
discriminative Kalman filter (DKF) of resources/experiments/flint-{kalman,dkf}.yaml decoding
Flint 2012 run 1 bin by bin from bin 6000, replayed one bin per push at ``--bin-speed`` times
its 10 Hz. Each session runs ``--seconds`` seconds.

Latency per decision, from the session log: ``latency_ms`` = LSL clock once the decision is
pushed on the outlet minus LSL clock when the newest sample it used was pulled from the inlet;
``stamp_latency_ms`` = the same end minus that sample's LSL timestamp. Reported: decisions,
the first decision, p50, p99 and max, the warm-up (settings.json), each idle and with one core
busy (a Python busy loop in a subprocess, bounded by the session's length, killed at the end).

Run from the repository root:  python tests/benchmarks/bench_online.py
Writes tests/benchmarks/results/online.json and prints a markdown table.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

DATASETS = REPO.parent / "shared" / "datasets"
RUN4 = DATASETS / "eegbci/MNE-eegbci-data/files/eegmmidb/1.0.0/S001/S001R04.edf"
FLINT = DATASETS / "flint-run1"
MOTOR = ["FC3", "FC1", "FCz", "FC2", "FC4", "C5", "C3", "C1", "Cz", "C2", "C4", "C6",
         "CP3", "CP1", "CPz", "CP2", "CP4"]
CLASSIFIERS = {"csp-lda": {"name": "csp-lda"},
               "tangent-space-lr": {"name": "tangent-space-lr"},
               "eeg-simpleconv": {"name": "eeg-simpleconv", "params": {"epochs": 10}}}
CONTINUOUS = {"kalman": "flint-kalman", "dkf": "flint-dkf"}
GOALS = {"idle": {"p99_ms": 20.0, "max_ms": 50.0}, "one core busy": {"p99_ms": 40.0}}


def cli(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise SystemExit(f"neurodeck {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done


def newest_model(runs: Path) -> Path:
    return max(runs.glob("*/model"), key=lambda p: p.stat().st_mtime)


def train_classifier(decoder: dict, folder: Path) -> Path:
    config = {"name": f"bench-online-{decoder['name']}", "decoder": decoder,
              "dataset": {"source": "eegbci", "data_path": str(DATASETS / "eegbci"), "subjects": [1],
                          "runs": [8, 12], "events": {"T1": "left", "T2": "right"}, "window": [0.5, 2.5],
                          "preprocessing": {"picks": MOTOR, "band": [8.0, 30.0]}},
              "training": {"device": "cpu", "seed": 0}, "evaluation": {"protocol": "kfold", "n_folds": 2},
              "output": {"runs_dir": str(folder / decoder["name"])}}
    path = folder / f"{decoder['name']}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    cli("run", str(path), "--quiet")
    return newest_model(folder / decoder["name"])


def train_continuous(experiment: str, folder: Path) -> Path:
    runs = folder / experiment
    cli("run", f"resources/experiments/{experiment}.yaml", "--out", str(runs), "--quiet")
    return newest_model(runs)


def busy_core(seconds: float) -> subprocess.Popen:
    """One core kept busy by a Python loop that ends by itself after ``seconds``."""
    loop = f"import time\nend = time.monotonic() + {seconds:.1f}\nwhile time.monotonic() < end:\n    pass\n"
    return subprocess.Popen([sys.executable, "-c", loop])


def session(bundle: Path, replay_args: list[str], seconds: float, out: Path, busy: bool) -> dict:
    stress = busy_core(seconds + 60) if busy else None
    try:
        cli("online", str(bundle), *replay_args, "--duration", f"{seconds:g}", "--every", "0",
            "--out", str(out))
    finally:
        if stress is not None:
            stress.kill()
            stress.wait()
    with open(out / "log.csv", encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["kind"] == "decision"]
    settings = json.loads((out / "settings.json").read_text(encoding="utf-8"))
    lat = np.array([float(r["latency_ms"]) for r in rows])
    stamp = np.array([float(r["stamp_latency_ms"]) for r in rows])
    return {"decisions": int(len(lat)), "first_ms": float(lat[0]), "p50_ms": float(np.median(lat)),
            "p99_ms": float(np.percentile(lat, 99)), "max_ms": float(lat.max()),
            "stamp_p50_ms": float(np.median(stamp)), "stamp_p99_ms": float(np.percentile(stamp, 99)),
            "warm_up_ms": settings.get("warm_up_ms"), "session": settings.get("session")}


def run() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each session (s)")
    parser.add_argument("--speed", type=float, default=2.0, help="classification replays: times real time")
    parser.add_argument("--step", type=float, default=100.0, help="sliding step, ms")
    parser.add_argument("--bin-speed", type=float, default=5.0, help="continuous replays: times real time")
    parser.add_argument("--only", nargs="*", help="decoders to run (default: all five)")
    args = parser.parse_args()
    results: dict[str, dict] = {}
    began = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bundles = {}
        for key, decoder in CLASSIFIERS.items():
            if not args.only or key in args.only:
                bundles[key] = (train_classifier(decoder, tmp),
                                ["--replay", str(RUN4), "--mode", "sliding", "--step", f"{args.step:g}",
                                 "--speed", f"{args.speed:g}"])
        for key, experiment in CONTINUOUS.items():
            if not args.only or key in args.only:
                bundles[key] = (train_continuous(experiment, tmp),
                                ["--replay", str(FLINT), "--start", "6000", "--speed", f"{args.bin_speed:g}"])
        for key, (bundle, replay_args) in bundles.items():
            for condition in ("idle", "one core busy"):
                out = tmp / "sessions" / f"{key}-{condition.replace(' ', '-')}"
                r = session(bundle, replay_args, args.seconds, out, busy=condition != "idle")
                results[f"{key} | {condition}"] = r
                print(key, condition, r, flush=True)
    print("\n| decoder | load | decisions | first ms | p50 ms | p99 ms | max ms | p99 from LSL stamp ms | warm-up ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        decoder, condition = name.split(" | ")
        print(f"| {decoder} | {condition} | {r['decisions']} | {r['first_ms']:.2f} | {r['p50_ms']:.2f} | "
              f"{r['p99_ms']:.2f} | {r['max_ms']:.2f} | {r['stamp_p99_ms']:.2f} | {r['warm_up_ms']:.0f} |")
    out = REPO / "tests" / "benchmarks" / "results" / "online.json"
    out.write_text(json.dumps({"results": results, "settings": vars(args), "goals": GOALS,
                               "load_average_at_end": os.getloadavg(), "cpus": os.cpu_count(),
                               "machine": f"{platform.system()} {platform.machine()}",
                               "date": time.strftime("%Y-%m-%d"), "wall_s": round(time.time() - began, 1)},
                              indent=2), encoding="utf-8")
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run())
