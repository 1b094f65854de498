"""`demo:motor-imagery`: structure, reproducibility, realism (CSP+LDA, mu ERD) and the normal
loading path."""
from __future__ import annotations

import numpy as np
import pytest

from data.demos import motor_imagery
from data.errors import DataError
from data.recording import Recording
from data.spec import DatasetSpec
from tests.simulated_mi import one_blas_thread

mne = pytest.importorskip("mne")


def _spec(**kwargs) -> DatasetSpec:
    return DatasetSpec(source="demo:motor-imagery", **kwargs)


@pytest.fixture(scope="module", autouse=True)
def _one_blas_thread():
    """Multi-threaded BLAS on small matrices oversubscribes the shared cores (CSP: 20x slower)."""
    with one_blas_thread():
        yield


@pytest.fixture(scope="module")
def recordings() -> list[Recording]:
    return motor_imagery.simulate_recordings(_spec(seed=0))


def _epochs(raw, band, tmin, tmax, picks="eeg"):
    raw = raw.copy().filter(*band, verbose=False)
    events, event_id = mne.events_from_annotations(raw, verbose=False)
    epochs = mne.Epochs(raw, events, event_id, tmin, tmax, baseline=None, picks=picks,
                        preload=True, verbose=False)
    labels = np.where(epochs.events[:, 2] == event_id["left"], "left", "right")
    return epochs.get_data(copy=False), labels


def test_default_recordings_have_the_described_layout(recordings):
    assert [r.subject for r in recordings] == ["1", "2", "3", "4"]
    for rec in recordings:
        raw = rec.raw
        assert (rec.session, rec.run, rec.path) == ("1", "1", "")
        assert raw.info["sfreq"] == 160.0
        assert raw.ch_names == list(motor_imagery.CHANNELS)
        assert set(raw.get_channel_types()) == {"eeg"}
        assert {"C3", "Cz", "C4", "FC3", "CP4"} <= set(raw.ch_names)
        positions = np.array([ch["loc"][:3] for ch in raw.info["chs"]])
        assert np.all(np.isfinite(positions)) and np.all(np.linalg.norm(positions, axis=1) > 0.05)

        annotations = raw.annotations
        descriptions = list(annotations.description)
        assert descriptions.count("left") == descriptions.count("right") == 40
        assert np.allclose(annotations.duration, 4.0)
        gaps = np.diff(annotations.onset)
        assert gaps.min() >= 6.0 - 1e-9 and gaps.max() <= 7.0 + 1e-9 and gaps.std() > 0.1
        assert annotations.onset[-1] + 4.0 < raw.times[-1]
        # random order: neither alternating nor in blocks
        switches = np.sum(np.array(descriptions[1:]) != np.array(descriptions[:-1]))
        assert 20 < switches < 60

        data = raw.get_data()
        assert np.all(np.isfinite(data))
        rms_uv = np.sqrt(np.mean(data ** 2, axis=1)) * 1e6
        assert 5 < np.median(rms_uv) < 60  # scalp-EEG amplitudes, in volts


def test_blinks_are_frontal(recordings):
    raw = recordings[0].raw.copy().filter(None, 4.0, verbose=False)
    extreme = np.percentile(np.abs(raw.get_data()), 99.9, axis=1)
    by_name = dict(zip(raw.ch_names, extreme))
    assert min(by_name["Fp1"], by_name["Fp2"]) > 3 * max(by_name["Cz"], by_name["Pz"], by_name["Oz"])


def test_same_seed_same_data_other_seed_other_data(recordings):
    again = motor_imagery.simulate_recordings(_spec(seed=0, subjects=[2]))
    assert len(again) == 1 and again[0].subject == "2"
    # a subject's data do not depend on which other subjects were asked for
    np.testing.assert_array_equal(again[0].raw.get_data(), recordings[1].raw.get_data())
    np.testing.assert_array_equal(again[0].raw.annotations.onset, recordings[1].raw.annotations.onset)

    other = motor_imagery.simulate_recordings(_spec(seed=1, subjects=["2"]))[0]
    assert list(other.raw.annotations.description) != list(recordings[1].raw.annotations.description)
    assert not np.allclose(other.raw.get_data()[:, :1000], recordings[1].raw.get_data()[:, :1000])


def test_subjects_differ_in_geometry_and_physiology():
    first, second = motor_imagery.subject_params(0, "1"), motor_imagery.subject_params(0, "2")
    assert np.linalg.norm(first.motor_pos - second.motor_pos, axis=1).min() > 1e-3
    assert np.degrees(np.arccos(np.clip(np.sum(first.motor_ori * second.motor_ori, axis=1), -1, 1))).min() > 1
    assert first.mu_freq != second.mu_freq and first.snr != second.snr and first.erd_power != second.erd_power


def test_sessions_and_runs_are_separate_recordings():
    recs = motor_imagery.simulate_recordings(_spec(seed=3, subjects=["7"], sessions=["1", "2"], runs=[1, 2]))
    assert [(r.subject, r.session, r.run) for r in recs] == [
        ("7", "1", "1"), ("7", "1", "2"), ("7", "2", "1"), ("7", "2", "2")]
    onsets = [tuple(r.raw.annotations.onset[:5]) for r in recs]
    assert len(set(onsets)) == 4


def test_empty_subject_list_is_a_clear_error():
    with pytest.raises(DataError, match="subjects"):
        motor_imagery.simulate_recordings(_spec(subjects=[]))


def test_csp_lda_beats_chance_on_every_subject_but_not_perfectly(recordings):
    from mne.decoding import CSP
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline

    accuracies = []
    for rec in recordings:
        X, y = _epochs(rec.raw, (8.0, 30.0), 0.0, 4.0)
        pipeline = make_pipeline(CSP(n_components=4, log=True), LinearDiscriminantAnalysis())
        folds = StratifiedKFold(5, shuffle=True, random_state=0)
        accuracies.append(cross_val_score(pipeline, X, y, cv=folds).mean())
    accuracies = np.array(accuracies)
    # chance is 0.5; with 80 trials, 0.65 is beyond the 99th percentile of chance
    assert accuracies.min() >= 0.65, accuracies
    assert accuracies.max() < 0.99 or accuracies.min() < 0.9, accuracies  # not trivially separable
    assert accuracies.max() - accuracies.min() > 0.05, accuracies  # subjects differ


def test_right_hand_imagery_lowers_c3_mu_power(recordings):
    contralateral_erd = []
    for rec in recordings:
        X, y = _epochs(rec.raw, (8.0, 13.0), 0.5, 3.5, picks=["C3", "C4"])
        log_ratio = np.log(np.mean(X[:, 0] ** 2, axis=-1) / np.mean(X[:, 1] ** 2, axis=-1))
        # right hand -> left hemisphere (C3) desynchronises, and vice versa
        assert log_ratio[y == "left"].mean() - log_ratio[y == "right"].mean() > 0.2, rec.subject

        # mu power during imagery relative to the rest just before the cue
        before, _ = _epochs(rec.raw, (8.0, 13.0), -1.3, -0.1, picks=["C3", "C4"])

        def erd(hand, channel):
            return np.mean(X[y == hand, channel] ** 2) / np.mean(before[y == hand, channel] ** 2)

        contra = (erd("right", 0) + erd("left", 1)) / 2
        ipsi = (erd("left", 0) + erd("right", 1)) / 2
        assert contra < ipsi - 0.05, (rec.subject, contra, ipsi)
        contralateral_erd.append(contra)
    assert np.mean(contralateral_erd) < 0.85, contralateral_erd


def test_loads_through_the_normal_trial_path():
    from data import load_dataset

    spec = _spec(events={"left": "left", "right": "right"}, window=(0.5, 3.5),
                 preprocessing={"band": [8, 30]}, subjects=["1", "2"])
    data = load_dataset(spec)
    assert data.kind == "trials" and data.modality == "eeg"
    assert list(data.class_names) == ["left", "right"]
    assert data.X.shape[0] == 160 and data.X.shape[1] == len(motor_imagery.CHANNELS)
    assert abs(data.X.shape[2] - 3.0 * 160) <= 1 and data.sfreq == 160.0
    assert sorted(set(np.asarray(data.subject).tolist())) == ["1", "2"]
    assert np.bincount(np.asarray(data.y)).tolist() == [80, 80]
