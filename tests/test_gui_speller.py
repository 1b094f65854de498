"""Issue 21, the GUI: the P300 speller walked through as a user clicks (offscreen).

Data view: open eeg3_1.dat with "Open file…", choose paradigm ``speller`` in the source-option
form, click the Epochs tab (which cuts the trials): the ERP tab opens, with class averages, the
signed r² map and topomaps at the peaks of target − nontarget. A speller bundle (the shipped
erp-lda experiment trained on eeg3_1 only, through `neurodeck run` into the window's workspace)
is then chosen in the Online view, eeg3_2.dat replayed 10 times faster and Start clicked: the
6 x 6 matrix (from the file's TargetDefinitions) lights the flashed rows and columns, and the
letters chosen after each block end as ``6MK?``, the offline speller's letters from the same
bundle on the same file. Each step is grabbed at 1280 x 800 in the light and the dark theme
(into the test's tmp folder, copied to /tmp/nd-shots/).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.test_gui_modalities import SIZE, click, go_to, grab, open_file, settle
from tests.test_gui_workflow import isolated_settings, wait_until

pytest.importorskip("BCI2000Tools")
pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[1]
SPEED = 10.0
REPLAY_TIMEOUT_S = 180


def test_speller_board_follows_flashes_and_letters():
    """The Qt-free board: a row flash lights a row, a column flash a column, a letter marks
    its cell and scores it against the flashes' truth (else the text to spell)."""
    from app.gui.speller_view import SpellerBoard

    board = SpellerBoard([["A", "B"], ["C", "D"]], "DB")
    assert not board.on_event({"kind": "decision", "marker": "stim/9", "sample_time": 0.0})   # no such code
    assert board.on_event({"kind": "decision", "marker": "stim/2", "sample_time": 0.0})
    assert board.lit == ("row", 1) and board.cell_state(1, 0) == "lit" and board.cell_state(0, 0) == "idle"
    assert board.on_event({"kind": "decision", "marker": "stim/3", "sample_time": 0.5})
    assert board.lit == ("column", 0) and board.cell_state(0, 0) == "lit" and board.cell_state(1, 1) == "idle"
    board.on_event({"kind": "letter", "letter": "D", "true": None, "flashes": 2})
    assert board.chosen == (1, 1) and board.cell_state(1, 1) == "chosen" and board.lit is None
    assert board.spelled == "D" and board.accuracy() == (1, 1)
    board.on_event({"kind": "decision", "marker": "stim/1", "sample_time": 1.0})
    board.on_event({"kind": "letter", "letter": "C", "true": "A", "flashes": 1})   # truth from the flashes wins
    assert board.spelled == "DC" and board.truths() == ["D", "A"] and board.accuracy() == (1, 2)
    assert board.seconds_per_letter() == pytest.approx((1.0 - 0.0 + 0.5) / 2)
    board.time_scale = 10.0   # replayed 10 times faster: 10 times the seconds of the recording
    assert board.seconds_per_letter() == pytest.approx(10 * (1.0 - 0.0 + 0.5) / 2)
    board.time_scale = 1.0
    from decoders.speller import itr_bits_per_minute

    assert board.itr_bits_per_minute() == pytest.approx(itr_bits_per_minute(4, 0.5, 0.75))
    with pytest.raises(ValueError):
        SpellerBoard([["A", "B"], ["C"]])


@pytest.fixture()
def speller_bundle_run(tmp_path, datasets):
    """The shipped erp-lda speller experiment on eeg3_1 only, run as `neurodeck run` does, into
    ``tmp_path/runs`` (the workspace the window opens on)."""
    from app.cli import main

    config = yaml.safe_load((ROOT / "resources/experiments/bci2000-p300-speller-lda.yaml").read_text())
    config["dataset"].update(source=str(datasets / "bci2000"), runs=["eeg3_1"])
    config["evaluation"] = {"protocol": "kfold", "n_folds": 2}
    config["output"]["runs_dir"] = str(tmp_path / "runs")
    path = tmp_path / "speller.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert main(["run", str(path), "--quiet"]) == 0
    (run,) = [p for p in (tmp_path / "runs").iterdir() if (p / "model").is_dir()]
    return run


def offline_letters(bundle: Path, recording: Path) -> str:
    """The offline speller's letters (every repetition) of ``bundle`` on ``recording``."""
    from data import sources
    from data.spec import DatasetSpec
    from decoders import speller
    from decoders.bundle import load_bundle
    from decoders.evaluation import predict_with_proba

    decoder, manifest = load_bundle(bundle)
    spec = manifest["input"]
    data = sources.load(DatasetSpec(source=str(recording.parent), kind="bci2000", runs=[recording.stem],
                                    cache=False, options=spec["options"], window=tuple(spec["window"]),
                                    preprocessing=spec["preprocessing"]))
    _, proba, _ = predict_with_proba(decoder, data.X)
    return "".join(x.choose() for x in speller.letters(data, np.arange(len(data)), speller.target_evidence(proba)))


def test_speller_walk(qapp, tmp_path, monkeypatch, datasets, speller_bundle_run):
    from app.gui.main_window import MainWindow

    env = isolated_settings(tmp_path)
    window = MainWindow()
    window.set_theme("light")
    window.resize(*SIZE)
    window.show()
    window.wb.set_runs_dir(tmp_path / "runs")
    shots: list[Path] = []
    try:
        # Data: open the calibration file, read it as a speller, cut its epochs.
        open_file(qapp, window, monkeypatch, datasets / "bci2000" / "eeg3_1.dat")
        data_view = window.view("data")
        data_view.options_form.edit("paradigm", "speller")
        settle(qapp, window, "the speller option")
        for box, value in ((data_view.low_box, 0.5), (data_view.high_box, 20.0),   # the experiment's settings
                           (data_view.tmin_box, 0.0), (data_view.tmax_box, 0.8)):
            box.setValue(value)
        wait_until(qapp, lambda: tuple(window.wb.data.spec.window) == (0.0, 0.8), 10, "the window applied")
        settle(qapp, window, "the band and window")
        tab = data_view.tabs.tabBar()
        click(tab, tab.tabRect(data_view.tabs.indexOf(data_view.epochs)).center())   # cuts the epochs
        wait_until(qapp, lambda: window.wb.data.trials is not None or window.error_text(), 120, "the epochs")
        settle(qapp, window, "the ERP views")
        assert not window.error_text(), window.error_text()
        assert data_view.tabs.currentWidget() is data_view.erp
        erp = data_view.erp
        assert [i.name() for i in erp.erp_plot.listDataItems()] == ["nontarget", "target", "target − nontarget"]
        assert erp.r2_image.image.shape == (len(window.wb.data.trials.times), 8)
        assert len(erp.topo_times) == 3 and erp.topo_canvas.isVisibleTo(erp)
        assert any(0.25 <= t <= 0.5 for t in erp.topo_times)   # the P300
        assert window.wb.data.trials.times[-1] < 0.8
        shots.append(grab(qapp, window, tmp_path, "speller-1-data-light"))

        # Online: choose the speller run, replay the spelling file, Start.
        online = go_to(window, "online")
        online.refresh_runs()
        index = online.decoder.findData(str(speller_bundle_run))
        assert index >= 0, "the speller run is offered"
        online.decoder.setCurrentIndex(index)
        replay = datasets / "bci2000" / "eeg3_2.dat"
        online.replay.setText(str(replay))
        online.speed.setValue(SPEED)
        click(online.start_button)
        wait_until(qapp, lambda: online.speller.board is not None and online.speller.board.flashes >= 30
                   or online.status.text().startswith("Error"), 60, "the first flashes")
        assert online.speller.isVisibleTo(online) and not online.proba_plot.isVisibleTo(online)
        board = online.speller.board
        assert [[c.text() for c in row] for row in online.speller.cells] == board.matrix
        assert len(board.matrix) == 6 and len(board.matrix[0]) == 6
        lit = [(r, c) for r in range(6) for c in range(6) if board.cell_state(r, c) == "lit"]
        assert len(lit) == 6 and CELL_LIT in online.speller.cells[lit[0][0]][lit[0][1]].styleSheet()
        shots.append(grab(qapp, window, tmp_path, "speller-2-online-flashing-light"))
        wait_until(qapp, lambda: not online.job.is_running(), REPLAY_TIMEOUT_S, "the replay to end")
        assert not online.status.text().startswith("Error"), online.status.text()

        expected = offline_letters(speller_bundle_run / "model", replay)
        assert expected == "6MK?"
        assert board.spelled == expected and online.speller.spelled.text() == expected
        assert board.text_to_spell == "6MK?" and "to spell: 6MK?" in online.speller.target.text()
        assert board.accuracy() == (4, 4) and board.flashes == 720
        assert "character accuracy 4/4" in online.speller.scores.text()
        # 15 x 12 flashes 0.25 s apart and a pause per letter, in the recording's time (not the replay's)
        assert 45 < board.seconds_per_letter() < 60
        assert board.itr_bits_per_minute() == pytest.approx(np.log2(36) * 60 / board.seconds_per_letter())
        r, c = board.chosen
        assert board.matrix[r][c] == "?" and board.cell_state(r, c) == "chosen"
        shots.append(grab(qapp, window, tmp_path, "speller-3-online-spelled-light"))

        window.set_theme("dark")
        try:
            for key, name in (("data", "speller-1-data-dark"), ("online", "speller-3-online-spelled-dark")):
                window.show_step(key)
                shots.append(grab(qapp, window, tmp_path, name))
        finally:
            window.set_theme("light")
        assert len(shots) == 5 and all(p.stat().st_size > 10_000 for p in shots)
    finally:
        window.close()
        env.undo()


CELL_LIT = "#ffe14d"
