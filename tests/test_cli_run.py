"""`neurodeck run / export / predict` on real EEGBCI data (subject 1, CSP + LDA: cheap)."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from app.cli import main
from app.workspace import list_runs

REPO = Path(__file__).resolve().parents[1]
MOTOR = ["FC3", "FC1", "FCz", "FC2", "FC4", "C5", "C3", "C1", "Cz", "C2", "C4", "C6",
         "CP3", "CP1", "CPz", "CP2", "CP4"]


def eegbci_experiment(folder: Path, datasets: Path, **decoder) -> Path:
    config = {
        "name": "eegbci-s1",
        "dataset": {"source": "eegbci", "data_path": str(datasets / "eegbci"), "subjects": [1],
                    "runs": [3, 4, 7, 8, 11, 12], "events": {"T1": "left", "T2": "right"},
                    "window": [0.5, 2.5], "preprocessing": {"picks": MOTOR, "band": [8.0, 30.0]}},
        "decoder": decoder or {"name": "csp-lda"},
        "training": {"device": "cpu", "seed": 0},
        "evaluation": {"protocol": "kfold", "n_folds": 5},
        "output": {"runs_dir": str(folder / "runs")},
    }
    path = folder / "eegbci-s1.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, datasets):
    folder = tmp_path_factory.mktemp("cli")
    path = eegbci_experiment(folder, datasets)
    assert main(["run", str(path)]) == 0
    (info,) = list_runs(folder / "runs")
    return info.path


def test_run_on_eegbci_writes_metrics_and_a_model(finished_run, capsys):
    metrics = json.loads((finished_run / "metrics.json").read_text())
    assert metrics["decoder"] == "csp-lda" and metrics["protocol"] == "kfold" and metrics["task"] == "classification"
    assert len(metrics["folds"]) == 5 and metrics["n_samples"] == 90
    # 90 trials: chance is 0.5, and 0.62 is already p < 0.01 under the binomial
    assert metrics["summary"]["accuracy"]["mean"] > 0.65
    assert metrics["summary"]["roc_auc"]["mean"] > 0.7
    for name in ("config.yaml", "history.csv", "predictions.csv", "log.txt", "figures/confusion.png",
                 "model/manifest.json", "model/weights.safetensors"):
        assert (finished_run / name).exists(), name
    manifest = json.loads((finished_run / "model" / "manifest.json").read_text())
    assert manifest["decoder"] == "csp-lda" and manifest["input"]["ch_names"] == MOTOR
    assert manifest["input"]["sfreq"] == 160.0 and manifest["input"]["class_names"] == ["left", "right"]


def test_export_and_predict_a_run(finished_run, tmp_path, datasets, capsys):
    out = tmp_path / "model.zip"
    assert main(["export", str(finished_run), "--format", "bundle", "--out", str(out)]) == 0
    assert zipfile.is_zipfile(out) and {"manifest.json", "weights.safetensors"} <= set(zipfile.ZipFile(out).namelist())
    assert main(["export", str(finished_run), "--format", "onnx", "--out", str(tmp_path / "m.onnx")]) == 2
    assert "not a torch decoder" in capsys.readouterr().err

    # the bundle re-applies band-pass, window and channel order: on the trials it was trained
    # on (final model = all 90 trials) it must be clearly better than its cross-validated score
    preds = tmp_path / "preds.csv"
    assert main(["predict", str(out), "eegbci", "--data-path", str(datasets / "eegbci"),
                 "--subjects", "1", "--runs", "3,4,7,8,11,12", "--out", str(preds)]) == 0
    with open(preds, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 90 and {"true", "pred", "p_left", "p_right"} <= set(rows[0])
    assert np.mean([r["true"] == r["pred"] for r in rows]) > 0.8
    assert "accuracy on trials seen in training" in capsys.readouterr().err   # the final model saw all 90
    # the same run folder also works as the BUNDLE argument; subject 2 is new data (run 4 only)
    assert main(["predict", str(finished_run), "eegbci", "--data-path", str(datasets / "eegbci"),
                 "--subjects", "2", "--runs", "4", "--out", str(tmp_path / "s2.csv")]) == 0
    with open(tmp_path / "s2.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 15


def test_export_a_torch_bundle_to_onnx_and_torchscript(tmp_path):
    from decoders.bundle import save_bundle
    from decoders.simpleconv import EEGSimpleConv

    rng = np.random.default_rng(0)
    X = rng.standard_normal((24, 4, 64)).astype(np.float32)
    y = np.repeat([0, 1], 12)
    model = EEGSimpleConv(filters=4, n_blocks=1, kernel_size=3, resample_hz=None, epochs=1,
                          batch_size=8, device="cpu").fit(X, y)
    bundle = save_bundle(model, tmp_path / "b", input_spec={"shape": [4, 64], "ch_names": list("abcd"),
                                                           "sfreq": 64.0, "class_names": ["l", "r"]})
    assert main(["export", str(bundle), "--format", "onnx", "--out", str(tmp_path / "m.onnx")]) == 0
    assert (tmp_path / "m.onnx").stat().st_size > 0
    assert main(["export", str(bundle), "--format", "torchscript", "--out", str(tmp_path / "m.pt")]) == 0
    assert (tmp_path / "m.pt").stat().st_size > 0


@pytest.mark.parametrize("args, expected", [
    (["run", "does-not-exist.yaml"], "does-not-exist.yaml: experiment file not found"),
    (["export", "no-such-bundle"], "no-such-bundle: no such bundle"),
    (["predict", "no-such-bundle", "eegbci"], "no-such-bundle: no such bundle"),
])
def test_bad_input_exits_2_with_a_message(args, expected, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert " ".join(expected.split()) in " ".join(err.split()) and "Traceback" not in err


def test_bad_key_in_an_experiment_file_exits_2(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("dataset: {source: demo:motor-imagery}\ndecoder: {name: csp-lda}\n"
                    "evaluation: {protocol: kfold, n_fold: 5}\n", encoding="utf-8")
    assert main(["run", str(path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "bad.yaml" in err and "evaluation.n_fold" in err and "n_folds" in err


def test_ctrl_c_keeps_no_finished_run_and_the_same_command_resumes(tmp_path, datasets):
    path = eegbci_experiment(tmp_path, datasets, name="tangent-space-lr")
    runs = tmp_path / "runs"
    cmd = [sys.executable, "-m", "app.cli", "run", str(path)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    paused = tmp_path / "paused"   # the run waits there, after saving fold 0, for the signal
    # a shell without job control starts background jobs with SIGINT ignored, and Python then
    # keeps ignoring it: give the child the default disposition, as a terminal's Ctrl-C finds it
    proc = subprocess.Popen(cmd, cwd=REPO, env={**env, "NEURODECK_PAUSE_AFTER_FOLD": f"0:{paused}"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while time.time() < deadline and not paused.exists():
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "resume" in err
    assert list_runs(runs) == []
    (partial,) = runs.iterdir()
    assert partial.name.startswith(".") and not (partial / "metrics.json").exists()
    done = len(list((partial / "folds").glob("fold_*.json")))
    assert done == 1

    again = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    (info,) = list_runs(runs)
    assert not [p for p in runs.iterdir() if p.name.startswith(".")]
    log = (info.path / "log.txt").read_text()
    assert "interrupted" in log and f"resuming" in log and f"{done} fold(s) already done" in log
    assert len(json.loads((info.path / "metrics.json").read_text())["folds"]) == 5
