"""Can post-processing recover the SSIM that MindBridge's ridge skip path costs? (issue 23, item 2)

On the files' own holdout of fmri-recon (digit69 90/10, miyawaki 107/12), from one fit per
seed with ``intensity_map: auto`` (its inner 5-fold fits give out-of-fold blended predictions
of the training samples): the network alone, ridge alone, the blend at weights 0.25 / 0.5 /
0.75, and ways to make the blurred blend sharper, each using training data only:

- ``auto``: the decoder's choice per subject among none / isotonic / histogram 0.5 / 1 by
  out-of-fold PixCorr + SSIM (`decoders.mindbridge.intensity.choose_map`);
- each candidate forced: ``isotonic`` (a monotone pixel-intensity map fitted on the
  out-of-fold predictions), ``histogram 0.5 / 1`` (each image's pixel ranks mapped to the
  quantiles of the subject's training images, mixed 50/50 with the blend, or not mixed);
- ``latent``: the average of the network's embedding and the codec's embedding of the ridge
  image, decoded by the codec;
- ``projection``: the blend encoded and decoded by the codec;
- ``inner ensemble``: the network images averaged over the full fit and its 5 inner fits
  (``inner_ensemble``, the decoder's default with auto), then the blend and the auto map, or
  the blend alone; the single-network rows come from the same fits.

Run from the repository root:  python tests/benchmarks/bench_mindbridge_postprocess.py [--seeds 0,1]
[--set w_corr=1]  (MindBridge parameters changed for every fit; the JSON name gains them)
[--cv]  (5-fold cross-validation instead of the holdout: digit69 shuffled, miyawaki grouped by
image, as bench_mindbridge.py; arms averaged over folds; the JSON name gains -cv)
Writes tests/benchmarks/results/mindbridge-postprocess[-KEY-VALUE].json and prints a table,
with each seed's out-of-fold PixCorr + SSIM of the chosen maps (training samples only: the
score that may compare recipes).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_mindbridge import REPO, RESULTS, cv_folds, fmri_recon  # noqa: E402

from decoders import metrics  # noqa: E402
from decoders.mindbridge import MindBridge  # noqa: E402

PARAMS = dict(epochs=150, intensity_map="auto", intensity_folds=5)
KEYS = ("pixcorr", "ssim", "two_way_pixel")


def parts(model, data, rows):
    """The network's images, the ridge path's images and the network's embeddings for ``rows``."""
    X, s = data.X[rows], data.subject[rows]
    emb = model.predict_embedding(X, subject=s)
    return model.codec_.decode(emb), model.ridge_.predict(np.asarray(X, np.float32), subject=s), emb


def seed_arms(data, seed, params=PARAMS, test_rows=None) -> dict:
    """Every arm's scores per subject, from one fit on the rows not in ``test_rows`` (default:
    the files' own train/test split)."""
    if test_rows is None:
        test_rows = np.flatnonzero(data.session == "test")
    train_rows = np.setdiff1d(np.arange(len(data)), test_rows)
    model = MindBridge(**params, seed=seed).fit(data.X[train_rows], stimuli=data.stimuli[train_rows],
                                               subject=data.subject[train_rows])
    net, lin, emb = parts(model, data, test_rows)
    codec = model.codec_
    blend = 0.5 * lin + 0.5 * net
    test_subject = data.subject[test_rows]
    ensemble_net = model.average_inner_networks(net.copy(), data.X[test_rows], test_subject)
    ensemble_blend = 0.5 * lin + 0.5 * ensemble_net
    images = {"network only": net, "ridge only": lin,
              **{f"blend {w}": w * lin + (1 - w) * net for w in (0.25, 0.5, 0.75)},
              "blend 0.5 + auto map": np.empty_like(blend),
              "inner ensemble + blend 0.5 + auto map": model.predict(data.X[test_rows], subject=test_subject),
              "inner ensemble, network only": ensemble_net, "inner ensemble + blend 0.5": ensemble_blend,
              **{f"blend 0.5 + {name}": np.empty_like(blend) for name in ("isotonic", "histogram 0.5", "histogram 1")},
              "latent average": codec.decode(0.5 * emb + 0.5 * codec.encode(lin.astype(np.float32))),
              "codec projection of blend": codec.decode(codec.encode(blend.astype(np.float32)))}
    out = {}
    for s in data.subjects:
        r = test_subject == s
        images["blend 0.5 + auto map"][r] = model.intensity_[s].apply(blend[r])
        for name, mapping in model.intensity_candidates_[s].items():
            if name != "none":
                images[f"blend 0.5 + {name}"][r] = mapping.apply(blend[r])
        truth = data.stimuli[test_rows][r]
        out[s] = {arm: {k: float(v) for k, v in metrics.reconstruction(truth, img[r]).items() if k in KEYS}
                  for arm, img in images.items()}
        out[s]["auto choice"] = {"map": model.intensity_[s].label, "oof_scores": model.intensity_scores_[s]}
    return out


def cv_arms(data, seed, params) -> dict:
    """``seed_arms`` averaged over 5 cross-validation folds (the auto choice: the folds' list)."""
    folds = [seed_arms(data, seed, params, test_rows) for test_rows in cv_folds(data)]
    out = {}
    for s, arms in folds[0].items():
        out[s] = {arm: {k: float(np.mean([f[s][arm][k] for f in folds])) for k in KEYS}
                  for arm in arms if arm != "auto choice"}
        choices = [f[s]["auto choice"] for f in folds]
        out[s]["auto choice"] = {"map": "/".join(c["map"] for c in choices),
                                 "oof_scores": {"mean of the chosen": float(np.mean([max(c["oof_scores"].values())
                                                                                     for c in choices]))}}
    return out


def main(argv=None) -> dict:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a MindBridge parameter for every fit (numbers only)")
    parser.add_argument("--cv", action="store_true", help="5-fold cross-validation instead of the holdout")
    args = parser.parse_args(argv)
    changed = {k: float(v) for k, v in (item.split("=", 1) for item in args.set)}
    params = {**PARAMS, **changed}
    torch.set_num_threads(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    data = fmri_recon()
    t0 = time.perf_counter()
    per_seed = {seed: (cv_arms(data, seed, params) if args.cv else seed_arms(data, seed, params)) for seed in seeds}
    first = per_seed[seeds[0]]
    mean = {s: {arm: {k: float(np.mean([per_seed[sd][s][arm][k] for sd in seeds])) for k in KEYS}
                for arm in first[s] if arm != "auto choice"} for s in first}
    oof = {s: [max(per_seed[sd][s]["auto choice"]["oof_scores"].values()) for sd in seeds] for s in first}
    report = {"machine": "2-core x86-64 dev machine, no GPU, shared with other jobs", "params": params,
              "protocol": "5-fold cross-validation (bench_mindbridge.cv_folds)" if args.cv else "the files' own holdout",
              "oof_pixcorr_plus_ssim_of_chosen_map": oof,
              "seeds": seeds, "seed_mean": mean,
              "auto_choices": {s: [per_seed[sd][s]["auto choice"]["map"] for sd in seeds] for s in first},
              "per_seed": {str(k): v for k, v in per_seed.items()},
              "seconds": round(time.perf_counter() - t0, 1)}
    print(f"\n{'5-fold CV' if args.cv else 'holdout'}, mean over seeds {seeds}\n{'subject':9s} {'arm':38s} " + " ".join(f"{k:>13s}" for k in KEYS))
    for s, arms in mean.items():
        for arm, m in arms.items():
            print(f"{s:9s} {arm:38s} " + " ".join(f"{m[k]:13.3f}" for k in KEYS))
    print("auto choices per seed:", report["auto_choices"])
    print("out-of-fold PixCorr + SSIM of the chosen map per seed (training samples only):",
          {s: [round(v, 3) for v in vals] for s, vals in oof.items()})
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("mindbridge-postprocess" + "".join(f"-{k}-{v:g}" for k, v in changed.items())
                     + ("-cv" if args.cv else "") + ".json")
    out.write_text(json.dumps(report, indent=1))
    print(f"wrote {out.relative_to(REPO)}")
    return report


if __name__ == "__main__":
    main()
