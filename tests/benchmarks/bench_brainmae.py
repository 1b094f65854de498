"""BrainMAE on ABIDE CC200 (489 subjects, seven sites; TR per site from the ABIDE table).

    python tests/benchmarks/bench_brainmae.py --pretrain [--held-out OHSU] [--epochs 20] [--device cpu]
    python tests/benchmarks/bench_brainmae.py --compare --arm pretrained|scratch|fc-lr|tangent-fc-lr
    python tests/benchmarks/bench_brainmae.py --compare --arm scratch-w2 --variant static-graph [--dim 64 --depth 2] [--seed 1]
    python tests/benchmarks/bench_brainmae.py --pretrained-probes [--pretrain-epochs 20] [--windows-per-subject 2] [--seed 0] [--finetune-only] [--variant static-graph] [--dim 64 --depth 2]
    python tests/benchmarks/bench_brainmae.py --table

``--pretrain``: brainmae-pretrain on the six other sites (no labels), masked-segment R^2 of
the held-out site's subjects against the ROI-mean fill and linear interpolation; pretraining
throughput (windows and ROI segments per second), peak memory, run time.

``--compare``: autism / control, leave-one-site-out over the seven sites through the same
evaluation as ``neurodeck run`` (identical folds for every arm): BrainMAE pretrained in each
fold on its six training sites only (labels unused) then fine-tuned, the same network from
scratch, FC + LR and tangent space + LR. Per site accuracy, balanced accuracy and ROC AUC,
their mean over sites and subject-weighted, and the pooled figures over all predictions.
Each arm writes results/bench_brainmae_compare_<arm>.json (arms can run as separate
processes); ``--table`` prints them side by side. ``--pretrained-probes``: one pretraining per
fold, then the fine-tune and frozen-encoder (``head: logistic``) arms on it (see
`compare_pretrained`).
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from data.fmri.roi_series import load_roi_folder  # noqa: E402
from decoders import metrics  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets" / "abide-cc200"
RESULTS = ROOT / "tests" / "benchmarks" / "results"
NETWORK = dict(dim=32, depth=1)
ARMS = {
    "pretrained": ("brainmae", dict(NETWORK, pretrain_epochs=20, epochs=8, lr=1e-3)),
    "scratch": ("brainmae", dict(NETWORK, pretrain_epochs=0, epochs=8, lr=1e-3)),
    # issue 23 item 3: 2 random windows per subject per epoch (~4.7x fewer steps), then also
    # without attention dropout (its mask is ~1/4 of a region-aware step on CPU)
    "scratch-w2": ("brainmae", dict(NETWORK, pretrain_epochs=0, epochs=8, lr=1e-3, windows_per_subject=2)),
    "scratch-w2-seed1": ("brainmae", dict(NETWORK, pretrain_epochs=0, epochs=8, lr=1e-3, windows_per_subject=2,
                                          seed=1)),   # the seed's share of the differences
    "scratch-w2-ad0": ("brainmae", dict(NETWORK, pretrain_epochs=0, epochs=8, lr=1e-3, windows_per_subject=2,
                                        attention_dropout=0.0)),
    "fc-lr": ("fc-lr", {}),
    "tangent-fc-lr": ("tangent-fc-lr", {}),
}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _machine(device: str) -> str:
    gpu = f", {torch.cuda.get_device_name(0)}" if device.startswith("cuda") else ""
    return f"{platform.machine()} {torch.get_num_threads()} threads{gpu}"


def bench_pretrain(held_out: str, epochs: int, device: str) -> dict:
    from decoders.brainmae.pretrain import BrainMAEPretrain
    from decoders.tasks import pretraining_test

    d = load_roi_folder(DATA)
    test = d.session == held_out
    model = BrainMAEPretrain(**NETWORK, epochs=epochs, val_fraction=0, device=device)
    W, _ = model._windows(d.X[~test], d.tr[~test])
    start = time.perf_counter()
    model.fit(d.X[~test], tr=d.tr[~test], subject=d.subject[~test])
    seconds = time.perf_counter() - start
    scores, _ = pretraining_test(model, d, np.flatnonzero(test))
    out = {"held_out_site": held_out, "device": device, "machine": _machine(device), "epochs": epochs,
           "n_train_subjects": int((~test).sum()), "n_windows": len(W),
           "window": f"{W.shape[1]} ROIs x {W.shape[2]} segments of 15 s ({W.shape[3]} samples)",
           "seconds": seconds, "windows_per_s": len(W) * epochs / seconds,
           "roi_segments_per_s": len(W) * W.shape[1] * W.shape[2] * epochs / seconds,
           "peak_rss_mb": _peak_mb(), "losses": [h["train_loss"] for h in model.history_], "masked_r2": scores}
    if device.startswith("cuda"):
        out["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    print(f"held-out {held_out}: masked-segment R^2 BrainMAE {scores['masked_r2']:.3f}, ROI mean "
          f"{scores['masked_r2_roi_mean']:.3f}, linear {scores['masked_r2_linear']:.3f}")
    print(f"pretraining {out['windows_per_s']:.1f} windows/s ({out['roi_segments_per_s']:.0f} ROI segments/s), "
          f"{seconds:.0f} s for {epochs} epochs, peak RSS {out['peak_rss_mb']:.0f} MB")
    (RESULTS / f"bench_brainmae_pretrain_{device.split(':')[0]}.json").write_text(json.dumps(out, indent=2))
    return out


DEFAULT_NETWORK = dict(variant="region-aware", seed=0, **NETWORK)


def network_tag(**network) -> str:
    """Suffix naming an arm's departures from DEFAULT_NETWORK (empty for the default)."""
    n = dict(DEFAULT_NETWORK, **network)
    return ("" if n["variant"] == "region-aware" else f"-{n['variant']}") + (
        "" if (n["dim"], n["depth"]) == (NETWORK["dim"], NETWORK["depth"]) else f"-d{n['dim']}x{n['depth']}") + (
        f"-seed{n['seed']}" if n["seed"] else "")


def compare(arm: str, **network) -> dict:
    """One arm on the leave-one-site-out folds; ``network`` (variant, dim, depth, seed) values other
    than DEFAULT_NETWORK's override a BrainMAE arm's network and are named in the result's arm."""
    import decoders
    from decoders.evaluation import evaluate

    torch.set_num_threads(1)
    d = load_roi_folder(DATA)
    name, params = ARMS[arm]
    changed = {k: v for k, v in network.items() if v != DEFAULT_NETWORK[k]}
    if name == "brainmae" and changed:
        params = dict(params, **changed)
        arm = arm + network_tag(**changed)
    start, cpu_start = time.perf_counter(), time.process_time()
    result = evaluate(d, lambda: decoders.create(name, params), "leave-one-site-out")
    per_site, n = {}, {}
    for f in result.folds:
        site = str(d.session[f.test_index[0]])
        per_site[site] = {k: float(f.metrics[k]) for k in ("accuracy", "balanced_accuracy", "roc_auc")}
        per_site[site]["seconds"] = f.fit_seconds
        n[site] = len(f.test_index)
    y_true = np.concatenate([f.y_true for f in result.folds])
    pooled = metrics.classification(y_true, np.concatenate([f.y_pred for f in result.folds]),
                                    proba=np.concatenate([f.proba for f in result.folds]))
    acc = np.array([per_site[s]["accuracy"] for s in per_site])
    out = {"arm": arm, "decoder": name, "params": params, "per_site": per_site, "n": n,
           "mean_accuracy": float(acc.mean()),
           "subject_weighted_accuracy": float(np.average(acc, weights=[n[s] for s in per_site])),
           "mean_roc_auc": float(np.mean([per_site[s]["roc_auc"] for s in per_site])),
           "pooled": {k: float(pooled[k]) for k in ("accuracy", "balanced_accuracy", "roc_auc")},
           "seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu_start,
           "peak_rss_mb": _peak_mb(), "machine": _machine("cpu")}
    print(arm, {s: round(v["accuracy"], 3) for s, v in per_site.items()},
          f"mean {out['mean_accuracy']:.3f} weighted {out['subject_weighted_accuracy']:.3f} "
          f"pooled AUC {out['pooled']['roc_auc']:.3f} ({out['seconds']:.0f} s, CPU {out['cpu_seconds']:.0f} s)", flush=True)
    (RESULTS / f"bench_brainmae_compare_{arm}.json").write_text(json.dumps(out, indent=2))
    return out


def _summary(arm: str, per_site: dict, n: dict, y_true, y_pred, proba, seconds: float, **extra) -> dict:
    pooled = metrics.classification(np.concatenate(y_true), np.concatenate(y_pred), proba=np.concatenate(proba))
    acc = np.array([per_site[s]["accuracy"] for s in per_site])
    out = {"arm": arm, "per_site": per_site, "n": n, "mean_accuracy": float(acc.mean()),
           "subject_weighted_accuracy": float(np.average(acc, weights=[n[s] for s in per_site])),
           "mean_roc_auc": float(np.mean([per_site[s]["roc_auc"] for s in per_site])),
           "pooled": {k: float(pooled[k]) for k in ("accuracy", "balanced_accuracy", "roc_auc")},
           "seconds": seconds, "cpu_seconds_whole_run": time.process_time(), "peak_rss_mb": _peak_mb(),
           "machine": _machine("cpu"), **extra}
    print(arm, {s: round(v["accuracy"], 3) for s, v in per_site.items()},
          f"mean {out['mean_accuracy']:.3f} weighted {out['subject_weighted_accuracy']:.3f} "
          f"pooled AUC {out['pooled']['roc_auc']:.3f} ({seconds:.0f} s)", flush=True)
    (RESULTS / f"bench_brainmae_compare_{arm}.json").write_text(json.dumps(out, indent=2))
    return out


def pretrain_encoder(d, train_index, network: dict, epochs: int, folder: Path) -> float:
    """Masked-autoencoder pretraining on the series of ``train_index`` (no labels; the code path of
    ``brainmae`` with ``pretrain_epochs``), saved as an encoder bundle in ``folder``; returns seconds."""
    from decoders.brainmae.pretrain import BrainMAEPretrain
    from decoders.bundle import save_bundle

    start = time.perf_counter()
    pre = BrainMAEPretrain(**network)
    W, owner = pre._windows(d.X[train_index].astype(np.float32), d.tr[train_index])
    pre.net_ = pre.fit_network(W, owner=owner, epochs=epochs, lr=1e-3)
    pre.n_rois_ = W.shape[1]
    save_bundle(pre, folder, input_spec={"kind": "trials"})
    return time.perf_counter() - start


def compare_pretrained(pretrain_epochs: int, windows: int, finetune_epochs: int = 8, *, seed: int = 0,
                       finetune_only: bool = False, variant: str = "region-aware", dim: int = NETWORK["dim"],
                       depth: int = NETWORK["depth"]) -> None:
    """One masked-autoencoder pretraining per leave-one-site-out fold (the six training sites'
    series, no labels; the same code path as ``brainmae`` with ``pretrain_epochs``), saved as an
    encoder bundle, then four arms on it: the frozen encoder's pooled tokens -> logistic
    regression (``head: logistic``, features ``tokens`` and ``tokens+fc``), the whole network
    fine-tuned (``head: network``), and as a control the connectivity alone through the same
    standardised, inner-C logistic regression (no network). C is chosen by inner
    leave-one-site-out on the five or six training sites, never from the test site."""
    import tempfile

    import decoders
    from decoders.brainmae.probe import fit_probe
    from decoders.connectivity import fisher_z_upper
    from decoders.evaluation import make_splits

    torch.set_num_threads(1)
    d = load_roi_folder(DATA)
    tag = f"pretrained-e{pretrain_epochs}-w{windows}" + network_tag(variant=variant, dim=dim, depth=depth, seed=seed)
    common = dict(NETWORK, dim=dim, depth=depth, windows_per_subject=windows, seed=seed, variant=variant)
    arms = {f"{tag}-probe-tokens": dict(head="logistic", features="tokens"),
            f"{tag}-probe-tokens-fc": dict(head="logistic", features="tokens+fc"),
            f"{tag}-finetune": dict(head="network", epochs=finetune_epochs, lr=1e-3),
            "fc-probe": None}
    if finetune_only:
        arms = {f"{tag}-finetune": arms[f"{tag}-finetune"]}
    acc = {a: dict(per_site={}, y_true=[], y_pred=[], proba=[], seconds=0.0, selection={}) for a in arms}
    n, pretrain_seconds = {}, {}
    fc = fisher_z_upper(d.X)
    for split in make_splits(d, "leave-one-site-out"):
        tr_idx, te_idx = split.train, split.test
        site = str(d.session[te_idx[0]])
        n[site] = len(te_idx)
        with tempfile.TemporaryDirectory() as tmp:
            pretrain_seconds[site] = pretrain_encoder(d, tr_idx, common, pretrain_epochs, Path(tmp) / "encoder")
            print(f"{site}: pretrained in {pretrain_seconds[site]:.0f} s", flush=True)
            for arm, params in arms.items():
                start = time.perf_counter()
                if params is None:
                    probe = fit_probe(fc[tr_idx], d.y[tr_idx], d.session[tr_idx])
                    proba, classes, selection = probe.proba(fc[te_idx]), probe.classes, probe.selection
                else:
                    model = decoders.create("brainmae", dict(common, encoder=str(Path(tmp) / "encoder"), **params))
                    model.fit(d.X[tr_idx], d.y[tr_idx], tr=d.tr[tr_idx], session=d.session[tr_idx])
                    proba, classes = model.predict_proba(d.X[te_idx], tr=d.tr[te_idx]), model.classes_
                    selection = model.probe_.selection if model.probe_ is not None else {}
                a = acc[arm]
                a["seconds"] += time.perf_counter() - start
                y_pred = classes[proba.argmax(1)]
                m = metrics.classification(d.y[te_idx], y_pred, proba=proba)
                a["per_site"][site] = {k: float(m[k]) for k in ("accuracy", "balanced_accuracy", "roc_auc")}
                a["per_site"][site]["seconds"] = time.perf_counter() - start
                a["selection"][site] = selection
                a["y_true"].append(d.y[te_idx]), a["y_pred"].append(y_pred), a["proba"].append(proba)
                print(f"  {arm}: {site} accuracy {m['accuracy']:.3f} {selection.get('C', '')}", flush=True)
    total_pretrain = sum(pretrain_seconds.values())
    for arm, params in arms.items():
        a = acc[arm]
        uses_pretraining = params is not None
        _summary(arm, a["per_site"], n, a["y_true"], a["y_pred"], a["proba"],
                 a["seconds"] + (total_pretrain if uses_pretraining else 0.0),
                 params={"pretrain_epochs": pretrain_epochs, **common, **(params or {"features": "fc"})},
                 head_seconds=a["seconds"], pretrain_seconds=pretrain_seconds if uses_pretraining else None,
                 inner_selection=a["selection"])


def table() -> None:
    rows = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("bench_brainmae_compare_*.json"))]
    if not rows:
        print("no comparison results yet: run --compare --arm ARM")
        return
    sites = list(rows[0]["per_site"])
    print("| arm | " + " | ".join(f"{s} (n={rows[0]['n'][s]})" for s in sites)
          + " | mean | weighted | pooled bal. acc | pooled AUC | time |")
    print("|---" * (len(sites) + 6) + "|")
    for r in rows:
        cells = [f"{r['per_site'][s]['accuracy']:.3f}" for s in sites]
        print(f"| {r['arm']} | " + " | ".join(cells) + f" | {r['mean_accuracy']:.3f} | "
              f"{r['subject_weighted_accuracy']:.3f} | {r['pooled']['balanced_accuracy']:.3f} | "
              f"{r['pooled']['roc_auc']:.3f} | {r['seconds'] / 60:.0f} min |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pretrain", action="store_true")
    ap.add_argument("--compare", action="store_true")
    ap.add_argument("--table", action="store_true")
    ap.add_argument("--arm", choices=list(ARMS), default="pretrained")
    ap.add_argument("--pretrained-probes", action="store_true",
                    help="one pretraining per fold, then frozen-encoder probes, fine-tuning and the FC probe")
    ap.add_argument("--pretrain-epochs", type=int, default=20)
    ap.add_argument("--windows-per-subject", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--finetune-only", action="store_true", help="with --pretrained-probes: only the fine-tune arm")
    ap.add_argument("--variant", default="region-aware", choices=["region-aware", "static-graph", "self-attention"],
                    help="--pretrained-probes, or --compare of a BrainMAE arm: the encoder's attention blocks")
    ap.add_argument("--dim", type=int, default=NETWORK["dim"], help="token width (BrainMAE arms)")
    ap.add_argument("--depth", type=int, default=NETWORK["depth"], help="encoder blocks (BrainMAE arms)")
    ap.add_argument("--held-out", default="OHSU")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if a.pretrained_probes:
        compare_pretrained(a.pretrain_epochs, a.windows_per_subject, seed=a.seed, finetune_only=a.finetune_only,
                           variant=a.variant, dim=a.dim, depth=a.depth)
    elif a.compare:
        compare(a.arm, variant=a.variant, dim=a.dim, depth=a.depth, seed=a.seed)
    elif a.table:
        table()
    else:
        bench_pretrain(a.held_out, a.epochs, a.device)


if __name__ == "__main__":
    main()
