"""Benchmark of the Kalman-style decoders on Flint 2012 run 1 (DKF reference protocol).

For each decoder: fit time, accuracy on bins [5000, 6000) after training on [0, 5000)
(nRMSE, angle error, R^2, against the published figures), and the cost of one online
``step`` (10 features -> 2-D velocity): median and 99th percentile over 3 passes of the
1000 test bins, timed with perf_counter_ns around the call alone.

Issue 23 adds training-size curves (``--part sizes``): the same test bins for every size and
arm, nRMSE of Kalman, Wiener, the DKF (validation-chosen observation model) and the DKF
before issue 23 (``selection: none``) when trained on 250, 500, 1000, 2000 and 5000 bins.
Each size is trained on up to 4 disjoint contiguous windows of the training range (one for
5000) and the table gives the mean over windows, the DKF's worst window against Kalman, and
what the DKF's validation chose. Data: Flint run 1 (2-D velocity, and each velocity
component alone; test [5000, 6000)) and the simulated center-out task (demo:center-out,
seed 1, linear cosine tuning; test on its last 800 bins).

Run from the repository root:  python tests/benchmarks/bench_kalman.py [--part reference|sizes|all]
Writes tests/benchmarks/results/kalman.json (reference) and kalman_sizes.json (sizes) and
prints the tables.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from decoders.kalman import DiscriminativeKalmanFilter, KalmanFilterDecoder, WienerFilter  # noqa: E402
from decoders.metrics import regression  # noqa: E402

REFERENCE = {"kalman": {"nrmse": 0.765, "angle_error": 0.888},
             "dkf-nw": {"nrmse": 0.62, "angle_error": 0.76}}
DECODERS = {
    "kalman": lambda: KalmanFilterDecoder(center=False),
    "kalman (centred)": lambda: KalmanFilterDecoder(),
    "dkf-nw": lambda: DiscriminativeKalmanFilter(),                      # validation-chosen (issue 23)
    "dkf-nw before": lambda: DiscriminativeKalmanFilter(selection="none"),   # as before issue 23
    "dkf-nw robust": lambda: DiscriminativeKalmanFilter(robust=True),
    "dkf-neural": lambda: DiscriminativeKalmanFilter(f="neural"),
    "wiener (5 lags)": lambda: WienerFilter(lags=5),
}


def step_costs(decoder, X, passes: int = 3) -> np.ndarray:
    """Per-step microseconds, BLAS single-threaded as in `app.online.OnlineSession`."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _step_costs(decoder, X, passes)


def _step_costs(decoder, X, passes: int) -> np.ndarray:
    costs = []
    clock = time.perf_counter_ns
    for _ in range(passes):
        decoder.reset()
        for x in X:
            t0 = clock()
            decoder.step(x)
            costs.append(clock() - t0)
    return np.array(costs, dtype=float) / 1e3


def reference_table() -> dict:
    folder = REPO.parent / "shared" / "datasets" / "flint-run1"
    x = np.loadtxt(folder / "x.csv", delimiter=",")
    z = np.loadtxt(folder / "z.csv", delimiter=",")
    X, y, Xt, yt = x[:5000], z[:5000], x[5000:6000], z[5000:6000]
    rows = []
    for name, make in DECODERS.items():
        fits = []
        for _ in range(1 if name.startswith("dkf") else 3):
            decoder = make()
            t0 = time.perf_counter()
            decoder.fit(X, y)
            fits.append(time.perf_counter() - t0)
        m = regression(yt, decoder.predict(Xt))
        cost = step_costs(decoder, Xt)
        rows.append({"decoder": name, "fit_s": float(np.median(fits)), "nrmse": m["nrmse"],
                     "angle_error": m["angle_error"], "r2": m["r2"],
                     "step_median_us": float(np.median(cost)), "step_p99_us": float(np.percentile(cost, 99))})
    kf = rows[0]["nrmse"]
    for row in rows:
        row["nrmse_vs_kalman"] = row["nrmse"] / kf - 1
    result = {
        "benchmark": "kalman", "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(), "numpy": np.__version__,
        "load_average_1min": round(__import__("os").getloadavg()[0], 2),
        "protocol": "Flint 2012 run 1: train bins [0, 5000), test [5000, 6000); 10 features, 2-D velocity",
        "reference": REFERENCE, "rows": rows,
    }
    out = REPO / "tests" / "benchmarks" / "results" / "kalman.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"{'decoder':<18} {'fit s':>7} {'nRMSE':>7} {'vs KF':>7} {'angle':>7} {'R2':>6} {'step µs':>8} {'p99 µs':>8}")
    for r in rows:
        print(f"{r['decoder']:<18} {r['fit_s']:7.3f} {r['nrmse']:7.3f} {r['nrmse_vs_kalman']:+7.1%} "
              f"{r['angle_error']:7.3f} {r['r2']:6.3f} {r['step_median_us']:8.1f} {r['step_p99_us']:8.1f}")
    print(f"wrote {out}")
    return result


SIZES = (250, 500, 1000, 2000, 5000)
MAX_WINDOWS = 4
SIZE_ARMS = {
    "kalman": lambda data: KalmanFilterDecoder(center=data["kalman_center"]),
    "wiener": lambda data: WienerFilter(lags=5),
    "dkf": lambda data: DiscriminativeKalmanFilter(center=data["kalman_center"]),   # as the shipped recipe
    "dkf before": lambda data: DiscriminativeKalmanFilter(selection="none"),  # flint-dkf.yaml before issue 23
}


def size_datasets() -> list[dict]:
    """(name, train X/y, test X/y, Kalman centring as shipped) for the size curves."""
    from data import load_dataset

    folder = REPO.parent / "shared" / "datasets" / "flint-run1"
    x = np.loadtxt(folder / "x.csv", delimiter=",")
    z = np.loadtxt(folder / "z.csv", delimiter=",")
    out = []
    for name, cols in (("flint velocity (x, y)", [0, 1]), ("flint velocity x", [0]), ("flint velocity y", [1])):
        out.append({"name": name, "X": x[:5000], "y": z[:5000, cols], "Xt": x[5000:6000], "yt": z[5000:6000, cols],
                    "kalman_center": False})   # as resources/experiments/flint-kalman.yaml
    demo = load_dataset({"source": "demo:center-out", "seed": 1})
    n = len(demo.X) - 800
    out.append({"name": "demo:center-out (seed 1)", "X": demo.X[:n], "y": demo.y[:n], "Xt": demo.X[n:],
                "yt": demo.y[n:], "kalman_center": True})   # as demo-center-out-kalman.yaml
    return out


def size_curves() -> dict:
    rows = []
    for data in size_datasets():
        for size in SIZES:
            if size > len(data["X"]):
                continue
            starts = list(range(0, len(data["X"]) - size + 1, size))[:MAX_WINDOWS]
            per_arm = {arm: [] for arm in SIZE_ARMS}
            chosen, fit_s = [], []
            for start in starts:
                X, y = data["X"][start:start + size], data["y"][start:start + size]
                for arm, make in SIZE_ARMS.items():
                    decoder = make(data)
                    t0 = time.perf_counter()
                    decoder.fit(X, y)
                    if arm == "dkf":
                        fit_s.append(time.perf_counter() - t0)
                        chosen.append(decoder.selection_)
                    per_arm[arm].append(regression(data["yt"], decoder.predict(data["Xt"]))["nrmse"])
            gaps = np.subtract(per_arm["dkf"], per_arm["kalman"])
            rows.append({"data": data["name"], "size": size, "windows": starts,
                         "nrmse": {arm: float(np.mean(v)) for arm, v in per_arm.items()},
                         "nrmse_per_window": per_arm, "dkf_minus_kalman_worst": float(gaps.max()),
                         "dkf_fit_s": float(np.median(fit_s)),
                         "dkf_chosen": [_short_choice(c) for c in chosen], "dkf_selection": chosen})
            _print_size_row(rows[-1])
    result = {"benchmark": "kalman-sizes", "date": time.strftime("%Y-%m-%d"),
              "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
              "load_average_1min": round(__import__("os").getloadavg()[0], 2),
              "protocol": "per size: up to 4 disjoint contiguous training windows from the start of the training "
                          "range; the same test bins for every size and arm; nRMSE = RMSE / RMS of the truth",
              "rows": rows}
    out = REPO / "tests" / "benchmarks" / "results" / "kalman_sizes.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    return result


def _short_choice(selection: dict | None) -> str:
    if not selection:
        return "-"
    if selection.get("kalman_limit"):
        return "kalman-limit"
    f = "lin" if selection["f"] == "linear" else f"nw x{selection['bandwidth_scale']:g}"
    return f"{f} q{selection['q_shrinkage']:g}"


_printed_header = False


def _print_size_row(row: dict) -> None:
    global _printed_header
    if not _printed_header:
        print(f"{'data':<26} {'bins':>5} {'win':>3} " + " ".join(f"{a:>10}" for a in SIZE_ARMS)
              + f" {'worst dkf-kf':>12} {'dkf fit s':>9}  chosen")
        _printed_header = True
    print(f"{row['data']:<26} {row['size']:5d} {len(row['windows']):3d} "
          + " ".join(f"{row['nrmse'][a]:10.3f}" for a in SIZE_ARMS)
          + f" {row['dkf_minus_kalman_worst']:+12.3f} {row['dkf_fit_s']:9.1f}  {', '.join(row['dkf_chosen'])}",
          flush=True)


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("reference", "sizes", "all"), default="all")
    part = parser.parse_args().part
    out = {}
    if part in ("reference", "all"):
        out["reference"] = reference_table()
    if part in ("sizes", "all"):
        out["sizes"] = size_curves()
    return out


if __name__ == "__main__":
    main()
