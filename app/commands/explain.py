"""`neurodeck explain RUN|BUNDLE DATA [--out DIR]`: what a trained decoder listens to.

DATA is loaded as `neurodeck predict` loads it (the bundle's window, channels and
preprocessing); the decoder's explainer (`decoders.explain`) computes its maps on it. Each
explanation is written as ``NN-<method>.npz`` (``maps``, ``outputs``, one ``axis<i>_kind`` /
``axis<i>_values`` pair per axis, ``extra`` as JSON), voxel maps with positions also as
``NN-<method>.nii.gz`` (one volume per output), and its figures as PNG; ``explanations.json``
lists them.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

EXPLAIN_FOLDER = "explain"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "explain", help="maps of what a trained decoder responds to (patterns, attributions)",
        description="Explain a decoder bundle (or a run folder's model/) on DATA, loaded as the bundle's "
                    "training data were: activation patterns for linear decoders, attributions for deep "
                    "ones. Writes the maps (NPZ, NIfTI for voxel maps) and PNG figures.")
    p.add_argument("bundle", metavar="RUN|BUNDLE", help="run folder or decoder bundle (folder or .zip)")
    p.add_argument("data", metavar="DATA", help="file, folder, BIDS root, eegbci, moabb:NAME or demo:NAME")
    p.add_argument("--out", metavar="DIR", help="folder to write into (default: RUN/explain/, or "
                                               "explain-<bundle>/ beside a bundle outside a run)")
    p.add_argument("--data-path", metavar="DIR", help="local copy of a public dataset (eegbci, moabb)")
    p.add_argument("--subjects", metavar="LIST", help="comma-separated subjects to load")
    p.add_argument("--runs", metavar="LIST", help="comma-separated runs to load")
    p.add_argument("--no-figures", action="store_true", help="write the arrays only")
    p.set_defaults(func=run)


def run(args) -> int:
    from data.errors import InputError, MissingFileError
    from decoders.bundle import load_bundle
    from decoders.explain import ExplainError, explain, explainer_for
    from decoders.explain.data import explain_inputs

    from ..output_paths import check_output, run_of
    from .export import resolve_bundle
    from .predict import _split

    bundle = resolve_bundle(args.bundle)
    if not Path(bundle).exists():
        raise MissingFileError("no such bundle or run folder.", args.bundle)
    out = Path(args.out) if args.out else _default_out(bundle, run_of(bundle))
    check_output(out, "--out", folder=True)
    decoder, manifest = load_bundle(bundle)
    try:
        explainer_for(decoder.name)
    except ExplainError as exc:
        raise InputError(str(exc), bundle) from None
    spec = manifest.get("input") or {}
    data = load_data(spec, args.data, data_path=args.data_path, subjects=_split(args.subjects),
                     runs=_split(args.runs), bundle=bundle)
    try:
        X, y, context = explain_inputs(data, spec.get("class_names"))
        explanations = explain(decoder, X, y, context)
    except ExplainError as exc:
        raise InputError(f"cannot explain {decoder.name} on these data: {exc}", args.data) from None
    out.mkdir(parents=True, exist_ok=True)
    background = None if args.no_figures else _background(data)
    index = [write_explanation(e, out, f"{i + 1:02d}", figures=not args.no_figures, background=background)
             for i, e in enumerate(explanations)]
    (out / "explanations.json").write_text(json.dumps({"decoder": decoder.name, "bundle": str(bundle),
                                                      "data": args.data, "explanations": index}, indent=2))
    print(f"{len(explanations)} explanation(s) of {decoder.name} written to {out}", file=sys.stderr)
    return 0


def load_data(spec: dict, source: str, **fields):
    """DATA as the bundle's training data were made: `neurodeck predict`'s loader, and for
    NIfTI sets the bundle's source options (mask, labels, sampling) with the same voxels."""
    from data.errors import DataError
    from data.loading import load_dataset
    from data.spec import DatasetSpec

    from .predict import load_for_bundle

    if spec.get("source_kind") != "nifti":
        return load_for_bundle(spec, source, **fields)
    data = load_dataset(DatasetSpec(source=source, kind="nifti", options=spec.get("options")))
    expected = spec.get("ch_names") or []
    if expected and list(data.ch_names) != list(expected):
        raise DataError(f"gives {len(data.ch_names)} features but not the {len(expected)} voxels or ROIs the "
                        "decoder was trained on (another mask, atlas or image grid).", source)
    return data


def _default_out(bundle: Path, run: Path | None) -> Path:
    if run is not None:
        return run / EXPLAIN_FOLDER
    bundle = Path(bundle).absolute()
    return bundle.parent / f"{EXPLAIN_FOLDER}-{bundle.name.removesuffix('.zip')}"


def write_explanation(explanation, folder: Path, prefix: str, *, figures: bool = True, background=None) -> dict:
    """Write one explanation's arrays (and figures) into ``folder``; its index entry."""
    import numpy as np

    from decoders.evaluation import jsonable

    stem = f"{prefix}-{explanation.method}"
    if "subject" in explanation.extra:
        stem += f"-{explanation.extra['subject']}"
    arrays = {"maps": explanation.maps, "outputs": np.array(explanation.outputs),
              "extra": np.array(json.dumps(jsonable(explanation.extra)))}
    for i, axis in enumerate(explanation.axes):
        arrays[f"axis{i}_kind"] = np.array(axis.kind)
        arrays[f"axis{i}_values"] = np.array(axis.values)
    np.savez_compressed(folder / f"{stem}.npz", **arrays)
    entry = {"method": explanation.method, "decoder": explanation.decoder, "outputs": list(explanation.outputs),
             "axes": [a.kind for a in explanation.axes], "npz": f"{stem}.npz", "figures": []}
    if [a.kind for a in explanation.axes] == ["voxel"] and explanation.extra.get("voxel_ijk") is not None:
        import nibabel as nib

        from decoders.explain.data import voxel_image

        volumes = [voxel_image(m, explanation.extra) for m in explanation.maps]
        stacked = np.stack([np.asarray(v.dataobj) for v in volumes], axis=-1)   # one volume per output
        nib.save(nib.Nifti1Image(stacked, volumes[0].affine), folder / f"{stem}.nii.gz")
        entry["nifti"] = f"{stem}.nii.gz"
    if figures:
        from ..explain_figures import figures as draw

        for name, fig in draw(explanation, background):
            path = folder / f"{prefix}-{name}.png"
            fig.savefig(path, dpi=110)
            entry["figures"].append(path.name)
    return entry


def _background(data):
    """The mean of the set's first NIfTI image, drawn under voxel maps (None for other data)."""
    from fnmatch import fnmatch

    from data import sources

    patterns = sources.kind("nifti").extensions
    files = [f for f in data.provenance.get("files", []) if any(fnmatch(Path(f).name, p) for p in patterns)]
    if data.modality != "fmri" or not files:
        return None
    from nilearn.image import mean_img

    return mean_img(files[0], copy_header=True)
