"""`neurodeck gui [SOURCE] [--demo]`: open the NeuroDeck window."""
from __future__ import annotations

import sys

HEADLESS_EXAMPLE = "neurodeck run resources/experiments/demo-motor-imagery-simpleconv.yaml"


def register(subparsers) -> None:
    parser = subparsers.add_parser("gui", help="open the NeuroDeck window (the default command)",
                                   description="Open the NeuroDeck desktop workbench.")
    parser.add_argument("source", nargs="?", metavar="SOURCE",
                        help="a recording, folder, BIDS root, eegbci, moabb:NAME or demo:NAME to open")
    parser.add_argument("--demo", action="store_true", help="open with the demo:motor-imagery dataset loaded")
    parser.add_argument("--screenshot", metavar="PNG",
                        help="save the window to this PNG once the data is shown, then quit "
                             "(checks that the GUI starts on this machine)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from app.display_check import display_problem
    from app.output_paths import check_output

    if args.screenshot:   # a PNG that could not be written is refused before the window opens
        check_output(args.screenshot, "--screenshot")
    problem = display_problem()
    if problem:
        print(f"neurodeck gui: {problem}; run experiments headless instead, e.g. "
              f"`{HEADLESS_EXAMPLE}`.", file=sys.stderr)
        return 2
    from app.gui.main_window import launch

    source = args.source or ("demo:motor-imagery" if args.demo else None)
    return launch(source=source, argv=sys.argv[:1], screenshot=args.screenshot)
