"""Explanations of linear decoders on real data: do the maps show what a neurophysiologist expects?

- EEGBCI subject 1, left vs right fist (executed and imagined runs 3, 4, 7, 8, 11, 12; 0.5-2.5 s,
  8-30 Hz, all 64 channels): CSP + LDA and tangent space + LR. Expected: contralateral mu/beta
  over C3 / C4 (right fist: power down over C3; left fist: over C4).
- BCI2000 P300 oddball eeg2_1 + eeg2_2 (0-0.8 s, 0.5-20 Hz, decimated to 40 Hz, as
  resources/experiments/bci2000-p300-oddball-*.yaml): shrinkage LDA and xDAWN + tangent space.
  Expected: a positivity over parietal sites around 300-500 ms for targets.
- Haxby 2001 subject 1: voxel-lr on the 25 mm whole brain (brain mask, one sample per block) and
  on the single axial slice (PyMVPA's mask, one sample per volume). Expected: category
  information in ventral temporal cortex; at 25 mm, in grey rather than white matter.

Each decoder is fitted on all the data (as a run's final model) and explained on the same data.
Figures go to tests/benchmarks/results/explain/*.png, numbers to results/explain/explain.json.

    python tests/benchmarks/bench_explain.py              # all three
    python tests/benchmarks/bench_explain.py --sets p300  # eegbci | p300 | haxby
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
DATASETS = REPO.parent / "shared" / "datasets"
OUT = REPO / "tests" / "benchmarks" / "results" / "explain"

LEFT_MOTOR = ["FC5", "FC3", "FC1", "C5", "C3", "C1", "CP5", "CP3", "CP1"]
RIGHT_MOTOR = ["FC2", "FC4", "FC6", "C2", "C4", "C6", "CP2", "CP4", "CP6"]
PARIETAL = ["CP1", "CPz", "CP2", "P3", "P1", "Pz", "P2", "P4", "PO3", "POz", "PO4"]
FRONTAL = ["Fp1", "Fpz", "Fp2", "AF3", "AFz", "AF4", "F3", "F1", "Fz", "F2", "F4"]


def _clean(names) -> list[str]:
    """EEGBCI / BCI2000 write 'C3..', 'Fcz.': the 10-10 name."""

    montage = {k.lower(): k for k in _montage_names()}
    return [montage.get(n.rstrip(".").lower(), n.rstrip(".")) for n in names]


def _montage_names():
    import mne

    builtin = mne.channels.get_builtin_montages()
    return mne.channels.make_standard_montage("colin27_1005" if "colin27_1005" in builtin else "standard_1005").ch_names


def _save(explanation, stem: str) -> list[str]:
    from app.explain_figures import figures

    written = []
    for name, fig in figures(explanation, _save.background):
        path = OUT / f"{stem}-{name}.png"
        fig.savefig(path, dpi=100)
        written.append(path.name)
    return written


_save.background = None


def _rank(values: np.ndarray, names: list[str], wanted: list[str]) -> dict:
    order = [names[i] for i in np.argsort(-np.abs(values))]
    return {"top5": order[:5], "best_rank_of_region": min(order.index(c) for c in wanted if c in order) + 1}


def eegbci_s1():
    """EEGBCI subject 1, left vs right fist imagery (0.5-2.5 s, 8-30 Hz): data, names, context."""
    from data.loading import load_dataset

    data = load_dataset({"source": "eegbci", "data_path": str(DATASETS / "eegbci"), "subjects": [1],
                         "runs": [3, 4, 7, 8, 11, 12], "events": {"T1": "left", "T2": "right"},
                         "window": [0.5, 2.5], "preprocessing": {"band": [8.0, 30.0]}})
    names = _clean(data.ch_names)
    context = {"ch_names": names, "sfreq": data.sfreq, "class_names": data.class_names}
    return data, names, context


def eegbci() -> dict:
    import decoders
    from decoders.explain import explain

    data, names, context = eegbci_s1()
    out = {"trials": len(data), "channels": len(names)}
    for name in ("csp-lda", "tangent-space-lr"):
        decoder = decoders.create(name).fit(data.X, data.y)
        maps = {e.method: e for e in explain(decoder, data.X, data.y, context)}
        row = {"figures": []}
        for e in maps.values():
            row["figures"] += _save(e, f"eegbci-s1-{name}")
        if name == "csp-lda":
            m = maps["csp-class-pattern"].maps[0]
            row["csp_component_peaks"] = [names[int(np.argmax(np.abs(p)))] for p in maps["csp-pattern"].maps]
        else:
            m = np.diagonal(maps["tangent-pattern"].maps[0]).copy()   # variance change per channel
            row["per_channel_sum"] = _rank(maps["tangent-pattern-channels"].maps[0], names, LEFT_MOTOR + RIGHT_MOTOR)
        row["output"] = maps["tangent-pattern" if name != "csp-lda" else "csp-class-pattern"].outputs[0]
        row["class_map"] = _rank(m, names, LEFT_MOTOR + RIGHT_MOTOR)
        row["C3"], row["C4"] = float(m[names.index("C3")]), float(m[names.index("C4")])
        row["left_motor_mean"] = float(np.mean([m[names.index(c)] for c in LEFT_MOTOR]))
        row["right_motor_mean"] = float(np.mean([m[names.index(c)] for c in RIGHT_MOTOR]))
        out[name] = row
    return out


def p300_oddball():
    """The eeg2 oddball epochs (0-0.8 s, 0.5-20 Hz) as explain reads them: data, X, y, context.

    The eeg2_*.dat headers name no channel; BCI2000's eeg64.loc beside them is its 64-channel
    cap in channel order (EEGLAB .loc: index, angle, radius, label), so its labels name them."""
    from data import sources
    from data.spec import DatasetSpec
    from decoders.explain.data import explain_inputs

    spec = DatasetSpec.model_validate({"source": str(DATASETS / "bci2000"), "kind": "bci2000",
                                       "options": {"paradigm": "erp"}, "runs": ["eeg2_1", "eeg2_2"],
                                       "window": [0.0, 0.8], "preprocessing": {"band": [0.5, 20.0]}})
    data = sources.load(spec)
    X, y, context = explain_inputs(data)
    if context["ch_names"] == [f"Ch{i + 1}" for i in range(64)]:
        lines = (DATASETS / "bci2000" / "eeg64.loc").read_text().split("\n")
        context["ch_names"] = [line.split()[3] for line in lines if line.strip()]
    context["ch_names"] = _clean(context["ch_names"])
    return data, X, y, context


def p300() -> dict:
    import decoders
    from decoders.explain import explain

    data, X, y, context = p300_oddball()
    names = context["ch_names"]
    times = np.asarray(context["times"])
    out = {"epochs": len(data), "targets": int(np.sum(data.y == data.class_names.index("target"))),
           "channels": len(names), "samples": len(times), "sfreq": data.sfreq}
    parietal = [names.index(c) for c in PARIETAL if c in names]
    frontal = [names.index(c) for c in FRONTAL if c in names]
    for name, method in (("erp-lda", "haufe-pattern"), ("xdawn-ts-lr", "score-covariance")):
        decoder = decoders.create(name).fit(X, y)
        maps = {e.method: e for e in explain(decoder, X, y, context)}
        row = {"figures": []}
        for e in maps.values():
            row["figures"] += _save(e, f"p300-oddball-{name}")
        e = maps[method]
        m = e.maps[0]
        t = np.asarray(e.axis("time").values)
        c, k = np.unravel_index(np.argmax(m), m.shape)
        window = (t >= 0.3) & (t <= 0.5)
        row.update(output=e.outputs[0], method=method, peak_channel=names[c], peak_time_s=float(t[k]),
                   parietal_300_500=float(m[np.ix_(parietal, np.flatnonzero(window))].mean()),
                   frontal_300_500=float(m[np.ix_(frontal, np.flatnonzero(window))].mean()),
                   parietal_peak_time_s=float(t[int(np.argmax(m[parietal].mean(axis=0)))]),
                   scale=float(np.abs(m).max()))
        if name == "xdawn-ts-lr":
            target = [i for i, o in enumerate(maps["xdawn-pattern"].outputs) if o.startswith("target")]
            row["xdawn_target_pattern_peaks"] = [names[int(np.argmax(np.abs(maps["xdawn-pattern"].maps[i])))]
                                                 for i in target]
        out[name] = row
    return out


def haxby() -> dict:
    import nibabel as nib
    from nilearn.image import mean_img

    import decoders
    from data.loading import load_dataset
    from decoders.explain import explain
    from decoders.explain.data import explain_inputs

    root = DATASETS / "haxby2001-sub001"
    out = {}
    whole = load_dataset({"source": str(root / "sub001"), "kind": "nifti",
                          "options": {"pattern": "BOLD/*/bold_25mm.nii.gz", "mask": "masks/25mm/brain.nii.gz",
                                      "sample": "block", "hrf_delay": 0.0}})
    X, y, context = explain_inputs(whole)
    decoder = decoders.create("voxel-lr").fit(X, y)
    (e,) = explain(decoder, X, y, context)
    _save.background = mean_img(whole.provenance["files"][0], copy_header=True)
    figs = _save(e, "haxby-25mm-voxel-lr")
    ijk = np.asarray(context["voxel_ijk"])
    masks = {k: np.asarray(nib.load(root / "sub001" / "masks" / "25mm" / f"{k}.nii.gz").dataobj) != 0
             for k in ("gray", "white", "vt", "hoc")}
    inside = {k: m[tuple(ijk.T)] for k, m in masks.items()}
    strength = np.abs(e.maps)                             # (classes, voxels)
    row = {"samples": len(whole), "voxels": int(X.shape[1]), "figures": figs,
           "mask_voxels_in_brain_mask": {k: int(v.sum()) for k, v in inside.items()}}
    for k, v in inside.items():
        if v.any():
            row[f"mean_abs_pattern_{k}"] = float(strength[:, v].mean())
    row["mean_abs_pattern_all"] = float(strength.mean())
    if inside["vt"].any():
        v = int(np.flatnonzero(inside["vt"])[0])
        ranks = (strength > strength[:, [v]]).sum(axis=1) + 1
        row["vt_voxel_rank_per_class"] = dict(zip(e.outputs, ranks.tolist()))
    out["25mm"] = row

    slice_source = root / "single-slice" / "bold.nii.gz"
    one = load_dataset({"source": str(slice_source), "kind": "nifti",
                        "options": {"mask": "mask.nii.gz", "labels": "attributes_literal.txt", "hrf_delay": 0.0}})
    X, y, context = explain_inputs(one)
    decoder = decoders.create("voxel-lr").fit(X, y)
    (e,) = explain(decoder, X, y, context)
    _save.background = mean_img(str(slice_source), copy_header=True)
    out["single-slice"] = {"samples": len(one), "voxels": int(X.shape[1]), "figures": _save(e, "haxby-slice-voxel-lr"),
                           "peak_voxel_ijk_per_class": {o: [int(v) for v in context["voxel_ijk"][int(np.argmax(np.abs(m)))]]
                                                        for o, m in zip(e.outputs, e.maps)}}
    _save.background = None
    return out


SETS = {"eegbci": eegbci, "p300": p300, "haxby": haxby}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", choices=list(SETS), default=list(SETS))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "explain.json"
    results = json.loads(path.read_text()) if path.is_file() else {}
    for name in args.sets:
        start = time.time()
        results[name] = SETS[name]()
        results[name]["seconds"] = round(time.time() - start, 1)
        print(json.dumps({name: results[name]}, indent=1))
    results["machine"] = f"{platform.system()} {platform.machine()}, {platform.processor() or 'cpu'}"
    results["command"] = "python tests/benchmarks/bench_explain.py" + (
        "" if args.sets == list(SETS) else " --sets " + " ".join(args.sets))
    path.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
