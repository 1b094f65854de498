"""GUI benchmark: process start to main window shown, the signal browser's frame time
while scrolling 64 channels x 1 hour at 160 Hz, and the event loop's gaps while a run trains
(the GUI workflow test's walk; the test itself asserts only a generous bound).

    QT_QPA_PLATFORM=offscreen python tests/benchmarks/bench_gui.py [--gaps-only]

Prints a table and writes tests/benchmarks/results/gui.json.
"""
from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "tests" / "benchmarks" / "results"

STARTUP_CHILD = r"""
import os, sys, time
from app.gui.main_window import MainWindow, create_app
from app.gui import theme
app = create_app([])
theme.apply(app, "light")
window = MainWindow()
window.show()
app.processEvents()  # the first paint
print("shown", flush=True)
os._exit(0)  # measured: start to shown; skip the teardown
"""


def startup_seconds(repeats: int = 5) -> list[float]:
    """Wall time from launching a fresh Python process to the window shown and painted."""
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
               "NEURODECK_SETTINGS": str(Path(tmp) / "settings.ini")}
        for _ in range(repeats):
            start = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-c", STARTUP_CHILD], cwd=REPO, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            line = proc.stdout.readline()
            elapsed = time.perf_counter() - start
            proc.wait(30)
            if line.strip() != "shown":
                raise RuntimeError("the window did not open")
            times.append(elapsed)
    return times


def browser_frames(duration_s: float, n_frames: int = 60, n_channels: int = 64, hours: float = 1.0,
                   sfreq: float = 160.0) -> dict:
    """Scroll by a quarter window per frame; a frame = read + decimate + draw + paint."""
    from PySide6.QtWidgets import QApplication

    from app.gui.signal_browser import ArraySource, SignalBrowser

    app = QApplication.instance() or QApplication([])
    rng = np.random.default_rng(0)
    n_times = int(hours * 3600 * sfreq)
    data = (rng.standard_normal((n_channels, n_times), dtype=np.float32) * 20).cumsum(axis=1) * 0.05
    events = [(float(t), "T1" if t % 8 else "T2") for t in range(2, int(hours * 3600), 4)]
    browser = SignalBrowser()
    browser.resize(1280, 800)
    browser.show()
    app.processEvents()
    browser.page_size = n_channels
    browser.set_source(ArraySource(data, sfreq, [f"EEG{i:02d}" for i in range(n_channels)], events=events))
    browser.set_view(start_s=0, duration_s=duration_s)
    app.processEvents()
    times = []
    for _ in range(n_frames):
        start = time.perf_counter()
        browser.scroll(0.25)
        app.processEvents()  # the paint happens here
        times.append(time.perf_counter() - start)
    ms = np.asarray(times) * 1000
    out = {"window_s": duration_s, "channels": n_channels, "hours": hours, "sfreq": sfreq,
           "frames": n_frames, "points_per_frame": browser.last_points,
           "median_ms": float(np.median(ms)), "p95_ms": float(np.percentile(ms, 95)), "max_ms": float(ms.max())}
    browser.close()
    return out


GAP_LINE = re.compile(r"event loop during training: (\d+) ticks over ([\d.]+) s, largest gap ([\d.]+) ms.*?"
                      r"median ([\d.]+) ms, (\d+) gaps over 50 ms", re.S)


def event_loop_gaps(repeats: int = 3) -> list[dict]:
    """Gaps between 10 ms timer ticks while the GUI trains (tests/test_gui_workflow.py's walk)."""
    out = []
    for _ in range(repeats):
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                               "tests/test_gui_workflow.py", "-k", "event_loop"], cwd=REPO, capture_output=True,
                              text=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
        match = GAP_LINE.search(" ".join(proc.stdout.split()))
        if match is None:
            raise RuntimeError(f"no gap line in the test output:\n{proc.stdout[-2000:]}")
        ticks, seconds, largest, median, over50 = match.groups()
        out.append({"ticks": int(ticks), "seconds": float(seconds), "largest_ms": float(largest),
                    "median_ms": float(median), "gaps_over_50ms": int(over50)})
    return out


def main() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    gaps = event_loop_gaps()
    print(f"{'event loop while training':<28} {'ticks':>6} {'largest ms':>11} {'median ms':>10} {'>50 ms':>7}")
    for g in gaps:
        print(f"{'':<28} {g['ticks']:>6} {g['largest_ms']:>11.1f} {g['median_ms']:>10.1f} {g['gaps_over_50ms']:>7}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "gui_event_loop.json").write_text(json.dumps({
        "machine": f"{platform.machine()} {os.cpu_count()}-core CPU, no GPU",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "runs": gaps,
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}, indent=2))
    if "--gaps-only" in sys.argv:
        return
    startup = startup_seconds()
    frames = [browser_frames(10.0), browser_frames(60.0)]
    result = {
        "machine": f"{platform.machine()} {os.cpu_count()}-core CPU, no GPU",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "python": platform.python_version(),
        "startup_s": {"runs": startup, "median": float(np.median(startup)), "min": float(min(startup))},
        "browser": frames,
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    print("process start -> main window shown (s): median {:.2f}, min {:.2f} over {} runs".format(
        result["startup_s"]["median"], result["startup_s"]["min"], len(startup)))
    print(f"{'window':>8} {'channels':>8} {'points/frame':>13} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
    for f in frames:
        print(f"{f['window_s']:>7.0f}s {f['channels']:>8} {f['points_per_frame']:>13} {f['median_ms']:>10.1f} "
              f"{f['p95_ms']:>8.1f} {f['max_ms']:>8.1f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "gui.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
