"""`neurodeck gui [--demo]`: open the NeuroDeck window."""
from __future__ import annotations

import os
import sys

HEADLESS_EXAMPLE = "neurodeck run resources/experiments/demo-motor-imagery-simpleconv.yaml"


def register(subparsers) -> None:
    parser = subparsers.add_parser("gui", help="open the NeuroDeck window (the default command)",
                                   description="Open the NeuroDeck desktop workbench.")
    parser.add_argument("--demo", action="store_true", help="open with the demo:motor-imagery dataset loaded")
    parser.set_defaults(func=run)


def display_available() -> bool:
    """A display to open a window on (Linux needs X11 or Wayland, or an explicit Qt platform)."""
    if sys.platform in ("darwin", "win32"):
        return True
    if os.environ.get("QT_QPA_PLATFORM", "").split(":")[0] in ("offscreen", "minimal", "vnc", "eglfs", "linuxfb"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run(args) -> int:
    if not display_available():
        print(f"neurodeck gui: no display available (DISPLAY and WAYLAND_DISPLAY are unset); "
              f"run experiments headless instead, e.g. `{HEADLESS_EXAMPLE}`.", file=sys.stderr)
        return 2
    from app.gui.main_window import launch

    return launch(demo=args.demo, argv=sys.argv[:1])
