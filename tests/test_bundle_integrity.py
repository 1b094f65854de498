"""Bundle integrity: every decoder declares the arrays its parameters imply, and an edited
bundle (tensor table, dtypes, NaN weights, schema, sizes) is refused before any array is used."""
from __future__ import annotations

import hashlib
import json
import zipfile

import numpy as np
import pytest

from decoders import bundle as bundle_module
from decoders import registry
from decoders.bundle import BundleError, load_bundle, save_bundle
from tests.simulated_mi import one_thread, simulate

FAST = {"eeg-simpleconv": dict(sfreq=100.0, resample_hz=50.0, filters=8, kernel_size=5, epochs=1),
        "fbcsp-lda": dict(sfreq=100.0, bands=[(8, 12), (12, 16)]),
        "dkf": dict(f="neural", hidden=8, layers=2, epochs=2)}


@pytest.fixture(autouse=True)
def single_thread():
    with one_thread():
        yield


def _fitted(name: str, n_classes: int = 2):
    decoder = registry.get(name)(**FAST.get(name, {}))
    if decoder.input_kind == "trials":
        X, y, _ = simulate(n_per_class=8, seed=1)
        if n_classes == 3:
            y = np.arange(len(y)) % 3
        return decoder.fit(X, y)
    rng = np.random.default_rng(0)
    return decoder.fit(rng.normal(size=(200, 4)), rng.normal(size=(200, 2)))


@pytest.mark.parametrize("name", ["csp-lda", "fbcsp-lda", "tangent-space-lr", "eeg-simpleconv", "kalman", "wiener", "dkf"])
def test_every_decoder_declares_exactly_the_arrays_it_saves(name):
    decoder = _fitted(name)
    arrays, extra = decoder.get_state()
    expected = type(decoder)(**decoder.get_params()).expected_tensors(extra)
    assert set(expected) == set(arrays)
    for key, spec in expected.items():
        shape = np.ascontiguousarray(arrays[key]).shape   # as saved (scalars become 1-d)
        assert len(shape) == len(spec.shape) and all(w in (None, h) for w, h in zip(spec.shape, shape)), key
        assert arrays[key].dtype.str in spec.dtypes, key


def test_three_classes_and_dkf_kernel_f_declare_their_arrays():
    decoder = _fitted("csp-lda", n_classes=3)
    arrays, extra = decoder.get_state()
    assert {k: s.shape for k, s in decoder.expected_tensors(extra).items()} == {k: v.shape for k, v in arrays.items()}
    dkf = registry.get("dkf")()
    rng = np.random.default_rng(0)
    dkf.fit(rng.normal(size=(200, 4)), rng.normal(size=(200, 2)))
    arrays, extra = dkf.get_state()
    assert set(dkf.expected_tensors(extra)) == set(arrays)


def _resign(folder, edit_manifest=None, arrays=None):
    """Rewrite a bundle folder as an attacker would: edited manifest, new weights, recomputed checksum."""
    from safetensors.numpy import save

    manifest = json.loads((folder / "manifest.json").read_text())
    if arrays is not None:
        raw = save(arrays)
        (folder / "weights.safetensors").write_bytes(raw)
        manifest["weights"]["sha256"] = hashlib.sha256(raw).hexdigest()
        manifest["weights"]["arrays"] = {k: {"dtype": v.dtype.str, "shape": list(v.shape)} for k, v in arrays.items()}
    if edit_manifest:
        edit_manifest(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_edited_bundles_are_refused_naming_the_array_or_field(tmp_path):
    decoder = _fitted("csp-lda")
    arrays, _ = decoder.get_state()
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}

    def case(name, **kw):
        folder = save_bundle(decoder, tmp_path / name, input_spec={})
        _resign(folder, **kw)
        with pytest.raises(BundleError) as err:
            load_bundle(folder)
        assert str(folder) in str(err.value)
        return str(err.value)

    def table(m):
        m["weights"]["arrays"]["csp.filters"]["shape"] = [2, 8]
    assert "csp.filters" in case("table", edit_manifest=table)
    assert "csp.filters" in case("filters", arrays={**arrays, "csp.filters": arrays["csp.filters"][:2]})
    assert "NaN" in case("nan", arrays={**arrays, "clf.coef": np.full_like(arrays["clf.coef"], np.nan)})
    assert "extra" in case("extra", arrays={**arrays, "extra": np.zeros(3)})
    assert "'format_version'" in case("negative", edit_manifest=lambda m: m.update(format_version=-1))
    assert "'format_version'" in case("string", edit_manifest=lambda m: m.update(format_version="1"))
    assert "'decoder'" in case("list", edit_manifest=lambda m: m.update(decoder=["csp-lda"]))
    assert "'input'" in case("input", edit_manifest=lambda m: m.update(input="x"))
    assert "state.n_chans" in case("state", edit_manifest=lambda m: m["state"].update(n_chans="8"))
    assert "'csp.filters'" in case("components", edit_manifest=lambda m: m["params"].update(n_components=2))


def test_int8_weights_are_refused_by_dtype(tmp_path):
    decoder = _fitted("csp-lda")
    arrays = {k: np.ascontiguousarray(v) for k, v in decoder.get_state()[0].items()}
    folder = save_bundle(decoder, tmp_path / "b", input_spec={})
    _resign(folder, arrays={**arrays, "clf.coef": arrays["clf.coef"].astype(np.int8)})
    with pytest.raises(BundleError, match=r"clf\.coef\.dtype.*got \|i1"):
        load_bundle(folder)


def test_zip_members_are_read_with_a_size_limit(tmp_path, monkeypatch):
    decoder = _fitted("csp-lda")
    path = save_bundle(decoder, tmp_path / "b.zip", input_spec={})
    monkeypatch.setattr(bundle_module, "MAX_WEIGHTS_BYTES", 100)
    with pytest.raises(BundleError, match="weights.safetensors in the zip is larger"):
        load_bundle(path)
    bomb = tmp_path / "bomb.zip"   # a member whose header understates its size
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", b" " * 10_000_000)
    monkeypatch.setattr(bundle_module, "MAX_MANIFEST_BYTES", 1000)
    with pytest.raises(BundleError, match="manifest.json in the zip is larger"):
        load_bundle(bomb)
