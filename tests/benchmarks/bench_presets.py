"""Quick presets (issue 20): every decoder with the preset a user gets by default, on every
built-in demo whose data kind it takes, through the same `run_experiment` as ``neurodeck run``.

The default preset is the one the GUI's Decoder view picks: the first of the class's
``presets`` (none: the parameter defaults). Each demo is run as its own example experiment
(resources/experiments/demo-*.yaml) sets it up: the same dataset section (window, band) and
the same evaluation protocol, with the decoder swapped in. The final model is trained and
saved as ``neurodeck run`` does, so the time is what a user waits. Training runs on the CPU.

Reported per run: wall time, folds, the task's headline metric (mean over folds) and its
chance level: the largest class's share (classification), 0 (regression R^2), PixCorr of
the mean training image (reconstruction), the ROI-mean fill's masked R^2 (pretraining).
The load average before and after each run is recorded, since the machine may be shared.

Timing on a shared machine: besides the wall time, each run's CPU time (user + system, all
threads) is recorded. With torch's default two threads on an overloaded 2-core machine, OpenMP
threads spin against each other (a MindBridge fit took 10x longer than single-threaded), so the
RESULTS.md figures were taken with OMP_NUM_THREADS=1: the CPU time of a single-threaded run is
close to its wall time on an idle core, which bounds the wall time on an idle 2-core machine.

Run from the repository root, niced, as the timings in RESULTS.md were taken:

    OMP_NUM_THREADS=1 nice -n 10 python tests/benchmarks/bench_presets.py
    nice -n 10 python tests/benchmarks/bench_presets.py --decoders eeg-simpleconv --demos demo:motor-imagery
    python tests/benchmarks/bench_presets.py --report-only
    nice -n 10 python tests/benchmarks/bench_presets.py --readme   # the README's quick-start command

Run folders go to tests/benchmarks/runs/presets (git-ignored); the figures to
tests/benchmarks/results/presets.json (rows are merged by decoder and demo).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

EXPERIMENTS = REPO / "resources" / "experiments"
RUNS = REPO / "tests" / "benchmarks" / "runs" / "presets"
RESULTS = REPO / "tests" / "benchmarks" / "results" / "presets.json"
README_COMMAND = ["neurodeck", "run", "resources/experiments/demo-motor-imagery-simpleconv.yaml"]
LIMIT_SECONDS = 180

# each demo as its example experiment sets it up (dataset section and protocol)
DEMO_EXPERIMENTS = {
    "demo:motor-imagery": "demo-motor-imagery-simpleconv.yaml",
    "demo:resting-state": "demo-resting-state-fc-lr.yaml",
    "demo:visual-fmri": "demo-visual-fmri-mindbridge.yaml",
    "demo:center-out": "demo-center-out-kalman.yaml",
}
DEMO_KIND = {"demo:motor-imagery": "trials", "demo:resting-state": "trials",
             "demo:visual-fmri": "volumes", "demo:center-out": "continuous"}
DEMO_MODALITY = {"demo:motor-imagery": "eeg", "demo:resting-state": "fmri-roi",
                 "demo:visual-fmri": "fmri", "demo:center-out": "spikes"}


def default_preset(cls) -> str | None:
    """The preset the GUI's Decoder view applies when a decoder is chosen (first one, if any)."""
    return next(iter(cls.presets), None)


def pairs(decoder_names=None, demo_names=None) -> list[tuple[str, str]]:
    """(decoder, demo) for every decoder and every demo whose data kind, modality and task it takes."""
    import decoders

    out = []
    for entry in decoders.available(load=True):
        cls = entry.load()
        if decoder_names and entry.name not in decoder_names:
            continue
        for demo, kind in DEMO_KIND.items():
            if demo_names and demo not in demo_names:
                continue
            if cls.input_kind != kind:
                continue
            if cls.modalities and DEMO_MODALITY[demo] not in cls.modalities:
                continue   # the class declares the modalities it accepts
            if getattr(cls, "paradigms", ()):
                continue   # ERP decoders take ERP/speller epochs: no demo has them
            # a regressor of trial data needs continuous targets: no trial demo has them
            if kind == "trials" and cls.task.value == "regression":
                continue
            out.append((entry.name, demo))
    return out


def experiment_for(decoder: str, demo: str):
    """The demo's example experiment with ``decoder`` (default preset, no params) swapped in."""
    from app.experiment import load_config, validate_config
    import decoders

    base = load_config(EXPERIMENTS / DEMO_EXPERIMENTS[demo]).model_dump(exclude_unset=True)
    cls = decoders.get(decoder)
    base["name"] = f"presets-{decoder}-{demo.split(':')[1]}"
    base["decoder"] = {"name": decoder, "preset": default_preset(cls), "params": {}}
    base.setdefault("training", {})["device"] = "cpu"
    base["training"].setdefault("seed", 0)
    return validate_config(base)


def chance_level(metrics: dict, data) -> tuple[float | None, str]:
    """(chance, how) for the run's headline metric."""
    import numpy as np

    task = metrics["task"]
    if task == "classification":
        _, counts = np.unique(np.asarray(data.y), return_counts=True)
        return float(counts.max() / counts.sum()), "largest class share"
    if task == "regression":
        return 0.0, "R^2 of the mean"
    if task == "pretraining":
        value = metrics["summary"].get("masked_r2_roi_mean", {}).get("mean")
        return value, "ROI-mean fill"
    if task == "reconstruction":
        from decoders import metrics as m

        images = np.asarray(data.stimuli, dtype=float)
        # the mean of all other images predicted for every image (folds differ per protocol;
        # this no-information guess is close to any fold's training mean)
        others_mean = (images.sum(0)[None] - images) / (len(images) - 1)
        return m.pixcorr(images, others_mean), "mean image"
    return None, ""


def cpu_seconds(children: bool = False) -> float:
    """User + system CPU time of this process (all its threads), or of its finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def run_pair(decoder: str, demo: str) -> dict:
    from app.experiment import run_experiment
    from data.loading import load_dataset

    config = experiment_for(decoder, demo)
    load_before = load_average()
    start, cpu_start = time.time(), cpu_seconds()
    result = run_experiment(config, out_dir=RUNS)
    seconds, cpu = time.time() - start, cpu_seconds() - cpu_start
    metrics = result.metrics
    from decoders.tasks import get_task

    headline = get_task(metrics["task"]).headline
    chance, how = chance_level(metrics, load_dataset(config.dataset))
    ev = config.evaluation.model_dump(exclude_unset=True)
    protocol = metrics["protocol"] + (f" within {ev['within']}" if ev.get("within") else "")
    row = {"decoder": decoder, "demo": demo, "preset": config.decoder.preset, "protocol": protocol,
           "folds": len(metrics["folds"]), "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1),
           "fit_seconds_final": round(metrics["timings"].get("final_fit_seconds", 0.0), 1),
           "metric": headline, "value": metrics["summary"][headline]["mean"],
           "std": metrics["summary"][headline].get("std"), "chance": chance, "chance_is": how,
           "load_before": load_before, "load_after": load_average(), "run_dir": str(result.run_dir)}
    print(f"{decoder:<20} {demo:<20} {row['seconds']:>7.1f} s (CPU {cpu:.1f} s)  {headline} {row['value']:.3f} "
          f"(chance {chance if chance is None else round(chance, 3)})  load {load_before}->{row['load_after']}",
          flush=True)
    return row


def run_file(path: Path) -> dict:
    """An example experiment exactly as shipped (its own decoder settings), on the CPU."""
    from app.experiment import load_config, run_experiment
    from data.loading import load_dataset
    from decoders.tasks import get_task

    config = load_config(path)
    config.training.device = "cpu"
    load_before = load_average()
    start, cpu_start = time.time(), cpu_seconds()
    result = run_experiment(config, out_dir=RUNS)
    seconds, cpu = time.time() - start, cpu_seconds() - cpu_start
    metrics = result.metrics
    headline = get_task(metrics["task"]).headline
    chance, how = chance_level(metrics, load_dataset(config.dataset))
    row = {"file": path.name, "decoder": config.decoder.name, "preset": config.decoder.preset,
           "params": config.decoder.params, "protocol": metrics["protocol"], "folds": len(metrics["folds"]),
           "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1), "metric": headline,
           "value": metrics["summary"][headline]["mean"], "chance": chance, "chance_is": how,
           "load_before": load_before, "load_after": load_average()}
    print(f"{path.name:<45} {seconds:>7.1f} s (CPU {cpu:.1f} s)  {headline} {row['value']:.3f} (chance "
          f"{chance if chance is None else round(chance, 3)})", flush=True)
    return row


def time_readme() -> dict:
    """The README's headless quick start, exactly as written, in a subprocess."""
    load_before = load_average()
    start, cpu_start = time.time(), cpu_seconds(children=True)
    done = subprocess.run(README_COMMAND, cwd=REPO, capture_output=True, text=True)
    seconds, cpu = time.time() - start, cpu_seconds(children=True) - cpu_start
    tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
    row = {"command": " ".join(README_COMMAND), "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1),
           "exit": done.returncode, "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "(default)"),
           "load_before": load_before, "load_after": load_average(), "output_tail": tail}
    print(f"{row['command']}: exit {done.returncode} in {seconds:.1f} s (load {load_before}->{row['load_after']})",
          flush=True)
    for line in tail:
        print("   ", line)
    return row


def table(rows: list[dict]) -> str:
    head = ("| decoder | demo | preset | protocol | folds | wall (s) | CPU (s) | headline | value | chance | "
            "load avg (before/after) |")
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        chance = "n/a" if r["chance"] is None else f"{r['chance']:.3f} ({r['chance_is']})"
        value = "n/a" if r["value"] is None else f"{r['value']:.3f}"
        flag = "" if r.get("cpu_seconds", r["seconds"]) <= LIMIT_SECONDS else " **over 3 min**"
        lines.append(f"| {r['decoder']} | {r['demo']} | {r['preset'] or '(defaults)'} | {r['protocol']} | "
                     f"{r['folds']} | {r['seconds']:.0f} | {r.get('cpu_seconds', float('nan')):.0f}{flag} | {r['metric']} | {value} | {chance} | "
                     f"{r['load_before']} / {r['load_after']} |")
    return "\n".join(lines)


def main() -> None:
    warnings.filterwarnings("ignore")
    import mne

    mne.set_log_level("ERROR")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decoders", nargs="+")
    parser.add_argument("--demos", nargs="+", choices=sorted(DEMO_KIND))
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--readme", action="store_true", help="only time the README's headless command")
    parser.add_argument("--files", nargs="*", metavar="NAME",
                        help="only run the demo-*.yaml example experiments as shipped (all, or these names)")
    args = parser.parse_args()

    saved = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"rows": []}
    rows = {(r["decoder"], r["demo"]): r for r in saved.get("rows", [])}

    def save() -> None:
        saved.update(machine=f"{platform.machine()} {platform.system()}, {os.cpu_count()} cores, cpu",
                     omp_num_threads=os.environ.get("OMP_NUM_THREADS", "(default)"),
                     date=time.strftime("%Y-%m-%d"),
                     rows=sorted(rows.values(), key=lambda r: (r["demo"], r["decoder"])))
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(saved, indent=1, default=str) + "\n")

    if args.readme:
        row = time_readme()
        saved.setdefault("readme", {})[row["omp_num_threads"]] = row   # one row per thread setting
    elif args.files is not None:
        files = saved.setdefault("files", {})
        for path in sorted(EXPERIMENTS.glob("demo-*.yaml")):
            if not args.files or path.name in args.files or path.stem in args.files:
                files[path.name] = run_file(path)
                save()
    elif not args.report_only:
        for decoder, demo in pairs(args.decoders, args.demos):
            try:
                rows[(decoder, demo)] = run_pair(decoder, demo)
            except Exception as exc:  # a failure is a result too: report it, go on
                print(f"{decoder} on {demo}: FAILED {type(exc).__name__}: {exc}", flush=True)
                rows[(decoder, demo)] = {"decoder": decoder, "demo": demo, "failed": f"{type(exc).__name__}: {exc}"}
            save()   # after every run: an interrupted benchmark keeps what it measured
    save()
    done = [r for r in saved["rows"] if "failed" not in r]
    print(table(done))
    for r in saved["rows"]:
        if "failed" in r:
            print(f"FAILED {r['decoder']} on {r['demo']}: {r['failed']}")
    for r in saved.get("files", {}).values():
        print(f"{r['file']}: {r['decoder']} ({r['preset'] or 'defaults'}, {r['params'] or 'no params'}), "
              f"{r['protocol']} {r['folds']} folds, wall {r['seconds']:.0f} s, CPU {r['cpu_seconds']:.0f} s, "
              f"{r['metric']} {r['value']:.3f} (chance {r['chance']})")
    for r in saved.get("readme", {}).values():
        print(f"README: `{r['command']}` (OMP_NUM_THREADS {r.get('omp_num_threads')}) exit {r['exit']}, "
              f"wall {r['seconds']:.0f} s, CPU {r.get('cpu_seconds', float('nan')):.0f} s, "
              f"load {r['load_before']} / {r['load_after']}" + (f"; {r['note']}" if r.get("note") else ""))


if __name__ == "__main__":
    main()
