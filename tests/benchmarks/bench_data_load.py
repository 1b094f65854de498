"""Benchmark: load + preprocess EEGBCI, 3 subjects x 6 runs (left/right fist), band-pass
8-30 Hz, window 0-3 s; cold (empty cache) and cached, with peak memory.

Each measurement runs in a fresh Python process (so "cold" includes reading and filtering,
and memory is that process's peak resident set). Times exclude interpreter start-up; the
import of the data layer and MNE is timed separately.

    python tests/benchmarks/bench_data_load.py [--repeats 3]

Prints a table and writes tests/benchmarks/results/data_load.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATASETS = REPO.parent / "shared" / "datasets"
RESULTS = REPO / "tests" / "benchmarks" / "results"
SPEC = dict(source="eegbci", data_path=str(DATASETS / "eegbci"), subjects=[1, 2, 3],
            runs=[3, 4, 7, 8, 11, 12], events={"T1": "left", "T2": "right"}, window=(0.0, 3.0),
            preprocessing={"band": (8.0, 30.0)})


def worker() -> None:
    """One load in this process; prints a JSON line."""
    import resource

    t0 = time.perf_counter()
    from data import DatasetSpec, load_dataset
    import mne  # noqa: F401 - imported by the load anyway; timed with the imports

    t1 = time.perf_counter()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    data = load_dataset(DatasetSpec(**SPEC))
    t2 = time.perf_counter()
    print(json.dumps({
        "import_s": t1 - t0, "load_s": t2 - t1, "cache": data.provenance.get("cache"),
        "shape": list(data.X.shape), "x_mib": data.X.nbytes / 2**20,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_after_import_mib": rss_before / 1024,
    }))


def run_worker(cache_dir: str) -> dict:
    env = dict(os.environ, NEURODECK_CACHE=cache_dir, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, __file__, "--worker"], env=env, cwd=REPO,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker()
        return
    cold, cached = [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache_dir:
            first = run_worker(cache_dir)
            second = run_worker(cache_dir)
            assert first["cache"] == "miss" and second["cache"] == "hit", (first, second)
            cold.append(first)
            cached.append(second)
    med = lambda rows, k: statistics.median(r[k] for r in rows)  # noqa: E731
    result = {
        "benchmark": "data_load",
        "spec": SPEC,
        "machine": "2-core x86-64 CPU, no GPU",
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
        "repeats": args.repeats,
        "shape": cold[0]["shape"],
        "trials_mib": round(cold[0]["x_mib"], 1),
        "import_s": round(med(cold, "import_s"), 3),
        "cold_load_s": round(med(cold, "load_s"), 3),
        "cached_load_s": round(med(cached, "load_s"), 4),
        "speedup": round(med(cold, "load_s") / med(cached, "load_s"), 1),
        "cold_peak_rss_mib": round(med(cold, "peak_rss_mib"), 1),
        "cached_peak_rss_mib": round(med(cached, "peak_rss_mib"), 1),
        "rss_after_import_mib": round(med(cold, "rss_after_import_mib"), 1),
        "runs": {"cold": cold, "cached": cached},
    }
    rows = [
        ("trials (n, channels, times)", " x ".join(map(str, result["shape"]))),
        ("import data layer + MNE (s)", f"{result['import_s']:.2f}"),
        ("cold load + preprocess (s)", f"{result['cold_load_s']:.2f}"),
        ("cached load (s)", f"{result['cached_load_s']:.3f}"),
        ("speed-up cached vs cold", f"{result['speedup']:.0f}x"),
        ("peak RSS, cold (MiB)", f"{result['cold_peak_rss_mib']:.0f}"),
        ("peak RSS, cached (MiB)", f"{result['cached_peak_rss_mib']:.0f}"),
        ("RSS after imports (MiB)", f"{result['rss_after_import_mib']:.0f}"),
        ("trial array (MiB)", f"{result['trials_mib']:.1f}"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"EEGBCI 3 subjects x 6 runs, band 8-30 Hz, window 0-3 s; median of {args.repeats}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "data_load.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
