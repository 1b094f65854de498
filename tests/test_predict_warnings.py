"""`neurodeck predict` says when its accuracy means little: trials seen in training, classes
or channels the decoder does not know (real EEGBCI data, CSP + LDA: cheap)."""
from __future__ import annotations

import csv

import pytest
import yaml

from app.cli import main
from app.workspace import list_runs

MOTOR = ["FC3", "FC1", "FCz", "FC2", "FC4", "C5", "C3", "C1", "Cz", "C2", "C4", "C6"]


def _run(tmp_path, dataset: dict) -> str:
    config = {"name": "predict-warnings", "dataset": dataset, "decoder": {"name": "csp-lda"},
              "training": {"device": "cpu", "seed": 0},
              "evaluation": {"protocol": "kfold", "n_folds": 2},
              "output": {"runs_dir": str(tmp_path / "runs"), "figures": False}}
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert main(["run", str(path), "--quiet"]) == 0
    (info,) = list_runs(tmp_path / "runs")
    return str(info.path)


def _rows(path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def eegbci_run(tmp_path_factory, datasets):
    tmp = tmp_path_factory.mktemp("predict")
    return _run(tmp, {"source": "eegbci", "data_path": str(datasets / "eegbci"), "subjects": [1],
                      "runs": [4, 8], "events": {"T1": "left", "T2": "right"}, "window": [0.5, 2.5],
                      "preprocessing": {"picks": MOTOR, "band": [8.0, 30.0]}})


def test_trials_seen_in_training_are_flagged_and_scored_apart(eegbci_run, datasets, tmp_path, capsys):
    out = tmp_path / "train.csv"
    assert main(["predict", eegbci_run, "eegbci", "--data-path", str(datasets / "eegbci"),
                 "--subjects", "1", "--runs", "4,8", "--out", str(out)]) == 0
    rows = _rows(out)
    assert len(rows) == 30 and all(r["seen_in_training"] == "True" for r in rows)
    err = capsys.readouterr().err
    assert "30 of 30 trials were used to train this decoder" in err
    assert "accuracy on trials seen in training" in err and "not seen in training" not in err


def test_new_trials_are_not_flagged(eegbci_run, datasets, tmp_path, capsys):
    out = tmp_path / "new.csv"
    assert main(["predict", eegbci_run, "eegbci", "--data-path", str(datasets / "eegbci"),
                 "--subjects", "1", "--runs", "12", "--out", str(out)]) == 0
    assert all(r["seen_in_training"] == "False" for r in _rows(out))
    err = capsys.readouterr().err
    assert "used to train" not in err and "accuracy on the labelled trials: " in err


def test_unknown_classes_and_extra_channels_are_named(tmp_path, datasets, capsys):
    # a decoder of the demo's classes (left/right, every event its own class) applied to
    # EEGBCI, whose events are T0/T1/T2 and which has channels the demo lacks
    run = _run(tmp_path, {"source": "demo:motor-imagery", "subjects": [1], "window": [0.5, 2.5],
                          "preprocessing": {"band": [8.0, 30.0]}})
    capsys.readouterr()
    out = tmp_path / "foreign.csv"
    assert main(["predict", run, "eegbci", "--data-path", str(datasets / "eegbci"),
                 "--subjects", "1", "--runs", "4", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "channel(s) the decoder was not trained on are ignored" in err
    assert "T0, T1, T2 are not among the decoder's classes (left, right)" in err
    assert "accuracy on the labelled trials" not in err  # no meaningless 0.0
