"""What `neurodeck online --replay` and `neurodeck export` say and where they write (issue 20):
liblsl quiet unless --verbose, the end of a replay is no error, accuracy on trials the decoder
was trained on carries predict's warning, --help describes both kinds of bundle, an export
without --out lands in the run's exports/ folder (never the current folder)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from app.cli import main
from app.workspace import list_runs

ROOT = Path(__file__).resolve().parents[1]
MOTOR = ["FC3", "FC1", "FCz", "FC2", "FC4", "C5", "C3", "C1", "Cz", "C2", "C4", "C6",
         "CP3", "CP1", "CPz", "CP2", "CP4"]
EDF = "eegbci/MNE-eegbci-data/files/eegmmidb/1.0.0/S001/S001R{:02d}.edf"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, datasets) -> Path:
    """csp-lda trained on subject 1's runs 8 and 12."""
    folder = tmp_path_factory.mktemp("online-cli")
    config = {"name": "s1", "decoder": {"name": "csp-lda"},
              "dataset": {"source": "eegbci", "data_path": str(datasets / "eegbci"), "subjects": [1],
                          "runs": [8, 12], "events": {"T1": "left", "T2": "right"}, "window": [0.5, 2.5],
                          "preprocessing": {"picks": MOTOR, "band": [8.0, 30.0]}},
              "training": {"device": "cpu", "seed": 0}, "evaluation": {"protocol": "kfold", "n_folds": 2},
              "output": {"runs_dir": str(folder / "runs"), "figures": False}}
    (folder / "exp.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    assert main(["run", str(folder / "exp.yaml"), "--quiet"]) == 0
    (info,) = list_runs(folder / "runs")
    return info.path


def online(*args: str) -> subprocess.CompletedProcess:
    """`neurodeck online` in a process of its own (liblsl reads its log level once a process)."""
    return subprocess.run([sys.executable, "-m", "app.cli", "online", *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=300, env={**os.environ, "NO_COLOR": "1"})


def test_replay_of_training_trials_is_quiet_and_warned(run_dir, datasets):
    done = online(str(run_dir), "--replay", str(datasets / EDF.format(8)), "--speed", "20", "--every", "0")
    assert done.returncode == 0, done.stderr
    err = done.stderr
    assert "INFO" not in err and "ERR" not in err and "broke off" not in err, err
    assert "replay ended" in err and "stream stopped" not in err
    assert "warning: 15 of 15 trials were used to train this decoder; their accuracy is not an " \
           "estimate of performance." in err
    assert "accuracy on trials seen in training" in err


def test_replay_of_new_trials_verbose_shows_liblsl(run_dir, datasets):
    done = online(str(run_dir / "model"), "--replay", str(datasets / EDF.format(4)), "--speed", "20",
                  "--every", "0", "--verbose")
    assert done.returncode == 0, done.stderr
    assert "INFO" in done.stderr                    # asked for: liblsl's own log
    assert "used to train" not in done.stderr and "accuracy 0." in done.stderr


def test_help_describes_classification_and_continuous_bundles(capsys):
    assert main(["online", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "Classification bundles" in text and "Continuous bundles (kalman, dkf, wiener)" in text
    assert "--verbose" in text and "a recording (EDF, FIF, ...) replayed as an LSL stream" in text


def test_export_without_out_goes_to_the_run(run_dir, tmp_path, monkeypatch, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["export", str(run_dir), "--format", "bundle"]) == 0
    assert main(["export", str(run_dir / "model")]) == 0      # the run's bundle: the same place
    written = run_dir / "exports" / f"{run_dir.name}.zip"
    assert written.is_file() and str(written) in capsys.readouterr().out
    assert list(elsewhere.iterdir()) == []
    # a bundle outside any run: exports/ beside it
    assert main(["export", str(written)]) == 0
    assert (written.parent / "exports" / written.name).is_file()
    assert list(elsewhere.iterdir()) == []
