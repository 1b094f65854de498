"""Kalman filter, Discriminative Kalman filter and Wiener filter decoders.

The Flint tests follow the DKF reference protocol (Burkhart et al. 2020; run 1): train on
the first 5000 bins, test on the next 1000.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.base import clone

from data.errors import DataError
from decoders import ParameterError, TrainingContext, create
from decoders.events import Cancelled, EpochEnd, TrajectoryReconstruction
from decoders.kalman import DiscriminativeKalmanFilter, KalmanFilterDecoder, WienerFilter
from decoders.metrics import regression


@pytest.fixture(scope="module")
def flint(datasets):
    x = np.loadtxt(datasets / "flint-run1" / "x.csv", delimiter=",")
    z = np.loadtxt(datasets / "flint-run1" / "z.csv", delimiter=",")
    return x[:5000], z[:5000], x[5000:6000], z[5000:6000]


@pytest.fixture(scope="module")
def flint_kf(flint):
    X, y, Xt, yt = flint
    kf = KalmanFilterDecoder(center=False).fit(X, y)
    return kf, regression(yt, kf.predict(Xt))


@pytest.fixture(scope="module")
def flint_dkf(flint):
    X, y, Xt, yt = flint
    dkf = DiscriminativeKalmanFilter().fit(X, y)
    return dkf, regression(yt, dkf.predict(Xt))


def test_kalman_reproduces_the_reference_on_flint(flint, flint_kf):
    kf, m = flint_kf
    assert m["nrmse"] == pytest.approx(0.765, abs=0.005)
    assert m["angle_error"] == pytest.approx(0.888, abs=0.005)
    # centring (the default, for data that is not zero-mean) changes little here
    X, y, Xt, yt = flint
    centred = regression(yt, KalmanFilterDecoder().fit(X, y).predict(Xt))
    assert centred["nrmse"] == pytest.approx(0.765, abs=0.02)


def test_kalman_starts_from_the_stationary_distribution(flint_kf):
    kf, _ = flint_kf
    P0 = kf.P0_
    np.testing.assert_allclose(P0, kf.A_ @ P0 @ kf.A_.T + kf.W_, rtol=1e-8, atol=1e-12)
    assert np.all(np.linalg.eigvalsh(P0) > 0)


def test_dkf_nadaraya_watson_beats_kalman_by_15_percent_on_flint(flint_kf, flint_dkf):
    _, kf = flint_kf
    _, dkf = flint_dkf
    assert dkf["nrmse"] <= 0.85 * kf["nrmse"], (dkf["nrmse"], kf["nrmse"])
    assert dkf["nrmse"] == pytest.approx(0.62, abs=0.03)      # reference ~0.62
    assert dkf["angle_error"] == pytest.approx(0.76, abs=0.04)  # reference ~0.76
    assert dkf["angle_error"] < kf["angle_error"]


def test_robust_dkf_differs_and_still_beats_kalman(flint, flint_kf, flint_dkf):
    _, _, Xt, yt = flint
    # the robust variant learns the same f and Q; only the update drops -S^-1
    robust = DiscriminativeKalmanFilter().set_state(*flint_dkf[0].get_state())
    robust.set_params(robust=True)
    m = regression(yt, robust.predict(Xt))
    assert m["nrmse"] < flint_kf[1]["nrmse"]
    assert m["nrmse"] != pytest.approx(flint_dkf[1]["nrmse"], abs=1e-3)


def test_wiener_filter_learns_on_flint(flint):
    X, y, Xt, yt = flint
    w = WienerFilter(lags=3).fit(X, y)
    m = regression(yt, w.predict(Xt))
    assert m["r2"] > 0.45 and m["correlation"] > 0.7
    assert w.coef_.shape == (2, 40)


@pytest.mark.parametrize("make", [lambda: KalmanFilterDecoder(), lambda: WienerFilter(lags=2)],
                         ids=["kalman", "wiener"])
def test_step_by_step_equals_predict(flint, make):
    X, y, Xt, _ = flint
    dec = make().fit(X, y)
    batch = dec.predict(Xt[:200])
    dec.reset()
    stream = np.array([dec.step(x) for x in Xt[:200]])
    np.testing.assert_allclose(stream, batch, rtol=1e-10, atol=1e-12)
    dec.reset()
    np.testing.assert_allclose(dec.step(Xt[0]), batch[0])


def test_dkf_step_equals_predict_and_saved_state_restores_it(flint, flint_dkf, tmp_path):
    from safetensors.numpy import load_file, save_file

    _, _, Xt, _ = flint
    dkf, _ = flint_dkf
    batch = dkf.predict(Xt[:100])
    dkf.reset()
    np.testing.assert_allclose([dkf.step(x) for x in Xt[:100]], batch, rtol=1e-10)

    arrays, extra = dkf.get_state()
    assert all(isinstance(v, np.ndarray) for v in arrays.values())
    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, tmp_path / "w.safetensors")
    restored = DiscriminativeKalmanFilter().set_state(load_file(tmp_path / "w.safetensors"),
                                                      json.loads(json.dumps(extra)))
    np.testing.assert_allclose(restored.predict(Xt[:100]), batch, rtol=1e-12)
    assert restored.get_params() == dkf.get_params()


@pytest.mark.parametrize("cls", [KalmanFilterDecoder, WienerFilter])
def test_state_round_trip(flint, cls):
    X, y, Xt, _ = flint
    dec = cls().fit(X[:1500], y[:1500])
    arrays, extra = dec.get_state()
    restored = cls().set_state({k: v.copy() for k, v in arrays.items()}, json.loads(json.dumps(extra)))
    np.testing.assert_allclose(restored.predict(Xt[:50]), dec.predict(Xt[:50]))


def test_neural_dkf_trains_on_the_engine_and_streams_trajectories(flint, flint_kf):
    X, y, Xt, yt = flint
    events = []
    ctx = TrainingContext(on_event=events.append, device="cpu", fold=3)
    dkf = DiscriminativeKalmanFilter(f="neural", epochs=12, hidden=32).fit(X, y, context=ctx)
    m = regression(yt, dkf.predict(Xt))
    assert m["nrmse"] < flint_kf[1]["nrmse"]
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    traj = [e for e in events if isinstance(e, TrajectoryReconstruction)]
    assert len(epochs) == 12 and all("val_loss" in e.metrics for e in epochs)
    assert len(traj) >= 12
    first = traj[0]
    assert first.view == "trajectory" and first.fold == 3
    assert first.truth.shape == first.decoded.shape and first.truth.shape[1] == 2
    # later epochs decode the held-out stretch better than the first
    err = lambda d: np.mean((d.decoded - d.truth) ** 2)  # noqa: E731
    assert err(traj[11]) < err(traj[0])
    # the saved network runs without torch and gives the same output
    arrays, extra = dkf.get_state()
    assert any(k.startswith("net.") for k in arrays)
    restored = DiscriminativeKalmanFilter().set_state(arrays, extra)
    np.testing.assert_allclose(restored.predict(Xt[:50]), dkf.predict(Xt[:50]), rtol=1e-10)
    # refitting the same object with the other f forgets the network
    dkf.set_params(f="nadaraya-watson", bandwidth=0.7, q_bandwidth=1.0).fit(X[:1000], y[:1000])
    assert not hasattr(dkf, "net_weights_") and not any(k.startswith("net.") for k in dkf.get_state()[0])


def test_neural_dkf_honours_cancel(flint):
    X, y, _, _ = flint
    ctx = TrainingContext()
    ctx.cancel()
    with pytest.raises(Cancelled):
        DiscriminativeKalmanFilter(f="neural", epochs=3).fit(X[:800], y[:800], context=ctx)


def test_kalman_learns_the_simulated_center_out_task():
    from data import load_dataset

    data = load_dataset({"source": "demo:center-out", "seed": 1})
    n = int(0.7 * len(data))
    kf = KalmanFilterDecoder().fit(data.X[:n], data.y[:n])
    m = regression(data.y[n:], kf.predict(data.X[n:]))
    assert m["r2"] > 0.7 and m["angle_error"] < 1.0  # chance: r2 <= 0, angle error pi/2


def test_transitions_across_sessions_are_not_learned():
    rng = np.random.default_rng(0)
    # two sessions, each a slow AR(1) walk; the jump between them must not enter A
    y = np.concatenate([np.cumsum(rng.normal(size=(300, 1)), 0) * 0.1 + 5,
                        np.cumsum(rng.normal(size=(300, 1)), 0) * 0.1 - 5])
    X = y @ rng.normal(size=(1, 4)) + 0.1 * rng.normal(size=(600, 4))
    session = np.repeat(["a", "b"], 300)
    with_groups = KalmanFilterDecoder().fit(X, y, session=session)
    without = KalmanFilterDecoder().fit(X, y)
    assert with_groups.W_[0, 0] < without.W_[0, 0]


def test_bad_input_is_reported(flint):
    X, y, Xt, _ = flint
    bad = X[:200].copy()
    bad[17, 3] = np.nan
    with pytest.raises(DataError, match="sample 17"):
        KalmanFilterDecoder().fit(bad, y[:200])
    kf = KalmanFilterDecoder().fit(X[:500], y[:500])
    with pytest.raises(DataError, match="10 features"):
        kf.predict(Xt[:, :5])
    with pytest.raises(NotFittedError, match="not trained"):
        WienerFilter().step(Xt[0])
    with pytest.raises(ParameterError):
        create("dkf", {"f": "gaussian-process"})
    assert clone(create("dkf", {"f": "neural", "epochs": 5})).get_params()["epochs"] == 5
