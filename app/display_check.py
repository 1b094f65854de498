"""Can a Qt window open here? Checked before Qt is imported, because Qt aborts the process
(SIGABRT, with a misleading message) when its X11 plugin lacks a system library or the X
server named by DISPLAY does not answer.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import subprocess
import sys
from pathlib import Path

# shared library -> the Debian/Ubuntu package that ships it (Qt 6's xcb plugin needs these)
DEBIAN_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1", "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0", "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0", "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xkb.so.1": "libxcb-xkb1", "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0", "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1", "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb.so.1": "libxcb1", "libX11-xcb.so.1": "libx11-xcb1", "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1", "libfontconfig.so.1": "libfontconfig1", "libdbus-1.so.3": "libdbus-1-3",
}
# what Qt's xcb plugin needs beyond a base system, in one install line for the README
APT_LINE = ("sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 "
            "libxcb-render-util0 libxcb-randr0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 "
            "libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1 libdbus-1-3")


def missing_from_ldd(output: str) -> list[str]:
    """Library names ``ldd`` reports as ``not found``, each once, in order."""
    found = re.findall(r"^\s*(\S+)\s+=>\s+not found", output, flags=re.MULTILINE)
    return list(dict.fromkeys(found))


def qt_xcb_libraries() -> list[Path]:
    """Qt's X11 platform plugin and the Qt library it loads (empty if PySide6 has none)."""
    import importlib.util

    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.origin:
        return []
    qt = Path(spec.origin).parent / "Qt"
    candidates = [qt / "plugins" / "platforms" / "libqxcb.so", qt / "lib" / "libQt6XcbQpa.so.6"]
    return [p for p in candidates if p.is_file()]


def missing_qt_libraries() -> list[str]:
    """System libraries Qt's X11 plugin needs that this machine lacks (Linux only)."""
    missing: list[str] = []
    for library in qt_xcb_libraries():
        try:
            out = subprocess.run(["ldd", str(library)], capture_output=True, text=True, timeout=20).stdout
        except (OSError, subprocess.SubprocessError):
            return []  # no ldd: let Qt try
        missing += [m for m in missing_from_ldd(out) if m not in missing]
    return missing


def x_server_answers(display: str) -> bool:
    """True when the X server named by ``display`` accepts a connection (through libxcb)."""
    name = ctypes.util.find_library("xcb") or "libxcb.so.1"
    try:
        xcb = ctypes.CDLL(name)
    except OSError:
        return True  # cannot check; Qt reports missing libxcb itself through missing_qt_libraries
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)
    try:
        return xcb.xcb_connection_has_error(connection) == 0
    finally:
        xcb.xcb_disconnect(connection)


def display_problem() -> str | None:
    """One line saying why no window can open here, or None when one can."""
    if sys.platform in ("darwin", "win32"):
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0]
    if platform and platform != "xcb":
        return None  # offscreen, wayland, vnc, ...: Qt checks those itself without aborting
    display = os.environ.get("DISPLAY")
    if not display:
        if os.environ.get("WAYLAND_DISPLAY") and not platform:
            return None
        return "no display available (DISPLAY and WAYLAND_DISPLAY are unset)"
    missing = missing_qt_libraries()
    if missing:
        packages = sorted({DEBIAN_PACKAGES.get(m, m) for m in missing})
        return (f"Qt's X11 plugin needs system libraries this machine lacks: {', '.join(missing)}; "
                f"install them (Debian/Ubuntu: sudo apt-get install {' '.join(packages)})")
    if not x_server_answers(display):
        return f"the X server at DISPLAY={display} does not answer (is it running?)"
    return None
