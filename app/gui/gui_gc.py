"""While worker threads run, Python's cyclic garbage is collected on the GUI thread only.

The cyclic collector runs on whichever thread happens to allocate. Run from a worker thread,
it can destroy Qt objects there (a closed pane's FigureCanvasQTAgg sits in a cycle with its
Figure), which Qt forbids: it deadlocked a GUI test once, the explain worker inside the
collector and the GUI thread in its event loop. So from the first worker's start to the last
one's end, automatic collection is off and a timer on the GUI thread collects whenever the
interpreter's own thresholds are passed (pyqtgraph's GarbageCollector does the same for good).
"""
from __future__ import annotations

import gc

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer

CHECK_INTERVAL_MS = 250


class _GuiThreadCollector(QObject):
    def __init__(self, app: QCoreApplication):
        super().__init__(app)
        self.holders = 0
        self.enable_after = False
        self.timer = QTimer(self)
        self.timer.setInterval(CHECK_INTERVAL_MS)
        self.timer.timeout.connect(collect_due_generation)

    def hold(self) -> None:
        if self.holders == 0:
            self.enable_after = gc.isenabled()
            gc.disable()
            self.timer.start()
        self.holders += 1

    def release(self) -> None:
        self.holders = max(0, self.holders - 1)
        if self.holders == 0:
            self.timer.stop()
            if self.enable_after:
                gc.enable()


def collect_due_generation() -> int:
    """Collect the oldest generation whose count passed its threshold, as automatic
    collection would; returns the objects found unreachable (0 when none was due)."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    for generation in (2, 1, 0):
        if thresholds[generation] and counts[generation] > thresholds[generation]:
            return gc.collect(generation)
    return 0


_collector: _GuiThreadCollector | None = None


def hold() -> bool:
    """A worker thread starts (call on the GUI thread). False, and nothing changes, where there
    is no application or this is not its thread."""
    global _collector
    app = QCoreApplication.instance()
    if app is None or QThread.currentThread() != app.thread():
        return False
    if _collector is None or not shiboken6.isValid(_collector):
        _collector = _GuiThreadCollector(app)
    _collector.hold()
    return True


def release() -> None:
    """A worker thread that `hold` counted has ended (call on the GUI thread)."""
    if _collector is not None and shiboken6.isValid(_collector):
        _collector.release()


def holding() -> bool:
    """True while worker threads run and collection is the GUI thread's."""
    return _collector is not None and shiboken6.isValid(_collector) and _collector.holders > 0
