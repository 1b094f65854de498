"""Same seeds, same results: per-fold metrics of small fixed-seed experiments, to compare
two versions of the code (e.g. before and after a refactor of the decoders).

Runs, through `app.experiment.run_experiment` on CPU: EEG-SimpleConv (3 epochs) and the
Kalman filter and neural-f DKF (3 epochs) on the built-in demos, 2 folds; EEG-SimpleConv
(within-subject preset, 10 epochs) and CSP+LDA on EEGBCI subject 1, 3 folds.

    python tests/benchmarks/bench_same_seeds.py                  # this tree
    git archive <commit> | tar -x -C /tmp/old && python tests/benchmarks/bench_same_seeds.py --root /tmp/old
Writes tests/benchmarks/results/same_seeds[-<label>].json (--label) and prints a table.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[2]


def _configs(root: Path, datasets: Path) -> dict[str, dict]:
    import yaml

    out = {}
    mi = yaml.safe_load((root / "resources/experiments/demo-motor-imagery-simpleconv.yaml").read_text())
    mi["evaluation"]["n_folds"] = 2
    mi["decoder"]["params"] = {"epochs": 3}
    mi["training"]["device"] = "cpu"
    out["demo-mi eeg-simpleconv"] = mi
    co = yaml.safe_load((root / "resources/experiments/demo-center-out-kalman.yaml").read_text())
    co["evaluation"]["n_folds"] = 2
    out["demo-center-out kalman"] = co
    out["demo-center-out dkf neural"] = {**co, "decoder": {"name": "dkf", "params": {"f": "neural", "epochs": 3}}}
    for name, params, preset in [("eeg-simpleconv", {"epochs": 10}, "within-subject"), ("csp-lda", {}, None)]:
        c = yaml.safe_load((root / "resources/experiments/eegbci-csp-lda.yaml").read_text())
        c["dataset"].update(subjects=[1], data_path=str(datasets / "eegbci"))
        c["decoder"] = {"name": name, "params": params, **({"preset": preset} if preset else {})}
        c["training"]["device"] = "cpu"
        c["evaluation"] = {"protocol": "kfold", "n_folds": 3, "within": "subject"}
        out[f"eegbci-S1 {name}"] = c
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=Path, default=HERE, help="repository tree to run (default: this one)")
    parser.add_argument("--label", default="", help="suffix of the JSON file")
    args = parser.parse_args()
    root = args.root.resolve()
    sys.path.insert(0, str(root))
    import torch

    torch.set_num_threads(1)
    from app.experiment import run_experiment

    results = {}
    with tempfile.TemporaryDirectory() as runs:
        for key, config in _configs(root, HERE.parent / "shared" / "datasets").items():
            config["output"] = {"runs_dir": runs, "save_model": False, "figures": False}
            metrics = run_experiment(config).metrics
            head = "accuracy" if "accuracy" in metrics["summary"] else "r2"
            results[key] = {"metric": head, "folds": [f[head] for f in metrics["folds"]],
                            "mean": metrics["summary"][head]["mean"]}
            print(f"{key:32s} {head:8s} mean {results[key]['mean']:.6f}  folds "
                  + " ".join(f"{v:.6f}" for v in results[key]["folds"]), flush=True)
    name = "same_seeds" + (f"-{args.label}" if args.label else "")
    out = HERE / "tests/benchmarks/results" / f"{name}.json"
    out.write_text(json.dumps({"root": str(root), "results": results}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
