"""EEG-SimpleConv recipes against tangent space + LR on EEGBCI left/right (issue 23, item 1).

Every arm is a shipped experiment file run through `app.experiment.run_experiment`, as
`neurodeck run` runs it, with only the decoder's seed (``decoder.params.seed``) and, for the
arms that measure an alternative, a few decoder parameters changed. ``training.seed`` stays 0,
so the test folds are the same 15 within-subject folds (StratifiedKFold(5, shuffle,
random_state=0) inside subjects 1-3) in every arm and every seed; the script checks that from
predictions.csv.

    python tests/benchmarks/bench_simpleconv_recipes.py                       # all arms, seeds 0,1,2
    python tests/benchmarks/bench_simpleconv_recipes.py --arms within-auto --seeds 0
    python tests/benchmarks/bench_simpleconv_recipes.py --device cuda         # on a GPU machine
    python tests/benchmarks/bench_simpleconv_recipes.py --report-only
    python tests/benchmarks/bench_simpleconv_recipes.py --arms finetune-shipped --posthoc-branch 0.5

Tangent-space branch (``tangent_weight``): the ``-ts`` arms run the decoder with the branch
through `run_experiment`. ``--posthoc-branch W`` adds, for every network-only arm measured,
the row the branch at weight W would give: the same `TangentBranch` the decoder fits (on the
test subject's training trials of each fold, the broadband trials the network sees), averaged
with the network's saved probabilities (predictions.csv, 6 decimals). The branch is
deterministic, so this equals running the decoder with the branch up to that rounding; the
``-ts`` arms check it fold by fold (``posthoc_check`` in the JSON).

Run folders go to tests/benchmarks/runs/simpleconv_recipes/<arm>/seed-<n> (git-ignored); an
interrupted run resumes from its finished folds. The table goes to stdout and the JSON to
tests/benchmarks/results/simpleconv_recipes.json (or --json).
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

RUNS = REPO / "tests" / "benchmarks" / "runs" / "simpleconv_recipes"
RESULTS = REPO / "tests" / "benchmarks" / "results" / "simpleconv_recipes.json"
BASELINE = "tangent-space"

# arm -> (experiment file stem, decoder parameter overrides, whether the decoder has a seed)
ARMS: dict[str, tuple[str, dict, bool]] = {
    BASELINE: ("eegbci-tangent-space", {}, False),
    # the networks of the shipped files (tangent_weight 0: no tangent-space branch). within-shipped is
    # eegbci-simpleconv.yaml as shipped before 2026-12-05 (published within-subject preset, auto recipe)
    "within-shipped": ("eegbci-simpleconv", {"preset": "within-subject", "recipe": "auto", "val_fraction": 0.2,
                                             "tangent_weight": 0.0}, True),
    "finetune-shipped": ("eegbci-finetune", {"tangent_weight": 0.0}, True),
    # issue 23 candidates (quick network, auto recipe -> 8-30 Hz band below 300 trials); both lost
    "within-pooled": ("eegbci-simpleconv", {"preset": "quick", "protocol": "finetune", "recipe": "auto",
                                            "val_fraction": 0.0, "fine_tune_mode": "pooled",
                                            "tangent_weight": 0.0}, True),
    "finetune": ("eegbci-finetune", {"preset": "quick", "recipe": "auto", "val_fraction": 0.0,
                                     "fine_tune_mode": "continue", "batch_size": 16, "tangent_weight": 0.0}, True),
    # issue 23, 2026-12-05: within subject with the quick net (auto -> 8-30 Hz below 300 trials),
    # and the tangent-space branch at the a-priori weight 0.5 on the quick and shipped recipes
    "within-quick": ("eegbci-simpleconv", {"preset": "quick", "recipe": "auto", "val_fraction": 0.0,
                                           "tangent_weight": 0.0}, True),
    "within-quick-ts": ("eegbci-simpleconv", {"preset": "quick", "recipe": "auto", "val_fraction": 0.0,
                                              "tangent_weight": 0.5}, True),
    "within-shipped-ts": ("eegbci-simpleconv", {"preset": "within-subject", "recipe": "auto", "val_fraction": 0.2,
                                                "tangent_weight": 0.5}, True),
    "finetune-shipped-ts": ("eegbci-finetune", {"tangent_weight": 0.5}, True),
    # issue 23, 2026-12-06: the continuous recording band-passed 8-30 Hz before epoching (as
    # eegbci-tangent-space.yaml does), so the branch takes the baseline's own trials (no per-trial
    # filter: tangent_band_hz null) and the network sees them too (auto recipe filters again)
    "within-quick-cb-ts": ("eegbci-simpleconv", {"dataset_band": [8.0, 30.0], "preset": "quick", "recipe": "auto",
                                                 "val_fraction": 0.0, "tangent_weight": 0.5,
                                                 "tangent_band_hz": None}, True),
    "within-quick-cb": ("eegbci-simpleconv", {"dataset_band": [8.0, 30.0], "preset": "quick", "recipe": "auto",
                                              "val_fraction": 0.0, "tangent_weight": 0.0}, True),
    "finetune-shipped-cb-ts": ("eegbci-finetune", {"dataset_band": [8.0, 30.0], "tangent_weight": 0.5,
                                                   "tangent_band_hz": None}, True),
}
# the network-only arm each -ts arm adds the branch to (for the post-hoc check)
NET_ONLY = {"within-quick-ts": "within-quick", "within-shipped-ts": "within-shipped",
            "finetune-shipped-ts": "finetune-shipped"}


def run_arm(arm: str, seed: int, runs_dir: Path, device: str) -> Path:
    """Run one arm with one decoder seed; returns the run folder."""
    from app.experiment import load_config, run_experiment
    from decoders.events import FoldEnd

    stem, overrides, seeded = ARMS[arm]
    config = load_config(REPO / "resources" / "experiments" / f"{stem}.yaml")
    config.output.save_model = False
    config.training.device = device
    params = {k: v for k, v in config.decoder.params.items() if k != "batch_size" or "preset" not in overrides}
    overrides = dict(overrides)
    if "preset" in overrides:
        config.decoder.preset = overrides.pop("preset")
    if "protocol" in overrides:
        config.evaluation.protocol = overrides.pop("protocol")
    if "dataset_band" in overrides:
        config.dataset.preprocessing.band = tuple(overrides.pop("dataset_band"))
    params.update(overrides)
    if seeded:
        params["seed"] = seed
    config.decoder.params = params

    def show(event):
        if isinstance(event, FoldEnd):
            print(f"  [{arm} seed {seed}] fold {event.fold:>2} {event.label}: "
                  f"accuracy {event.metrics['accuracy']:.3f}", flush=True)

    start = time.time()
    result = run_experiment(config, on_event=show, out_dir=runs_dir / arm / f"seed-{seed}")
    print(f"{arm} seed {seed}: accuracy {result.metrics['summary']['accuracy']['mean']:.3f} "
          f"in {time.time() - start:.0f} s -> {result.run_dir}", flush=True)
    return result.run_dir


def latest_run(folder: Path) -> Path | None:
    from app.workspace import list_runs

    runs = list_runs(folder)
    return runs[0].path if runs else None


def fold_accuracies(run_dir: Path) -> tuple[list[float], dict[int, list[int]], dict]:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    folds: dict[int, list[int]] = {}
    with open(run_dir / "predictions.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            folds.setdefault(int(row["fold"]), []).append(int(row["index"]))
    return [f["accuracy"] for f in metrics["folds"]], {k: sorted(v) for k, v in folds.items()}, metrics


def report(runs_dir: Path, arms: list[str], seeds: list[int], out_json: Path,
           posthoc_weight: float | None = None) -> dict:
    import numpy as np

    rows, reference_folds, baseline_acc = [], None, None
    branch = BranchProbabilities() if posthoc_weight is not None else None
    for arm in [BASELINE] + [a for a in arms if a != BASELINE]:
        per_seed = {}
        for seed in (seeds if ARMS[arm][2] else [0]):
            run = latest_run(runs_dir / arm / f"seed-{seed}")
            if run is None:
                continue
            acc, folds, metrics = fold_accuracies(run)
            if reference_folds is None:
                reference_folds = folds
            subjects = [f.get("subject") for f in metrics["folds"]]
            per_seed[seed] = {"fold_accuracy": acc, "mean": float(np.mean(acc)), "subjects": subjects,
                              "same_folds": folds == reference_folds, "run": str(run.relative_to(REPO))
                              if run.is_relative_to(REPO) else str(run),
                              "recipe": recipe_lines(run), "device": metrics["device"],
                              "total_seconds": metrics["timings"].get("total_seconds")}
            if branch is not None and arm in NET_ONLY:
                net_run = latest_run(runs_dir / NET_ONLY[arm] / f"seed-{seed}")
                if net_run is not None:
                    per_seed[seed]["posthoc_check"] = branch.check(run, net_run, ARMS[arm][1]["tangent_weight"])
        if not per_seed:
            continue
        baseline_acc = add_row(rows, arm, per_seed, baseline_acc)
        if branch is not None and arm != BASELINE and not ARMS[arm][1].get("tangent_weight"):
            for weight, name in ((posthoc_weight, f"{arm}+ts{posthoc_weight:g}"), (1.0, f"{arm}:branch-only")):
                blended = {seed: {**{k: v for k, v in s.items() if k not in ("recipe", "total_seconds")},
                                  **branch.blended(REPO / s["run"] if not Path(s["run"]).is_absolute()
                                                   else Path(s["run"]), weight)}
                           for seed, s in per_seed.items()}
                add_row(rows, name, blended, baseline_acc, experiment=ARMS[arm][0],
                        overrides={**ARMS[arm][1], "tangent_weight (post hoc)": weight})
    print_table(rows)
    out = {"benchmark": "EEG-SimpleConv recipes vs tangent space + LR, EEGBCI S1-3 left/right, "
                        "15 within-subject folds (issue 23 item 1)",
           "date": time.strftime("%Y-%m-%d"), "seeds": seeds,
           "command": "python tests/benchmarks/bench_simpleconv_recipes.py " + " ".join(sys.argv[1:]), "rows": rows}
    out_json.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_json.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, indent=2) + "\n")
    tmp.replace(out_json)
    return out


def add_row(rows: list[dict], arm: str, per_seed: dict, baseline_acc, *, experiment=None, overrides=None):
    """Summarise one arm's seeds into ``rows`` (paired against tangent space); returns the baseline's folds."""
    import numpy as np
    from scipy.stats import wilcoxon

    fold_mean = np.mean([s["fold_accuracy"] for s in per_seed.values()], axis=0)
    subjects = next(iter(per_seed.values()))["subjects"]
    by_subject = {str(s): float(np.mean([a for a, t in zip(fold_mean, subjects) if t == s]))
                  for s in dict.fromkeys(subjects)}
    row = {"arm": arm, "experiment": experiment or ARMS[arm][0], "overrides": overrides or ARMS[arm][1],
           "seeds": sorted(per_seed),
           "mean": float(np.mean([s["mean"] for s in per_seed.values()])),
           "seed_means": {str(k): v["mean"] for k, v in per_seed.items()},
           "by_subject": by_subject, "fold_accuracy_seed_mean": fold_mean.tolist(),
           "same_folds_everywhere": all(s["same_folds"] for s in per_seed.values()), "per_seed": per_seed}
    if arm == BASELINE:
        baseline_acc = fold_mean
    elif baseline_acc is not None and len(fold_mean) == len(baseline_acc):
        diff = fold_mean - baseline_acc
        row["vs_tangent_space"] = {
            "mean_difference": float(diff.mean()), "better": int((diff > 1e-9).sum()),
            "worse": int((diff < -1e-9).sum()), "tied": int((abs(diff) <= 1e-9).sum()),
            "wilcoxon_p": float(wilcoxon(diff).pvalue) if np.any(diff != 0) else 1.0}
    rows.append(row)
    return baseline_acc


class BranchProbabilities:
    """The decoder's tangent-space branch refitted per fold, and network probabilities blended with it."""

    def __init__(self):
        from app.experiment import load_config
        from data.loading import load_dataset

        config = load_config(REPO / "resources" / "experiments" / "eegbci-finetune.yaml")
        self.data = load_dataset(config.dataset)   # the broadband trials the network sees
        self.X = self.data.X.astype("float32")     # as the decoder's input check casts them
        self.cache: dict[tuple, "object"] = {}

    def fold_proba(self, test_index: tuple[int, ...]):
        """Branch probabilities on a fold's test trials, fitted on the rest of that subject's trials."""
        import numpy as np

        from decoders.simpleconv_tangent import TangentBranch

        if test_index not in self.cache:
            test = np.asarray(test_index)
            subject = self.data.subject[test[0]]
            train = np.setdiff1d(np.flatnonzero(self.data.subject == subject), test)
            branch = TangentBranch(float(self.data.sfreq), (8.0, 30.0)).fit(self.X[train], self.data.y[train])
            self.cache[test_index] = branch.proba(self.X[test])
        return self.cache[test_index]

    def blended(self, run: Path, weight: float) -> dict:
        """Fold accuracies of the run's network probabilities averaged with the branch at ``weight``."""
        import numpy as np

        acc = []
        for test, truth, net, classes in fold_probabilities(run):
            proba = (1 - weight) * net + weight * self.fold_proba(tuple(test))
            acc.append(float(np.mean(classes[proba.argmax(1)] == truth)))
        return {"fold_accuracy": acc, "mean": float(np.mean(acc)), "posthoc_weight": weight}

    def check(self, branch_run: Path, net_run: Path, weight: float) -> dict:
        """The -ts run's probabilities against the post-hoc blend of the network-only run (same seed)."""
        import numpy as np

        diffs, agree, n = [], 0, 0
        for (test, _, got, _), (test2, _, net, _) in zip(fold_probabilities(branch_run), fold_probabilities(net_run)):
            assert list(test) == list(test2)
            expected = (1 - weight) * net + weight * self.fold_proba(tuple(test))
            diffs.append(float(np.abs(got - expected).max()))
            agree += int((got.argmax(1) == expected.argmax(1)).sum())
            n += len(test)
        return {"max_abs_difference": max(diffs), "same_predictions": f"{agree}/{n}"}


def fold_probabilities(run: Path):
    """(test indices, true labels, probabilities, class order) per fold, from predictions.csv."""
    import numpy as np

    with open(run / "predictions.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    columns = [c for c in rows[0] if c.startswith("p_")]
    classes = np.array([c[2:] for c in columns])
    for fold in sorted({int(r["fold"]) for r in rows}):
        part = [r for r in rows if int(r["fold"]) == fold]
        yield (np.array([int(r["index"]) for r in part]), np.array([r["true"] for r in part]),
               np.array([[float(r[c]) for c in columns] for r in part]), classes)


def recipe_lines(run: Path) -> list[str]:
    """The lines of the run's log where the decoder states the recipe it chose."""
    log = run / "log.txt"
    if not log.exists():
        return []
    return sorted({line.split("] ", 1)[-1].strip() for line in log.read_text().splitlines() if "recipe" in line})


def print_table(rows: list[dict]) -> None:
    print(f"\n{'arm':<28} {'mean':>6}  {'S1':>5} {'S2':>5} {'S3':>5}  {'per seed':<24} {'vs TS':>7} "
          f"{'b/w/t':>8} {'p':>5}  same folds")
    for r in rows:
        seeds = " ".join(f"{v:.3f}" for v in r["seed_means"].values())
        c = r.get("vs_tangent_space")
        cmp = (f"{c['mean_difference']:+7.3f} {c['better']:>2}/{c['worse']}/{c['tied']:<3} {c['wilcoxon_p']:5.2f}"
               if c else f"{'':>7} {'':>8} {'':>5}")
        subj = " ".join(f"{r['by_subject'].get(s, float('nan')):5.3f}" for s in ("1", "2", "3"))
        print(f"{r['arm']:<28} {r['mean']:6.3f}  {subj}  {seeds:<24} {cmp}  {r['same_folds_everywhere']}")
    print("\nvs TS: mean over folds of (seed-mean fold accuracy - tangent space's), b/w/t = better / worse / "
          "tied folds, p = Wilcoxon signed-rank over the 15 folds.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated subset of {', '.join(ARMS)}")
    parser.add_argument("--seeds", default="0,1,2", help="decoder seeds (the folds do not change)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto")
    parser.add_argument("--runs-dir", type=Path, default=RUNS)
    parser.add_argument("--json", type=Path, default=RESULTS)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--posthoc-branch", type=float, default=None, metavar="W",
                        help="also report each network-only arm averaged with the tangent-space branch at weight W")
    args = parser.parse_args()
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        parser.error(f"unknown arm(s) {unknown}; choose from {', '.join(ARMS)}")
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    if not args.report_only:
        if BASELINE not in arms and latest_run(args.runs_dir / BASELINE / "seed-0") is None:
            arms = [BASELINE] + arms   # the comparison needs it (seconds)
        for arm in arms:
            for seed in (seeds if ARMS[arm][2] else [0]):
                run_arm(arm, seed, args.runs_dir, args.device)
    report(args.runs_dir, arms, seeds, args.json, args.posthoc_branch)


if __name__ == "__main__":
    main()
