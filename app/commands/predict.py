"""`neurodeck predict BUNDLE DATA [--out CSV]`: apply a trained decoder to new data.

The bundle's input spec (events, window, baseline, preprocessing, channels, sampling rate)
turns DATA into trials (or feature rows) exactly as the training data were made; channels
are picked and ordered as the decoder expects, and anything that does not fit is reported.
"""
from __future__ import annotations

import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "predict", help="apply a trained decoder (bundle or run folder) to new data",
        description="Apply a decoder bundle (or a run folder's model/) to new recordings: they "
                    "are epoched and preprocessed as the bundle's training data were. Writes one "
                    "CSV row per trial (or sample): subject, session, run, the true class when the "
                    "data are labelled, the prediction and the class probabilities.")
    p.add_argument("bundle", metavar="BUNDLE", help="decoder bundle (folder or .zip) or run folder")
    p.add_argument("data", metavar="DATA", help="file, folder, BIDS root, eegbci, moabb:NAME or demo:NAME")
    p.add_argument("--out", metavar="CSV", help="write the predictions here (default: standard output)")
    p.add_argument("--data-path", metavar="DIR", help="local copy of a public dataset (eegbci, moabb)")
    p.add_argument("--subjects", metavar="LIST", help="comma-separated subjects to load")
    p.add_argument("--runs", metavar="LIST", help="comma-separated runs to load")
    p.add_argument("--option", metavar="KEY=VALUE", action="append", default=[],
                   help="a source-kind option for DATA, as in an experiment's dataset.options and "
                        "`neurodeck info --option` (repeatable; VALUE is YAML, e.g. --option tr=2.0)")
    p.add_argument("--adapt", action="store_true",
                   help="reconstruction decoders: reset-tune on the DATA's subjects the decoder does not "
                        "know, using their 'train' samples and images, then reconstruct the rest")
    p.set_defaults(func=run)


def run(args) -> int:
    from decoders.bundle import load_bundle

    from ..workspace import write_csv
    from .export import resolve_bundle
    from .info import option_pairs

    if args.out:
        from ..output_paths import check_output

        check_output(args.out, "--out")
    options = option_pairs(args.option, "predict")
    bundle = resolve_bundle(args.bundle)
    decoder, manifest = load_bundle(bundle)
    spec = manifest.get("input") or {}
    data = load_for_bundle(spec, args.data, data_path=args.data_path,
                           subjects=_split(args.subjects), runs=_split(args.runs), bundle=bundle,
                           options=options, length_free=bool(getattr(decoder, "length_free", False)))
    if data.kind == "volumes":
        from .predict_images import predict_images

        return predict_images(decoder, data, args, spec)
    rows, accuracy = predict_rows(decoder, spec, data)
    for warning in data.provenance.get("predict_warnings", []):
        _warn(warning)
    if not rows:
        from data.errors import DataError

        raise DataError("holds no trials or samples to predict.", args.data)
    if args.out:
        write_csv(args.out, rows)
        print(f"{len(rows)} predictions written to {args.out}", file=sys.stderr)
    else:
        import csv

        try:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
            sys.stdout.flush()
        except BrokenPipeError:  # e.g. piped into `head`: the reader has what it wanted
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    _report_accuracy(rows, spec)
    return 0


def _warn(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)


def _report_accuracy(rows: list[dict], spec: dict) -> None:
    """Accuracy on labelled trials whose class the decoder knows, apart for trials it was
    trained on (their accuracy says nothing about new data)."""
    known = set(spec.get("class_names") or [])
    labelled = [r for r in rows if "true" in r]
    foreign = sorted({r["true"] for r in labelled if known and r["true"] not in known})
    if foreign:
        _warn(f"the data's class(es) {', '.join(foreign)} are not among the decoder's classes "
              f"({', '.join(sorted(known))}); those trials are left out of the accuracy.")
    scored = [r for r in labelled if not known or r["true"] in known]
    seen = [r for r in scored if r.get("seen_in_training")]
    new = [r for r in scored if not r.get("seen_in_training")]
    if seen:
        _warn(seen_in_training_warning(len(seen), len(rows), column="seen_in_training"))
        print(f"accuracy on trials seen in training: {_accuracy(seen):.4f} ({len(seen)} trials)",
              file=sys.stderr)
    if new:
        print(f"accuracy on the labelled trials{' not seen in training' if seen else ''}: "
              f"{_accuracy(new):.4f} ({len(new)} trials)", file=sys.stderr)


def seen_in_training_warning(n_seen: int, n_trials: int, column: str | None = None) -> str:
    """The warning for an accuracy measured on trials the decoder was trained on
    (`neurodeck predict`, `neurodeck online --replay`); ``column`` names the output column
    that flags them."""
    flagged = f" (column {column})" if column else ""
    return (f"{n_seen} of {n_trials} trials were used to train this decoder{flagged}; their "
            "accuracy is not an estimate of performance.")


def _accuracy(rows: list[dict]) -> float:
    return sum(r["true"] == r["pred"] for r in rows) / len(rows)


def load_for_bundle(spec: dict, source: str, *, data_path=None, subjects=None, runs=None, bundle=None,
                    options: dict | None = None, length_free: bool = False):
    """Load ``source`` the way the bundle's training data were loaded; check it fits.

    ``options`` (``--option``) are source-kind options for ``source`` (e.g. ``tr``), over
    those the bundle keeps. ``length_free`` (the decoder's `Decoder.length_free`): trials
    may have any number of time points, so only the other axes must match the training data.
    """
    from data.errors import ChannelMismatchError, DataError
    from data.loading import load_dataset
    from data.spec import DatasetSpec

    kind = spec.get("kind", "trials")
    fields = {"source": source, "data_path": data_path, "subjects": subjects, "runs": runs}
    if kind == "trials":
        preprocessing = dict(spec.get("preprocessing") or {})
        if spec.get("sfreq") and not preprocessing.get("resample"):
            preprocessing["resample"] = None  # resampled below only if the rates differ
        fields.update(events=spec.get("events"), window=tuple(spec.get("window") or (0.0, 3.0)),
                      baseline=None if spec.get("baseline") is None else tuple(spec["baseline"]),
                      preprocessing=preprocessing, min_trials=1)
        if (spec.get("options") or {}).get("paradigm") in ("erp", "speller") and spec.get("source_kind"):
            fields.update(kind=spec["source_kind"], options={**spec["options"], **(options or {})})   # one ERP epoch per stimulus
        elif options:
            fields.update(options=options)
    elif kind == "volumes":   # stimulus pairs: --subjects names the subject of each file
        kind_options = {k: v for k, v in (spec.get("options") or {}).items() if k != "subject_names"}
        if spec.get("source_kind"):
            fields.update(kind=spec["source_kind"], subjects=None)
            if subjects:
                kind_options["subject_names"] = subjects
        fields.update(options={**kind_options, **(options or {})} or None)
    else:
        fields.update(continuous=spec.get("continuous"), options=options or None)
    if options:   # refused by name (exit 2) before the spec wraps the refusal
        from data import sources

        fields["options"] = sources.validate_options(fields.get("kind"), source, fields.get("options"))
    data = load_dataset(DatasetSpec(**fields))
    if (kind == "trials" and not length_free and spec.get("sfreq") and data.sfreq
            and abs(data.sfreq - spec["sfreq"]) > 1e-6):
        fields["preprocessing"]["resample"] = spec["sfreq"]
        data = load_dataset(DatasetSpec(**fields))
    if data.kind != kind:
        raise DataError(f"gives {data.kind} data but the decoder takes {kind} data.", source)
    expected = spec.get("ch_names") or []
    if kind == "trials" and expected:
        missing = [c for c in expected if c not in data.ch_names]
        if missing:
            raise ChannelMismatchError(
                f"lacks {len(missing)} channel(s) the decoder was trained on: {', '.join(missing[:10])}"
                f"{' ...' if len(missing) > 10 else ''}.", source)
        extra = [c for c in data.ch_names if c not in expected]
        if extra:
            data.provenance.setdefault("predict_warnings", []).append(
                f"{source}: {len(extra)} channel(s) the decoder was not trained on are ignored: "
                f"{', '.join(extra[:10])}{' ...' if len(extra) > 10 else ''}.")
        order = [data.ch_names.index(c) for c in expected]
        data.X = data.X[:, order]
        data.ch_names = list(expected)
    shape = spec.get("shape")
    if shape and kind != "volumes":
        got = list(data.X.shape[1:])
        if kind == "trials" and length_free:   # any number of time points: the other axes must match
            if len(got) != len(shape) or got[:-1] != list(shape[:-1]):
                raise DataError(f"gives inputs of shape {got} but the decoder expects "
                                f"{list(shape[:-1]) + ['any length']} (channels or ROIs differ).", source)
        elif got != list(shape):
            raise DataError(f"gives inputs of shape {got} but the decoder expects {shape} "
                            "(window or sampling rate differ).", source)
    return data


def predict_rows(decoder, spec: dict, data):
    """CSV rows and, for labelled trials, the accuracy."""
    import numpy as np

    from decoders.evaluation import predict_with_proba

    from data.fingerprint import seen_mask

    y_pred, proba, _ = predict_with_proba(decoder, data.X, subject=data.subject, tr=data.tr)
    seen = seen_mask(data.X, spec.get("training_digests"))
    names = spec.get("class_names") or []
    rows, correct = [], []
    for i in range(len(data)):
        row = {"index": i, "subject": data.subject[i], "session": data.session[i], "run": data.run[i]}
        if data.kind == "trials":
            if data.y is not None and data.class_names:
                truth = data.class_names[int(data.y[i])]
                row["true"] = truth
            pred = names[int(y_pred[i])] if names and 0 <= int(y_pred[i]) < len(names) else y_pred[i]
            row["pred"] = pred
            if "true" in row:
                correct.append(row["true"] == pred)
            if proba is not None:
                for c, p in enumerate(proba[i]):
                    row[f"p_{names[c] if c < len(names) else c}"] = f"{p:.6g}"
        else:
            targets = spec.get("target_names") or [f"y{j}" for j in range(np.size(y_pred[i]))]
            for j, t in enumerate(targets):
                if data.y is not None:
                    row[f"true_{t}"] = f"{np.ravel(data.y[i])[j]:.6g}"
                row[f"pred_{t}"] = f"{np.ravel(y_pred[i])[j]:.6g}"
        row["seen_in_training"] = bool(seen[i])
        rows.append(row)
    return rows, (float(np.mean(correct)) if correct else None)


def _split(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


