"""The GUI refuses, in one line and with exit 2, to start where Qt would abort."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from app import display_check
from app.cli import main

LDD_OUTPUT = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f)
\tlibxcb-icccm.so.4 => not found
"""


def test_missing_libraries_are_read_from_ldd_once_each():
    assert display_check.missing_from_ldd(LDD_OUTPUT) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]


def test_missing_qt_library_gives_one_line_with_the_packages(monkeypatch, capsys):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setattr(display_check, "missing_qt_libraries", lambda: ["libxcb-keysyms.so.1"])
    assert main(["gui", "--demo"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "libxcb-keysyms.so.1" in err and "apt-get install libxcb-keysyms1" in err


def test_display_without_a_server_is_named(monkeypatch, capsys):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":97")  # nothing listens there
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setattr(display_check, "missing_qt_libraries", lambda: [])
    assert main(["gui"]) == 2
    assert "DISPLAY=:97 does not answer" in capsys.readouterr().err


def test_no_display_at_all(monkeypatch, capsys):
    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert main(["gui"]) == 2
    assert "no display available" in capsys.readouterr().err


def test_offscreen_platform_needs_no_x_server(monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.delenv("DISPLAY", raising=False)
    assert display_check.display_problem() is None


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run (CI installs it: .ci/gui-smoke)")
def test_gui_starts_under_a_virtual_x_server_and_saves_a_screenshot(tmp_path):
    shot = tmp_path / "window.png"
    env = {k: v for k, v in __import__("os").environ.items() if k != "QT_QPA_PLATFORM"}
    result = subprocess.run(["xvfb-run", "-a", sys.executable, "-m", "app.cli", "gui", "--demo",
                             "--screenshot", str(shot)], capture_output=True, text=True, timeout=180,
                            env=env)
    assert result.returncode == 0, result.stderr
    assert shot.stat().st_size > 10_000
