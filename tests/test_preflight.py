"""Preflight (issue 20): an experiment is checked against its data before any training,
for `neurodeck run` (exit 2 in seconds), each run of a sweep (through run_experiment) and
the GUI's Start (refused, naming the setting and what to choose instead, nothing started);
and the time estimate."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.cli import main
from app.preflight import check_experiment, experiment_problems, preflight
from data.loading import load_dataset
from data.spec import DatasetSpec
from decoders.compatibility import InfeasibleExperiment

CSP_ON_ROI = {"name": "csp-on-roi", "dataset": {"source": "demo:resting-state"},
              "decoder": {"name": "csp-lda"}, "evaluation": {"protocol": "kfold"}}


def _config(raw: dict):
    from app.experiment import validate_config

    return validate_config(raw)


@pytest.fixture(scope="module")
def resting_state():
    return load_dataset(DatasetSpec(source="demo:resting-state", cache=False))


def test_problems_name_each_setting_and_the_alternative(resting_state):
    problems = experiment_problems(_config(CSP_ON_ROI), resting_state)
    assert [p.setting for p in problems] == ["decoder.name", "evaluation.protocol"]
    decoder, protocol = problems
    assert "fmri-roi" in decoder.message and "fc-lr" in decoder.hint
    assert "only one class" in protocol.message and "and 77 more" in protocol.message
    assert "leave-one-site-out" in protocol.hint
    fitting = {**CSP_ON_ROI, "decoder": {"name": "fc-lr"}, "evaluation": {"protocol": "leave-one-site-out"}}
    assert experiment_problems(_config(fitting), resting_state) == []


def test_channels_the_settings_ask_for():
    data = load_dataset(DatasetSpec(source="demo:motor-imagery", subjects=["1"], cache=False))
    config = _config({"name": "x", "dataset": {"source": "demo:motor-imagery"},
                      "decoder": {"name": "csp-lda", "params": {"n_components": 40}}})
    with pytest.raises(InfeasibleExperiment) as err:
        check_experiment(config, data, params={"n_components": 40})
    assert err.value.problems[0].setting == "decoder.params.n_components"
    assert "36 channels" in str(err.value)


def test_infeasible_run_exits_2_in_seconds_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "csp-on-roi.yaml"
    path.write_text(yaml.safe_dump({**CSP_ON_ROI, "output": {"runs_dir": str(tmp_path / "runs")}}))
    code = main(["run", str(path)])   # refused after loading the demo: no fold trained
    err = capsys.readouterr().err
    assert code == 2
    assert "decoder.name" in err and "fc-lr" in err and "leave-one-site-out" in err
    runs = tmp_path / "runs"
    assert not runs.exists() or not any(runs.rglob("fold_*.json"))
    assert main(["run", str(path), "--check"]) == 2


def test_each_run_of_a_sweep_is_checked_before_it_starts(tmp_path):
    """A sweep over two decoders on ROI series: the one that fits runs, the one that does
    not is recorded as failed with the preflight's reasons, without a fold."""
    from app.sweeps import parse_sweep, run_sweep

    spec = parse_sweep({"name": "roi", "base": {**CSP_ON_ROI, "evaluation": {"protocol": "leave-one-site-out"},
                                                "output": {"save_model": False}},
                        "axes": {"decoders": ["fc-lr", "csp-lda"]}, "executor": {"kind": "local", "workers": 1}})
    result = run_sweep(spec, out_dir=tmp_path, workers=1)
    by_decoder = {r["id"].split("-seed")[0].split("_")[0]: r for r in result.executed}
    assert by_decoder["fc-lr"]["status"] == "done"
    refused = by_decoder["csp-lda"]
    assert refused["status"] == "failed" and "InfeasibleExperiment" in refused["error"]
    assert "decoder.name" in refused["error"] and "fc-lr" in refused["error"]
    assert refused["experiment_seconds"] < 60


def test_check_with_estimate_prints_the_time(tmp_path, capsys):
    path = tmp_path / "fc-lr.yaml"
    path.write_text(yaml.safe_dump({**CSP_ON_ROI, "decoder": {"name": "fc-lr"},
                                    "evaluation": {"protocol": "leave-one-site-out"}}))
    assert main(["run", str(path), "--check", "--estimate"]) == 0
    out = capsys.readouterr().out
    assert "estimated time: about" in out and "4 folds" in out


def test_preflight_estimates_the_time_of_a_classical_and_a_neural_run():
    classical = preflight({"name": "x", "dataset": {"source": "demo:resting-state"}, "decoder": {"name": "fc-lr"},
                           "evaluation": {"protocol": "leave-one-site-out"}}, estimate=True)
    assert classical.estimate is not None, classical.estimate_error
    assert classical.estimate.n_folds == 4 and classical.estimate.seconds > 0
    assert "estimated time" in classical.describe()
    neural = preflight({"name": "y", "dataset": {"source": "demo:resting-state"},
                        "decoder": {"name": "brainmae", "preset": "tiny", "params": {"epochs": 3}},
                        "evaluation": {"protocol": "leave-one-site-out"}}, estimate=True)
    assert neural.estimate is not None, neural.estimate_error
    assert "epoch" in neural.estimate.method or "in full" in neural.estimate.method
    # three epochs cost more than the set-up alone; the folds and the final fit are counted
    assert neural.estimate.seconds > neural.estimate.fold_seconds * 4


# --------------------------------------------------------------------------- the GUI
@pytest.mark.gui
def test_csp_lda_then_resting_state_is_refused_at_start(qapp, tmp_path):
    """The table's row: csp-lda picked on the EEG demo, then demo:resting-state opened. The
    view proposes an ROI decoder with leave one site out; keeping csp-lda and kfold anyway,
    Start is refused at once naming the alternatives, and no training starts."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from app.gui.main_window import MainWindow
    from tests.test_gui_workflow import isolated_settings, wait_until

    env = isolated_settings(tmp_path)
    window = MainWindow()
    try:
        window.show()
        runs = tmp_path / "runs"
        window.wb.set_runs_dir(runs)
        wait_until(qapp, lambda: window.wb.decoder.entries, 120, "the decoder registry")
        window.wb.open("demo:motor-imagery")
        wait_until(qapp, lambda: window.wb.data.recordings or window.error_text(), 120, "the EEG demo")
        view = window.show_step("decoder")
        view.choose("csp-lda")
        assert window.wb.decoder.name == "csp-lda"

        window.wb.open("demo:resting-state")
        wait_until(qapp, lambda: window.wb.data.trials is not None or window.error_text(), 120, "resting-state")
        assert (window.wb.decoder.name, window.wb.decoder.protocol) == ("fc-lr", "leave-one-site-out")

        window.wb.decoder.choose("csp-lda")             # the user's old choice, kept anyway
        window.wb.decoder.set_evaluation(protocol="kfold")
        qapp.processEvents()
        assert "Cannot start" in view.readiness.text() and "fc-lr" in view.readiness.text()
        QTest.mouseClick(view.start_button, Qt.LeftButton)
        qapp.processEvents()
        assert not window.wb.training_running()
        text = window.error_text()
        assert "Cannot start training" in text and "decoder.name" in text
        assert "fc-lr" in text and "leave-one-site-out" in text
        assert not runs.exists() or not any(runs.rglob("fold_*.json"))
    finally:
        window.wb.background.cancel_all()
        window.wb.background.wait(60000)
        window.close()
        env.undo()
