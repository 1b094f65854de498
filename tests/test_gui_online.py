"""GUI walk of the Online view (offscreen): a workspace run decodes a replayed eegbci run, the
view shows decisions, probabilities, latency and the confusion matrix, and a screenshot is saved."""
from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
import yaml

from app.cli import main

from .test_gui_workflow import wait_until

pytestmark = pytest.mark.gui

MOTOR = ["FC3", "FC1", "FCz", "FC2", "FC4", "C5", "C3", "C1", "Cz", "C2", "C4", "C6",
         "CP3", "CP1", "CPz", "CP2", "CP4"]
RUN4 = "eegbci/MNE-eegbci-data/files/eegmmidb/1.0.0/S001/S001R04.edf"


RUN8 = "eegbci/MNE-eegbci-data/files/eegmmidb/1.0.0/S001/S001R08.edf"


def test_online_walk_record_calibration_train_go_online(qapp, tmp_path, datasets):
    """Replay run 8 as a stream and record it as calibration in the Online view; train on the
    recording (CLI, as the Train view's run writes the same run folder); one click goes online
    with that run on a replay of run 4; decisions, latency and confusion show."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from app.gui.main_window import MainWindow

    os.environ["NEURODECK_SETTINGS"] = str(tmp_path / "settings.ini")
    window = MainWindow()
    window.resize(1280, 860)
    window.show()
    window.wb.set_runs_dir(tmp_path / "runs")
    window.steps.setCurrentRow(window._keys.index("online"))
    view = window.view("online")
    shots = Path(os.environ.get("NEURODECK_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)

    view.replay.setText(str(datasets / RUN8))
    view.speed.setValue(10.0)
    QTest.mouseClick(view.record_button, Qt.LeftButton)
    wait_until(qapp, lambda: view.recorded or "Error" in view.status.text(), 120, "the calibration file")
    assert view.recorded and Path(view.recorded).is_file(), view.status.text()
    assert view.job.wait(30000)
    wait_until(qapp, lambda: window.wb.data.recordings or window.error_text(), 60,
               "the calibration to open in the Data view")
    assert not window.error_text(), window.error_text()
    view.grab().save(str(shots / "online-view-recorded.png"))

    config = {"name": "calibration", "decoder": {"name": "csp-lda"},
              "dataset": {"source": view.recorded, "events": {"T1": "left", "T2": "right"},
                          "window": [0.5, 2.5], "preprocessing": {"picks": MOTOR, "band": [8.0, 30.0]}},
              "training": {"device": "cpu", "seed": 0}, "evaluation": {"protocol": "kfold", "n_folds": 2},
              "output": {"runs_dir": str(tmp_path / "runs")}}
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    assert main(["run", str(tmp_path / "exp.yaml")]) == 0

    view.replay.setText(str(datasets / RUN4))
    view.speed.setValue(5.0)
    QTest.mouseClick(view.latest_button, Qt.LeftButton)
    assert "csp-lda" in view.decoder.currentText()
    try:
        wait_until(qapp, lambda: len(view.decisions) >= 6 or "Error" in view.status.text(), 120,
                   "decisions in the Online view")
        assert "Error" not in view.status.text(), view.status.text()
        assert view.bars and sum(b.value() for b in view.bars) == pytest.approx(1000, abs=2)
        assert "median" in view.latency.text() and "p99" in view.latency.text()
        assert view.signal_curves, "the live signal is drawn"
        counts = sum(int(view.confusion.item(i, j).text()) for i in range(2) for j in range(2)
                     if view.confusion.item(i, j) is not None)
        assert counts == len([d for d in view.decisions if d["true"]])
        assert window.grab().save(str(shots / "online-view-decoding.png"))
    finally:
        assert view.shutdown(30000)
    assert view.start_button.isEnabled()
    log = Path(view.session_dir) / "log.csv"
    with open(log, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert sum(r["kind"] == "decision" for r in rows) >= len(view.decisions)
    window.close()
