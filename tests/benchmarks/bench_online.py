"""Online latency per decision (newest sample received -> decision), on CPU, over LSL loopback.

Classification bundles (EEG-SimpleConv, tangent space + LR, CSP + LDA) are trained on eegbci
subject 1 runs 8 and 12; the first ``--seconds`` of run 4 are replayed as an LSL stream
(`app.online.replay.ReplayPlayer`, ``--speed`` times real time) and decoded with sliding
windows every ``--step`` ms, so each decision includes pulling the samples, the bundle's
preprocessing of the window plus its filter margin (band-pass 8-30 Hz) and the decoder.
Latency = LSL clock at the decision minus LSL clock when the newest sample used was pulled.
The Kalman filter decodes Flint 2012 run 1 one bin at a time (`app.online.OnlineSession`;
no window, no filter): its figure is the per-bin decoder step.

Run from the repository root:  python tests/benchmarks/bench_online.py
Writes tests/benchmarks/results/online.json and prints a table.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from app.cli import main  # noqa: E402
from app.online.replay import ReplayPlayer, open_recording  # noqa: E402
from app.online.session import ClassificationSession  # noqa: E402
from app.online.stream import StreamInput  # noqa: E402
from app.workspace import list_runs  # noqa: E402
from decoders.bundle import load_bundle  # noqa: E402

DATASETS = REPO.parent / "shared" / "datasets"
RUN4 = DATASETS / "eegbci/MNE-eegbci-data/files/eegmmidb/1.0.0/S001/S001R04.edf"
MOTOR = ["FC3", "FC1", "FCz", "FC2", "FC4", "C5", "C3", "C1", "Cz", "C2", "C4", "C6",
         "CP3", "CP1", "CPz", "CP2", "CP4"]
DECODERS = {"eeg-simpleconv": {"name": "eeg-simpleconv", "params": {"epochs": 10}},
            "tangent-space-lr": {"name": "tangent-space-lr"},
            "csp-lda": {"name": "csp-lda"}}


def train(decoder: dict, folder: Path) -> Path:
    config = {"name": f"bench-online-{decoder['name']}", "decoder": decoder,
              "dataset": {"source": "eegbci", "data_path": str(DATASETS / "eegbci"), "subjects": [1],
                          "runs": [8, 12], "events": {"T1": "left", "T2": "right"}, "window": [0.5, 2.5],
                          "preprocessing": {"picks": MOTOR, "band": [8.0, 30.0]}},
              "training": {"device": "cpu", "seed": 0}, "evaluation": {"protocol": "kfold", "n_folds": 2},
              "output": {"runs_dir": str(folder / decoder["name"])}}
    path = folder / f"{decoder['name']}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    if main(["run", str(path)]) != 0:
        raise SystemExit(f"training {decoder['name']} failed")
    (info,) = list_runs(folder / decoder["name"])
    return info.path / "model"


def classification_latency(bundle: Path, seconds: float, speed: float, step_ms: float) -> dict:
    decoder, manifest = load_bundle(bundle)
    raw = open_recording(RUN4).crop(0, seconds)
    player = ReplayPlayer(raw, speed=speed, wait_s=30).start()
    source = StreamInput(player.name, markers=player.marker_name)
    try:
        session = ClassificationSession(None, source, mode="sliding", step_ms=step_ms,
                                        decoder=decoder, manifest=manifest)
        events = list(session.iter_events(stop=lambda: not player.running and session.idle_s > 1.0))
    finally:
        source.close()
        player.stop()
    lat = np.array([e["latency_ms"] for e in events if e["kind"] == "decision"])
    return {"decisions": int(len(lat)), "median_ms": float(np.median(lat)),
            "p99_ms": float(np.percentile(lat, 99)), "max_ms": float(lat.max()),
            "margin_samples": session.prep.margin}


def kalman_latency() -> dict:
    from app.online import OnlineSession, ReplaySource
    from data.continuous import load_continuous
    from data.spec import DatasetSpec
    from decoders.kalman import KalmanFilterDecoder

    flint = DATASETS / "flint-run1"
    data = load_continuous(DatasetSpec(source=str(flint)))
    kf = KalmanFilterDecoder(center=False).fit(data.X[:5000], data.y[:5000])
    report = OnlineSession(kf, ReplaySource(flint, start=5000, stop=6000)).run()
    us = report.step_us
    return {"decisions": int(len(us)), "median_ms": float(np.median(us)) / 1e3,
            "p99_ms": float(np.percentile(us, 99)) / 1e3, "max_ms": float(us.max()) / 1e3,
            "margin_samples": 0}


def run() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--speed", type=float, default=2.0)
    parser.add_argument("--step", type=float, default=100.0, help="sliding step, ms")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for key, decoder in DECODERS.items():
            bundle = train(decoder, Path(tmp))
            results[key] = classification_latency(bundle, args.seconds, args.speed, args.step)
            print(key, results[key], flush=True)
    results["kalman (per bin)"] = kalman_latency()
    print(f"\n{'decoder':<20}{'decisions':>10}{'median ms':>11}{'p99 ms':>9}{'max ms':>9}")
    for key, r in results.items():
        print(f"{key:<20}{r['decisions']:>10}{r['median_ms']:>11.2f}{r['p99_ms']:>9.2f}{r['max_ms']:>9.2f}")
    out = REPO / "tests" / "benchmarks" / "results" / "online.json"
    out.write_text(json.dumps({"results": results, "settings": vars(args),
                               "machine": f"{platform.system()} {platform.machine()}",
                               "date": time.strftime("%Y-%m-%d")}, indent=2), encoding="utf-8")
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run())
