"""Experiment files, `run_experiment`, run folders: validation messages, outputs, cancel/resume."""
from __future__ import annotations

import csv
import json
import threading

import numpy as np
import pytest
import yaml

import resources
from app import experiment, workspace
from app.experiment import ConfigError, load_config, run_experiment
from decoders import registry
from decoders.events import Cancelled, EpochEnd, FoldEnd, LogMessage, Progress, RunEnd

from .test_evaluation import simulated_trials


@pytest.fixture
def test_decoder(monkeypatch):
    """Register the tests' log-variance + LDA decoder and serve a simulated set for 'sim:'."""
    entry = registry.Entry("test-logvar-lda", "tests.test_evaluation:LogVarLDA")
    monkeypatch.setitem(registry._BY_NAME, entry.name, entry)
    import data.loading

    real = data.loading.load_dataset
    monkeypatch.setattr(data.loading, "load_dataset",
                        lambda spec: simulated_trials(seed=spec.seed) if spec.source == "sim:trials" else real(spec))
    return entry.name


def config_dict(runs_dir, **evaluation):
    return {"name": "sim", "dataset": {"source": "sim:trials"},
            "decoder": {"name": "test-logvar-lda", "params": {"shrinkage": 0.2}},
            "evaluation": {"protocol": "kfold", "n_folds": 3, **evaluation},
            "output": {"runs_dir": str(runs_dir), "save_model": False}}


def write_yaml(path, data):
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


# ------------------------------------------------------------------ validation
def test_shipped_experiment_files_are_valid():
    files = resources.experiments()
    names = {p.name for p in files}
    assert {"demo-motor-imagery-simpleconv.yaml", "eegbci-simpleconv.yaml", "eegbci-csp-lda.yaml",
            "eegbci-tangent-space.yaml", "eegbci-loso-cross-subject.yaml", "eegbci-finetune.yaml"} <= names
    for path in files:
        config = load_config(path)
        assert config.decoder.name in {e.name for e in registry.available()}


def test_shipped_sweep_files_are_valid_sweeps():
    from app.sweeps.spec import load_sweep

    sweeps = resources.sweeps()
    assert {"sweep-eegbci-quick.yaml", "sweep-eegbci-three-decoders.yaml"} <= {p.name for p in sweeps}
    assert not set(sweeps) & set(resources.experiments())
    for path in sweeps:
        load_sweep(path)


@pytest.mark.parametrize("change, expected", [
    (lambda c: c["evaluation"].update(nfolds=3), r"evaluation\.nfolds.*did you mean 'n_folds'"),
    (lambda c: c["evaluation"].update(n_folds=1), r"evaluation\.n_folds.*greater than or equal to 2"),
    (lambda c: c["evaluation"].update(protocol="kfold", gap=4), r"gap not used by protocol 'kfold'"),
    (lambda c: c["evaluation"].update(protocol="leave-one-out"), r"evaluation\.protocol"),
    (lambda c: c["dataset"].update(windw=[0, 3]), r"dataset\.windw.*did you mean 'window'"),
    (lambda c: c["dataset"]["preprocessing"].update(band=[8, 30, 40]), r"dataset\.preprocessing\.band"),
    (lambda c: c.pop("decoder"), r"key 'decoder' is required"),
    (lambda c: c.update(training={"device": "gpu"}), r"training\.device.*'gpu'"),
    (lambda c: c["decoder"].update(name="csp-lad"), r"decoder\.name.*unknown decoder 'csp-lad'"),
    (lambda c: c["decoder"].update(name="eeg-simpleconv", params={"filterz": 3}), r"decoder\.params.*filterz"),
    (lambda c: c["decoder"].update(name="eeg-simpleconv", params={"epochs": -1}), r"decoder\.params.*epochs"),
    (lambda c: c["decoder"].update(name="eeg-simpleconv", preset="tiny"), r"decoder\.preset.*tiny"),
    (lambda c: c["decoder"].update(name="csp-lda") or c["evaluation"].update(protocol="finetune"),
     r"evaluation\.protocol.*cannot be fine-tuned"),
])
def test_bad_experiment_files_name_file_and_key(tmp_path, change, expected):
    config = {"name": "x", "dataset": {"source": "demo:motor-imagery", "preprocessing": {}},
              "decoder": {"name": "eeg-simpleconv"}, "evaluation": {"protocol": "kfold"}}
    change(config)
    path = write_yaml(tmp_path / "bad.yaml", config)
    with pytest.raises(ConfigError, match=expected) as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_unreadable_experiment_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\ndataset: {source: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.yaml: not valid YAML at line \d"):
        load_config(broken)
    listing = write_yaml(tmp_path / "list.yaml", [1, 2])
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(listing)
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(ConfigError, match="bin.yaml"):
        load_config(binary)


# ------------------------------------------------------------------ running
def test_run_writes_a_complete_run_folder(tmp_path, test_decoder):
    events = []
    result = run_experiment(config_dict(tmp_path / "runs"), on_event=events.append)
    run_dir = result.run_dir
    assert run_dir.parent == tmp_path / "runs" and "-test-logvar-lda-" in run_dir.name
    for name in ("config.yaml", "metrics.json", "history.csv", "predictions.csv", "log.txt",
                 "figures/confusion.png", "figures/learning_curves.png"):
        assert (run_dir / name).is_file(), name
    assert not (run_dir / "folds").exists()
    assert not [p for p in (tmp_path / "runs").iterdir() if p.name.startswith(".")]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for key in ("decoder", "task", "protocol", "device", "folds", "summary", "timings", "versions"):
        assert key in metrics
    assert metrics["device"] == "cpu" and len(metrics["folds"]) == 9
    assert metrics["summary"]["accuracy"]["mean"] > 0.8
    assert set(metrics["summary"]["accuracy"]) == {"mean", "std"}
    resolved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert resolved["evaluation"]["within"] == "session" and resolved["training"]["seed"] == 0
    with open(run_dir / "predictions.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 120 and {r["true"] for r in rows} == {"a", "b"} and "p_b" in rows[0]
    kinds = {type(e) for e in events}
    assert {LogMessage, Progress, EpochEnd, FoldEnd, RunEnd} <= kinds
    assert isinstance(events[-1], RunEnd) and events[-1].run_dir == str(run_dir)
    (info,) = workspace.list_runs(tmp_path / "runs")
    assert info.path == run_dir and info.decoder == "test-logvar-lda" and info.protocol == "kfold"
    assert info.metrics["accuracy"] == pytest.approx(metrics["summary"]["accuracy"]["mean"])


def test_cancel_keeps_no_finished_run_and_the_next_run_resumes(tmp_path, test_decoder):
    runs = tmp_path / "runs"
    reference = run_experiment(config_dict(tmp_path / "ref"))
    flag = threading.Event()

    def stop_after_fold_3(event):
        if isinstance(event, FoldEnd) and event.fold == 3:
            flag.set()

    with pytest.raises(Cancelled):
        run_experiment(config_dict(runs), on_event=stop_after_fold_3, cancel=flag)
    assert workspace.list_runs(runs) == []
    (partial,) = list(runs.iterdir())
    assert partial.name.startswith(".") and partial.name.endswith(".partial")
    assert not (partial / "metrics.json").exists()
    assert len(list((partial / "folds").glob("fold_*.json"))) == 4

    events = []
    resumed = run_experiment(config_dict(runs), on_event=events.append)
    assert [e.fold for e in events if isinstance(e, FoldEnd)] == [4, 5, 6, 7, 8]
    assert [f["accuracy"] for f in resumed.metrics["folds"]] == [f["accuracy"] for f in reference.metrics["folds"]]
    assert [p.name for p in runs.iterdir() if p.name.startswith(".")] == []

    # a KeyboardInterrupt (Ctrl-C) behaves the same, and --restart starts over
    def interrupt(event):
        if isinstance(event, FoldEnd):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_experiment(config_dict(runs), on_event=interrupt)
    events.clear()
    run_experiment(config_dict(runs), on_event=events.append, restart=True)
    assert len([e for e in events if isinstance(e, FoldEnd)]) == 9
    assert len(workspace.list_runs(runs)) == 2


def test_finetune_and_loso_through_the_runner(tmp_path, test_decoder):
    ft = run_experiment(config_dict(tmp_path, protocol="finetune", n_calibration=10))
    assert ft.metrics["protocol"] == "finetune" and len(ft.metrics["folds"]) == 9
    assert all(f["n_train"] == 10 and f["pretrain_seconds"] > 0 for f in ft.metrics["folds"])
    loso = run_experiment({**config_dict(tmp_path), "evaluation": {"protocol": "loso", "test_subjects": [2]}})
    assert [f["subject"] for f in loso.metrics["folds"]] == ["2"]
    assert loso.metrics["summary"]["accuracy"]["mean"] > 0.8


def test_decoder_kind_must_match_the_data(tmp_path, test_decoder):
    config = config_dict(tmp_path)
    config["decoder"] = {"name": "wiener"}
    with pytest.raises(ConfigError, match="takes continuous data.*gives trials data"):
        run_experiment(config)


def test_data_filled_parameters(test_decoder):
    cls = registry.get("eeg-simpleconv")
    config = experiment.validate_config({"dataset": {"source": "sim:trials"},
                                         "decoder": {"name": "eeg-simpleconv", "preset": "within-subject"},
                                         "training": {"seed": 5}})
    params = experiment._decoder_params(cls, config, simulated_trials())
    assert params["sfreq"] == 64.0 and params["seed"] == 5
    assert params["filters"] == cls.presets["within-subject"]["filters"]


def test_list_runs_skips_partial_and_broken_folders(tmp_path):
    (tmp_path / ".x.partial").mkdir()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "metrics.json").write_text("{not json")
    assert workspace.list_runs(tmp_path) == []
    assert workspace.list_runs(tmp_path / "nothing-here") == []


def test_a_partial_run_is_locked_against_a_second_process(tmp_path):
    import os

    first = workspace.open_run_folder(tmp_path, "csp-lda", "abcdef0123")
    assert workspace.open_run_folder(tmp_path, "csp-lda", "abcdef0123").path == first.path  # same process
    (first.path / ".lock").write_text(str(os.getppid()))  # a live process holds it
    with pytest.raises(experiment.InputError, match="already running"):
        workspace.open_run_folder(tmp_path, "csp-lda", "abcdef0123")
    (first.path / ".lock").write_text("999999999")  # a process that no longer exists
    again = workspace.open_run_folder(tmp_path, "csp-lda", "abcdef0123")
    assert again.resumed and json.loads((again.path / ".lock").read_text())["pid"] == os.getpid()
    workspace.release(again.path)
    assert not (again.path / ".lock").exists()
