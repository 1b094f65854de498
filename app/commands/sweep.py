"""`neurodeck sweep SWEEP.yaml`: every combination of a sweep's axes as a run, resumable, with a report."""
from __future__ import annotations

import sys

from .option_types import number


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep", help="run a base experiment over subjects x decoders x seeds ..., locally or on Ray, with a report",
        description="Expand a sweep file (a base experiment plus axes: subjects, decoders with parameter grids or "
                    "presets, protocols, seeds, datasets) into runs and execute those not finished yet. Each run is "
                    "an ordinary run folder in the sweep folder <sweeps_dir>/<name>/; a sweep that crashed or was "
                    "cancelled resumes where it stopped; a failing run is recorded with its error and the others go "
                    "on. The report (report/index.html, summary.csv, runs.csv, paired_tests.csv, PNG figures) is "
                    "written at the end.")
    p.add_argument("sweep", metavar="SWEEP.yaml", help="sweep file (see resources/experiments/sweep-*.yaml)")
    p.add_argument("--executor", metavar="KIND",
                   help="local (a process pool, the default), ray (a local Ray instance, or the cluster in "
                        "RAY_ADDRESS), or ray://HOST:PORT (a Ray cluster); overrides executor.kind")
    p.add_argument("--workers", type=number(int, at_least=1), metavar="N", help="local executor: parallel runs (default: one per CPU)")
    p.add_argument("--out", metavar="DIR", help="folder that receives the sweep folder (default: output.sweeps_dir)")
    p.add_argument("--report-only", action="store_true", help="run nothing; rewrite the report from the runs finished so far")
    p.add_argument("--dry-run", action="store_true", help="list the runs and which are finished; run nothing")
    p.set_defaults(func=run)


def run(args) -> int:
    from data.errors import InputError

    from ..output_paths import check_output
    from ..sweeps import finished_runs, load_sweep, run_sweep, sweep_folder
    from ..sweeps.spec import count_runs, expand

    spec, base_dir = load_sweep(args.sweep)   # refuses a sweep of more than MAX_RUNS runs
    if args.out:
        check_output(args.out, "--out", folder=True)
    if args.executor and not (args.executor in ("local", "ray") or args.executor.startswith("ray://")):
        raise InputError(f"--executor: '{args.executor}' is not local, ray or ray://HOST:PORT.")
    folder = sweep_folder(spec, args.out)
    if args.dry_run:   # counted from the axes before each run's experiment is built and checked
        print(f"{count_runs(spec)} runs in {args.sweep}; checking each ...", file=sys.stderr, flush=True)
    if args.dry_run or args.report_only:
        plans = expand(spec, base_dir, args.sweep)
        done = finished_runs(folder) if folder.is_dir() else {}
        if args.dry_run:
            for p in plans:
                print(f"{'done   ' if p.id in done else 'to run '} {p.id}")
            print(f"{len(plans)} runs, {sum(p.id in done for p in plans)} finished; sweep folder: {folder}")
            return 0
        if not (folder / "sweep.json").is_file():
            raise InputError("no sweep has run into this folder yet (sweep.json missing).", folder)
        from ..sweeps.report import write_report

        print(f"report: {write_report(folder)}")
        return 0

    def show(event) -> None:
        if event["kind"] == "sweep_start":
            print(f"sweep {spec.name}: {len(event['runs'])} run(s) to execute on {event['executor']}, "
                  f"{len(event['skipped'])} already finished", file=sys.stderr)
        elif event["kind"] == "run_end":
            r = event["record"]
            extra = r.get("error", "") if r["status"] != "done" else \
                ", ".join(f"{k} {v:.3f}" for k, v in list(r.get("summary", {}).items())[:2])
            print(f"  {r['status']:<9} {r['id']} ({r.get('run_seconds', 0):.1f} s) {extra}", file=sys.stderr)

    try:
        result = run_sweep(spec, base_dir, out_dir=args.out, executor=args.executor, workers=args.workers,
                           on_event=show, source=args.sweep)
    except KeyboardInterrupt:
        print("neurodeck: interrupted. Finished runs are kept; run the same command again to execute the "
              "missing ones.", file=sys.stderr)
        return 130
    print(f"sweep folder: {result.folder}")
    print(f"report: {result.folder / 'report' / 'index.html'}")
    if result.failed:
        print(f"{len(result.failed)} run(s) failed (errors in the report and in .sweep/status/).", file=sys.stderr)
        return 1
    return 0
