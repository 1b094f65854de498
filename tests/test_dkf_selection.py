"""The DKF's observation model chosen by validation inside the training data (issue 23).

The linear f with a constant Q (the Kalman limit) is among the candidates, so the DKF keeps
its kernel regression where that decodes better and otherwise decodes as a Kalman filter.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from decoders import ParameterError, TrainingContext, create
from decoders.events import LogMessage
from decoders.kalman import DiscriminativeKalmanFilter, KalmanFilterDecoder
from decoders.kalman.observation import candidates, holdout_blocks
from decoders.metrics import nrmse


def log_linear_data(n: int, seed: int = 0):
    """A slow 2-D state read out by six units with exponential (log-linear) tuning to
    directions in the plane: the features are a strongly nonlinear function of the state."""
    rng = np.random.default_rng(seed)
    y = np.zeros((n, 2))
    for t in range(1, n):
        y[t] = 0.95 * y[t - 1] + 0.3 * rng.standard_normal(2)
    angles = rng.uniform(0, 2 * np.pi, 6)
    directions = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    X = np.exp(1.5 * y @ directions.T) + 0.1 * rng.standard_normal((n, 6))
    return X, y


@pytest.fixture(scope="module")
def center_out():
    from data import load_dataset

    data = load_dataset({"source": "demo:center-out", "seed": 1})
    return data.X, data.y


def test_on_nonlinear_tuning_the_dkf_keeps_its_kernel_f_and_beats_kalman_clearly():
    X, y = log_linear_data(2000)
    train, test = slice(0, 1500), slice(1500, 2000)
    events = []
    dkf = DiscriminativeKalmanFilter().fit(X[train], y[train], context=TrainingContext(events.append))
    kf = KalmanFilterDecoder().fit(X[train], y[train])
    dkf_err, kf_err = nrmse(y[test], dkf.predict(X[test])), nrmse(y[test], kf.predict(X[test]))
    assert dkf.selection_["f"] == "nadaraya-watson" and not dkf.selection_["kalman_limit"]
    assert dkf_err < 0.5 * kf_err, (dkf_err, kf_err)
    # the choice is stated in the run's log, with the Kalman limit's validation error beside it
    logged = [e.message for e in events if isinstance(e, LogMessage)]
    assert any(m.startswith("dkf: chose kernel f") and "Kalman limit" in m for m in logged), logged
    # every candidate was scored, the Kalman limit among them
    scores = dkf.selection_["validation_nrmse"]
    assert len(scores) == len(candidates(True, False, None)) and any("Kalman limit" in k for k in scores)


def test_on_a_tiny_linear_training_set_the_selection_falls_back_and_does_not_lose_to_kalman(center_out):
    X, y = center_out
    test = slice(len(X) - 800, len(X))
    for start in (0, 250, 500):   # three disjoint 250-bin training windows
        train = slice(start, start + 250)
        dkf = DiscriminativeKalmanFilter().fit(X[train], y[train])
        kf = KalmanFilterDecoder().fit(X[train], y[train])
        dkf_err, kf_err = nrmse(y[test], dkf.predict(X[test])), nrmse(y[test], kf.predict(X[test]))
        assert dkf.selection_["f"] == "linear", dkf.selection_
        assert dkf_err <= kf_err + 0.01, (start, dkf_err, kf_err)
    # the kernel DKF as it was before the selection loses by far on these windows
    before = DiscriminativeKalmanFilter(selection="none").fit(X[:250], y[:250])
    assert nrmse(y[test], before.predict(X[test])) > kf_err + 0.1


def test_too_few_bins_to_validate_give_the_kalman_limit():
    X, y = log_linear_data(100, seed=3)
    events = []
    dkf = DiscriminativeKalmanFilter().fit(X, y, context=TrainingContext(events.append))
    assert dkf.selection_["kalman_limit"] and dkf.selection_["folds"] == 0
    assert any("too few to validate" in e.message for e in events if isinstance(e, LogMessage))


@pytest.mark.parametrize("center", [True, False])
def test_the_kalman_limit_decodes_as_the_kalman_filter(datasets, center):
    x = np.loadtxt(datasets / "flint-run1" / "x.csv", delimiter=",")
    z = np.loadtxt(datasets / "flint-run1" / "z.csv", delimiter=",")
    X, y, Xt = x[:2000], z[:2000], x[5000:5600]
    limit = DiscriminativeKalmanFilter(f="linear", q_shrinkage=1.0, center=center).fit(X, y).predict(Xt)
    kalman = KalmanFilterDecoder(center=center).fit(X, y).predict(Xt)
    # same joint-Gaussian posterior; only the start (f(x_1), Q vs the stationary prior) and
    # n versus n - 1 normalisations differ
    assert np.sqrt(np.mean((limit[10:] - kalman[10:]) ** 2)) < 0.02 * np.sqrt(np.mean(kalman ** 2))


def test_a_chosen_linear_f_saves_steps_and_restores(center_out, tmp_path):
    from safetensors.numpy import load_file, save_file

    X, y = center_out
    dkf = DiscriminativeKalmanFilter().fit(X[:400], y[:400])
    assert dkf.f_model_ == "linear"
    batch = dkf.predict(X[3000:3100])
    dkf.reset()
    np.testing.assert_allclose([dkf.step(x) for x in X[3000:3100]], batch, rtol=1e-10, atol=1e-12)
    arrays, extra = dkf.get_state()
    assert set(dkf.expected_tensors(extra)) == set(arrays) and "f_coef" in arrays
    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, tmp_path / "w.safetensors")
    restored = DiscriminativeKalmanFilter().set_state(load_file(tmp_path / "w.safetensors"),
                                                      json.loads(json.dumps(extra)))
    np.testing.assert_allclose(restored.predict(X[3000:3100]), batch, rtol=1e-12)
    assert restored.selection_ == json.loads(json.dumps(dkf.selection_))


def test_a_state_saved_before_the_selection_still_loads():
    X, y = log_linear_data(400, seed=1)
    dkf = DiscriminativeKalmanFilter(selection="none").fit(X, y)
    arrays, extra = dkf.get_state()
    old_arrays = {k: v for k, v in arrays.items() if k != "q_constant"}
    old_extra = {k: v for k, v in extra.items() if k not in ("f_model", "q_shrinkage")}
    assert set(DiscriminativeKalmanFilter().expected_tensors(old_extra)) == set(old_arrays)
    restored = DiscriminativeKalmanFilter().set_state(old_arrays, old_extra)
    np.testing.assert_allclose(restored.predict(X[:50]), dkf.predict(X[:50]), rtol=1e-12)


def test_selection_none_is_the_dkf_before_the_selection():
    X, y = log_linear_data(600, seed=2)
    dkf = DiscriminativeKalmanFilter(selection="none").fit(X, y)
    assert dkf.selection_ is None and dkf.f_model_ == "nadaraya-watson" and dkf.q_shrinkage_ == 0.0
    # Q is the unshrunk kernel regression of f's held-out squared errors
    _, q_idx = holdout_blocks(600, 0.3, 0)
    np.testing.assert_array_equal(dkf.q_points_, X[q_idx])


def test_bad_selection_settings_are_refused():
    with pytest.raises(ParameterError, match="selection"):
        create("dkf", {"selection": "cross-validation"})
    with pytest.raises(ParameterError, match="q_shrinkage"):
        create("dkf", {"q_shrinkage": 1.5})
    with pytest.raises(ParameterError, match="selection_folds"):
        create("dkf", {"selection_folds": 1})
