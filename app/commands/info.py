"""`neurodeck info PATH | demo:NAME | eegbci:SUBJECTS | moabb:NAME`: what the data holds."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "info", help="show what a recording or dataset holds",
        description="Show channels by type, sampling rate, duration, events with counts and the "
                    "subjects, sessions and runs of a recording file, a folder, a BIDS root, "
                    "eegbci[:SUBJECTS], moabb:NAME or demo:NAME.")
    p.add_argument("source", metavar="SOURCE",
                   help="file, folder, BIDS root, eegbci[:1,2], moabb:NAME or demo:NAME")
    p.add_argument("--data-path", metavar="DIR",
                   help="local copy of a public dataset (eegbci, moabb); default MNE_DATA")
    p.add_argument("--subjects", metavar="LIST", help="comma-separated subjects to include")
    p.add_argument("--runs", metavar="LIST", help="comma-separated runs to include")
    p.add_argument("--json", action="store_true", help="print the description as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    import json

    from data.info import describe, format_description

    info = describe(args.source, data_path=args.data_path, subjects=_split(args.subjects),
                    runs=_split(args.runs))
    if args.json:
        print(json.dumps(info, indent=2, default=str))
    else:
        print(format_description(info))
    return 0


def _split(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]
