"""The `neurodeck` command. Each subcommand lives in `app/commands/<name>.py` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a function of ``args``
returning an exit code.

Exit codes: 0 success, 1 the run failed, 2 bad input (one paragraph, no traceback unless
``--debug``), 130 interrupted.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import textwrap

COMMANDS = ["info", "run", "export", "predict", "online", "gui"]


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
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 2 for bad arguments, 0 for --help
        return int(exc.code or 0)
    if args.command is None:
        args = parser.parse_args(["gui", *argv])
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("neurodeck: interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place that turns errors into exit codes
        from data.errors import InputError

        if args.debug:
            raise
        if isinstance(exc, InputError):
            _say(f"error: {exc}")
            return 2
        _say(f"error: the {args.command} command failed: {type(exc).__name__}: {exc} "
             "(run with --debug for the traceback)")
        return 1


def _say(text: str) -> None:
    print(textwrap.fill(text, width=100, break_long_words=False, break_on_hyphens=False), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
