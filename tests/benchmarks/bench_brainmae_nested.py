"""The BrainMAE encoder variant chosen inside each leave-one-site-out training set (issue 23 item 3).

    python tests/benchmarks/bench_brainmae_nested.py [--seed 0] [--inner-folds 3]

The ABIDE pretrained-per-fold example uses the static-graph encoder, which was picked by
comparing variants on the outer leave-one-site-out folds. This benchmark repeats that choice
without the test site: for each outer fold, the six training sites are split into
``--inner-folds`` groups of sites (GroupKFold); for each variant, each group is held out in turn
while an encoder is pretrained on the others' series and fine-tuned on their labels (the
example's recipe: 20 pretraining epochs, 2 windows per subject, 8 fine-tuning epochs), and the
variant with the higher pooled inner accuracy is chosen (ties: region-aware, the decoder's
default). The outer accuracy of the chosen variant is read from the per-fold results of
``bench_brainmae.py --pretrained-probes --finetune-only`` for the same seed (same folds, same
code, one thread; region-aware: results/bench_brainmae_compare_pretrained-e20-w2[-seedN]-finetune.json,
static-graph: ...-static-graph[-seedN]-finetune.json), so the nested figure costs only the
inner fits. Writes results/bench_brainmae_nested_variant[-seedN].json.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_brainmae import DATA, NETWORK, RESULTS, _machine, load_roi_folder, pretrain_encoder  # noqa: E402

VARIANTS = ("region-aware", "static-graph")   # the first wins ties (the decoder's default)
PRETRAIN_EPOCHS, WINDOWS, FINETUNE_EPOCHS = 20, 2, 8


def inner_accuracy(d, train_index: np.ndarray, network: dict, inner_folds: int) -> float:
    """Pooled accuracy over held-out groups of training sites: pretrain + fine-tune on the rest."""
    import decoders
    from sklearn.model_selection import GroupKFold

    correct = 0
    for fit_rows, val_rows in GroupKFold(inner_folds).split(train_index, groups=d.session[train_index]):
        fit_idx, val_idx = train_index[fit_rows], train_index[val_rows]
        with tempfile.TemporaryDirectory() as tmp:
            pretrain_encoder(d, fit_idx, network, PRETRAIN_EPOCHS, Path(tmp) / "encoder")
            model = decoders.create("brainmae", dict(network, encoder=str(Path(tmp) / "encoder"), head="network",
                                                     epochs=FINETUNE_EPOCHS, lr=1e-3))
            model.fit(d.X[fit_idx], d.y[fit_idx], tr=d.tr[fit_idx], session=d.session[fit_idx])
            correct += int((model.predict(d.X[val_idx], tr=d.tr[val_idx]) == d.y[val_idx]).sum())
    return correct / len(train_index)


def outer_results(seed: int) -> dict[str, dict]:
    suffix = f"-seed{seed}" if seed else ""
    files = {"region-aware": f"bench_brainmae_compare_pretrained-e20-w2{suffix}-finetune.json",
             "static-graph": f"bench_brainmae_compare_pretrained-e20-w2-static-graph{suffix}-finetune.json"}
    missing = [f for f in files.values() if not (RESULTS / f).exists()]
    if missing:
        sys.exit(f"run bench_brainmae.py --pretrained-probes --finetune-only for seed {seed} first: {missing}")
    return {v: json.loads((RESULTS / f).read_text()) for v, f in files.items()}


def main() -> None:
    from decoders.evaluation import make_splits

    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--inner-folds", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(1)
    outer = outer_results(a.seed)
    d = load_roi_folder(DATA)
    per_site, start = {}, time.perf_counter()
    for split in make_splits(d, "leave-one-site-out"):
        site = str(d.session[split.test[0]])
        inner = {v: inner_accuracy(d, np.asarray(split.train), dict(NETWORK, windows_per_subject=WINDOWS,
                                                                     seed=a.seed, variant=v), a.inner_folds)
                 for v in VARIANTS}
        chosen = max(VARIANTS, key=lambda v: (inner[v], -VARIANTS.index(v)))
        per_site[site] = {"inner_accuracy": inner, "chosen": chosen,
                          "outer_accuracy": {v: outer[v]["per_site"][site]["accuracy"] for v in VARIANTS},
                          "n": outer[chosen]["n"][site]}
        print(f"{site}: inner {', '.join(f'{v} {s:.3f}' for v, s in inner.items())} -> {chosen}; outer "
              f"accuracy {per_site[site]['outer_accuracy'][chosen]:.3f} ({time.perf_counter() - start:.0f} s)",
              flush=True)
    nested = float(np.mean([r["outer_accuracy"][r["chosen"]] for r in per_site.values()]))
    out = {"benchmark": "BrainMAE encoder variant chosen by inner grouped-site validation, ABIDE LOSO",
           "date": time.strftime("%Y-%m-%d"), "seed": a.seed, "inner_folds": a.inner_folds,
           "command": "python tests/benchmarks/bench_brainmae_nested.py " + " ".join(sys.argv[1:]),
           "per_site": per_site, "nested_mean_accuracy": nested,
           "mean_accuracy": {v: outer[v]["mean_accuracy"] for v in VARIANTS},
           "seconds": time.perf_counter() - start, "machine": _machine("cpu")}
    print(f"nested (variant chosen per fold) mean over sites {nested:.3f}; fixed: "
          + ", ".join(f"{v} {outer[v]['mean_accuracy']:.3f}" for v in VARIANTS))
    name = f"bench_brainmae_nested_variant{f'-seed{a.seed}' if a.seed else ''}.json"
    (RESULTS / name).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
