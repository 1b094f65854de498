"""The `neurodeck` command. Each subcommand lives in `app/commands/<name>.py` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a function of ``args``
returning an exit code.

Exit codes: 0 success, 1 the run failed (a fault of NeuroDeck or the machine, said so),
2 bad input (one paragraph naming the file or key, no traceback unless ``--debug``, which
adds the traceback and keeps the exit code),
130 interrupted. Any exception from user input (the project's InputError, a file the user
named that cannot be read or written: `as_input_error`) is exit 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import textwrap
import traceback

from data.errors import as_input_error, excerpt

COMMANDS = ["info", "run", "sweep", "export", "predict", "explain", "online", "gui"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurodeck",
        description="NeuroDeck: a workbench for brain-signal decoding. With no command, opens the GUI.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"app.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"app.commands.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv[: argv.index("--") if "--" in argv else len(argv)]
    if debug:   # accepted anywhere on the line: `neurodeck info FILE --debug`
        argv.remove("--debug")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 2 for bad arguments, 0 for --help
        return int(exc.code or 0)
    if args.command is None:
        args = parser.parse_args(["gui", *argv])
    args.debug = debug
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("neurodeck: interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place that turns errors into exit codes
        if args.debug:   # the traceback first; the message and the exit code stay the same
            traceback.print_exc(file=sys.stderr)
        user_error = as_input_error(exc)
        if user_error is not None:
            _say(f"error: {user_error}")
            return 2
        _say(f"error: the {args.command} command failed (a fault in NeuroDeck or the machine, not in "
             f"your input): {type(exc).__name__}: {excerpt(str(exc), 300)}"
             + ("" if args.debug else " (run with --debug for the traceback; please report it)"))
        return 1


def _say(text: str) -> None:
    print(textwrap.fill(text, width=100, break_long_words=False, break_on_hyphens=False), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
