"""ERP trials, ERP decoders and the P300 speller on the BCI2000 sample recordings
(../shared/datasets/bci2000: eeg3_1/2 a 6 x 6 speller spelling T3OF / 6MK?, eeg2_1/2 an oddball)."""
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from data.decoding_set import DecodingSet
from data.errors import DataError, InputError
from data.spec import DatasetSpec
from decoders import speller

pytest.importorskip("BCI2000Tools")
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "bci2000"
pytestmark = pytest.mark.skipif(not (DATA / "eeg3_1.dat").is_file(), reason="BCI2000 sample files not present")


def _load(runs, paradigm, **extra):
    from data import sources

    extra.setdefault("options", {"paradigm": paradigm})
    spec = DatasetSpec.model_validate(dict(source=str(DATA), kind="bci2000", runs=runs, cache=False, **extra))
    return sources.load(spec)


@pytest.fixture(scope="module")
def spell():
    return _load(["eeg3_1", "eeg3_2"], "speller")


@pytest.fixture(scope="module")
def oddball():
    return _load(["eeg2_1", "eeg2_2"], "erp")


def _split(data, train_run):
    return np.flatnonzero(data.run == train_run), np.flatnonzero(data.run != train_run)


# ------------------------------------------------------------------ trials
def test_speller_epochs_carry_flash_metadata(spell, tmp_path):
    assert spell.paradigm == "speller" and spell.class_names == ["nontarget", "target"]
    assert spell.X.shape == (1440, 8, 35) and spell.sfreq == pytest.approx(256 / 6)
    assert spell.times[0] == 0.0 and spell.times[-1] < 0.8
    for run, text in (("eeg3_1", "T3OF"), ("eeg3_2", "6MK?")):
        rows = spell.run == run
        stim = spell.stimuli[rows]
        assert rows.sum() == 720 and spell.y[rows].sum() == 120
        assert sorted(set(stim[:, 0])) == list(range(1, 13))
        assert sorted(set(stim[:, 1])) == [0, 1, 2, 3] and stim[:, 2].max() == 14
        # every code flashes once per repetition, twice of them (row and column) as targets
        assert (np.bincount(stim[:, 0])[1:] == 60).all()
        info = spell.provenance["speller"][run]
        assert info["text_to_spell"] == text and info["n_sequences"] == 15
        assert info["soa_s"] == pytest.approx(0.25) and info["pause_s"] > 1
        assert info["matrix"][0] == list("ABCDEF") and info["matrix"][5] == list("56789?")
    spell.save(tmp_path / "set.npz")
    back = DecodingSet.load(tmp_path / "set.npz")
    assert back.paradigm == "speller" and np.array_equal(back.stimuli, spell.stimuli)
    assert spell.subset(np.arange(10)).paradigm == "speller"


def test_truth_from_target_flashes_is_the_text_to_spell(spell):
    found = speller.letters(spell, np.arange(len(spell)), np.zeros(len(spell)))
    assert "".join(x.truth for x in found) == "T3OF6MK?"


def test_oddball_epochs(oddball):
    assert oddball.paradigm == "erp" and oddball.X.shape == (200, 64, 32) and oddball.sfreq == 40.0
    assert oddball.y.sum() == 40


def test_window_band_and_decim_are_honoured():
    data = _load(["eeg3_1"], "speller", window=(-0.1, 0.5), preprocessing={"band": [1.0, 12.0]})
    assert data.times[0] == pytest.approx(-0.1, abs=0.01) and data.sfreq == pytest.approx(256 / 10)
    assert {"name": "bandpass", "low": 1.0, "high": 12.0} in [
        {"name": s["name"], "low": s["params"].get("low"), "high": s["params"].get("high")}
        for s in data.provenance["steps"]]
    assert _load(["eeg3_1"], "speller", options={"paradigm": "speller", "decim": 2}).sfreq == 128.0


def test_bad_settings_are_named():
    with pytest.raises(InputError, match="events"):
        _load(["eeg3_1"], "erp", events={"target": "target"})
    with pytest.raises(DataError, match="TargetDefinitions"):
        _load(["eeg2_1"], "speller")
    with pytest.raises(ValueError, match="paradigm"):
        DatasetSpec.model_validate(dict(source=str(DATA / "eeg3_1.dat"), kind="bci2000",
                                        options={"paradigm": "p300"}))


# ------------------------------------------------------------------ speller maths
def test_wolpaw_bits():
    assert speller.wolpaw_bits(36, 1.0) == pytest.approx(np.log2(36))
    assert speller.wolpaw_bits(36, 1 / 36) == 0.0
    assert speller.wolpaw_bits(2, 0.9) == pytest.approx(1 + 0.9 * np.log2(0.9) + 0.1 * np.log2(0.1))
    assert speller.itr_bits_per_minute(36, 1.0, 30.0) == pytest.approx(2 * np.log2(36))


def test_letters_from_flash_scores_and_dynamic_stopping():
    matrix = [list("ABCDEF"), list("GHIJKL"), list("MNOPQR"), list("STUVWX"), list("YZ1234"), list("56789?")]
    rng = np.random.default_rng(0)
    codes = np.concatenate([rng.permutation(12) + 1 for _ in range(10)])
    reps = np.repeat(np.arange(10), 12)
    target = np.isin(codes, [3, 9])          # row 3 (M..R), column 3 -> 'O'
    evidence = np.where(target, 1.0, -1.0) + rng.normal(0, 1.5, len(codes))
    letter = speller.Letter("r", 0, codes, reps, evidence, "O", matrix)
    assert letter.choose() == "O"
    chosen, used = letter.dynamic(threshold=0.99)
    assert chosen == "O" and 12 <= used < len(codes)
    assert letter.posterior().sum() == pytest.approx(1.0) and letter.posterior().shape == (6, 6)


# ------------------------------------------------------------------ decoders
@pytest.mark.parametrize("name", ["erp-lda", "xdawn-ts-lr", "eegnet-erp"])
def test_erp_decoders_beat_chance_on_a_held_out_file(name, spell, oddball):
    import decoders

    for data, train_run, floor in ((spell, "eeg3_1", 0.8), (oddball, "eeg2_1", 0.85)):
        tr, te = _split(data, train_run)
        preset = "quick" if name == "eegnet-erp" else None
        model = decoders.create(name, {"sfreq": data.sfreq} if name == "eegnet-erp" else {}, preset)
        model.fit(data.X[tr], data.y[tr])
        proba = model.predict_proba(data.X[te])
        assert roc_auc_score(data.y[te], proba[:, 1]) > floor, (name, train_run)
        arrays, extra = model.get_state()
        restored = decoders.create(name, {"sfreq": data.sfreq} if name == "eegnet-erp" else {}, preset)
        restored.set_state(arrays, extra)
        assert np.allclose(restored.predict_proba(data.X[te]), proba, atol=1e-5)


def test_erp_lda_auto_bins_chosen_inside_the_training_file(spell):
    """bin_samples auto: the bin with the best inner-CV AUC on the training epochs, said in the
    log, kept in the bundle (a restored model predicts alike); the test file is never seen."""
    import decoders
    from decoders.erp import AUTO_BINS, inner_cv_auc
    from decoders.events import TrainingContext

    tr, te = _split(spell, "eeg3_1")
    seen = []
    model = decoders.create("erp-lda", {"bin_samples": "auto"})
    model.fit(spell.X[tr], spell.y[tr], context=TrainingContext(seen.append))
    scores = {int(b): v for b, v in model.inner_cv_.items()}
    assert sorted(scores) == list(AUTO_BINS) and model.bin_samples_ == max(scores, key=scores.get)
    binned = decoders.create("erp-lda", {"bin_samples": model.bin_samples_})
    assert scores[model.bin_samples_] == pytest.approx(
        inner_cv_auc(lambda Z: binned._binned(Z, model.bin_samples_), spell.X[tr], spell.y[tr]), abs=1e-4)
    logged = [e.message for e in seen if "bin_samples auto" in getattr(e, "message", "")]
    assert logged and f"-> {model.bin_samples_} " in logged[0]
    proba = model.predict_proba(spell.X[te])
    assert roc_auc_score(spell.y[te], proba[:, 1]) > 0.85
    arrays, extra = model.get_state()
    assert extra["bin_samples"] == model.bin_samples_ and extra["bin_samples_inner_auc"] == model.inner_cv_
    restored = decoders.create("erp-lda", {"bin_samples": "auto"}).set_state(arrays, extra)
    assert np.allclose(restored.predict_proba(spell.X[te]), proba)
    for bad in (0, "best"):
        with pytest.raises(decoders.ParameterError, match="bin_samples"):
            decoders.create("erp-lda", {"bin_samples": bad})


def test_calibration_run_spells_the_spelling_run(spell):
    import decoders

    tr, te = _split(spell, "eeg3_1")
    model = decoders.create("erp-lda").fit(spell.X[tr], spell.y[tr])
    m = speller.speller_metrics(spell, te, model.predict_proba(spell.X[te]))
    assert m["speller_target_text"] == "6MK?" and m["spelled_15"] == "6MK?"
    assert m["char_accuracy_15"] == 1.0 and m["char_accuracy_2"] == 1.0
    assert m["itr_bits_min_15"] == pytest.approx(np.log2(36) * 60 / (15 * 12 * 0.25 + 8.5))
    assert m["dynamic_char_accuracy"] == 1.0
    assert m["dynamic_flashes_per_letter"] < m["fixed_flashes_per_letter"] == 180


# ------------------------------------------------------------------ through neurodeck run
def test_neurodeck_run_calibration_protocol_writes_speller_metrics(tmp_path, monkeypatch):
    import json

    from app.cli import main

    repo = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(repo)
    code = main(["run", "resources/experiments/bci2000-p300-speller-lda.yaml", "--out", str(tmp_path), "--quiet"])
    assert code in (0, None)
    metrics = json.loads(next(tmp_path.glob("*/metrics.json")).read_text())
    assert metrics["protocol"] == "calibration"
    fold = metrics["folds"][0]
    assert fold["train_runs"] == ["eeg3_1"] and fold["test_runs"] == ["eeg3_2"]
    assert fold["speller_target_text"] == "6MK?" and fold["spelled_15"] == "6MK?"
    assert metrics["summary"]["char_accuracy_15"]["mean"] == 1.0
    assert metrics["summary"]["roc_auc"]["mean"] > 0.9
    assert metrics["summary"]["dynamic_flashes_per_letter"]["mean"] < 180


def test_class_averages_and_signed_r2(spell):
    from data.sources.erp import class_averages, signed_r2

    avg = class_averages(spell)
    assert set(avg) == {"nontarget", "target"} and avg["target"].shape == spell.X.shape[1:]
    r2 = signed_r2(spell)
    assert r2.shape == spell.X.shape[1:] and np.abs(r2).max() <= 1
    # the P300: target > nontarget at Pz around 300-500 ms, the strongest positive r² there
    pz, late = spell.ch_names.index("Pz"), (spell.times > 0.25) & (spell.times < 0.55)
    assert (avg["target"] - avg["nontarget"])[pz, late].mean() > 0 and r2[pz, late].max() > 0.02
    x = spell.X[:, pz, 10]
    assert abs(r2[pz, 10]) == pytest.approx(np.corrcoef(x, spell.y)[0, 1] ** 2, rel=1e-6)
