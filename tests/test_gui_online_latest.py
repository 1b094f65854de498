"""The Online view (issue 20): "Go online with latest run" takes the newest run that fits the
replay, a decoder that does not fit is refused before the session starts, every session starts
on clear panes, sessions are written to the workspace, and the view fits 1280 x 800 whatever
its status says."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.cli import main

from .test_gui_workflow import wait_until

pytestmark = pytest.mark.gui

MOTOR = ["FC3", "FC1", "FCz", "FC2", "FC4", "C5", "C3", "C1", "Cz", "C2", "C4", "C6",
         "CP3", "CP1", "CPz", "CP2", "CP4"]
RUN4 = "eegbci/MNE-eegbci-data/files/eegmmidb/1.0.0/S001/S001R04.edf"
SHOTS = Path("/tmp/nd-shots")


def train(runs: Path, name: str, dataset: dict, decoder: str, evaluation: dict) -> None:
    config = {"name": name, "decoder": {"name": decoder}, "dataset": dataset,
              "training": {"device": "cpu", "seed": 0}, "evaluation": evaluation,
              "output": {"runs_dir": str(runs), "figures": False}}
    path = runs.parent / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert main(["run", str(path), "--quiet"]) == 0


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, datasets) -> Path:
    """An EEG run (csp-lda on eegbci subject 1) and, newer, an fMRI ROI run (fc-lr on the
    resting-state demo): the case of the issue, where the newest run was a BrainMAE model."""
    runs = tmp_path_factory.mktemp("online-latest") / "runs"
    train(runs, "eeg", {"source": "eegbci", "data_path": str(datasets / "eegbci"), "subjects": [1],
                        "runs": [8, 12], "events": {"T1": "left", "T2": "right"}, "window": [0.5, 2.5],
                        "preprocessing": {"picks": MOTOR, "band": [8.0, 30.0]}},
          "csp-lda", {"protocol": "kfold", "n_folds": 2})
    train(runs, "roi", {"source": "demo:resting-state"}, "fc-lr", {"protocol": "leave-one-site-out"})
    return runs


def online_window(tmp_path, runs: Path):
    from app.gui.main_window import MainWindow

    window = MainWindow()
    window.resize(1280, 800)
    window.show()
    window.wb.set_runs_dir(runs)
    window.steps.setCurrentRow(window._keys.index("online"))
    return window, window.view("online")


def test_latest_compatible_run_clear_panes_and_refusal(qapp, settings_file, tmp_path, workspace, datasets):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from app.workspace import list_runs

    newest, older = list_runs(workspace)
    assert newest.decoder == "fc-lr" and older.decoder == "csp-lda"
    window, view = online_window(tmp_path, workspace)
    try:
        view.replay.setText(str(datasets / RUN4))
        view.speed.setValue(10.0)
        QTest.mouseClick(view.latest_button, Qt.LeftButton)
        assert "csp-lda" in view.decoder.currentText()          # not the newer fc-lr run
        passed = view.log.toPlainText()
        assert newest.name in passed and "fMRI ROI series" in passed and "EEG" in passed
        wait_until(qapp, lambda: len(view.decisions) >= 3 or "Error" in view.status.text(), 120,
                   "decisions from the EEG run")
        assert "Error" not in view.status.text(), view.status.text()
        wait_until(qapp, lambda: view.confusion.rowCount() == 2 and view.confusion.item(0, 0) is not None
                   or view.confusion.item(1, 1) is not None, 30, "the confusion matrix")
        assert view.bars and view.decision.text() != "–"
        assert window.width() <= 1280 and window.minimumSizeHint().width() <= 1280, window.size()
        SHOTS.mkdir(parents=True, exist_ok=True)
        assert window.grab().save(str(SHOTS / "online-1280-decoding.png"))
        assert view.shutdown(30000)
        # sessions go to the workspace, next to the runs, never the current folder
        session = Path(view.session_dir)
        assert session.parent == workspace / "sessions" and older.name in session.name
        assert (session / "log.csv").is_file()

        # a decoder that does not fit, chosen by hand: refused before the session starts,
        # on panes cleared of the last session
        view.use_decoder(newest.path)
        QTest.mouseClick(view.start_button, Qt.LeftButton)
        wait_until(qapp, lambda: "Error" in view.status.text(), 60, "the refusal")
        assert view.job.wait(30000)
        status = view.status.text()
        assert "fc-lr was trained on fMRI ROI series" in status and "is EEG" in status, status
        assert view.session is None and not view.decisions
        assert view.decision.text() == "–" and not view.bars and view.latency.text() == "latency: –"
        assert view.confusion.rowCount() == 0 and not view.proba_curves and not view.signal_curves
        assert view.start_button.isEnabled()

        # no run fits: said before anything starts, with each run's reason
        only_roi = tmp_path / "roi-only"
        only_roi.mkdir()
        (only_roi / newest.name).symlink_to(newest.path, target_is_directory=True)
        window.wb.set_runs_dir(only_roi)
        view.job = None
        QTest.mouseClick(view.latest_button, Qt.LeftButton)
        status = view.status.text()
        assert "no run in the workspace can decode the recording S001R04.edf" in status, status
        assert "fMRI ROI series" in status and view.job is None
    finally:
        view.shutdown(30000)
        window.close()


def test_the_view_fits_1280_by_800_at_any_status_length(qapp, settings_file, tmp_path):
    from PySide6.QtCore import QPoint, QRect
    from PySide6.QtWidgets import QPushButton

    window, view = online_window(tmp_path, tmp_path / "runs")
    try:
        qapp.processEvents()
        long_path = "/" + "/".join(["a-rather-long-folder-name-without-spaces"] * 12)
        view.status.setText(f"Decoding 'neurodeck-replay-0123abcd' (events); decisions on LSL outlet "
                            f"'neurodeck-decisions-neurodeck-replay-0123abcd'; log in {long_path}")
        view.latency.setText("latency: median 12345.6 ms, p99 123456.7 ms (123456 decisions)")
        view.decision.setText("a-class-name-that-is-rather-long-for-a-decision feet and tongue")
        view.decoder.addItem(f"20261204-153000-eeg-simpleconv-0123abcd ({'x' * 150})", "x")
        view.decoder.setCurrentIndex(view.decoder.count() - 1)
        for _ in range(5):
            qapp.processEvents()
        assert window.width() <= 1280 and window.height() <= 800, window.size()
        assert window.minimumSizeHint().width() <= 1280, window.minimumSizeHint()
        assert view.status.text().endswith(long_path)          # the whole text is kept
        frame = QRect(QPoint(0, 0), window.size())
        buttons = {b.text(): b for b in view.findChildren(QPushButton)}
        for name in ("Refresh", "Browse…", "Bundle…", "Record calibration", "Go online with latest run",
                     "Start", "Stop"):
            button = buttons[name]
            shown = QRect(button.mapTo(window, QPoint(0, 0)), button.size())
            assert button.isVisible() and frame.contains(shown), f"{name}: {shown} not in {frame}"
            assert button.width() >= button.minimumSizeHint().width(), f"{name} is cut off"
        latency = QRect(view.latency.mapTo(window, QPoint(0, 0)), view.latency.size())
        assert frame.contains(latency) and view.latency.height() >= view.latency.heightForWidth(view.latency.width())
        SHOTS.mkdir(parents=True, exist_ok=True)
        assert window.grab().save(str(SHOTS / "online-1280.png"))
    finally:
        window.close()
