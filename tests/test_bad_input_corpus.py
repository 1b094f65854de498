"""The bad-input corpus (issue 15): every class of broken or hostile input, run through the
CLI, exits 2 with the file or key named, no traceback, a short message, and nothing written
outside the run folder. Adding a case is one line in CASES.

Cases that used to hang (alias bomb, huge files, zip bomb) run in a subprocess under a
timeout; the rest call ``app.cli.main`` in-process (a subprocess costs 1-2 s of start-up).
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from app.cli import main
from tests import bad_inputs as bad
from tests.simulated_mi import one_thread, simulate

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Case:
    id: str
    build: Callable[[Path, dict], list[str]]   # (folder, good bundles) -> CLI arguments
    named: list[str]                            # in the message: the file or key, and the problem
    subprocess: bool = False
    usage: bool = False                         # an option refused by argparse: usage, then "error: argument"


def run_yaml(name, content):
    return lambda t, g: ["run", str(bad.text(t, name, content)), "--out", str(t / "runs")]


def info(make):
    return lambda t, g: ["info", str(make(t))]


def predict(make):
    return lambda t, g: ["predict", str(make(t, g)), str(bad.edf(t)), "--out", str(t / "p.csv")]


def run_setting(name, dataset="", decoder="", extra=""):
    """``run`` of GOOD_EXPERIMENT with ``dataset`` / ``decoder`` flow-mapping entries and ``extra`` sections."""
    content = bad.GOOD_EXPERIMENT.replace("'demo:motor-imagery'}", f"'demo:motor-imagery'{dataset}}}")
    content = content.replace("{name: csp-lda}", f"{{name: csp-lda{decoder}}}") + extra
    return run_yaml(name, content)


def online(*options):
    return lambda t, g: ["online", str(g["kalman"]), "--replay", str(bad.continuous_folder(t, "replay", 4, 2)),
                         *options]


def sweep(name, **parts):
    return lambda t, g: ["sweep", str(bad.sweep(t, name, **parts)), "--dry-run"]


def nifti(**kw):
    return lambda t, g: ["info", str(bad.bold(t, **kw)), "--kind", "nifti", "--option", "labels=labels.txt"]


def zeroed(key, dtype=None, value=0.0):
    def change(arrays):
        arrays[key] = np.full_like(arrays[key], value).astype(dtype or arrays[key].dtype)
    return change


CASES = [
    # experiment files
    Case("yaml-alias-bomb", run_yaml("bomb.yaml", bad.ALIAS_BOMB), ["bomb.yaml", "aliases"], subprocess=True),
    Case("yaml-50MB", lambda t, g: ["run", str(bad.huge_yaml(t))], ["huge.yaml", "MiB"], subprocess=True),
    Case("yaml-python-tag", run_yaml("evil.yaml", "x: !!python/object/apply:os.system ['true']\n"),
         ["evil.yaml", "python/object"]),
    Case("yaml-syntax", run_yaml("broken.yaml", "dataset: [unclosed\n"), ["broken.yaml", "line"]),
    Case("yaml-not-utf8", run_yaml("binary.yaml", b"\xff\xfe\x00\x01"), ["binary.yaml", "UTF-8"]),
    Case("yaml-a-list", run_yaml("list.yaml", "- a\n- b\n"), ["list.yaml", "mapping"]),
    Case("yaml-unknown-key", run_yaml("typo.yaml", bad.GOOD_EXPERIMENT.replace("n_folds", "n_fold")),
         ["typo.yaml", "evaluation.n_fold"]),
    Case("yaml-long-value-quoted-short", run_yaml("long.yaml", bad.GOOD_EXPERIMENT.replace(
        "n_folds: 2", "n_folds: '" + "9" * 200_000 + "'")), ["long.yaml", "evaluation.n_folds"]),
    Case("yaml-recursive-alias", run_yaml("loop.yaml", "name: &n [*n]\n" + bad.GOOD_EXPERIMENT), ["loop.yaml", "'name'"]),
    Case("yaml-deeply-nested", run_yaml("deep.yaml", "a: " + "[" * 100_000 + "]" * 100_000), ["deep.yaml", "nested"]),
    Case("yaml-is-a-folder", lambda t, g: ["run", str(t)], [None, "not a file"]),
    Case("run-fails-on-bad-parameter", run_yaml("components.yaml", bad.GOOD_EXPERIMENT.replace(
        "{name: csp-lda}", "{name: csp-lda, params: {n_components: 99}}")), ["n_components"]),
    # recordings
    Case("edf-absurd-sampling-rate", info(lambda t: bad.edf(t, "fast.edf", duration="0.000001")),
         ["fast.edf", "1e+08 Hz"]),
    Case("edf-garbage", info(lambda t: bad.text(t, "garbage.edf", b"not an edf" * 100)), ["garbage.edf"]),
    Case("edf-truncated", info(lambda t: bad.edf(t, "short.edf", truncate=100)), ["short.edf", "truncated"]),
    Case("edf-empty", info(lambda t: bad.text(t, "empty.edf", b"")), ["empty.edf", "empty"]),
    Case("recording-missing", lambda t, g: ["info", str(t / "nowhere.edf")], ["nowhere.edf"]),
    Case("vhdr-without-eeg", info(lambda t: bad.text(t, "rec.vhdr", "Brain Vision Data Exchange Header File "
                                                  "Version 1.0\n[Common Infos]\nDataFile=rec.eeg\n")), ["rec.vhdr"]),
    # bundles
    Case("manifest-decoder-a-list", predict(lambda t, g: bad.edit_manifest(
        g["folder"], t, "b", lambda m: m.update(decoder=["csp-lda"]))), ["b", "'decoder'"]),
    Case("manifest-input-a-string", predict(lambda t, g: bad.edit_manifest(
        g["folder"], t, "b", lambda m: m.update(input="x"))), ["b", "'input'"]),
    Case("manifest-input-sfreq-negative", predict(lambda t, g: bad.edit_manifest(
        g["folder"], t, "b", lambda m: m["input"].update(sfreq=-160))), ["b", "'input.sfreq'"]),
    Case("manifest-format-version-negative", predict(lambda t, g: bad.edit_manifest(
        g["folder"], t, "b", lambda m: m.update(format_version=-1))), ["b", "'format_version'"]),
    Case("manifest-format-version-string", predict(lambda t, g: bad.edit_manifest(
        g["folder"], t, "b", lambda m: m.update(format_version="1"))), ["b", "'format_version'"]),
    Case("manifest-tensor-table-edited", predict(lambda t, g: bad.edit_manifest(
        g["folder"], t, "b", lambda m: m["weights"]["arrays"]["csp.filters"].update(shape=[2, 8]))),
        ["b", "csp.filters"]),
    Case("manifest-n-components-disagrees", predict(lambda t, g: bad.edit_manifest(
        g["folder"], t, "b", lambda m: m["params"].update(n_components=2))), ["b", "csp.filters"]),
    Case("weights-other-shapes-resigned", predict(lambda t, g: bad.resigned(
        g["folder"], t, "b", lambda a: a.update({"csp.filters": a["csp.filters"][:, :3]}))), ["b", "csp.filters"]),
    Case("weights-nan-resigned", predict(lambda t, g: bad.resigned(g["folder"], t, "b", zeroed("clf.coef", value=np.nan))),
         ["b", "NaN"]),
    Case("weights-int8-resigned", predict(lambda t, g: bad.resigned(g["folder"], t, "b", zeroed("clf.coef", np.int8))),
         ["b", "clf.coef"]),
    Case("weights-extra-array-resigned", predict(lambda t, g: bad.resigned(
        g["folder"], t, "b", lambda a: a.update(extra=np.zeros(3)))), ["b", "unexpected arrays"]),
    Case("weights-changed", predict(lambda t, g: bad.edit_manifest(
        g["folder"], t, "b", lambda m: m["weights"].update(sha256="0" * 64))), ["b", "checksum"]),
    Case("zip-corrupt", predict(lambda t, g: bad.corrupt_zip(g["zip"], t)), ["corrupt.zip", "not a readable bundle"]),
    Case("zip-bomb", predict(lambda t, g: bad.zip_bomb(g["zip"], t)), ["bomb.zip", "larger than"], subprocess=True),
    Case("zip-huge-manifest", predict(lambda t, g: bad.huge_manifest_zip(t)), ["huge-manifest.zip", "manifest.json"]),
    Case("zip-path-traversal", predict(lambda t, g: bad.edit_manifest(
        g["folder"], t, "b", lambda m: m["weights"].update(file="../../etc/passwd"))), ["b", "unsafe"]),
    Case("pickle-posing-as-bundle", predict(lambda t, g: bad.pickle_bundle(t)), ["model.zip", "not a NeuroDeck bundle"]),
    Case("export-of-an-edited-bundle", lambda t, g: ["export", str(bad.resigned(
        g["folder"], t, "b", zeroed("clf.coef", value=np.inf))), "--out", str(t / "clean.zip")], ["b", "NaN"]),
    # output paths, checked before any work
    Case("export-out-under-a-file", lambda t, g: ["export", str(g["folder"]), "--out",
                                                  str(bad.text(t, "file", "x") / "out.zip")], ["--out", "file"]),
    Case("predict-out-missing-folder", lambda t, g: ["predict", str(g["folder"]), str(bad.edf(t)), "--out",
                                                     str(t / "no" / "p.csv")], ["--out", "does not exist"]),
    Case("online-output-missing-folder", lambda t, g: ["online", str(g["kalman"]), "--replay",
                                                       str(bad.continuous_folder(t, "replay", 4, 2)),
                                                       "--output", str(t / "no" / "d.csv")], ["--output", "does not exist"]),
    # online
    Case("online-replay-other-target-count", lambda t, g: ["online", str(g["kalman"]), "--replay",
                                                           str(bad.continuous_folder(t, "three", 4, 3))],
         ["three", "3 targets", "decodes 2"]),
    Case("online-classifier-bundle", lambda t, g: ["online", str(g["folder"]), "--replay",
                                                   str(bad.continuous_folder(t, "replay", 4, 2))], ["csp-lda", "step"]),
    # issue 24: every numeric setting validated where it enters, the bad value named
    Case("window-nan", run_setting("nan.yaml", ", window: [.nan, 2.0]"), ["nan.yaml", "dataset.window", "finite"]),
    Case("window-huge", run_setting("wide.yaml", ", window: [-1e12, 1e12]"), ["wide.yaml", "dataset.window", "600"]),
    Case("window-reversed", run_setting("reversed.yaml", ", window: [2.0, 1.0]"), ["dataset.window", "start < end"]),
    Case("band-negative", run_setting("band.yaml", ", preprocessing: {band: [-5, 30]}"),
         ["band.yaml", "dataset.preprocessing.band"]),
    Case("band-infinite", run_setting("band.yaml", ", preprocessing: {band: [8, .inf]}"),
         ["dataset.preprocessing.band", "finite"]),
    Case("resample-1e9", run_setting("resample.yaml", ", preprocessing: {resample: 1e9}"),
         ["resample.yaml", "dataset.preprocessing.resample", "100000"]),
    Case("notch-nan", run_setting("notch.yaml", ", preprocessing: {notch: .nan}"), ["dataset.preprocessing.notch"]),
    Case("seed-negative", run_setting("seed.yaml", extra="training: {seed: -1}\n"), ["seed.yaml", "training.seed"]),
    Case("seed-10e26", run_setting("seed.yaml", extra="training: {seed: 100000000000000000000000000}\n"),
         ["seed.yaml", "training.seed"]),
    Case("demo-seed-negative", run_setting("seed.yaml", ", seed: -1"), ["dataset.seed"]),
    Case("epochs-1e9", run_yaml("epochs.yaml", bad.GOOD_EXPERIMENT.replace(
        "{name: csp-lda}", "{name: eeg-simpleconv, params: {epochs: 1000000000}}")), ["epochs.yaml", "epochs", "100000"]),
    Case("lr-infinite", run_yaml("lr.yaml", bad.GOOD_EXPERIMENT.replace(
        "{name: csp-lda}", "{name: eeg-simpleconv, params: {lr: .inf}}")), ["lr.yaml", "lr"]),
    Case("n-folds-huge", run_yaml("folds.yaml", bad.GOOD_EXPERIMENT.replace("n_folds: 2", "n_folds: 10000000000")),
         ["folds.yaml", "evaluation.n_folds"]),
    Case("online-speed-0", online("--speed", "0"), ["--speed", "more than 0"], usage=True),
    Case("online-speed-negative", online("--speed", "-3"), ["--speed", "more than 0"], usage=True),
    Case("online-step-0", online("--mode", "sliding", "--step", "0"), ["--step", "more than 0"], usage=True),
    Case("online-step-negative", online("--mode", "sliding", "--step", "-250"), ["--step"], usage=True),
    Case("online-duration-negative", online("--duration", "-5"), ["--duration"], usage=True),
    Case("online-duration-nan", online("--duration", "nan"), ["--duration", "finite"], usage=True),
    Case("online-reconnect-negative", online("--reconnect", "-1"), ["--reconnect", "at least 0"], usage=True),
    Case("sweep-workers-0", sweep("workers.yaml", executor="{workers: 0}"), ["workers.yaml", "executor.workers"]),
    Case("sweep-workers-option-0", lambda t, g: ["sweep", str(bad.sweep(t, "s.yaml")), "--workers", "0"],
         ["--workers", "at least 1"], usage=True),
    Case("sweep-empty-grid", sweep("grid.yaml", axes="{decoders: [{name: csp-lda, grid: {n_components: []}}]}"),
         ["grid.yaml", "grid", "n_components"]),
    Case("sweep-million-runs-dry-run", sweep("huge.yaml", axes="{decoders: [{name: csp-lda, grid: {n_components: %s, "
                                              "reg: %s}}]}" % (list(range(1, 1001)), [i / 1000 for i in range(1000)])),
         ["huge.yaml", "1,000,000 runs", "10,000"]),
    Case("manifest-input-sfreq-1e308", predict(lambda t, g: bad.edit_manifest(
        g["folder"], t, "b", lambda m: m["input"].update(sfreq=1e308))), ["b", "'input.sfreq'"]),
    Case("manifest-class-names-empty", predict(lambda t, g: bad.edit_manifest(
        g["folder"], t, "b", lambda m: m["input"].update(class_names=[]))), ["b", "input.class_names", "empty"]),
    Case("manifest-a-fifo", predict(lambda t, g: bad.fifo_manifest(g["folder"], t)),
         ["fifo-bundle", "manifest.json", "not a regular file"], subprocess=True),
    Case("bci2000-absurd-sampling-rate", info(lambda t: bad.bci2000_dat(t)), ["fast.dat", "1e+08 Hz", "100,000 Hz"]),
    Case("nifti-truncated", nifti(truncate=200), ["bold.nii.gz", "cannot read"]),
    Case("nifti-nan-volumes", nifti(nan_volumes=(3, 4)), ["bold.nii.gz", "NaN or Inf", "2 of 20 volumes"]),
    Case("nifti-inf-voxel", nifti(inf_voxel=True), ["bold.nii.gz", "NaN or Inf", "1 of 20 volumes"]),
    Case("roi-text-token", lambda t, g: ["info", str(bad.roi_file(t / "rois", bad_line=31).parent), "--kind",
                                          "roi-series", "--option", "phenotype=null"],
         ["s_0050001_rois.1D", "line 31", "'abc'"]),
    Case("npz-garbage", info(lambda t: bad.text(t, "table.npz", b"PK\x03\x04" + bytes(range(256)) * 8)),
         ["table.npz"]),
    Case("npz-truncated", info(lambda t: bad.truncated_npz(t)), ["cut.npz"]),
    Case("gui-screenshot-under-a-file", lambda t, g: ["gui", "demo:motor-imagery", "--screenshot",
                                                      str(bad.text(t, "file", "x") / "shot.png")],
         ["--screenshot", "file"]),
]


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A real csp-lda bundle (folder and zip) and a kalman bundle to break."""
    from decoders.bundle import save_bundle
    from decoders.classical import CSPLDA
    from decoders.kalman.kalman_filter import KalmanFilterDecoder

    folder = tmp_path_factory.mktemp("good")
    with one_thread():
        X, y, _ = simulate(n_per_class=8, seed=3)
        csp = CSPLDA().fit(X, y)
        rng = np.random.default_rng(0)
        kalman = KalmanFilterDecoder().fit(rng.normal(size=(300, 4)), rng.normal(size=(300, 2)))
    spec = {"ch_names": [f"E{i}" for i in range(8)], "sfreq": 100.0, "class_names": ["left", "right"]}
    return {"folder": save_bundle(csp, folder / "csp", input_spec=spec),
            "zip": save_bundle(csp, folder / "csp.zip", input_spec=spec),
            "kalman": save_bundle(kalman, folder / "kalman", input_spec={})}


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() or p.name.startswith(".")}


@pytest.mark.timeout(180)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_exits_2_naming_the_file_or_key(case, good, tmp_path, monkeypatch, capsys):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    args = case.build(inputs, good)
    work = tmp_path / "work"   # the current folder: nothing may appear here
    work.mkdir()
    before = _files(tmp_path)
    if case.subprocess:
        proc = subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=work, capture_output=True, text=True,
                              timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
        code, err = proc.returncode, proc.stderr
    else:
        monkeypatch.chdir(work)
        with one_thread():
            code = main(args)
        err = capsys.readouterr().err
    flat = " ".join(err.split())
    assert code == 2, err[-3000:]
    assert "Traceback" not in err
    if case.usage:   # argparse: the usage lines, then "neurodeck COMMAND: error: argument --OPTION: ..."
        assert flat.startswith("usage: ") and ": error: argument " in flat
    else:   # progress lines may come first (stderr of a piped run); the message ends it
        lines = err.splitlines()
        starts = [i for i, line in enumerate(lines) if line.startswith("error:")]
        assert starts, f"no 'error: ' paragraph in: {flat[:2000]}"
        flat = " ".join(" ".join(lines[starts[0]:]).split())
    for text in case.named:
        assert text is None or text in flat, f"{text!r} not in: {flat[:2000]}"
    assert len(err) < 2000, f"a {len(err)}-character message"
    written = {p for p in _files(tmp_path) - before if p.parent != inputs or p.name.startswith(".")}
    assert not written, f"written outside the run folder: {sorted(map(str, written))}"


def test_a_file_the_user_cannot_read_is_an_input_error(tmp_path, monkeypatch, capsys):
    """PermissionError anywhere while reading a user's file: exit 2, "cannot read it: permission denied"."""
    import data.readers

    path = bad.edf(tmp_path, "locked.edf")

    def denied(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(data.readers, "_read", denied)
    assert main(["info", str(path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{path}: cannot read it: permission denied" in err and "Traceback" not in err
    # the same error from anywhere else (here: the experiment file) is mapped at the top level
    monkeypatch.setattr("app.experiment.load_config", lambda p: denied(p))
    assert main(["run", str(path)]) == 2
    assert f"{path}: cannot read or write it: permission denied" in " ".join(capsys.readouterr().err.split())


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_a_recording_without_read_permission_exits_2(tmp_path, capsys):
    path = bad.edf(tmp_path, "locked.edf")
    path.chmod(0)
    assert main(["info", str(path)]) == 2
    assert "permission denied" in capsys.readouterr().err


def test_debug_adds_the_traceback_and_keeps_the_exit_code(tmp_path, capsys):
    """--debug is accepted anywhere on the line; bad input stays exit 2, with the traceback before the message."""
    assert main(["info", str(tmp_path / "nowhere.edf"), "--debug"]) == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments" not in err
    assert "Traceback" in err and "MissingFileError" in err and err.index("Traceback") < err.index("error: ")
    assert main(["info", str(tmp_path / "nowhere.edf")]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_debug_keeps_exit_1_for_a_genuine_failure(tmp_path, monkeypatch, capsys):
    import data.info

    monkeypatch.setattr(data.info, "describe", lambda *a, **k: 1 / 0)
    assert main(["info", str(bad.edf(tmp_path)), "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError" in err and "run with --debug" not in err


def test_export_keeps_the_trainers_provenance_and_adds_its_own(good, tmp_path, capsys):
    """`created` and `versions` stay the trainer's; each export appends {created, versions} to `exports`."""
    import json

    from decoders.bundle import read_manifest

    trained = bad.edit_manifest(good["folder"], tmp_path, "model", lambda m: m.update(
        created="2020-01-02T03:04:05+0000", versions={**m["versions"], "mne": "0.0-trainer"}))
    assert main(["export", str(trained), "--out", str(tmp_path / "once.zip")]) == 0
    assert main(["export", str(tmp_path / "once.zip"), "--out", str(tmp_path / "twice")]) == 0
    assert main(["export", str(trained), "--out", str(trained)]) == 0   # in place
    for path in (tmp_path / "once.zip", tmp_path / "twice", trained):
        manifest = read_manifest(path)
        assert manifest["created"] == "2020-01-02T03:04:05+0000" and manifest["versions"]["mne"] == "0.0-trainer"
        assert manifest["exports"] and all(e["created"] and e["versions"]["python"] for e in manifest["exports"])
    assert len(read_manifest(tmp_path / "twice")["exports"]) == 2
    assert json.loads((trained / "manifest.json").read_text())["exports"][0]["versions"]["mne"] != "0.0-trainer"


def test_a_device_a_classical_decoder_cannot_use_is_warned(tmp_path, monkeypatch, capsys):
    """csp-lda with training.device cuda:7 runs on the CPU and says so (a torch decoder is refused instead)."""
    from app.experiment import validate_config
    from decoders.base import ParameterError

    monkeypatch.chdir(tmp_path)
    path = bad.text(tmp_path, "gpu.yaml", bad.GOOD_EXPERIMENT.replace("demo:motor-imagery'", "demo:motor-imagery', "
                    "subjects: [1]") + "training: {device: 'cuda:7'}\noutput: {save_model: false, figures: false}\n")
    with one_thread():
        assert main(["run", str(path), "--out", str(tmp_path / "runs"), "--quiet"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "training.device 'cuda:7' is not used: csp-lda runs on the CPU" in err
    torch = pytest.importorskip("torch")
    if torch.cuda.device_count() <= 7:
        from decoders.training import resolve_device

        with pytest.raises(ParameterError, match="cuda:7|no CUDA GPU"):
            resolve_device("cuda:7")
    validate_config({"dataset": {"source": "demo:motor-imagery"}, "decoder": {"name": "csp-lda"},
                     "training": {"device": "cuda:7"}})   # valid as a setting: checked where it runs


def test_a_genuine_failure_exits_1_and_says_so(tmp_path, monkeypatch, capsys):
    import data.info

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(data.info, "describe", broken)
    assert main(["info", str(bad.edf(tmp_path))]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "not in your input" in err and "ZeroDivisionError" in err and "--debug" in err


def test_online_writes_each_decision_as_it_is_made(good, tmp_path, monkeypatch, capsys):
    """Interrupted after 5 bins, the CSV holds those 5 decisions (written and flushed one by one)."""
    from app.online.bins import BinSession

    replay = bad.continuous_folder(tmp_path, "replay", 4, 2)
    original, decided = BinSession._ready, []

    def five_then_ctrl_c(self):
        for event in original(self):
            if len(decided) == 5:
                raise KeyboardInterrupt
            decided.append(event)
            yield event

    monkeypatch.setattr(BinSession, "_ready", five_then_ctrl_c)
    out = tmp_path / "decisions.csv"
    assert main(["online", str(good["kalman"]), "--replay", str(replay), "--output", str(out)]) == 130
    assert np.loadtxt(out, delimiter=",", skiprows=1).shape == (5, 2)


def test_a_stalled_lsl_stream_is_detected(monkeypatch):
    """A player that stops sending is an error after ``stall_timeout``, not an idle session."""
    from app.online import LSLSource, StreamStalledError

    class SilentStream:
        info = {"sfreq": 100.0}
        n_new_samples = 0

        def disconnect(self):
            self.disconnected = True

    source = LSLSource.__new__(LSLSource)
    source.name, source.duration, source.max_samples, source.stall_timeout = "player", 60.0, None, 0.2
    source.stream = SilentStream()
    with pytest.raises(StreamStalledError, match="'player' sent no samples for 0.2 s"):
        list(source)
    assert source.stream.disconnected


def test_ordinary_anchors_and_aliases_still_load(tmp_path):
    from data.safe_yaml import load_yaml

    path = bad.text(tmp_path, "ok.yaml", "base: &b {band: [8, 30]}\nrun1: *b\nrun2: {<<: *b, extra: 1}\n")
    assert load_yaml(path) == {"base": {"band": [8, 30]}, "run1": {"band": [8, 30]},
                               "run2": {"band": [8, 30], "extra": 1}}


@pytest.mark.timeout(240)
@pytest.mark.parametrize("name", ["MISSING.edf", "garbage.edf"])
def test_gui_screenshot_of_a_bad_source_exits_2_cleanly(name, tmp_path):
    """`neurodeck gui BAD --screenshot X.png`: the window shows the error, the command prints it,
    takes the screenshot and exits 2 with no traceback at shutdown (background work joined)."""
    pytest.importorskip("PySide6")
    if name == "garbage.edf":
        bad.text(tmp_path, name, b"not an edf" * 100)
    shot = tmp_path / "shot.png"
    proc = subprocess.run([sys.executable, "-m", "app.cli", "gui", str(tmp_path / name), "--screenshot", str(shot)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=200,
                          env={**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen",
                               "NEURODECK_SETTINGS": str(tmp_path / "settings.ini")})
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert f"{name}" in proc.stderr and "error: " in proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr[-3000:]
    assert shot.is_file()
