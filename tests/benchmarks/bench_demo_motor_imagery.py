"""Benchmark: `demo:motor-imagery` simulation time and realism, beside real EEGBCI imagery.

For each seed, simulates the default 4 subjects (timed), then per subject: CSP(4)+LDA
5-fold CV accuracy on 0-4 s epochs band-passed 8-30 Hz, and the mu (8-13 Hz) C3-C4
log-power lateralisation between classes (left minus right; positive = expected direction).
The same pipeline runs on real EEGBCI imagined left/right fist (runs 4, 8, 12; subjects
1-3 from ../shared/datasets/eegbci) for comparison.

    python tests/benchmarks/bench_demo_motor_imagery.py [--seeds 0 1 2]

Prints a table and writes tests/benchmarks/results/demo_motor_imagery.json.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
DATASETS = REPO.parent / "shared" / "datasets"
RESULTS = REPO / "tests" / "benchmarks" / "results"


def evaluate(raw, event_id: dict[str, str]) -> tuple[float, float]:
    """(CSP+LDA 5-fold accuracy, mu C3-C4 lateralisation) for one recording."""
    import mne
    from mne.decoding import CSP
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline

    events, ids = mne.events_from_annotations(raw, event_id={k: i + 1 for i, k in enumerate(event_id)})
    left = ids[[k for k, v in event_id.items() if v == "left"][0]]

    def epochs(band, tmin, tmax, picks):
        filtered = raw.copy().filter(*band, picks=picks)
        ep = mne.Epochs(filtered, events, ids, tmin, tmax, baseline=None, picks=picks, preload=True)
        return ep.get_data(copy=False), ep.events[:, 2] == left

    X, is_left = epochs((8.0, 30.0), 0.0, 4.0, "eeg")
    pipeline = make_pipeline(CSP(n_components=4, log=True), LinearDiscriminantAnalysis())
    accuracy = cross_val_score(pipeline, X, is_left, cv=StratifiedKFold(5, shuffle=True, random_state=0)).mean()
    mu, is_left = epochs((8.0, 13.0), 0.5, 3.5, ["C3", "C4"])
    ratio = np.log(np.mean(mu[:, 0] ** 2, axis=-1) / np.mean(mu[:, 1] ** 2, axis=-1))
    return float(accuracy), float(ratio[is_left].mean() - ratio[~is_left].mean())


def eegbci_rows() -> list[dict]:
    import mne

    rows = []
    for subject in (1, 2, 3):
        files = mne.datasets.eegbci.load_data(subject, [4, 8, 12], path=str(DATASETS / "eegbci"),
                                              update_path=False, verbose=False)
        raw = mne.concatenate_raws([mne.io.read_raw_edf(f, preload=True, verbose=False) for f in files])
        mne.datasets.eegbci.standardize(raw)
        accuracy, lateral = evaluate(raw, {"T1": "left", "T2": "right"})
        rows.append(dict(data="eegbci (real)", seed=None, subject=str(subject), channels=len(raw.ch_names),
                         trials=int(sum(d in ("T1", "T2") for d in raw.annotations.description)),
                         csp_lda=accuracy, mu_lateralisation=lateral))
    return rows


def main() -> None:
    import mne

    mne.set_log_level("ERROR")
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()

    from data.demos.motor_imagery import simulate_recordings
    from data.spec import DatasetSpec

    simulate_recordings(DatasetSpec(source="demo:motor-imagery", subjects=["0"]))  # imports, montage
    rows, timings = [], {}
    for seed in args.seeds:
        start = time.perf_counter()
        recordings = simulate_recordings(DatasetSpec(source="demo:motor-imagery", seed=seed))
        timings[seed] = time.perf_counter() - start
        for rec in recordings:
            accuracy, lateral = evaluate(rec.raw, {"left": "left", "right": "right"})
            rows.append(dict(data="demo:motor-imagery", seed=seed, subject=rec.subject,
                             channels=len(rec.raw.ch_names), trials=len(rec.raw.annotations),
                             csp_lda=accuracy, mu_lateralisation=lateral))
    rows += eegbci_rows()

    print(f"{'data':<20} {'seed':>4} {'subj':>4} {'ch':>3} {'trials':>6} {'CSP+LDA':>8} {'mu C3-C4':>9}")
    for r in rows:
        seed = "" if r["seed"] is None else r["seed"]
        print(f"{r['data']:<20} {seed:>4} {r['subject']:>4} {r['channels']:>3} {r['trials']:>6} "
              f"{r['csp_lda']:>8.3f} {r['mu_lateralisation']:>+9.2f}")
    for seed, seconds in timings.items():
        print(f"simulate 4 subjects, seed {seed}: {seconds:.2f} s")

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "demo_motor_imagery.json"
    out.write_text(json.dumps(dict(machine=platform.machine(), python=platform.python_version(),
                                   date=time.strftime("%Y-%m-%d"), rows=rows,
                                   simulate_seconds={str(k): v for k, v in timings.items()}), indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    import scipy.linalg  # noqa: F401 - load SciPy's BLAS before limiting threads
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # multi-threaded BLAS on small matrices oversubscribes 2 cores
        main()
