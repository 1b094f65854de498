"""Continuous features + targets: tables, keyed files, spike binning, lags, errors, demo."""
from __future__ import annotations

import numpy as np
import pytest

from data import DatasetSpec, load_dataset
from data.continuous import add_lags, load_continuous, looks_like_continuous_folder
from data.errors import BadSamplesError, CorruptFileError, DataError, MissingFileError


def spec(source, **continuous) -> DatasetSpec:
    return DatasetSpec(source=str(source), continuous=continuous or None)


def test_flint_folder_loads_through_load_dataset(datasets):
    folder = datasets / "flint-run1"
    assert looks_like_continuous_folder(folder)
    assert not looks_like_continuous_folder(datasets / "eegbci")
    data = load_dataset({"source": str(folder)})
    assert data.kind == "continuous"
    assert data.X.shape == (7792, 10) and data.y.shape == (7792, 2)
    assert data.target_names == ["z0", "z1"] and data.ch_names[0] == "x0"
    np.testing.assert_allclose(data.X[0, :3], [2.7462, 0.8413, -0.1981])
    np.testing.assert_allclose(data.y[0], [0.0395, 0.0342])
    assert {p.rsplit("/", 1)[-1] for p in data.provenance["files"]} == {"x.csv", "z.csv"}


def test_lags_append_past_bins(datasets):
    base = load_continuous(spec(datasets / "flint-run1"))
    lagged = load_continuous(spec(datasets / "flint-run1", lags=2))
    assert lagged.X.shape == (7790, 30) and len(lagged.y) == 7790
    t = 100
    np.testing.assert_array_equal(lagged.X[t, :10], base.X[t + 2])
    np.testing.assert_array_equal(lagged.X[t, 10:20], base.X[t + 1])
    np.testing.assert_array_equal(lagged.X[t, 20:30], base.X[t])
    np.testing.assert_array_equal(lagged.y[t], base.y[t + 2])
    assert lagged.ch_names[10] == "x0@t-1"
    assert lagged.provenance["steps"] == [{"name": "lags", "params": {"lags": 2}}]


def test_csv_with_header_by_names_and_indices(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.normal(size=(50, 5))
    path = tmp_path / "session.csv"
    np.savetxt(path, values, delimiter=",", header="a,b,c,vx,vy", comments="")
    data = load_continuous(spec(path, targets=["vx", "vy"]))
    assert data.ch_names == ["a", "b", "c"] and data.target_names == ["vx", "vy"]
    np.testing.assert_allclose(data.y, values[:, 3:], rtol=1e-12)
    picked = load_continuous(spec(path, features=[0, "c"], targets=[4]))
    assert picked.ch_names == ["a", "c"] and picked.target_names == ["vy"]
    with pytest.raises(DataError, match=r"session.csv: no column 'speed'.*Columns: a, b, c, vx, vy"):
        load_continuous(spec(path, targets=["speed"]))
    with pytest.raises(DataError, match="which columns are targets"):
        load_continuous(spec(path))


def test_tsv_and_npy(tmp_path):
    values = np.arange(40, dtype=float).reshape(10, 4)
    np.savetxt(tmp_path / "t.tsv", values, delimiter="\t")
    data = load_dataset({"source": str(tmp_path / "t.tsv"), "continuous": {"targets": [3]}})
    assert data.X.shape == (10, 3) and data.target_names == ["t3"]
    np.save(tmp_path / "m.npy", values)
    data = load_continuous(spec(tmp_path / "m.npy", features=[0, 1], targets=[2, 3]))
    np.testing.assert_array_equal(data.y, values[:, 2:])


def test_npz_and_mat_keys(tmp_path):
    from scipy.io import savemat

    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(30, 6)), rng.normal(size=(30, 2))
    np.savez(tmp_path / "d.npz", neural=X, vel=y)
    data = load_continuous(spec(tmp_path / "d.npz", features="neural", targets="vel"))
    np.testing.assert_array_equal(data.X, X)
    with pytest.raises(DataError, match=r"d.npz: no key 'velocity'.*Keys: neural, vel"):
        load_continuous(spec(tmp_path / "d.npz", features="neural", targets="velocity"))
    savemat(tmp_path / "d.mat", {"x": X, "z": y})
    data = load_continuous(spec(tmp_path / "d.mat"))  # x / z found by name
    np.testing.assert_allclose(data.y, y)


def test_spike_times_are_binned_and_targets_averaged(tmp_path):
    # unit 1 fires at 0.05, 0.15, 0.16; unit 2 at 0.25 -> 3 bins of 0.1 s from t=0
    spikes = np.array([[0.0, 1], [0.05, 1], [0.15, 1], [0.16, 1], [0.25, 2], [0.299, 2]])
    folder = tmp_path / "rec"
    folder.mkdir()
    np.savetxt(folder / "spikes.csv", spikes, delimiter=",", header="time,unit", comments="")
    t = np.arange(30) / 100  # 0.00 ... 0.29 s
    targets = np.column_stack([t, 2 * t, np.ones_like(t)])
    np.savetxt(folder / "targets.csv", targets, delimiter=",", header="time,vx,vy", comments="")
    assert looks_like_continuous_folder(folder)
    data = load_continuous(spec(folder, bin_width=0.1))
    assert data.modality == "spikes" and data.ch_names == ["unit1", "unit2"]
    np.testing.assert_array_equal(data.X, [[2, 0], [2, 0], [0, 2]])
    np.testing.assert_allclose(data.y[:, 0], [2 * 0.045, 2 * 0.145, 2 * 0.245], atol=1e-9)
    assert data.sfreq == pytest.approx(10.0)
    with pytest.raises(DataError, match="no bin width"):
        load_continuous(spec(folder))
    with pytest.raises(DataError, match="wider bin_width"):
        load_continuous(spec(folder, bin_width=0.001))


def test_spike_times_in_npz(tmp_path):
    rng = np.random.default_rng(2)
    times = np.sort(rng.uniform(0, 10, 500))
    units = rng.integers(0, 4, 500)
    tt = np.arange(1000) / 100
    np.savez(tmp_path / "s.npz", spike_times=times, spike_units=units,
             target_times=tt, vel=np.sin(tt))
    data = load_continuous(spec(tmp_path / "s.npz", targets="vel", bin_width=0.5))
    assert data.X.shape == (20, 4) and data.X.sum() == 500 - np.sum(times >= 10.0)


def test_bad_files_are_reported_with_their_name(tmp_path):
    with pytest.raises(MissingFileError, match="nowhere.csv: no such file"):
        load_continuous(spec(tmp_path / "nowhere.csv", targets=[0]))
    folder = tmp_path / "f"
    folder.mkdir()
    np.savetxt(folder / "x.csv", np.ones((20, 3)), delimiter=",")
    np.savetxt(folder / "z.csv", np.ones((19, 2)), delimiter=",")
    with pytest.raises(DataError, match=r"x.csv: 20 feature rows but 19 target rows in .*z.csv"):
        load_dataset({"source": str(folder)})
    z = np.ones((20, 2))
    z[7, 1] = np.nan
    np.savetxt(folder / "z.csv", z, delimiter=",")
    with pytest.raises(BadSamplesError, match=r"z.csv: 1 NaN/Inf value\(s\); the first in column 'z1', row 7"):
        load_dataset({"source": str(folder)})
    (tmp_path / "junk.csv").write_text("a,b\n1,hello\n")
    with pytest.raises(CorruptFileError, match="junk.csv: not a numeric table"):
        load_continuous(spec(tmp_path / "junk.csv", targets=["b"]))
    (tmp_path / "p.npy").write_bytes(b"not numpy at all")
    with pytest.raises(CorruptFileError, match="p.npy"):
        load_continuous(spec(tmp_path / "p.npy", targets=[0]))
    with pytest.raises(DataError, match="lags=5 needs more than 5 samples"):
        add_lags(np.ones((5, 2)), ["a", "b"], 5)


def test_center_out_demo_is_deterministic_and_cosine_tuned():
    a = load_dataset({"source": "demo:center-out", "seed": 3})
    b = load_dataset({"source": "demo:center-out", "seed": 3})
    c = load_dataset({"source": "demo:center-out", "seed": 4})
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)
    assert a.kind == "continuous" and a.sfreq == 10.0 and a.target_names == ["vx", "vy"]
    assert 40 <= a.X.shape[1] <= 80 and np.all(a.X >= 0) and np.all(a.X == np.round(a.X))
    # each unit's rate follows cos(direction - preferred direction): a linear fit on velocity
    # recovers the simulated preferred directions
    pd = np.array(a.provenance["simulation"]["preferred_directions"])
    coef = np.linalg.lstsq(np.column_stack([a.y, np.ones(len(a))]), a.X, rcond=None)[0]
    fitted = np.arctan2(coef[1], coef[0])
    err = np.abs((fitted - pd + np.pi) % (2 * np.pi) - np.pi)
    assert np.median(err) < 0.15
    z = load_dataset({"source": "demo:center-out", "preprocessing": {"standardize": "subject"},
                      "continuous": {"lags": 1}})
    assert z.X.shape[1] == 2 * a.X.shape[1]
    np.testing.assert_allclose(z.X[:, :a.X.shape[1]].mean(0), 0, atol=0.05)


def _recording_with_velocity(tmp_path):
    import mne

    rng = np.random.default_rng(5)
    sfreq, seconds = 200.0, 120
    t = np.arange(int(sfreq * seconds)) / sfreq
    # a smooth "velocity" that modulates the 10 Hz amplitude of channel C3
    vx = np.convolve(rng.normal(size=t.size), np.hanning(201), mode="same")
    vx /= vx.std()
    eeg = rng.normal(scale=0.5, size=(3, t.size))
    eeg[0] += np.exp(0.5 * vx) * np.sin(2 * np.pi * 10 * t)
    info = mne.create_info(["C3", "Cz", "C4", "vx"], sfreq, ["eeg", "eeg", "eeg", "misc"])
    raw = mne.io.RawArray(np.vstack([eeg * 1e-5, vx]), info, verbose=False)
    path = tmp_path / "reach_raw.fif"
    raw.save(path, verbose=False)
    return path


def test_mne_recording_with_target_channels(tmp_path):
    from decoders.kalman import KalmanFilterDecoder
    from decoders.metrics import regression

    path = _recording_with_velocity(tmp_path)
    data = load_dataset({"source": str(path), "preprocessing": {"band": [8, 12]},
                         "continuous": {"features": "eeg", "targets": ["vx"], "bin_width": 0.1}})
    assert data.X.shape == (1200, 3) and data.ch_names == ["C3", "Cz", "C4"]
    assert data.target_names == ["vx"] and data.modality == "eeg" and data.sfreq == 10.0
    n = 900
    kf = KalmanFilterDecoder().fit(data.X[:n], data.y[:n])
    assert regression(data.y[n:], kf.predict(data.X[n:]))["correlation"] > 0.6
    plain = load_continuous(spec(path, features=["Cz"], targets="vx", bin_width=0.5))
    assert plain.X.shape == (240, 1)
    with pytest.raises(DataError, match=r"reach_raw.fif: no channel 'vy' for the targets"):
        load_continuous(spec(path, targets=["vx", "vy"], bin_width=0.1))
    with pytest.raises(DataError, match="bin_width"):
        load_continuous(spec(path, targets=["vx"]))
