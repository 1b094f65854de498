"""Benchmark of the Kalman-style decoders on Flint 2012 run 1 (DKF reference protocol).

For each decoder: fit time, accuracy on bins [5000, 6000) after training on [0, 5000)
(nRMSE, angle error, R^2, against the published figures), and the cost of one online
``step`` (10 features -> 2-D velocity): median and 99th percentile over 3 passes of the
1000 test bins, timed with perf_counter_ns around the call alone.

Run from the repository root:  python tests/benchmarks/bench_kalman.py
Writes tests/benchmarks/results/kalman.json and prints a table.
"""
from __future__ import annotations

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
    "dkf-nw": lambda: DiscriminativeKalmanFilter(),
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


def main() -> dict:
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


if __name__ == "__main__":
    main()
