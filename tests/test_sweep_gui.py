"""The sweep panel: open a sweep file, start it, watch progress per run, cancel, see the report."""
from __future__ import annotations

import os
from pathlib import Path

import yaml

from tests.test_sweep import _spec


def test_sweep_view_starts_cancels_resumes_and_shows_the_report(qtbot, datasets, tmp_path, monkeypatch):
    from app.gui.sweep_view import SweepView

    sweep = tmp_path / "gui.yaml"
    sweep.write_text(yaml.safe_dump({**_spec(datasets, subjects=[1, 2]), "name": "gui",
                                     "executor": {"kind": "local", "workers": 1}}))
    flag = tmp_path / "paused"
    monkeypatch.setenv("NEURODECK_SWEEP_PAUSE_RUN", f"csp-lda-s1-seed0:{flag}")   # the pool inherits it
    view = SweepView()
    qtbot.addWidget(view)
    view.open_sweep_file(sweep, out_dir=tmp_path / "out")
    assert view.runs_table.rowCount() == 2 and view.start_button.isEnabled()

    view.start()
    assert view.is_running() and view.cancel_button.isEnabled()
    qtbot.waitUntil(flag.exists, timeout=240_000)   # the first run is mid-way (one fold saved)
    view.refresh()
    states = {view.runs_table.item(r, 0).text(): view.runs_table.item(r, 4).text() for r in range(2)}
    assert states["csp-lda-s1-seed0"] == "running"
    with qtbot.waitSignal(view.finished, timeout=240_000) as blocker:
        view.cancel()
    result = blocker.args[0]
    statuses = {r["id"]: r["status"] for r in result.executed}
    assert statuses["csp-lda-s1-seed0"] == "cancelled" and set(statuses.values()) == {"cancelled"}
    assert "cancelled" in view.status_label.text()
    folder = tmp_path / "out" / "gui"
    assert [p for p in folder.iterdir() if p.name.endswith(".partial")]   # the fold done is kept

    monkeypatch.delenv("NEURODECK_SWEEP_PAUSE_RUN")
    with qtbot.waitSignal(view.finished, timeout=240_000) as blocker:
        view.start()
    result = blocker.args[0]
    assert sorted(r["id"] for r in result.executed) == ["csp-lda-s1-seed0", "csp-lda-s2-seed0"] and not result.failed
    states = {view.runs_table.item(r, 0).text(): view.runs_table.item(r, 4).text() for r in range(2)}
    assert set(states.values()) == {"done"}
    assert all(view.runs_table.cellWidget(r, 5).value() == 100 for r in range(2))
    assert view.comparison_table.rowCount() == 1
    assert view.comparison_table.item(0, 0).text() == "csp-lda"
    assert {w.objectName() for w in view.figures.findChildren(type(view.status_label))} >= {
        "accuracy_per_subject", "time_per_run"}

    other = SweepView()   # the folder alone opens too, and can start again (nothing left to run)
    qtbot.addWidget(other)
    other.open_folder(folder)
    assert other.runs_table.rowCount() == 2 and other.comparison_table.rowCount() == 1
    from app.gui.main_window import MainWindow

    monkeypatch.setenv("NEURODECK_SETTINGS", str(tmp_path / "settings.ini"))
    window = MainWindow()   # the results view lists the sweep's runs and opens the sweep panel
    qtbot.addWidget(window)
    window.wb.set_runs_dir(folder)
    results = window.show_step("results")
    results.refresh()
    assert sorted(Path(r.path).name for r in results.runs) == sorted(p.name for p in folder.iterdir()
                                                                       if (p / "metrics.json").is_file())
    results.sweeps_button.click()
    assert results.sweep_view.isVisible()
    results.sweep_view.close()

    view.resize(1100, 600)
    view.tabs.setCurrentIndex(1)
    shot = Path(os.environ.get("NEURODECK_SCREENSHOTS", tmp_path)) / "sweep_view.png"
    view.grab().save(str(shot))
    assert shot.stat().st_size > 0


def test_report_figures_being_written_are_not_read(qtbot, tmp_path):
    """A refresh while the report writer replaces a figure (its hidden temporary file, then
    the rename) shows the finished figures only and raises nothing."""
    from PySide6.QtGui import QColor, QPixmap

    from app.gui.sweep_view import SweepView

    view = SweepView()
    qtbot.addWidget(view)
    report = tmp_path / "report"
    report.mkdir()
    image = QPixmap(20, 10)
    image.fill(QColor("red"))
    image.save(str(report / "accuracy.png"))
    image.save(str(report / ".time_per_run.png.123.tmp.png"))   # data.atomic's temporary name
    view.folder = tmp_path
    view._fill_report()
    assert [p.name for p in view._figure_labels] == ["accuracy.png"]
