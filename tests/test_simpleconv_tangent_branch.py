"""EEG-SimpleConv's tangent-space branch (issue 23 item 1): fitted on the training trials (a
fine-tune's: the new subject's), stated in the recipe, averaged with the network's probabilities
at ``tangent_weight``, saved in bundles, refused by export; without it nothing changes."""
from __future__ import annotations

import numpy as np
import pytest

from data.errors import InputError
from decoders.base import ParameterError
from decoders.simpleconv import QUICK, EEGSimpleConv
from tests.simulated_mi import one_thread, simulate

QUICK_TWO_EPOCHS = {**QUICK, "epochs": 2, "val_fraction": 0.0, "device": "cpu", "seed": 0}   # the quick preset, 2 epochs


@pytest.fixture(autouse=True)
def single_thread():
    with one_thread():
        yield


def _subject1_first_fold(datasets, band=None):
    """EEGBCI subject 1, left vs right fist, 0-3 s (the recording band-passed to ``band`` before
    epoching, or broadband): the first of the 5 folds of eegbci-tangent-space.yaml as train / test."""
    from sklearn.model_selection import StratifiedKFold

    from data.loading import load_dataset

    with one_thread():
        ds = load_dataset({"source": "eegbci", "data_path": str(datasets / "eegbci"), "subjects": [1],
                           "runs": [3, 4, 7, 8, 11, 12], "events": {"T1": "left", "T2": "right"},
                           "window": [0.0, 3.0], "preprocessing": {"band": band}})
    train, test = next(StratifiedKFold(5, shuffle=True, random_state=0).split(ds.X, ds.y))
    return ds.X.astype(np.float32), ds.y, float(ds.sfreq), train, test


@pytest.fixture(scope="module")
def eegbci_subject1(datasets):
    """Broadband, as eegbci-finetune.yaml."""
    return _subject1_first_fold(datasets)


def _network_only(model, X):
    branch, model.branch_ = model.branch_, None
    try:
        return model.predict_proba(X)
    finally:
        model.branch_ = branch


def test_branch_is_the_tangent_space_baseline_averaged_with_the_network(eegbci_subject1):
    import mne

    from decoders.classical import TangentSpaceLR

    X, y, sfreq, train, test = eegbci_subject1
    model = EEGSimpleConv(**QUICK_TWO_EPOCHS, sfreq=sfreq, tangent_weight=0.5).fit(X[train], y[train])
    assert "tangent-space branch (8-30 Hz OAS covariances, tangent space + LR on 72 trials)" in model.recipe_
    assert "weight 0.5 (tangent_weight, fixed a priori)" in model.recipe_
    assert model.fold_facts()["tangent_weight"] == 0.5

    # the branch is tangent-space-lr on the same trials, band-passed as the baseline's are
    def band(Z):
        return mne.filter.filter_data(Z.astype(np.float64), sfreq, 8.0, 30.0, verbose="error")

    baseline = TangentSpaceLR().fit(band(X[train]), y[train]).predict_proba(band(X[test]))
    branch = model.branch_.proba(X[test])
    np.testing.assert_allclose(branch, baseline, atol=1e-6)
    # on real motor imagery it decodes well above chance (14/18 measured on this fold)
    assert np.mean(model.classes_[branch.argmax(1)] == y[test]) >= 0.7

    # the decoder's probabilities are the documented average, and the branch changes predictions
    net = _network_only(model, X[test])
    proba = model.predict_proba(X[test])
    np.testing.assert_allclose(proba, 0.5 * net + 0.5 * branch, atol=1e-6)
    assert (proba.argmax(1) != net.argmax(1)).any()

    # saved and restored with the bundle arrays; the exported network alone is refused
    arrays, extra = model.get_state()
    assert set(model.expected_tensors(extra)) == set(arrays)
    loaded = EEGSimpleConv(**QUICK_TWO_EPOCHS, sfreq=sfreq, tangent_weight=0.5).set_state(arrays, extra)
    np.testing.assert_allclose(loaded.predict_proba(X[test]), proba, atol=1e-6)
    with pytest.raises(ParameterError, match="tangent-space branch"):
        model.module()


def test_unfiltered_branch_on_a_band_passed_recording_is_the_baseline_itself(datasets):
    """eegbci-simpleconv.yaml band-passes the recording before epoching and sets tangent_band_hz
    null: the branch is then eegbci-tangent-space.yaml's decoder on the very same trials."""
    from decoders.classical import TangentSpaceLR

    X, y, sfreq, train, test = _subject1_first_fold(datasets, band=[8.0, 30.0])
    model = EEGSimpleConv(**QUICK_TWO_EPOCHS, sfreq=sfreq, tangent_weight=0.5,
                          tangent_band_hz=None).fit(X[train], y[train])
    assert "tangent-space branch (OAS covariances of the trials as given, tangent space + LR on 72" in model.recipe_
    baseline = TangentSpaceLR().fit(X[train], y[train]).predict_proba(X[test])
    np.testing.assert_allclose(model.branch_.proba(X[test]), baseline, atol=1e-6)
    arrays, extra = model.get_state()
    assert extra["tangent_branch"]["band_hz"] is None
    restored = EEGSimpleConv(**QUICK_TWO_EPOCHS, sfreq=sfreq, tangent_weight=0.5,
                             tangent_band_hz=None).set_state(arrays, extra)
    np.testing.assert_allclose(restored.predict_proba(X[test]), model.predict_proba(X[test]), atol=1e-6)


def test_without_the_branch_state_and_export_are_as_before():
    X, y, _ = simulate(n_subjects=1, n_per_class=12, n_chans=6, seconds=1.0, seed=3)
    small = dict(sfreq=100.0, resample_hz=50.0, filters=8, kernel_size=7, epochs=2, device="cpu", val_fraction=0.0)
    model = EEGSimpleConv(**small).fit(X, y)
    arrays, extra = model.get_state()
    assert model.branch_ is None and "tangent_branch" not in extra
    assert not any(k.startswith("tangent.") for k in arrays)
    assert "tangent-space branch" not in model.recipe_ and model.fold_facts()["tangent_weight"] == 0.0
    model.module()   # exportable
    with pytest.raises(InputError, match="saved state has none"):
        EEGSimpleConv(**small, tangent_weight=0.5).set_state(arrays, extra)


def test_fine_tune_refits_the_branch_on_the_new_subject_only():
    X, y, subj = simulate(n_subjects=3, n_per_class=12, n_chans=6, seconds=1.0, seed=3)
    small = dict(sfreq=100.0, resample_hz=50.0, filters=8, kernel_size=7, epochs=2, fine_tune_epochs=1,
                 device="cpu", val_fraction=0.0, tangent_weight=0.5)
    source, target = subj != "S3", subj == "S3"
    for mode in ("continue", "pooled"):
        model = EEGSimpleConv(**small, fine_tune_mode=mode).fit(X[source], y[source], subject=subj[source])
        assert model.branch_.n_trials == source.sum()
        model.fine_tune(X[target], y[target], subject=subj[target])
        assert model.branch_.n_trials == target.sum()
        assert model.recipe_.count("tangent-space branch") == 1
        assert f"LR on {target.sum()} trials" in model.recipe_
