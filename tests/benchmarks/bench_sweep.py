"""Sweep overhead per run for the local and Ray executors.

Runs resources/experiments/sweep-eegbci-quick.yaml (3 EEGBCI subjects x {EEG-SimpleConv 3
epochs, CSP+LDA, tangent space} x 2 seeds = 18 runs) into a fresh folder with each executor and
each worker count. Per run, the executor's cost is the slot time not spent inside runs:
overhead/run = (sweep wall time x workers - sum of run times) / runs, where a run's time is
measured inside the worker around `run_experiment` alone (data loading included; a worker
process's start and first imports count as executor overhead). The Ray instance's start is
timed apart (ray.init with num_cpus = workers).

    python tests/benchmarks/bench_sweep.py [--workers 1 2] [--executors local ray]
Writes tests/benchmarks/results/sweep_overhead.json and prints a table.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(HERE))


def one(executor: str, workers: int, datasets: Path) -> dict:
    from app.sweeps import load_sweep, parse_sweep, run_sweep

    spec, base_dir = load_sweep(HERE / "resources/experiments/sweep-eegbci-quick.yaml")
    raw = spec.model_dump(mode="json")
    raw["overrides"]["dataset"]["data_path"] = str(datasets / "eegbci")
    spec = parse_sweep(raw)
    ray_start = None
    if executor == "ray":
        import ray

        t0 = time.perf_counter()
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        ray_start = time.perf_counter() - t0
    try:
        with tempfile.TemporaryDirectory() as tmp:
            result = run_sweep(spec, base_dir, out_dir=tmp, executor=executor, workers=workers, report=False)
    finally:
        if executor == "ray":
            ray.shutdown()
    assert not result.failed, result.failed
    runs = [r["experiment_seconds"] for r in result.executed]
    n = len(runs)
    return {"executor": executor, "workers": workers, "runs": n, "wall_seconds": result.wall_seconds,
            "sum_run_seconds": sum(runs), "mean_run_seconds": sum(runs) / n,
            "overhead_per_run_seconds": (result.wall_seconds * workers - sum(runs)) / n,
            "ray_start_seconds": ray_start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--executors", nargs="+", default=["local", "ray"])
    parser.add_argument("--datasets", type=Path, default=HERE.parent / "shared" / "datasets")
    args = parser.parse_args()
    rows = [one(e, w, args.datasets) for e in args.executors for w in args.workers]
    print(f"{'executor':<8} {'workers':>7} {'runs':>5} {'wall s':>8} {'sum run s':>10} {'mean run s':>10} "
          f"{'overhead s/run':>14} {'ray start s':>11}")
    for r in rows:
        start = "" if r["ray_start_seconds"] is None else f"{r['ray_start_seconds']:.2f}"
        print(f"{r['executor']:<8} {r['workers']:>7} {r['runs']:>5} {r['wall_seconds']:>8.2f} {r['sum_run_seconds']:>10.2f} "
              f"{r['mean_run_seconds']:>10.2f} {r['overhead_per_run_seconds']:>14.2f} {start:>11}")
    out = HERE / "tests/benchmarks/results/sweep_overhead.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "rows": rows}, indent=2))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
