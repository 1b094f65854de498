"""MindBridge's per-subject intensity maps (``intensity_map: auto``): the choice on
out-of-fold predictions, its statement in the training log, bundles, tampered bundles."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from scipy.stats import spearmanr

from data.loading import load_dataset
from decoders import metrics
from decoders.bundle import BundleError, load_bundle, save_bundle
from decoders.events import LogMessage, TrainingContext
from decoders.mindbridge import MindBridge
from decoders.mindbridge.intensity import choose_map, histogram_match
from tests.simulated_mi import one_thread


@pytest.fixture(autouse=True)
def _one_thread():
    with one_thread():
        yield


@pytest.fixture(scope="module")
def digits(datasets):
    data = load_dataset({"source": str(datasets / "fmri-recon" / "digit69_28x28.mat"),
                         "kind": "stimulus-pairs", "options": {"image_order": "F"}})
    return data.stimuli[data.session == "train"].astype(np.float32)


def test_histogram_match_keeps_each_images_pixel_order():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(3, 8, 8)).astype(np.float32)
    quantiles = np.linspace(0, 1, 65).astype(np.float32)
    matched = histogram_match(images, quantiles, 1.0)
    for before, after in zip(images, matched):
        assert spearmanr(before.ravel(), after.ravel())[0] == pytest.approx(1.0)
        assert 0 <= after.min() < 0.01 and 0.99 < after.max() <= 1   # the reference's range
    np.testing.assert_allclose(histogram_match(images, quantiles, 0.0), images)


def test_blurred_digits_get_a_contrast_map_and_exact_ones_none(digits):
    """Known structure: blurred, faded real digit images lose contrast, which a map restores
    (the chosen map must raise PixCorr + SSIM); perfect predictions need no map."""
    folds = np.arange(len(digits)) % 5
    blurred = np.stack([0.3 + 0.4 * gaussian_filter(d, 1.2) for d in digits]).astype(np.float32)
    chosen, scores, _ = choose_map(blurred, digits, folds)
    assert chosen.kind != "none" and scores[chosen.label] == max(scores.values())
    before = metrics.pixcorr(digits, blurred) + metrics.ssim(digits, blurred)
    after = chosen.apply(blurred)
    assert metrics.pixcorr(digits, after) + metrics.ssim(digits, after) > before + 0.05
    exact, _, _ = choose_map(digits, digits, folds)
    assert exact.kind == "none"


def test_auto_map_is_stated_applied_and_saved(tmp_path):
    demo = load_dataset({"source": "demo:visual-fmri"})
    train, test = demo.session == "train", demo.session == "test"
    params = dict(MindBridge.presets["tiny"], seed=0, epochs=3, codec_epochs=3, intensity_map="auto",
                  intensity_folds=2)
    logs = []
    context = TrainingContext(lambda e: logs.append(e.message) if isinstance(e, LogMessage) else None,
                              device="cpu")
    model = MindBridge(**params).fit(demo.X[train], stimuli=demo.stimuli[train],
                                     subject=demo.subject[train], context=context)
    subjects = sorted(set(demo.subject[train].tolist()))
    assert sorted(model.intensity_) == subjects
    for s in subjects:
        assert any(f"subject {s}: intensity map '{model.intensity_[s].label}'" in m for m in logs), logs
    assert sum("intensity map, inner fit" in m for m in logs) == 2
    assert any("images of 3 networks averaged" in m for m in logs), logs
    assert len(model.inner_) == 2 and model.ensemble_subjects_ == list(dict.fromkeys(demo.subject[train].tolist()))
    X, s = demo.X[test], demo.subject[test]
    save_bundle(model, tmp_path / "mb", input_spec={"kind": "volumes"})
    loaded, _ = load_bundle(tmp_path / "mb")
    np.testing.assert_allclose(loaded.predict(X, subject=s), model.predict(X, subject=s), atol=1e-5)
    manifest = json.loads((tmp_path / "mb" / "manifest.json").read_text())
    manifest["state"]["intensity"][subjects[0]].update(kind="histogram", mix=5)
    (tmp_path / "mb" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="mix 5"):
        load_bundle(tmp_path / "mb")


def test_inner_ensemble_averages_networks_survives_bundles_and_leaves_on_reset_tuning(tmp_path):
    """With auto, predict averages the full fit's network images with the inner fits'; a
    bundle keeps them; a subject reset-tuned by fine_tune leaves the ensemble; a bundle whose
    ensemble names a subject its networks do not know is refused."""
    demo = load_dataset({"source": "demo:visual-fmri"})
    train, test = demo.session == "train", demo.session == "test"
    params = dict(MindBridge.presets["tiny"], seed=0, epochs=3, codec_epochs=3, intensity_map="auto",
                  intensity_folds=2, ridge_blend=0.0)
    model = MindBridge(**params).fit(demo.X[train], stimuli=demo.stimuli[train], subject=demo.subject[train])
    model.intensity_ = {}   # compare the network images themselves
    X, s = demo.X[test], demo.subject[test]
    members = [model.predict_network_images(X, subject=s)] + [m.predict_network_images(X, subject=s)
                                                             for m in model.inner_]
    np.testing.assert_allclose(model.predict(X, subject=s), np.mean(members, axis=0), atol=1e-6)
    assert not np.allclose(members[0], members[1], atol=1e-3)   # the inner networks differ

    save_bundle(model, tmp_path / "mb", input_spec={"kind": "volumes"})
    loaded, _ = load_bundle(tmp_path / "mb")
    np.testing.assert_allclose(loaded.predict(X, subject=s), model.predict(X, subject=s), atol=1e-5)

    tuned_subject = model.ensemble_subjects_[0]
    rows = demo.subject[train] == tuned_subject
    loaded.fine_tune(demo.X[train][rows], stimuli=demo.stimuli[train][rows], subject=demo.subject[train][rows])
    assert tuned_subject not in loaded.ensemble_subjects_
    mine = s == tuned_subject
    np.testing.assert_allclose(loaded.predict(X[mine], subject=s[mine]),
                               loaded.predict_network_images(X[mine], subject=s[mine]), atol=1e-6)
    others = ~mine   # the other subjects keep their networks and their ensemble
    assert others.any()
    np.testing.assert_allclose(loaded.predict(X[others], subject=s[others]),
                               model.predict(X[others], subject=s[others]), atol=1e-5)

    manifest = json.loads((tmp_path / "mb" / "manifest.json").read_text())
    manifest["state"]["ensemble_subjects"] = ["nobody"]
    (tmp_path / "mb" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="nobody"):
        load_bundle(tmp_path / "mb")


def test_bundle_with_absurd_voxel_counts_is_refused_before_allocating(tmp_path):
    """A hostile manifest claiming 10^12 voxels is refused by name, not by exhausting memory."""
    demo = load_dataset({"source": "demo:visual-fmri"})
    train = demo.session == "train"
    model = MindBridge(**dict(MindBridge.presets["tiny"], seed=0, epochs=1, codec_epochs=1)).fit(
        demo.X[train], stimuli=demo.stimuli[train], subject=demo.subject[train])
    save_bundle(model, tmp_path / "mb", input_spec={"kind": "volumes"})
    manifest = json.loads((tmp_path / "mb" / "manifest.json").read_text())
    manifest["state"]["n_voxels"][0] = 10**12
    (tmp_path / "mb" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="n_voxels"):
        load_bundle(tmp_path / "mb")
