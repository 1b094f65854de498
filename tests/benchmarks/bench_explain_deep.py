"""Attributions of the deep decoders on data, and the model-randomisation check (Adebayo et al.
2018) for each: the Spearman rank correlation of the maps of the trained model with those after
randomising its weights layer by layer from the output (cascading), against the maps'
self-agreement (two halves of the samples, trained weights).

- ``eegbci``: EEG-SimpleConv (quick preset) on EEGBCI subject 1, left vs right fist (runs 3, 4, 7,
  8, 11, 12; 0.5-2.5 s, 8-30 Hz, 64 channels), as tests/benchmarks/bench_explain.py loads it.
- ``p300``: eegnet-erp (quick preset) on the BCI2000 oddball eeg2_1 + eeg2_2 (0-0.8 s, 0.5-20 Hz).
- ``resting``: BrainMAE (dim 32, depth 1, 10 epochs, from scratch) on demo:resting-state.
- ``visual``: MindBridge (quick preset) on demo:visual-fmri.

Each decoder is fitted on all the data (as a run's final model) and explained on it. Numbers go
to tests/benchmarks/results/explain-deep/explain_deep.json, figures beside it.

    python tests/benchmarks/bench_explain_deep.py                  # all four
    python tests/benchmarks/bench_explain_deep.py --sets eegbci p300
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
sys.path.insert(0, str(REPO / "tests" / "benchmarks"))
OUT = REPO / "tests" / "benchmarks" / "results" / "explain-deep"
STEPS, PER_CLASS, CASCADE = 16, 20, 4


def _check(decoder, X, y, context, methods) -> dict:
    from decoders.explain.checks import randomisation_check

    result = randomisation_check(decoder, X, y, {**context, "ig_steps": STEPS, "max_per_class": PER_CLASS,
                                                 "methods": methods}, max_steps=CASCADE)
    print(result.table(), flush=True)
    return {"self_agreement": result.self_agreement, "self_agreement_abs": result.self_agreement_abs,
            "layers": result.layers,
            "steps": [{"layers": len(s.layers), "down_to": s.layers[-1], "spearman": s.spearman,
                       "spearman_abs": s.spearman_abs} for s in result.steps],
            "table": result.table()}


def _figures(explanations, stem) -> list[str]:
    from app.explain_figures import figures

    written = []
    for e in explanations:
        for name, fig in figures(e):
            path = OUT / f"{stem}-{name}.png"
            fig.savefig(path, dpi=90)
            written.append(path.name)
    return written


def _top(values, names, n=6) -> list[str]:
    return [str(names[i]) for i in np.argsort(-np.asarray(values))[:n]]


def eegbci() -> dict:
    import decoders
    from bench_explain import LEFT_MOTOR, RIGHT_MOTOR, eegbci_s1
    from decoders.explain import explain

    data, names, context = eegbci_s1()
    params = {**decoders.registry.get("eeg-simpleconv").presets["quick"], "sfreq": data.sfreq}
    decoder = decoders.create("eeg-simpleconv", params).fit(data.X, data.y, subject=data.subject)
    found = {e.method: e for e in explain(decoder, data.X, data.y, {**context, "ig_steps": STEPS,
                                                                      "max_per_class": PER_CLASS})}
    motor = [names.index(c) for c in LEFT_MOTOR + RIGHT_MOTOR]
    out = {"trials": len(data), "train_accuracy": float((decoder.predict(data.X) == data.y).mean()),
           "figures": _figures(found.values(), "eegbci-s1-simpleconv")}
    for method in ("integrated-gradients-magnitude", "integrated-gradients-bands", "grad-cam"):
        strength = found[method].reduce_to("channel")
        out[method] = {o: {"top": _top(s, names), "motor_over_rest": float(s[motor].mean() / np.delete(s, motor).mean())}
                       for o, s in zip(found[method].outputs, strength)}
    band = found["integrated-gradients-bands"]
    out["band_share"] = dict(zip([f"{lo:g}-{hi:g}" for lo, hi in band.extra["bands"]],
                                 (np.abs(band.maps).sum(axis=(0, 2)) / np.abs(band.maps).sum()).round(3).tolist()))
    out["randomisation"] = _check(decoder, data.X, data.y, context,
                                  ["integrated-gradients", "integrated-gradients-magnitude",
                                   "integrated-gradients-bands", "grad-cam"])
    return out


def p300() -> dict:
    import decoders
    from bench_explain import FRONTAL, PARIETAL, p300_oddball
    from decoders.explain import explain

    data, X, y, context = p300_oddball()
    names = context["ch_names"]
    params = {**decoders.registry.get("eegnet-erp").presets["quick"], "sfreq": data.sfreq}
    decoder = decoders.create("eegnet-erp", params).fit(X, y)
    found = {e.method: e for e in explain(decoder, X, y, {**context, "ig_steps": STEPS, "max_per_class": PER_CLASS})}
    target = list(found["integrated-gradients"].outputs).index("target")
    ig = found["integrated-gradients"].maps[target]
    times = np.asarray(context["times"])
    window = (times >= 0.25) & (times <= 0.5)
    parietal = [names.index(c) for c in PARIETAL if c in names]
    frontal = [names.index(c) for c in FRONTAL if c in names]
    c, t = np.unravel_index(np.abs(ig).argmax(), ig.shape)
    out = {"epochs": len(X), "sfreq": data.sfreq, "figures": _figures(found.values(), "eeg2-eegnet"),
           "target_ig_peak": {"channel": names[c], "time_s": float(times[t]), "value": float(ig[c, t])},
           "target_ig_parietal_250_500ms": float(ig[parietal][:, window].mean()),
           "target_ig_frontal_250_500ms": float(ig[frontal][:, window].mean())}
    out["randomisation"] = _check(decoder, X, y, context, ["integrated-gradients", "grad-cam"])
    return out


def resting() -> dict:
    import decoders
    from data.loading import load_dataset
    from decoders.explain import explain
    from decoders.explain.data import explain_inputs

    data = load_dataset({"source": "demo:resting-state"})
    decoder = decoders.create("brainmae", {"dim": 32, "depth": 1, "epochs": 10}).fit(data.X, data.y, tr=data.tr)
    X, y, context = explain_inputs(data)
    found = {e.method: e for e in explain(decoder, X, y, {**context, "ig_steps": STEPS, "max_per_class": PER_CLASS})}
    networks = data.provenance["networks"]
    roi = found["integrated-gradients"].reduce_to("roi").mean(axis=0)
    names = list(data.ch_names)
    by_network = {n: float(roi[[names.index(r) for r in rois]].mean()) for n, rois in networks.items()}
    pairs = found["integrated-gradients-roi-pairs"]
    pair_strength = pairs.reduce_to("roi_pair").mean(axis=0)
    within = {n: float(np.mean([pair_strength[i] for i, p in enumerate(pairs.axis("roi_pair").values)
                                if set(p.split("-")) <= set(rois)])) for n, rois in networks.items()}
    out = {"subjects": len(X), "train_accuracy": float((decoder.predict(X, tr=data.tr) == y).mean()),
           "roi_by_network": by_network, "pairs_within_network": within,
           "figures": _figures(found.values(), "resting-brainmae")}
    out["randomisation"] = _check(decoder, X, y, context, None)
    return out


def visual() -> dict:
    import decoders
    from data.loading import load_dataset
    from decoders.explain import explain
    from decoders.explain.data import explain_inputs

    data = load_dataset({"source": "demo:visual-fmri"})
    decoder = decoders.create("mindbridge", preset="quick").fit(data.X, stimuli=data.stimuli, subject=data.subject)
    X, y, context = explain_inputs(data)
    found = explain(decoder, X, y, {**context, "ig_steps": STEPS, "max_per_class": PER_CLASS})
    out = {"samples": len(X), "subjects": [e.extra["subject"] for e in found],
           "figures": _figures(found, "visual-mindbridge")}
    out["randomisation"] = _check(decoder, X, y, context, None)
    return out


SETS = {"eegbci": eegbci, "p300": p300, "resting": resting, "visual": visual}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", nargs="+", choices=list(SETS), default=list(SETS))
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "explain_deep.json"
    report = json.loads(path.read_text()) if path.exists() else {}
    report["machine"] = f"{platform.machine()} {platform.processor() or ''}".strip()
    for name in args.sets:
        started = time.time()
        print(f"== {name}", flush=True)
        report[name] = SETS[name]()
        report[name]["seconds"] = round(time.time() - started, 1)
        path.write_text(json.dumps(report, indent=2, default=str))
        print(json.dumps({k: v for k, v in report[name].items() if k not in ("randomisation", "figures")},
                         indent=1, default=str), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
