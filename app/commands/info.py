"""`neurodeck info PATH | demo:NAME | eegbci:SUBJECTS | moabb:NAME`: what the data holds."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "info", help="show what a recording or dataset holds",
        description="Show channels by type, sampling rate, duration, events with counts and the "
                    "subjects, sessions and runs of a recording file, a folder, a BIDS root, "
                    "eegbci[:SUBJECTS], moabb:NAME or demo:NAME.")
    p.add_argument("source", metavar="SOURCE", nargs="?",
                   help="file, folder, BIDS root, eegbci[:1,2], moabb:NAME or demo:NAME")
    p.add_argument("--data-path", metavar="DIR",
                   help="local copy of a public dataset (eegbci, moabb); default MNE_DATA")
    p.add_argument("--subjects", metavar="LIST", help="comma-separated subjects to include")
    p.add_argument("--runs", metavar="LIST", help="comma-separated runs to include")
    p.add_argument("--kind", metavar="KIND", help="read SOURCE as this source kind (see --kinds)")
    p.add_argument("--option", metavar="KEY=VALUE", action="append", default=[],
                   help="a source-kind option, as in an experiment's dataset.options (repeatable; "
                        "VALUE is YAML, e.g. --option tr=2.5 --option 'sites=[NYU, KKI]')")
    p.add_argument("--kinds", action="store_true", help="list the registered source kinds")
    p.add_argument("--json", action="store_true", help="print the description as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    import json

    from data.info import describe, format_description

    if args.kinds:
        from data import sources

        kinds = [k.facts() for k in sources.available()]
        print(json.dumps(kinds, indent=2) if args.json else "\n".join(map(_kind_line, kinds)))
        return 0
    if not args.source:
        from data.errors import InputError

        raise InputError("info: give a SOURCE (or --kinds)")
    from data import sources

    options = sources.validate_options(args.kind, args.source, option_pairs(args.option)) or {}
    info = describe(args.source, data_path=args.data_path, subjects=_split(args.subjects),
                    runs=_split(args.runs), kind=args.kind, **options)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
    else:
        print(format_description(info))
    return 0


def _kind_line(facts: dict) -> str:
    """One kind for people: its name and description, then what it reads and produces."""
    reads = [f"{facts['scheme']}:{'ARG' if facts['argument'] else ''}".rstrip(":")] if facts["scheme"] else []
    reads += facts["extensions"] + (["folders"] if facts["folders"] else [])
    makes = ", ".join(v for v in (facts["produces"], facts["modality"]) if v)
    details = "; ".join(part for part in (
        "reads " + " ".join(reads) if reads else "", f"makes {makes}" if makes else "",
        "takes options" if facts["options"] else "") if part)
    return f"{facts['name']:<18} {facts['description']}" + (f"\n{'':<18} ({details})" if details else "")


def _split(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def option_pairs(pairs: list[str], command: str = "info") -> dict:
    """``KEY=VALUE`` pairs (``--option``, repeatable), each VALUE read as (safe, size-limited)
    YAML; ``command`` names the command in the error (``info``, ``predict``)."""
    from data.errors import InputError
    from data.safe_yaml import parse_yaml

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"{command}: --option {pair!r} is not KEY=VALUE")
        out[key.strip()] = parse_yaml(value, f"--option {key.strip()}")
    return out
