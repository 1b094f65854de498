"""Online sessions: replay and LSL sources, step cost, bundles, and the `online` / `run` CLI."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from app.online import LSLSource, OnlineSession, ReplaySource
from data.continuous import load_continuous
from data.errors import InputError
from data.spec import DatasetSpec
from decoders import create
from decoders.kalman import KalmanFilterDecoder, WienerFilter

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def flint_dir(datasets):
    return datasets / "flint-run1"


@pytest.fixture(scope="module")
def flint(flint_dir):
    data = load_continuous(DatasetSpec(source=str(flint_dir)))
    return data.X, data.y


def test_replay_session_matches_batch_filtering_and_times_steps(flint_dir, flint):
    X, y = flint
    kf = KalmanFilterDecoder(center=False).fit(X[:5000], y[:5000])
    seen = []
    report = OnlineSession(kf, ReplaySource(flint_dir, start=5000, stop=6000)).run(
        on_output=lambda t, out, sample: seen.append(t))
    np.testing.assert_allclose(report.outputs, kf.predict(X[5000:6000]), rtol=1e-10)
    assert seen == list(range(1000))
    assert report.metrics["nrmse"] == pytest.approx(0.765, abs=0.005)
    assert len(report.step_us) == 1000 and np.all(report.step_us > 0)
    assert 0 < report.median_us < 100_000 and report.p99_us >= report.median_us   # sanity only: timings are benchmarks
    assert OnlineSession(kf, ReplaySource(flint_dir, stop=100)).run(max_steps=10).outputs.shape == (10, 2)


def test_bundle_with_lags_streams_like_the_lagged_training_data(flint_dir, tmp_path):
    from decoders.bundle import save_bundle

    spec = DatasetSpec(source=str(flint_dir), continuous={"lags": 2})
    lagged = load_continuous(spec)
    wiener = WienerFilter(lags=0).fit(lagged.X[:3000], lagged.y[:3000])
    bundle = save_bundle(wiener, tmp_path / "model", input_spec={
        "kind": "continuous", "ch_names": lagged.ch_names, "target_names": lagged.target_names,
        "continuous": spec.continuous.model_dump(mode="json")})
    session = OnlineSession(bundle, ReplaySource(flint_dir, stop=400))
    assert session.lags == 2
    report = session.run()
    # bin t of the replay is lagged row t - 2 once two past bins exist
    np.testing.assert_allclose(report.outputs[2:], wiener.predict(lagged.X[:398]), rtol=1e-10)


def test_mismatched_sources_and_decoders_are_refused(flint_dir, flint, tmp_path):
    X, y = flint
    kf = KalmanFilterDecoder().fit(X[:500, :6], y[:500])
    with pytest.raises(InputError, match="gives 10 features per bin.*expects 6"):
        OnlineSession(kf, ReplaySource(flint_dir))
    with pytest.raises(InputError, match="no step"):
        OnlineSession(create("csp-lda"), ReplaySource(flint_dir))
    with pytest.raises(InputError, match=r"replay range \[9000, 9100\)"):
        ReplaySource(flint_dir, start=9000, stop=9100)


def test_lsl_stream_source(flint, tmp_path, capsys):
    import mne
    from mne_lsl.player import PlayerLSL

    from decoders.bundle import save_bundle

    X, y = flint
    kf = KalmanFilterDecoder().fit(X[:2000], y[:2000])
    bundle = save_bundle(kf, tmp_path / "kf", input_spec={"kind": "continuous", "target_names": ["vx", "vy"]})
    info = mne.create_info([f"x{i}" for i in range(10)], 100.0, "misc")
    raw = mne.io.RawArray(X[:1000].T, info, verbose=False)
    player = PlayerLSL(raw, chunk_size=1, name="neurodeck-test-features",
                       source_id="neurodeck-test").start()
    try:
        source = LSLSource("neurodeck-test-features", duration=10, max_samples=30)
        received = []
        report = OnlineSession(kf, source).run(on_output=lambda t, out, s: received.append(s.x))
        capsys.readouterr()
        assert main(["online", str(bundle), "--stream", "neurodeck-test-features", "--max-steps", "5"]) == 0
        printed = capsys.readouterr().out.splitlines()
    finally:
        player.stop()
    assert printed[0] == "bin\tvx\tvy" and printed[5].startswith("4\t")
    assert printed[6].startswith("kalman: 5 steps, step cost median")
    assert report.outputs.shape == (30, 2) and np.isfinite(report.outputs).all()
    # every received sample is a row of the played features, in order
    rows = [int(np.argmin(np.abs(X[:1000] - x).sum(1))) for x in received]
    assert all(np.allclose(X[r], x, atol=1e-5) for r, x in zip(rows, received))
    assert rows == sorted(rows)
    with pytest.raises(InputError, match="cannot connect to the LSL stream 'no-such-stream'"):
        LSLSource("no-such-stream", timeout=0.5)


def test_cli_run_flint_experiments_then_online(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)  # the experiment files name ../shared/datasets relative to the repo
    runs = tmp_path / "runs"
    summaries = {}
    for name in ("flint-kalman", "flint-dkf"):
        assert main(["run", f"resources/experiments/{name}.yaml", "--out", str(runs), "--quiet"]) == 0
        run_dir = max(runs.glob(f"*-{name.split('-')[1]}-*"), key=lambda p: p.stat().st_mtime)
        metrics = json.loads((run_dir / "metrics.json").read_text())
        summaries[name] = {k: v["mean"] for k, v in metrics["summary"].items()}
        assert (run_dir / "predictions.csv").is_file() and (run_dir / "model" / "manifest.json").is_file()
    kf, dkf = summaries["flint-kalman"], summaries["flint-dkf"]
    assert kf["nrmse"] == pytest.approx(0.765, abs=0.005) and kf["angle_error"] == pytest.approx(0.888, abs=0.005)
    assert dkf["nrmse"] <= 0.85 * kf["nrmse"]
    capsys.readouterr()

    model = next(runs.glob("*-kalman-*")) / "model"
    out_csv = tmp_path / "decoded.csv"
    code = main(["online", str(model), "--replay", "../shared/datasets/flint-run1", "--start", "6000",
                 "--stop", "6500", "--speed", "50", "--every", "100", "--output", str(out_csv)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "kalman: 500 steps, step cost median" in printed and "nrmse" in printed
    assert printed.splitlines()[0] == "bin\tz0\tz1"
    assert np.loadtxt(out_csv, delimiter=",", skiprows=1).shape == (500, 2)
    assert main(["online", str(tmp_path / "missing-bundle"), "--replay", "../shared/datasets/flint-run1"]) == 2
