"""Decoder bundles (folder and zip), their error messages, and ONNX / TorchScript export."""
from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
import torch

from decoders.bundle import BundleError, load_bundle, read_manifest, save_bundle
from decoders.classical import TangentSpaceLR
from decoders.export import export_onnx, export_torchscript
from decoders.simpleconv import EEGSimpleConv
from data.errors import InputError
from tests.simulated_mi import one_thread, simulate

INPUT = {"ch_names": [f"E{i}" for i in range(8)], "sfreq": 100.0, "window": [0.0, 2.0],
         "preprocessing": [{"name": "filter", "params": {"l_freq": 4.0, "h_freq": 40.0}}],
         "class_names": ["left", "right"]}


@pytest.fixture(autouse=True)
def single_thread():
    with one_thread():
        yield


@pytest.fixture(scope="module")
def trials():
    return simulate(n_per_class=20, seed=5)


@pytest.fixture(scope="module")
def simpleconv(trials):
    X, y, _ = trials
    return EEGSimpleConv(sfreq=100.0, resample_hz=50.0, filters=8, kernel_size=5, epochs=2, seed=0).fit(X, y)


@pytest.mark.parametrize("suffix", ["", ".zip"])
def test_round_trip_torch_and_classical(tmp_path, trials, simpleconv, suffix):
    X, y, _ = trials
    ts = TangentSpaceLR().fit(X, y)
    for decoder in (simpleconv, ts):
        path = tmp_path / f"{decoder.name}{suffix}"
        save_bundle(decoder, path, input_spec=INPUT, metrics={"accuracy": np.float64(0.9), "nan": float("nan")})
        loaded, manifest = load_bundle(path)
        assert type(loaded) is type(decoder)
        np.testing.assert_array_equal(loaded.predict_proba(X), decoder.predict_proba(X))
        assert manifest["decoder"] == decoder.name and manifest["task"] == "classification"
        assert manifest["format_version"] == 1 and manifest["input"]["ch_names"] == INPUT["ch_names"]
        assert manifest["metrics"] == {"accuracy": 0.9, "nan": None}
        assert {"numpy", "python"} <= set(manifest["versions"])
        assert loaded.get_params() == decoder.get_params()
        assert read_manifest(path)["params"] == manifest["params"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"eeg-simpleconv{suffix}", f"tangent-space-lr{suffix}"])  # no temporary leftovers


def test_overwrite_replaces_a_bundle_but_never_a_foreign_folder(tmp_path, trials, simpleconv):
    X, y, _ = trials
    path = tmp_path / "model"
    save_bundle(simpleconv, path, input_spec=INPUT)
    save_bundle(TangentSpaceLR().fit(X, y), path, input_spec=INPUT)
    assert read_manifest(path)["decoder"] == "tangent-space-lr"
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"jpeg")
    with pytest.raises(BundleError, match="not empty"):
        save_bundle(simpleconv, foreign, input_spec=INPUT)
    assert (foreign / "cat.jpg").read_bytes() == b"jpeg"


def _corrupt(path, name, data):
    (path / name).write_bytes(data) if isinstance(data, bytes) else (path / name).write_text(data)


def test_bad_bundles_name_the_file_and_the_problem(tmp_path, simpleconv):
    with pytest.raises(BundleError, match="no such bundle") as err:
        load_bundle(tmp_path / "missing")
    assert str(tmp_path / "missing") in str(err.value) and isinstance(err.value, InputError)

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BundleError, match="manifest.json is missing"):
        load_bundle(empty)

    good = tmp_path / "good"
    save_bundle(simpleconv, good, input_spec=INPUT)
    manifest = json.loads((good / "manifest.json").read_text())

    cases = {
        "not valid JSON": ("manifest.json", "{ nope"),
        "does not say format": ("manifest.json", json.dumps({**manifest, "format": "other-tool"})),
        "newer than this NeuroDeck": ("manifest.json", json.dumps({**manifest, "format_version": 99})),
        "not available in this NeuroDeck": ("manifest.json", json.dumps({**manifest, "decoder": "mystery-net"})),
        "unsafe weights file": ("manifest.json", json.dumps({**manifest, "weights": {"file": "../x"}})),
        "parameters or state do not fit": ("manifest.json", json.dumps({**manifest, "params": {**manifest["params"], "filters": -3}})),
        "checksum": ("weights.safetensors", b"\x00" * 64),
    }
    for problem, (name, content) in cases.items():
        broken = tmp_path / f"broken-{len(problem)}"
        save_bundle(simpleconv, broken, input_spec=INPUT)
        _corrupt(broken, name, content)
        with pytest.raises(BundleError, match=problem) as err:
            load_bundle(broken)
        assert str(broken) in str(err.value)

    # weights that do not fit the declared architecture
    wrong = tmp_path / "wrong-shape"
    save_bundle(simpleconv, wrong, input_spec=INPUT)
    m = json.loads((wrong / "manifest.json").read_text())
    m["params"]["filters"] = 12
    (wrong / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(BundleError, match="do not fit eeg-simpleconv"):
        load_bundle(wrong)

    missing_weights = tmp_path / "no-weights"
    save_bundle(simpleconv, missing_weights, input_spec=INPUT)
    (missing_weights / "weights.safetensors").unlink()
    with pytest.raises(BundleError, match="weights.safetensors is missing"):
        load_bundle(missing_weights)

    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(BundleError, match="expected a bundle folder or a .zip"):
        load_bundle(text)
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as zf:
        zf.writestr("readme.txt", "hi")
    with pytest.raises(BundleError, match="the zip has no manifest.json"):
        load_bundle(other_zip)
    truncated = tmp_path / "truncated.zip"
    save_bundle(simpleconv, truncated, input_spec=INPUT)
    truncated.write_bytes(truncated.read_bytes()[:200])
    with pytest.raises(BundleError):
        load_bundle(truncated)


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_onnx_and_torchscript_exports_match_the_decoder(tmp_path, trials, simpleconv):
    import onnxruntime as ort

    X, _, _ = trials
    report = export_onnx(simpleconv, tmp_path / "m.onnx", X[:2])
    assert report.max_abs_diff < 1e-4
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {"trials": X[:7]})[0]            # dynamic batch axis
    np.testing.assert_allclose(got, simpleconv.predict_proba(X[:7]), atol=1e-4)

    ts = export_torchscript(simpleconv, tmp_path / "m.pt", X[:3])
    assert ts.max_abs_diff == 0.0
    scripted = torch.jit.load(str(tmp_path / "m.pt"))
    with torch.inference_mode():
        np.testing.assert_allclose(scripted(torch.as_tensor(X[:5])).numpy(), simpleconv.predict_proba(X[:5]), atol=1e-5)

    with pytest.raises(InputError, match="not a torch decoder"):
        export_onnx(TangentSpaceLR().fit(*trials[:2]), tmp_path / "ts.onnx", X[:1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "m.pt"]
