"""The NeuroDeck main window: the workflow Data → Decoder → Train → Results (→ Online) on the
left, the current step's view in the middle, device and activity in the status bar."""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QApplication, QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QMainWindow, QMessageBox, QProgressBar, QSizePolicy, QStackedWidget, QToolButton, QVBoxLayout,
                               QWidget)

from . import figure_actions, theme
from .controller import Workbench
from .settings import Settings
from .views import ViewEntry, available_views


class MainWindow(QMainWindow):
    """The window. Views are built on demand; the data view (with the demo list) at once."""

    def __init__(self, workbench: Workbench | None = None, settings: Settings | None = None):
        super().__init__()
        self.wb = workbench or Workbench(settings, parent=self)
        self.setWindowTitle("NeuroDeck")
        self.setWindowIcon(theme.app_icon())
        self.setAcceptDrops(True)
        figure_actions.install(QApplication.instance())   # a Save figure button on every plot
        self.views: dict[str, QWidget] = {}
        self.entries: list[ViewEntry] = available_views()   # the workflow steps, fixed for this window
        self._keys = [e.key for e in self.entries]
        self._build()
        self._menus()
        self.wb.error.connect(self.show_error)
        self.wb.busy_changed.connect(self._show_activity)
        self.wb.devices_changed.connect(lambda _d: self._show_device())
        self.wb.source_opened.connect(lambda _s: self._update_steps())
        self.wb.training_done.connect(self._training_done)
        self.wb.training.subscribe(self._training_changed)
        self.wb.decoder.subscribe(lambda change, info: self._update_steps() if change in ("decoder", "device") else None)
        self.wb.decoder.subscribe(lambda change, info: self._show_device() if change == "device" else None)
        self._restore()
        QTimer.singleShot(0, self.wb.prepare)
        QTimer.singleShot(300, self, self._build_views_when_idle)

    # ----------------------------------------------------------------------- layout
    def _build(self) -> None:
        nav = QWidget()
        nav.setObjectName("nav")
        nav.setFixedWidth(200)
        nl = QVBoxLayout(nav)
        nl.setContentsMargins(0, 0, 0, 0)
        nl.setSpacing(0)
        name = QLabel("NeuroDeck")
        name.setObjectName("appTitle")
        tagline = QLabel("brain-signal decoding")
        tagline.setObjectName("appSubtitle")
        self.steps = QListWidget()
        self.steps.setObjectName("workflow")
        self.steps.setIconSize(QSize(20, 20))
        self.steps.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.steps.setWordWrap(True)
        for i, entry in enumerate(self.entries):
            item = QListWidgetItem(entry.qicon(), entry.label)
            item.setData(Qt.UserRole, entry.key)
            tip = f"{entry.tooltip} " if entry.tooltip else ""
            item.setToolTip(f"{tip}({entry.label}, Ctrl+{i + 1})" if i < 9 else entry.tooltip or entry.label)
            self.steps.addItem(item)
        self.steps.currentRowChanged.connect(self._step_chosen)
        nl.addWidget(name)
        nl.addWidget(tagline)
        nl.addWidget(self.steps, 1)

        self.banner = QLabel("")
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextSelectableByMouse)
        close = QToolButton(text="✕", toolTip="Dismiss")
        close.clicked.connect(self.hide_error)
        self.banner_row = QWidget()
        br = QHBoxLayout(self.banner_row)
        br.setContentsMargins(12, 8, 12, 0)
        br.addWidget(self.banner, 1)
        br.addWidget(close)
        self.banner_row.hide()

        self.stack = QStackedWidget()
        center = QWidget()
        cl = QVBoxLayout(center)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(0)
        cl.addWidget(self.banner_row)
        cl.addWidget(self.stack, 1)
        root = QWidget()
        rl = QHBoxLayout(root)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.setSpacing(0)
        rl.addWidget(nav)
        rl.addWidget(center, 1)
        self.setCentralWidget(root)
        for key in self._keys:
            placeholder = QWidget()
            placeholder.setObjectName(f"placeholder-{key}")
            self.stack.addWidget(placeholder)
        self.view("data")

        self.device_label = QLabel()
        self.device_label.setToolTip("Where training runs (choose in the Decoder view)")
        self.activity_label = QLabel("ready")
        self.activity_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.activity_bar = QProgressBar()
        self.activity_bar.setRange(0, 1000)
        self.activity_bar.setFixedWidth(140)
        self.activity_bar.setTextVisible(False)
        self.activity_bar.hide()
        self.statusBar().addWidget(self.activity_label, 1)
        self.statusBar().addPermanentWidget(self.activity_bar)
        self.statusBar().addPermanentWidget(self.device_label)
        self._show_device()
        self._update_steps()

    def _install(self, key: str, widget: QWidget) -> QWidget:
        index = self._keys.index(key)
        old = self.stack.widget(index)
        self.stack.insertWidget(index, widget)
        self.stack.removeWidget(old)
        old.deleteLater()
        self.views[key] = widget
        return widget

    def view(self, key: str) -> QWidget:
        """The view of a step, built on first use."""
        if key not in self.views:
            widget = self.entries[self._keys.index(key)].build(self)
            self._install(key, widget)
        return self.views[key]

    def _build_views_when_idle(self) -> None:
        """Build the remaining views one per event-loop turn after the window shows, so
        that no later click (or the end of a training run) waits for one."""
        missing = [key for key in self._keys if key not in self.views]
        if missing:
            widget = self.view(missing[0])
            for child in widget.findChildren(QWidget):  # style sheets now, not on first show
                child.ensurePolished()
            # Lay it out and render it once offscreen, so its first real showing is cheap.
            widget.resize(self.stack.size())
            widget.grab()
            QTimer.singleShot(0, self, self._build_views_when_idle)  # dropped if the window is gone

    def show_step(self, key: str) -> QWidget:
        widget = self.view(key)
        self.steps.setCurrentRow(self._keys.index(key))
        return widget

    def current_step(self) -> str:
        return self._keys[max(self.steps.currentRow(), 0)]

    def _step_chosen(self, row: int) -> None:
        if row < 0:
            return
        key = self._keys[row]
        self.view(key)
        self.stack.setCurrentIndex(row)

    def _menus(self) -> None:
        bar = self.menuBar()

        def action(menu, text, slot, shortcut=None, tip=None) -> QAction:
            act = QAction(text, self)
            if shortcut:
                act.setShortcut(QKeySequence(shortcut))
            if tip:
                act.setStatusTip(tip)
            act.triggered.connect(slot)
            menu.addAction(act)
            self.addAction(act)
            return act

        file_menu = bar.addMenu("&File")
        action(file_menu, "Open file…", lambda: self.view("data").ask_file(), "Ctrl+O")
        action(file_menu, "Open folder or BIDS root…", lambda: self.view("data").ask_folder(), "Ctrl+Shift+O")
        demos = file_menu.addMenu("Open demo")
        from data import demos as demo_registry

        for demo in demo_registry.available():
            action(demos, f"demo:{demo.name}", lambda _=False, d=demo.name: self.wb.open(f"demo:{d}"),
                   "Ctrl+D" if demo.name == "motor-imagery" else None, demo.description)
        file_menu.addSeparator()
        action(file_menu, "Workspace folder…", self.ask_workspace, tip="Folder of the run folders")
        file_menu.addSeparator()
        action(file_menu, "Quit", self.close, "Ctrl+Q")

        run_menu = bar.addMenu("&Run")
        self.start_action = action(run_menu, "Start training", self.start_training, "F5")
        self.cancel_action = action(run_menu, "Cancel training", self.wb.cancel_training, "Shift+F5")
        action(run_menu, "Export the selected run's decoder…", self._export, "Ctrl+E")

        view_menu = bar.addMenu("&View")
        for i, entry in enumerate(self.entries):
            action(view_menu, entry.label, lambda _=False, k=entry.key: self.show_step(k),
                   f"Ctrl+{i + 1}" if i < 9 else None)
        view_menu.addSeparator()
        self.dark_action = action(view_menu, "Dark theme", lambda on: self.set_theme("dark" if on else "light"),
                                  "Ctrl+Shift+T")
        self.dark_action.setCheckable(True)

        help_menu = bar.addMenu("&Help")
        action(help_menu, "Keyboard shortcuts", self._shortcuts, "F1")
        action(help_menu, "About NeuroDeck", self._about)

    # ---------------------------------------------------------------------- actions
    def start_training(self) -> bool:
        if self.wb.data.spec is None:
            self.show_error("Cannot start training", "Choose data first: open a file or pick a demo in the Data view.")
            self.show_step("data")
            return False
        if self.wb.decoder.name is None:
            self.show_error("Cannot start training", "Choose a decoder first in the Decoder view.")
            self.show_step("decoder")
            return False
        view = self.show_step("train")
        d = self.wb.decoder
        view.describe_setup(f"{d.name}{f' ({d.preset})' if d.preset else ''} on {self.wb.data.source} · "
                            f"{d.protocol} · device {self.wb.device_label()}")
        started = self.wb.start_training()
        if started:
            self.hide_error()
        return started

    def ask_workspace(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Workspace folder (runs)", str(self.wb.runs_dir))
        if folder:
            self.wb.set_runs_dir(folder)

    def _export(self) -> None:
        self.show_step("results").ask_export()

    def set_theme(self, name: str) -> None:
        theme.apply(QApplication.instance(), name, self)
        self.wb.settings.theme = name
        self.dark_action.setChecked(name == "dark")

    def show_error(self, title: str, message: str) -> None:
        """Errors appear inline at the top of the window (never a crash, never a modal stop)."""
        self.banner.setText(f"<b>{title}</b><br>{_escape(message)}")
        self.banner_row.show()
        self.activity_label.setText(title)

    def hide_error(self) -> None:
        self.banner_row.hide()
        self.banner.setText("")

    def error_text(self) -> str:
        return self.banner.text() if self.banner_row.isVisible() or self.banner.text() else ""

    def _shortcuts(self) -> None:
        QMessageBox.information(self, "Keyboard shortcuts", (
            "Ctrl+O open file · Ctrl+Shift+O open folder · Ctrl+D open the motor-imagery demo\n"
            "Ctrl+1…5 workflow steps · F5 start training · Shift+F5 cancel · Ctrl+E export decoder\n"
            "Ctrl+Shift+T dark theme · Ctrl+Q quit\n\n"
            "Signal browser: ←/→ scroll (Shift: a window), PgUp/PgDn channels, +/− scale, [ ] zoom, "
            "click a trace to mark it bad."))

    def _about(self) -> None:
        QMessageBox.about(self, "About NeuroDeck",
                          "NeuroDeck: a workbench for brain-signal decoding.\n"
                          "Headless runs: neurodeck run EXPERIMENT.yaml")

    # ----------------------------------------------------------------------- status
    def _show_device(self) -> None:
        self.device_label.setText(f"device: {self.wb.device_label()}")

    def _show_activity(self, text: str) -> None:
        self.activity_label.setText(text or "ready")
        self._update_steps()

    def _training_changed(self, change: str, info: dict) -> None:
        m = self.wb.training
        if change == "progress" or change == "state":
            self.activity_bar.setVisible(m.running)
            self.activity_bar.setValue(int(1000 * m.progress))
            if m.running:
                from .models import format_eta

                self.activity_label.setText(f"training {self.wb.decoder.name}: {m.progress:.0%}, "
                                            f"about {format_eta(m.eta_s)} left")
            if change == "state":  # the step list re-lays itself out: not on every progress tick
                self._update_steps()

    def _training_done(self, state: str) -> None:
        self._show_activity(self.wb.busy_text())
        if state == "finished" and self.wb.training.run_dir:
            run_dir = self.wb.training.run_dir
            # The results table refreshed on runs_changed; select the new run on a later turn
            # of the event loop so no single step of the hand-over blocks it for long.
            QTimer.singleShot(0, lambda: self.view("results").select_run(run_dir))
            self.activity_label.setText(f"finished: {Path(run_dir).name} (see Results)")

    def _update_steps(self) -> None:
        for i, entry in enumerate(self.entries):
            item = self.steps.item(i)
            note = entry.note_for(self)
            text = f"{entry.label}\n{note}" if note else entry.label
            if item.text() != text:
                item.setText(text)

    # ------------------------------------------------------------- drag and drop
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.show_step("data")
            self.wb.open(paths[0])
            event.acceptProposedAction()

    # ------------------------------------------------------------ settings, close
    def _restore(self) -> None:
        geometry, state, view = self.wb.settings.layout()
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        if state is not None:
            self.restoreState(state)
        self.dark_action.setChecked(self.wb.settings.theme == "dark")
        # The last step is restored unless it is Online: a live session is never resumed by itself.
        restore = 0 <= view < len(self._keys) and self._keys[view] != "online"
        self.steps.setCurrentRow(view if restore else 0)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        """Closing during a run cancels it and waits for the worker to stop."""
        if self.wb.training_running():
            self.activity_label.setText("cancelling the running training…")
            QApplication.processEvents()
        self.wb.shutdown()
        self.wb.settings.save_layout(self.saveGeometry(), self.saveState(), self.steps.currentRow())
        self.wb.settings.sync()
        super().closeEvent(event)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br>")


def create_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setOrganizationName("NeuroDeck")
    app.setApplicationName("NeuroDeck")
    app.setWindowIcon(theme.app_icon())
    return app


def install_excepthook(window: MainWindow) -> None:
    """Unexpected errors in slots become a message in the window instead of a dead app."""
    previous = sys.excepthook

    def hook(kind, value, tb):
        import traceback

        text = "".join(traceback.format_exception(kind, value, tb))
        try:
            window.wb.training.add_log(text.rstrip())
            window.show_error("Unexpected error", f"{kind.__name__}: {value}")
        except Exception:  # noqa: BLE001 - the window itself is gone
            previous(kind, value, tb)

    sys.excepthook = hook


def launch(source: str | None = None, argv: list[str] | None = None, screenshot: str | None = None) -> int:
    """Open the window (with ``source`` loaded when given) and run the event loop.

    ``screenshot``: save the window to that PNG once the source is shown (or after an error
    or 60 s), then quit; exit code 0 if the source opened, 2 if an error was shown (and
    printed), 1 if nothing happened within 60 s.
    """
    app = create_app(argv)
    settings = Settings()
    theme.apply(app, settings.theme)
    window = MainWindow(settings=settings)
    install_excepthook(window)
    window.show()
    if screenshot:
        _quit_after_screenshot(app, window, screenshot, expect_source=source is not None)
    if source:
        window.wb.open(source)
    code = app.exec()
    _join_background_work()
    return code


def _join_background_work(timeout_s: float = 30.0) -> None:
    """Let the workers' threads (named ``neurodeck-...``) end before the interpreter does: a
    thread still importing torch or reading a file at exit dies with raw tracebacks."""
    import threading
    import time

    deadline = time.monotonic() + timeout_s
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and thread.name.startswith("neurodeck-"):
            thread.join(max(0.0, deadline - time.monotonic()))


def _quit_after_screenshot(app: QApplication, window: MainWindow, path: str, expect_source: bool) -> None:
    outcome = {"code": 1}

    def shoot(code: int) -> None:
        if outcome.get("done"):
            return
        outcome.update(done=True, code=code)
        window.grab().save(path)
        app.exit(code)

    window.wb.source_opened.connect(lambda _source: QTimer.singleShot(1500, lambda: shoot(0)))
    def refused(title: str, message: str) -> None:   # the window shows it; the command line says it too
        print(f"error: {title}: {message}", file=sys.stderr)
        QTimer.singleShot(500, lambda: shoot(2))

    window.wb.error.connect(refused)
    if not expect_source:
        QTimer.singleShot(1500, lambda: shoot(0))
    QTimer.singleShot(60_000, lambda: shoot(1))
