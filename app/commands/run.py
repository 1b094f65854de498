"""`neurodeck run EXPERIMENT.yaml`: train and evaluate, write a run folder."""
from __future__ import annotations

import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "run", help="train and evaluate a decoder from an experiment file, write a run folder",
        description="Train and evaluate the decoder an experiment file names, with its evaluation "
                    "protocol, and write a run folder (config.yaml, metrics.json, history.csv, "
                    "predictions.csv, figures/, model/, log.txt). Relative paths in the file are "
                    "resolved against the current directory. An interrupted run (Ctrl-C) keeps the "
                    "folds it finished and the same command resumes from them.")
    p.add_argument("experiment", metavar="EXPERIMENT.yaml", help="experiment file (see resources/experiments/)")
    p.add_argument("--out", metavar="DIR", help="runs folder that receives the run folder (default: output.runs_dir of the file)")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (overrides training.device)")
    p.add_argument("--restart", action="store_true", help="discard the results of an interrupted earlier run instead of resuming")
    p.add_argument("--quiet", action="store_true",
                   help="say only warnings (default: a progress bar on a terminal, a flushed line per "
                        "fold otherwise)")
    p.add_argument("--check", action="store_true",
                   help="validate the file, load the data, build the decoder and cut the folds; train "
                        "nothing, write no run folder; exit 2 when the experiment cannot run on its data")
    p.add_argument("--estimate", action="store_true",
                   help="with --check: also time a short stretch of training on one fold and print the "
                        "run's estimated wall time")
    p.set_defaults(func=run)


def run(args) -> int:
    from decoders.events import Cancelled

    from ..experiment import load_config, run_experiment, validate_config

    config = load_config(args.experiment)
    if args.device:
        raw = config.model_dump()
        raw["training"]["device"] = args.device
        config = validate_config(raw, source=f"{args.experiment} with --device {args.device}")
    if args.check:
        from ..preflight import preflight

        print(preflight(config, estimate=args.estimate).describe())
        return 0
    from .run_progress import RunDisplay

    display = RunDisplay.for_stream(args.quiet)
    try:
        result = run_experiment(config, on_event=display, out_dir=args.out, restart=args.restart)
    except (KeyboardInterrupt, Cancelled):
        display.close()
        print("neurodeck: interrupted. The folds finished so far are kept; run the same command "
              "again to resume (or add --restart to start over).", file=sys.stderr)
        return 130
    finally:
        display.close()
    print(summary_table(result.metrics))
    print(f"run folder: {result.run_dir}")
    return 0


def summary_table(metrics: dict) -> str:
    """The summary metrics as an aligned text table (mean ± std over folds)."""
    lines = [f"{metrics['decoder']} | {metrics['protocol']} | {len(metrics['folds'])} folds | "
             f"device {metrics['device']}"]
    for name, v in metrics["summary"].items():
        lines.append(f"  {name:<20} {v['mean']:.4f} ± {v['std']:.4f}")
    t = metrics.get("timings", {})
    if t:
        lines.append(f"  {'fit seconds/fold':<20} {t.get('fit_seconds_mean', float('nan')):.3f}")
        lines.append(f"  {'predict ms/sample':<20} {t.get('predict_ms_per_sample', float('nan')):.4f}")
    return "\n".join(lines)
