"""`neurodeck export RUN|BUNDLE --format bundle|onnx|torchscript [--out PATH]`."""
from __future__ import annotations

from pathlib import Path

SUFFIX = {"bundle": ".zip", "onnx": ".onnx", "torchscript": ".pt"}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="export a trained decoder (a run's model or a bundle)",
        description="Export the decoder of a run folder (its model/ bundle) or of a bundle: as a "
                    "bundle (a folder, or one .zip file), as ONNX (checked against onnxruntime) "
                    "or as TorchScript (torch decoders only).")
    p.add_argument("source", metavar="RUN|BUNDLE", help="a run folder or a decoder bundle (folder or .zip)")
    p.add_argument("--format", choices=sorted(SUFFIX), default="bundle", help="output format (default: bundle)")
    p.add_argument("--out", metavar="PATH", help="output file or folder (default: RUN/exports/<run name><suffix> "
                                                 "for a run or its model/, exports/ beside any other bundle)")
    p.set_defaults(func=run)


def resolve_bundle(source: str | Path) -> Path:
    """A run folder's model/ bundle, or ``source`` itself when it is a bundle."""
    from data.errors import InputError

    source = Path(source)
    if source.is_dir() and (source / "metrics.json").is_file():
        if not (source / "model").exists():
            raise InputError("this run folder has no model/ (the run was made with "
                             "output.save_model: false, or its decoder cannot be saved).", source)
        return source / "model"
    return source


def run(args) -> int:
    from decoders.bundle import load_bundle, save_bundle

    from ..output_paths import check_output, default_export_path

    bundle = resolve_bundle(args.source)
    if not Path(bundle).exists():
        from data.errors import MissingFileError

        raise MissingFileError("no such bundle or run folder.", args.source)
    out = Path(args.out) if args.out else default_export_path(args.source, SUFFIX[args.format])
    check_output(out, "--out", folder=args.format == "bundle" and out.suffix.lower() != ".zip")
    decoder, manifest = load_bundle(bundle)
    if args.format == "bundle":
        save_bundle(decoder, out, input_spec=manifest.get("input", {}), metrics=manifest.get("metrics"),
                    provenance=manifest)   # the trainer's created/versions kept, this export added
        print(f"bundle written: {out}")
        return 0
    from decoders import export

    example = example_input(manifest, bundle)
    if args.format == "onnx":
        report = export.export_onnx(decoder, out, example)
        print(f"ONNX written: {report.path} (onnxruntime vs torch, max abs diff {report.max_abs_diff:.2e})")
    else:
        report = export.export_torchscript(decoder, out, example)
        diff = "" if report.max_abs_diff is None else f" (max abs diff {report.max_abs_diff:.2e})"
        print(f"TorchScript written: {report.path}{diff}")
    return 0


def example_input(manifest: dict, bundle: Path):
    """Random trials of the bundle's input shape (2 trials), to trace and check the export."""
    import numpy as np

    from data.errors import InputError

    shape = (manifest.get("input") or {}).get("shape")
    if not shape:
        raise InputError("the bundle does not record its input shape, so it cannot be exported "
                         "to ONNX or TorchScript.", bundle)
    return np.random.default_rng(0).standard_normal((2, *shape)).astype(np.float32)
