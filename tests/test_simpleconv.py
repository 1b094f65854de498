"""EEG-SimpleConv: the published architecture (exact parameter counts), the resampler, learning
on the motor-imagery demo, fine-tuning, subject head, BN trick, state, cancel/resume."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
import torch

from decoders import TrainingContext, create
from decoders.base import ParameterError
from decoders.events import Cancelled, EpochEnd
from decoders.simpleconv import EEGSimpleConv
from decoders.simpleconv_net import SimpleConvNet, SincResample
from data.errors import InputError
from tests.simulated_mi import one_thread, simulate

SMALL = dict(sfreq=100.0, resample_hz=50.0, filters=16, kernel_size=7, epochs=12, batch_size=16, device="cpu")


@pytest.fixture(autouse=True)
def single_thread():
    with one_thread():
        yield


def n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("preset,n_subjects,expected", [
    ("within-subject", 0, 245_654), ("cross-subject", 0, 2_462_246), ("cross-subject-subject-head", 9, 3_326_225)])
def test_parameter_counts_match_the_paper(preset, n_subjects, expected):
    p = EEGSimpleConv.presets[preset]
    net = SimpleConvNet(22, 4, p["filters"], p["n_blocks"], p["kernel_size"], n_subjects)
    assert n_params(net) == expected
    decoder = create("eeg-simpleconv", {"sfreq": 250.0}, preset=preset)
    assert decoder.resample_hz == {"within-subject": 95.0}.get(preset, 70.0)
    assert decoder.batch_size == (16 if preset == "within-subject" else 288)
    assert decoder.subject_head_weight == (0.2 if n_subjects else 0.0)


def test_sinc_resample_matches_polyphase_resampling():
    from scipy.signal import resample_poly

    t = np.arange(480) / 160.0
    x = (np.sin(2 * np.pi * 10 * t) + 0.5 * np.sin(2 * np.pi * 23 * t)).astype(np.float32)
    out = SincResample(160, 95)(torch.as_tensor(x)[None, None])[0, 0].numpy()
    assert out.shape == (285,)
    ref = resample_poly(x, 19, 32)
    assert np.abs(out[20:-20] - ref[20:-20]).max() < 5e-3  # same signal away from the edges (filters differ slightly)
    batch = torch.randn(3, 5, 200)
    assert SincResample(100, 100)(batch) is batch                  # same rate: identity
    assert SincResample(100, 50)(batch).shape == (3, 5, 100)


@pytest.fixture(scope="module")
def demo():
    from data.loading import load_dataset

    with one_thread():
        return load_dataset({"source": "demo:motor-imagery", "subjects": ["1", "2"], "runs": ["1", "2", "3"],
                             "window": [0.5, 3.5], "preprocessing": {"band": [8.0, 30.0]}})


def test_far_above_chance_on_the_motor_imagery_demo(demo):
    """Two subjects pooled (Euclidean alignment per subject), 180 training / 60 test trials
    each. A reduced cross-subject network (32 filters, 2 blocks) and 30 epochs keep the test
    short; the full presets are measured in the benchmark."""
    from sklearn.model_selection import train_test_split

    train, test = [], []
    for subject in ("1", "2"):
        idx = np.flatnonzero(demo.subject == subject)
        tr, te = train_test_split(idx, test_size=0.25, random_state=0, stratify=demo.y[idx])
        train.append(tr)
        test.append(te)
    tr, te = np.concatenate(train), np.concatenate(test)
    decoder = create("eeg-simpleconv", {"sfreq": demo.sfreq, "filters": 32, "n_blocks": 2, "batch_size": 32,
                                        "epochs": 30, "device": "cpu"}, preset="cross-subject")
    decoder.fit(demo.X[tr], demo.y[tr], subject=demo.subject[tr])
    correct = int(np.sum(decoder.predict(demo.X[te], subject=demo.subject[te]) == demo.y[te]))
    # 80/120 correct has p < 0.001 under chance (binomial, p = 0.5)
    assert correct >= 80, f"{correct}/{len(te)} correct (chance 0.5)"


def test_fine_tuning_adapts_to_a_new_subject():
    """The new subject's classes are swapped relative to the training subjects: the
    cross-subject model is wrong on it until it is fine-tuned on its calibration trials."""
    X, y, subj = simulate(n_subjects=3, n_per_class=30, seed=1)
    train = subj != "S3"
    new_X, new_y = X[~train], 1 - y[~train]
    calib = np.arange(len(new_X)) % 2 == 0
    # the whole training set (no inner validation split): 120 simulated trials are few already
    decoder = EEGSimpleConv(**SMALL, val_fraction=0.0).fit(X[train], y[train], subject=subj[train])
    before = np.mean(decoder.predict(new_X[~calib], subject="S3-test") == new_y[~calib])
    events = []
    decoder.fine_tune(new_X[calib], new_y[calib], subject="S3",
                      context=TrainingContext(on_event=events.append))
    after = np.mean(decoder.predict(new_X[~calib], subject="S3") == new_y[~calib])
    assert before <= 0.3 and after >= 0.8, (before, after)
    assert sum(isinstance(e, EpochEnd) for e in events) == decoder.fine_tune_epochs
    assert "S3" in decoder.alignments_
    with pytest.raises(InputError, match="not among the trained classes"):
        decoder.fine_tune(new_X[:4], np.array([0, 1, 2, 0]), subject="S3")


def test_subject_head_is_trained_and_stays_out_of_predictions():
    X, y, subj = simulate(n_subjects=3, n_per_class=20, seed=2)
    with_head = EEGSimpleConv(**SMALL, subject_head_weight=0.2).fit(X, y, subject=subj)
    head = with_head.pipeline_.net.subject_head
    assert head is not None and head.out_features == 3
    plain = EEGSimpleConv(**SMALL).fit(X, y, subject=subj)
    assert plain.pipeline_.net.subject_head is None
    # the extra loss term changes training, and both still learn the classes
    assert with_head.history_[-1]["train_loss"] != pytest.approx(plain.history_[-1]["train_loss"])
    assert np.mean(with_head.predict(X, subject=subj) == y) >= 0.8
    assert with_head.predict_proba(X[:3], subject=subj[:3]).shape == (3, 2)


def test_bn_trick_normalises_with_the_test_subjects_batch():
    X, y, _ = simulate(n_per_class=30, seed=3)
    params = {**SMALL, "align": False, "standardize": False}
    plain = EEGSimpleConv(**params).fit(X, y)
    trick = EEGSimpleConv(**params, bn_trick=True).fit(X, y)
    running = trick.pipeline_.net.stem[1].running_mean.clone()
    scaled = 10 * X       # e.g. another amplifier gain: batch statistics absorb it
    np.testing.assert_allclose(trick.predict_proba(scaled), trick.predict_proba(X), atol=1e-4)
    assert np.mean(trick.predict(scaled) == y) >= 0.8
    assert not np.allclose(plain.predict_proba(scaled), plain.predict_proba(X), atol=1e-2)
    assert torch.equal(trick.pipeline_.net.stem[1].running_mean, running)   # stored statistics untouched


def test_same_seed_same_model_and_state_round_trip():
    X, y, subj = simulate(n_subjects=2, n_per_class=15, seed=4)
    a = EEGSimpleConv(**{**SMALL, "epochs": 3, "seed": 7}).fit(X, y, subject=subj)
    b = EEGSimpleConv(**{**SMALL, "epochs": 3, "seed": 7}).fit(X, y, subject=subj)
    np.testing.assert_array_equal(a.predict_proba(X, subject=subj), b.predict_proba(X, subject=subj))
    arrays, extra = a.get_state()
    assert all(isinstance(v, np.ndarray) for v in arrays.values())
    restored = EEGSimpleConv(**a.get_params()).set_state(arrays, extra)
    np.testing.assert_array_equal(restored.predict_proba(X, subject=subj), a.predict_proba(X, subject=subj))
    # the export module (alignment of the chosen subject built in) gives the same probabilities
    with torch.inference_mode():
        exported = a.module(subject="S2")(torch.as_tensor(X[subj == "S2"])).numpy()
    np.testing.assert_allclose(exported, a.predict_proba(X[subj == "S2"], subject="S2"), atol=1e-5)


def test_known_subjects_use_their_stored_alignment():
    X, y, subj = simulate(n_subjects=2, n_per_class=15, seed=5)
    decoder = EEGSimpleConv(**{**SMALL, "epochs": 2}).fit(X, y, subject=subj)
    batch = decoder.predict_proba(X[:10], subject=subj[:10])
    one_by_one = np.concatenate([decoder.predict_proba(X[i:i + 1], subject=subj[i]) for i in range(10)])
    np.testing.assert_allclose(one_by_one, batch, atol=1e-5)     # online use: trial by trial
    # an unseen subject is aligned with its own trials
    unseen = decoder.predict_proba(3 * X[:20], subject="new")
    np.testing.assert_allclose(unseen, decoder.predict_proba(X[:20], subject="new"), atol=1e-4)


def test_cancel_leaves_a_clean_checkpoint_and_a_second_fit_resumes(tmp_path):
    X, y, _ = simulate(n_per_class=20, seed=6)
    ck = tmp_path / "simpleconv.ckpt"
    reference = EEGSimpleConv(**{**SMALL, "epochs": 6}).fit(X, y)

    ctx = TrainingContext()
    ctx.on_event = lambda e: ctx.cancel() if isinstance(e, EpochEnd) and e.epoch == 3 else None
    with pytest.raises(Cancelled):
        EEGSimpleConv(**{**SMALL, "epochs": 6, "checkpoint": str(ck)}).fit(X, y, context=ctx)
    assert [p.name for p in tmp_path.iterdir()] == [ck.name]

    resumed = EEGSimpleConv(**{**SMALL, "epochs": 6, "checkpoint": str(ck)}).fit(X, y)
    assert resumed.train_result_.resumed_from == 3
    np.testing.assert_allclose(resumed.predict_proba(X), reference.predict_proba(X), atol=1e-6)


def test_bad_input_and_parameters_are_reported():
    X, y, _ = simulate(n_per_class=5)
    with pytest.raises(ParameterError, match="sfreq"):
        EEGSimpleConv(epochs=1).fit(X, y)
    with pytest.raises(ParameterError, match="filters"):
        create("eeg-simpleconv", {"filters": 0})
    with pytest.raises(ParameterError, match="unknown preset"):
        create("eeg-simpleconv", preset="huge")
    with pytest.raises(NotFittedError, match="not trained"):
        EEGSimpleConv(**SMALL).predict(X)
    bad = X.copy()
    bad[1, 2, 3] = np.inf
    with pytest.raises(InputError, match="NaN or Inf"):
        EEGSimpleConv(**SMALL).fit(bad, y)
    with pytest.raises(InputError, match="two classes"):
        EEGSimpleConv(**SMALL).fit(X, np.zeros(len(X)))
    fitted = EEGSimpleConv(**{**SMALL, "epochs": 1}).fit(X, y)
    with pytest.raises(InputError, match="8 channels; these trials have 6"):
        fitted.predict(X[:, :6])
    with pytest.raises(ParameterError, match="early_stopping needs"):
        EEGSimpleConv(**{**SMALL, "early_stopping": 3, "val_fraction": 0.0}).fit(X, y)
