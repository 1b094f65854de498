"""One live session for every bundle (issue 25): the session warms up before its first sample,
so its first decision is no outlier; continuous bundles (Kalman, Wiener) decode bin by bin
through the same live path as classification (session log, outlet, latency fields); the
per-window preparation computed directly equals the one through MNE."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from app.online.windows import WindowPreparer
from data.continuous import load_continuous
from data.spec import DatasetSpec
from decoders.bundle import save_bundle
from decoders.kalman import KalmanFilterDecoder, WienerFilter
from tests.test_online_classification import MOTOR, RUN4, train_bundle

REPO = Path(__file__).resolve().parents[1]


def read_log(folder: Path) -> list[dict]:
    with open(folder / "log.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def flint(datasets):
    return load_continuous(DatasetSpec(source=str(datasets / "flint-run1")))


def continuous_bundle(decoder, data, folder: Path, lags: int = 0) -> Path:
    spec = {"kind": "continuous", "ch_names": data.ch_names, "target_names": data.target_names}
    if lags:
        spec["continuous"] = {"lags": lags}
    return save_bundle(decoder, folder, input_spec=spec)


# First decision: a ratio against the median of the session's other decisions, on a fresh
# process (imports, first calls, allocations are all still to pay). Before the warm-up the
# first decision cost 100x the median (1,751 ms against 20 ms in issue 25); a loaded machine
# can delay any one decision by a few scheduler slices, hence the constant.
FIRST_OVER_MEDIAN = 5.0
FIRST_SLACK_MS = 30.0


def test_first_decision_costs_what_the_others_cost(datasets, tmp_path):
    bundle = train_bundle(tmp_path, datasets, {"name": "csp-lda"})
    session = tmp_path / "session"
    # a fresh interpreter, as a user's `neurodeck online` starts: nothing imported or called yet
    done = subprocess.run([sys.executable, "-m", "app.cli", "online", str(bundle), "--replay",
                           str(datasets / RUN4), "--mode", "sliding", "--step", "250", "--speed", "4",
                           "--duration", "6", "--every", "0", "--out", str(session)],
                          cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    latency = np.array([float(r["latency_ms"]) for r in read_log(session) if r["kind"] == "decision"])
    assert len(latency) >= 20
    first, median = latency[0], float(np.median(latency[1:]))
    assert first <= FIRST_OVER_MEDIAN * median + FIRST_SLACK_MS, (first, median)
    settings = json.loads((session / "settings.json").read_text())
    assert settings["session"] == "ClassificationSession" and settings["warm_up_ms"] > 0


def test_continuous_bundle_decodes_bin_by_bin_through_the_live_session(flint, datasets, tmp_path, capsys):
    kf = KalmanFilterDecoder(center=False).fit(flint.X[:5000], flint.y[:5000])
    bundle = continuous_bundle(kf, flint, tmp_path / "kf")
    session, out_csv = tmp_path / "session", tmp_path / "decoded.csv"
    assert main(["online", str(bundle), "--replay", str(datasets / "flint-run1"), "--start", "5000", "--stop", "5200", "--speed", "50", "--every", "50",
                 "--out", str(session), "--output", str(out_csv)]) == 0
    printed = capsys.readouterr().out
    assert "kalman: 200 steps, step cost median" in printed and "latency median" in printed
    # the live path: the session kind and the per-decision timing fields of every bundle
    settings = json.loads((session / "settings.json").read_text())
    assert settings["session"] == "BinSession" and settings["mode"] == "bins"
    assert settings["value_names"] == ["z0", "z1"] and settings["warm_up_ms"] > 0
    rows = [r for r in read_log(session) if r["kind"] == "decision"]
    assert len(rows) == 200
    assert [int(r["window_start"]) for r in rows] == list(range(200))
    for r in rows:
        assert float(r["latency_ms"]) >= 0 and r["stamp_latency_ms"] != ""
        assert float(r["decision_time"]) >= float(r["received_time"])
    # the truth the replay carries, and outputs equal to the offline filter's
    np.testing.assert_allclose([[float(r["true_z0"]), float(r["true_z1"])] for r in rows],
                               flint.y[5000:5200], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(np.loadtxt(out_csv, delimiter=",", skiprows=1),
                               kf.predict(flint.X[5000:5200]), rtol=1e-7, atol=1e-12)


def test_lagged_wiener_bundle_keeps_its_history_live(datasets, tmp_path):
    folder = datasets / "flint-run1"
    lagged = load_continuous(DatasetSpec(source=str(folder), continuous={"lags": 2}))
    wiener = WienerFilter(lags=0).fit(lagged.X[:3000], lagged.y[:3000])
    bundle = save_bundle(wiener, tmp_path / "wiener", input_spec={
        "kind": "continuous", "ch_names": lagged.ch_names, "target_names": lagged.target_names,
        "continuous": {"lags": 2}})
    out_csv = tmp_path / "decoded.csv"
    assert main(["online", str(bundle), "--replay", str(folder), "--stop", "150", "--speed", "50",
                 "--every", "0", "--output", str(out_csv)]) == 0
    # the bundle names the 30 lagged features (as `neurodeck run` saves them); the stream has 10
    # bin t of the replay is lagged row t - 2 once two past bins exist
    np.testing.assert_allclose(np.loadtxt(out_csv, delimiter=",", skiprows=1)[2:],
                               wiener.predict(lagged.X[:148]), rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("extra", [{}, {"reference": "average"}, {"band": [None, 30.0]},
                                   {"band": None}], ids=["band", "average-ref", "low-pass", "none"])
def test_direct_window_preparation_equals_mne(extra):
    names = MOTOR + ["Fp1", "Fp2"]
    spec = {"kind": "trials", "ch_names": MOTOR, "sfreq": 160.0, "window": [0.5, 2.5], "baseline": [None, 0.8],
            "preprocessing": {"picks": MOTOR, "band": [8.0, 30.0], **extra}}
    prep = WindowPreparer(spec, names, 160.0)
    assert prep.taps is not None      # the direct path, not MNE per window
    segment = np.random.default_rng(1).normal(scale=1e-5, size=(len(names), prep.span))
    direct, through_mne = prep.prepare(segment), prep.prepare_with_mne(segment)
    assert direct.shape == through_mne.shape == (1, len(MOTOR), 320)
    np.testing.assert_allclose(direct, through_mne, rtol=1e-5, atol=1e-6 * np.abs(through_mne).max())


def test_erp_decimated_windows_and_notch_fallback():
    names = ["Fz", "Cz", "Pz"]
    erp = {"kind": "trials", "ch_names": names, "sfreq": 40.0, "window": [0.0, 0.8],
           "preprocessing": {"picks": names, "band": [0.5, 12.0]},
           "steps": [{"name": "erp_epochs", "params": {"decim": 6}}]}
    prep = WindowPreparer(erp, names, 240.0)
    segment = np.random.default_rng(2).normal(scale=1e-5, size=(3, prep.span))
    assert prep.taps is not None and prep.decim == 6
    np.testing.assert_allclose(prep.prepare(segment), prep.prepare_with_mne(segment), rtol=1e-5,
                               atol=1e-6 * np.abs(prep.prepare_with_mne(segment)).max())
    notch = {**erp, "preprocessing": {"picks": names, "band": [0.5, 12.0], "notch": 50.0}, "steps": []}
    assert WindowPreparer({**notch, "sfreq": 240.0}, names, 240.0).taps is None   # MNE's notch per window
