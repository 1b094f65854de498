"""Every deep decoder's shipped experiment on one device (CPU or CUDA), timed per epoch.

Issue 23 item 6: time per epoch on CPU vs GPU (mixed precision, the training settings' ``amp``,
on by default and used on CUDA only) and the headline metric on both, which should agree within
run-to-run noise. Each benchmark is a shipped example experiment run through
`app.experiment.run_experiment`, trimmed where noted (same trim on both sides):

- eeg-simpleconv: eegbci-simpleconv.yaml on EEGBCI subject 1, imagined runs 4/8/12 only
  (45 left/right trials), preset within-subject (50 epochs), 5-fold within subject.
- eegnet-erp: bci2000-p300-oddball-eegnet.yaml as shipped (quick preset, 30 epochs), trained on
  eeg2_1, tested on eeg2_2.
- brainmae: demo-resting-state-brainmae.yaml as shipped (built-in data, no files).
- mindbridge: fmri-recon-mindbridge.yaml (digit69 + miyawaki holdout), 150 -> 60 epochs.

Every run skips the final model and the figures (output.save_model / figures off): only the
evaluation folds are timed. ``training.device`` is the ``--device`` given.

The device machine has no MNE, so the data are loaded once here with the project's own loaders
and saved with `DecodingSet.save` (``--prepare DIR``); with ``--data DIR`` each run's
``load_dataset`` returns that saved set instead of reading the recordings (both sides read the
same arrays). The demo needs no file.

Measured per benchmark: seconds per epoch (median gap between consecutive epoch-end events of
one training, so the first epoch of each training, which holds set-up and on CUDA the kernel
selection, is left out; the mean gap too), the run's own timings, the whole run's wall seconds, the headline metric and every summary metric, and the peak GPU memory
(torch.cuda.max_memory_allocated).

    python tests/benchmarks/bench_gpu.py --prepare .gpu/data          # here, with MNE
    OMP_NUM_THREADS=1 python tests/benchmarks/bench_gpu.py --device cpu --data .gpu/data --out tests/benchmarks/results/gpu_cpu_side.json
    python tests/benchmarks/bench_gpu.py --device cuda --data .gpu/data --out $OUT/gpu_cuda.json
    python tests/benchmarks/bench_gpu.py --compare tests/benchmarks/results/gpu_cpu_side.json GPU_JSON
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
EXPERIMENTS = REPO / "resources" / "experiments"
DATASETS = REPO.parent / "shared" / "datasets"

SHARED = "../shared/datasets/"   # the shipped files' data paths, relative to the repository root

# The experiments, copied from the shipped files of commit 077d759 (resources/experiments/, named
# in "file") with the changes listed in "changes", so that both sides of a comparison run the
# same recipe even when a shipped file changes later. "saved": the --prepare file of its data.
BENCHMARKS = {
    "eegnet-erp": {
        "file": "bci2000-p300-oddball-eegnet.yaml", "changes": "none", "saved": "bci2000-eeg2.npz",
        "headline": "roc_auc",
        "config": {"name": "bci2000-p300-oddball-eegnet",
                   "dataset": {"source": SHARED + "bci2000", "kind": "bci2000", "options": {"paradigm": "erp"},
                               "runs": ["eeg2_1", "eeg2_2"], "window": [0.0, 0.8],
                               "preprocessing": {"band": [0.5, 20.0]}},
                   "decoder": {"name": "eegnet-erp", "preset": "quick", "params": {}},
                   "training": {"seed": 0},
                   "evaluation": {"protocol": "calibration", "train_runs": ["eeg2_1"]}}},
    "mindbridge": {
        "file": "fmri-recon-mindbridge.yaml", "changes": "epochs 150 -> 60", "saved": "fmri-recon.npz",
        "headline": "pixcorr",
        "config": {"name": "fmri-recon-mindbridge",
                   "dataset": {"kind": "stimulus-pairs",
                               "sources": [{"source": SHARED + "fmri-recon/digit69_28x28.mat"},
                                           {"source": SHARED + "fmri-recon/miyawaki_structured_28x28.mat"}],
                               "options": {"image_order": "F", "subject_names": ["digit69", "miyawaki"]}},
                   "decoder": {"name": "mindbridge", "params": {"epochs": 60}},
                   "evaluation": {"protocol": "holdout", "train_range": [0, 197], "test_range": [197, 219]}}},
    "brainmae": {
        "file": "demo-resting-state-brainmae.yaml", "changes": "none", "saved": None, "headline": "roc_auc",
        "config": {"name": "demo-resting-state-brainmae",
                   "dataset": {"source": "demo:resting-state"},
                   "decoder": {"name": "brainmae", "params": {"dim": 32, "depth": 1, "pretrain_epochs": 3,
                                                              "epochs": 10, "lr": 0.001}},
                   "evaluation": {"protocol": "leave-one-site-out"}}},
    "eeg-simpleconv": {
        "file": "eegbci-simpleconv.yaml", "changes": "subject 1 and imagined runs 4/8/12 only (45 trials)",
        "saved": "eegbci-s1-r4-8-12.npz", "headline": "accuracy",
        "config": {"name": "eegbci-simpleconv",
                   "dataset": {"source": "eegbci", "data_path": SHARED + "eegbci", "subjects": [1],
                               "runs": [4, 8, 12], "events": {"T1": "left", "T2": "right"},
                               "window": [0.0, 3.0]},
                   "decoder": {"name": "eeg-simpleconv", "preset": "within-subject", "params": {}},
                   "training": {"seed": 0},
                   "evaluation": {"protocol": "kfold", "n_folds": 5, "within": "subject"}}},
}


def experiment(name: str, device: str) -> dict:
    """The benchmark's experiment dict on ``device``, data paths made absolute, no final model."""
    config = copy.deepcopy(BENCHMARKS[name]["config"])
    for part in [config["dataset"], *config["dataset"].get("sources", [])]:
        for key in ("source", "data_path"):
            if str(part.get(key, "")).startswith(SHARED):
                part[key] = str(DATASETS / part[key][len(SHARED):])
    config.setdefault("training", {})["device"] = device
    config["output"] = {"runs_dir": "runs", "save_model": False, "figures": False}
    return config


def prepare(folder: Path) -> None:
    """Load each benchmark's data with the project's loaders and save it for ``--data``."""
    from data.loading import load_dataset

    folder.mkdir(parents=True, exist_ok=True)
    for name, bench in BENCHMARKS.items():
        saved = bench["saved"]
        if saved is None:
            continue
        spec = dict(experiment(name, "cpu")["dataset"], cache=False)
        data = load_dataset(spec)
        data.save(folder / saved)
        print(f"{name}: {data.X.shape} {data.X.dtype} -> {folder / saved} "
              f"({(folder / saved).stat().st_size / 1e6:.1f} MB)")


@contextmanager
def saved_data(path: Path | None):
    """Within the block, `data.loading.load_dataset` returns the set saved at ``path``."""
    if path is None:
        yield
        return
    import data.loading
    from data.decoding_set import DecodingSet

    if not path.is_file():
        raise SystemExit(f"{path}: no saved data; make it with --prepare {path.parent} where MNE is installed")
    original = data.loading.load_dataset
    data.loading.load_dataset = lambda spec: DecodingSet.load(path)
    try:
        yield
    finally:
        data.loading.load_dataset = original


def epoch_times(events: list) -> dict:
    """Seconds per epoch from the epoch-end events: the gaps between consecutive epochs of one
    training (a training ends where the epoch number stops rising within a fold)."""
    previous: dict = {}   # fold -> (epoch, time) of its last event
    gaps, trainings = [], 0
    for event in events:
        last = previous.get(event.fold)
        if last is None or event.epoch <= last[0]:
            trainings += 1
        else:
            gaps.append(event.time - last[1])
        previous[event.fold] = (event.epoch, event.time)
    return {"n_trainings": trainings, "n_epoch_events": len(events), "n_gaps": len(gaps),
            "seconds_per_epoch_median": statistics.median(gaps) if gaps else None,
            "seconds_per_epoch_mean": statistics.fmean(gaps) if gaps else None}


def run_one(name: str, device: str, data_dir: Path | None) -> dict:
    import torch

    from app.experiment import run_experiment
    from decoders.events import EpochEnd, LogMessage

    config = experiment(name, device)
    saved = BENCHMARKS[name]["saved"]
    events: list = []

    def on_event(event) -> None:
        if isinstance(event, EpochEnd):
            events.append(event)
        elif isinstance(event, LogMessage):
            print(f"  {'' if event.fold is None else f'[fold {event.fold}] '}{event.message}", flush=True)

    on_cuda = device.startswith("cuda")
    if on_cuda:
        torch.cuda.reset_peak_memory_stats()
    with tempfile.TemporaryDirectory() as runs, saved_data(data_dir / saved if data_dir and saved else None):
        t0 = time.perf_counter()
        result = run_experiment(config, on_event=on_event, out_dir=runs)
        wall = time.perf_counter() - t0
        resolved = (Path(result.run_dir) / "config.yaml").read_text(encoding="utf-8")
    metrics = result.metrics
    summary = {k: v["mean"] for k, v in metrics["summary"].items() if isinstance(v, dict) and "mean" in v}
    headline = BENCHMARKS[name]["headline"]
    row = {
        "benchmark": name, "experiment": BENCHMARKS[name]["file"], "changes": BENCHMARKS[name]["changes"],
        "device": metrics["device"], "n_samples": metrics["n_samples"], "protocol": metrics["protocol"],
        "n_folds": len(metrics["folds"]), "wall_seconds": wall,
        "timings": metrics["timings"], **epoch_times(events),
        "headline": headline, "headline_value": summary.get(headline), "summary": summary,
        "peak_gpu_memory_mb": torch.cuda.max_memory_allocated() / 2**20 if on_cuda else None,
        "resolved_config": resolved,
    }
    return row


def table(rows: list[dict]) -> str:
    lines = [f"{'benchmark':<15} {'device':<8} {'s/epoch':>9} {'epochs':>6} {'wall s':>8} {'metric':>16} {'peak MB':>8}"]
    for r in rows:
        spe = r["seconds_per_epoch_median"]
        metric = f"{r['headline']} {r['headline_value']:.3f}" if r["headline_value"] is not None else "-"
        peak = f"{r['peak_gpu_memory_mb']:.0f}" if r["peak_gpu_memory_mb"] is not None else "-"
        lines.append(f"{r['benchmark']:<15} {r['device'][:8]:<8} {spe if spe is None else f'{spe:.4f}':>9} "
                     f"{r['n_epoch_events']:>6} {r['wall_seconds']:>8.1f} {metric:>16} {peak:>8}")
    return "\n".join(lines)


def compare(cpu_file: Path, gpu_file: Path) -> str:
    """Both result files side by side: seconds per epoch, speed-up, headline metric and its change."""
    cpu, gpu = ({r["benchmark"]: r for r in json.loads(f.read_text())["rows"] if "error" not in r}
                for f in (cpu_file, gpu_file))
    lines = [f"{'benchmark':<15} {'CPU s/ep':>9} {'GPU s/ep':>9} {'speed-up':>8} {'CPU wall':>8} {'GPU wall':>8} "
             f"{'metric':<9} {'CPU':>6} {'GPU':>6} {'diff':>7} {'peak MB':>8}"]
    number = lambda v, spec: "-" if v is None else format(v, spec)  # noqa: E731
    for name in [n for n in BENCHMARKS if n in cpu and n in gpu]:
        c, g = cpu[name], gpu[name]
        cs, gs = c["seconds_per_epoch_median"], g["seconds_per_epoch_median"]
        cm, gm = c["headline_value"], g["headline_value"]
        lines.append(f"{name:<15} {number(cs, '.4f'):>9} {number(gs, '.4f'):>9} "
                     f"{number(cs / gs if cs and gs else None, '.1f'):>7}x {c['wall_seconds']:>8.1f} "
                     f"{g['wall_seconds']:>8.1f} {c['headline']:<9} {number(cm, '.3f'):>6} {number(gm, '.3f'):>6} "
                     f"{number(gm - cm if None not in (cm, gm) else None, '+.3f'):>7} "
                     f"{number(g['peak_gpu_memory_mb'], '.0f'):>8}")
    missing = sorted(set(BENCHMARKS) - (set(cpu) & set(gpu)))
    if missing:
        lines.append(f"(not in both files, or failed in one: {', '.join(missing)})")
    return "\n".join(lines)


def environment(device: str) -> dict:
    import torch

    env = {"python": platform.python_version(), "torch": torch.__version__, "machine": platform.machine(),
           "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "device": device,
           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if device.startswith("cuda"):
        env.update(gpu=torch.cuda.get_device_name(), cuda=torch.version.cuda,
                   bf16=torch.cuda.is_bf16_supported())
    return env


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (training.device of every run)")
    parser.add_argument("--data", type=Path, help="folder of the saved data (--prepare); default: read the recordings")
    parser.add_argument("--prepare", type=Path, metavar="DIR", help="save each benchmark's data into DIR and stop")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), help="run only these benchmarks")
    parser.add_argument("--out", type=Path, help="JSON file (default: $OUT/gpu_<device>.json, else results/)")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("CPU_JSON", "GPU_JSON"),
                        help="print the two result files side by side and stop")
    args = parser.parse_args(argv)
    if args.compare:
        print(compare(*args.compare))
        return 0
    if args.prepare:
        prepare(args.prepare)
        return 0
    tag = args.device.replace(":", "")
    out = args.out or (Path(os.environ["OUT"]) if os.environ.get("OUT") else
                       REPO / "tests" / "benchmarks" / "results") / f"gpu_{tag}.json"
    report = {"environment": environment(args.device), "rows": []}
    for name in args.only or list(BENCHMARKS):
        print(f"--- {name} on {args.device}", flush=True)
        try:
            row = run_one(name, args.device, args.data)
        except Exception as exc:  # noqa: BLE001 - one failing benchmark must not lose the others
            import traceback

            traceback.print_exc()
            report["rows"].append({"benchmark": name, "error": f"{type(exc).__name__}: {exc}"})
            continue
        report["rows"].append(row)
        print(table([row]), flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1, default=str))   # after each: a timeout keeps the done ones
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, default=str))
    done = [r for r in report["rows"] if "error" not in r]
    print(table(done))
    print(f"wrote {out}")
    return 0 if len(done) == len(report["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
