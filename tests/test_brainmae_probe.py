"""BrainMAE speed and frozen-encoder options (issue 23 item 3): a few random windows per
subject per epoch (``windows_per_subject``), and ``head: logistic`` (pooled token embeddings,
optionally beside the connectivity, into a logistic regression whose C is chosen by inner
leave-one-site-out), saved in bundles."""
import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

import decoders.brainmae.sampling as sampling
from data.loading import load_dataset
from decoders.brainmae.decoder import BrainMAE
from decoders.brainmae.probe import C_GRID, _logistic_fits, fit_probe
from decoders.bundle import load_bundle, save_bundle
from decoders.evaluation import make_splits


@pytest.fixture(scope="module")
def demo():
    torch.set_num_threads(1)
    return load_dataset({"source": "demo:resting-state"})


def test_each_epoch_draws_the_given_windows_of_every_subject():
    owner = np.repeat([0, 1, 2], [5, 2, 9])
    batches = sampling.SubjectWindowBatches((np.arange(16),), owner, 3, 4, seed=0)
    epochs = [np.concatenate([b[0].numpy() for b in batches]) for _ in range(3)]
    assert len(batches) == 2                                   # 3 + 2 + 3 windows in batches of 4
    for rows in epochs:
        assert np.bincount(owner[rows]).tolist() == [3, 2, 3]  # a short subject gives all it has
        assert len(set(rows)) == len(rows)                    # no window twice in an epoch
    assert not all(np.array_equal(np.sort(epochs[0]), np.sort(e)) for e in epochs[1:])  # fresh draws
    again = sampling.SubjectWindowBatches((np.arange(16),), owner, 3, 4, seed=0)
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in again]), epochs[0])  # seeded


def test_pretraining_and_fine_tuning_train_on_the_sampled_windows(demo, monkeypatch):
    draws = []
    real = sampling.epoch_rows

    def spy(owner, per_subject, generator):
        rows = real(owner, per_subject, generator)
        draws.append((len(np.unique(owner)), per_subject, len(rows)))
        return rows

    monkeypatch.setattr(sampling, "epoch_rows", spy)
    X, y, tr = demo.X[:24], demo.y[:24], demo.tr[:24]
    BrainMAE(dim=16, depth=1, pretrain_epochs=2, epochs=3, windows_per_subject=1, val_fraction=0).fit(X, y, tr=tr)
    assert len(draws) == 5                                     # 2 pretraining + 3 fine-tuning epochs
    assert all(n_rows == n_subjects for n_subjects, per, n_rows in draws if per == 1)


def test_projected_logistic_regression_equals_the_direct_fit():
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((60, 500))
    y = (Z[:, :5].sum(1) + rng.standard_normal(60) > 0).astype(int)
    (coef, intercept, classes), = _logistic_fits(Z, y, [0.01])
    direct = LogisticRegression(C=0.01, max_iter=5000).fit(Z, y)
    # the same optimum up to the solvers' stopping tolerance (weights up to ~0.08 here)
    np.testing.assert_allclose(coef, direct.coef_, atol=2e-4)
    np.testing.assert_allclose(intercept, direct.intercept_, atol=2e-4)


def test_inner_site_validation_picks_C_from_the_training_sites():
    rng = np.random.default_rng(1)
    F = rng.standard_normal((90, 300))
    y = np.repeat([0, 1], 45)
    F[y == 1, :20] += 0.8
    probe = fit_probe(F, y, np.tile(["a", "b", "c"], 30))
    assert probe.selection["scheme"] == "leave-one-site-out"
    assert probe.selection["C"] in C_GRID and set(probe.selection["inner_auc"]) == {f"{c:g}" for c in C_GRID}
    assert max(probe.selection["inner_auc"].values()) > 0.8
    assert fit_probe(F, y).selection["scheme"] == "stratified 5-fold"   # no sites: inner CV


def test_frozen_encoder_probe_beats_chance_across_sites_and_survives_its_bundle(demo, tmp_path):
    correct = total = 0
    for split in make_splits(demo, "leave-one-site-out")[:2]:
        model = BrainMAE(dim=16, depth=1, pretrain_epochs=2, windows_per_subject=2, head="logistic",
                         features="tokens+fc")
        model.fit(demo.X[split.train], demo.y[split.train], tr=demo.tr[split.train],
                  session=demo.session[split.train])
        proba = model.predict_proba(demo.X[split.test], tr=demo.tr[split.test])
        correct += int((model.classes_[proba.argmax(1)] == demo.y[split.test]).sum())
        total += len(split.test)
    assert model.net_.head is None and model.probe_.selection["scheme"] == "leave-one-site-out"
    assert correct / total > 0.75                               # measured 0.91 (chance 0.5; tokens alone 0.39)
    save_bundle(model, tmp_path / "probe", input_spec={"kind": "trials"})
    loaded, manifest = load_bundle(tmp_path / "probe")
    np.testing.assert_allclose(loaded.predict_proba(demo.X[split.test], tr=demo.tr[split.test]), proba,
                               rtol=1e-5, atol=1e-6)
    assert loaded.probe_.selection["C"] == model.probe_.selection["C"]
