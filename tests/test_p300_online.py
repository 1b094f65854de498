"""The online P300 speller: an erp-lda bundle trained on eeg3_1 (`neurodeck run` with
resources/experiments/bci2000-p300-speller-lda.yaml) decodes the replay of eeg3_2 flash by flash
(`neurodeck online BUNDLE --replay eeg3_2.dat`), and its letters (all repetitions, and with
dynamic stopping) equal the offline speller's letters from the same bundle on the same file."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import yaml

from app.cli import main
from app.workspace import list_runs
from data.spec import DatasetSpec
from decoders import speller
from decoders.bundle import load_bundle
from decoders.evaluation import predict_with_proba

pytest.importorskip("BCI2000Tools")
ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "datasets" / "bci2000"
pytestmark = pytest.mark.skipif(not (DATA / "eeg3_2.dat").is_file(), reason="BCI2000 sample files not present")
SPEED = 10        # 4 flashes a second replayed 10 times faster: about 20 s of replay
THRESHOLD = 0.99


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """The example experiment's erp-lda as `neurodeck run` saves it, on eeg3_1 only: the saved
    model/ is a final fit on every run of the experiment, and eeg3_2 is to be spelled unseen."""
    folder = tmp_path_factory.mktemp("p300-online")
    config = yaml.safe_load((ROOT / "resources/experiments/bci2000-p300-speller-lda.yaml").read_text())
    config["dataset"].update(source=str(DATA), runs=["eeg3_1"])
    config["evaluation"] = {"protocol": "kfold", "n_folds": 2}
    config["output"]["runs_dir"] = str(folder / "runs")
    path = folder / "exp.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert main(["run", str(path), "--quiet"]) == 0
    (info,) = list_runs(folder / "runs")
    return info.path / "model"


@pytest.fixture(scope="module")
def offline(bundle):
    """eeg3_2 cut as the bundle's training data were, its flash probabilities and letters."""
    from data import sources

    decoder, manifest = load_bundle(bundle)
    spec = manifest["input"]
    data = sources.load(DatasetSpec(source=str(DATA), kind="bci2000", runs=["eeg3_2"], cache=False,
                                    options=spec["options"], window=tuple(spec["window"]),
                                    preprocessing=spec["preprocessing"]))
    _, proba, _ = predict_with_proba(decoder, data.X)
    found = speller.letters(data, np.arange(len(data)), speller.target_evidence(proba))
    return data, proba, found


def spell_online(bundle, out: Path, capsys, *extra: str) -> tuple[list[dict], str]:
    assert main(["online", str(bundle), "--replay", str(DATA / "eeg3_2.dat"), "--speed", str(SPEED),
                 "--out", str(out), "--every", "0", *extra]) == 0
    with open(out / "log.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    printed = capsys.readouterr()
    assert "used to train this decoder" not in printed.err   # eeg3_2 is unseen (checked via predict's loader)
    return rows, printed.out


def test_online_speller_spells_the_offline_letters(bundle, offline, tmp_path, capsys):
    data, proba, found = offline
    rows, printed = spell_online(bundle, tmp_path / "session", capsys)
    decisions = [r for r in rows if r["kind"] == "decision"]
    letters = [r for r in rows if r["kind"] == "letter"]
    # every flash decoded once, in time order, with the offline window's probability
    assert [r["marker"] for r in decisions] == [f"stim/{c}" for c in data.stimuli[:, 0]]
    assert [r["true"] for r in decisions] == [data.class_names[k] for k in data.y]
    online_p = np.array([float(r["p_target"]) for r in decisions])
    np.testing.assert_allclose(online_p, proba[:, 1], atol=1e-4)
    assert all(float(r["latency_ms"]) >= 0 for r in decisions)
    # one decision per letter: the offline speller's letter after all 15 repetitions
    assert [r["pred"] for r in letters] == [x.choose() for x in found] == list("6MK?")
    assert [r["true"] for r in letters] == list("6MK?")
    assert [int(r["flashes"]) for r in letters] == [180] * 4
    assert "spelled: 6MK? (text to spell: 6MK?, 4 of 4 letters right)" in printed


def test_predict_cuts_the_flashes_the_online_session_decodes(bundle, offline, tmp_path, capsys):
    """`neurodeck predict` on a speller bundle cuts one epoch per flash as training did."""
    _, proba, _ = offline
    out = tmp_path / "pred.csv"
    assert main(["predict", str(bundle), str(DATA / "eeg3_2.dat"), "--out", str(out)]) == 0
    with open(out, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    np.testing.assert_allclose([float(r["p_target"]) for r in rows], proba[:, 1], rtol=1e-4, atol=1e-9)
    assert not any(r["seen_in_training"] == "True" for r in rows)
    main(["predict", str(bundle), str(DATA / "eeg3_1.dat"), "--out", str(tmp_path / "seen.csv")])
    assert "720 of 720 trials were used to train" in capsys.readouterr().err


def test_online_dynamic_stopping_ends_letters_early(bundle, offline, tmp_path, capsys):
    _, _, found = offline
    rows, printed = spell_online(bundle, tmp_path / "dynamic", capsys, "--stop-threshold", str(THRESHOLD))
    letters = [r for r in rows if r["kind"] == "letter"]
    expected = [x.dynamic(THRESHOLD) for x in found]
    assert [r["pred"] for r in letters] == [s for s, _ in expected] == list("6MK?")
    assert [int(r["flashes"]) for r in letters] == [n for _, n in expected]
    assert all(12 <= n < 180 for _, n in expected)   # every letter ended early
    assert "spelled: 6MK?" in printed


def test_speller_tracker_refuses_bad_settings():
    from app.online.speller import SpellerLayout, SpellerTracker
    from data.errors import InputError

    layout = SpellerLayout([list("AB"), list("CD")])
    with pytest.raises(InputError, match="above 0 and at most 1"):
        SpellerTracker(layout, ["nontarget", "target"], threshold=1.5)
    with pytest.raises(InputError, match="target / nontarget"):
        SpellerTracker(layout, ["left", "right"])
    tracker = SpellerTracker(layout, ["nontarget", "target"])
    with pytest.raises(InputError, match="codes 1-4"):
        tracker.add({"marker": "stim/7", "proba": [0.5, 0.5], "sample_time": 0.0})


def test_stop_threshold_needs_a_replayed_speller(bundle, capsys):
    assert main(["online", str(bundle), "--stream", "no-such-stream", "--stop-threshold", "0.9"]) == 2
    assert "--stop-threshold is for speller bundles" in capsys.readouterr().err


def test_tracker_splits_letters_at_pauses_and_decides_the_last_at_the_end():
    """Without NumberOfSequences the letters end at a pause (the offline gap rule) and at the end
    of the stream; each equals `decoders.speller.Letter` on the same flashes."""
    from app.online.speller import SpellerLayout, SpellerTracker

    matrix = [list("AB"), list("CD")]
    tracker = SpellerTracker(SpellerLayout(matrix), ["nontarget", "target"])
    rng = np.random.default_rng(0)
    letters, t = [], 0.0
    for attended in ((0, 1), (1, 0)):              # B, then C: row code + 1, column code 3 + 1
        codes = np.tile([1, 2, 3, 4], 3)
        target = (codes == attended[0] + 1) | (codes == attended[1] + 3)
        p = np.clip(np.where(target, 0.7, 0.3) + rng.normal(0, 0.1, len(codes)), 0.01, 0.99)
        events = []
        for code, is_target, prob in zip(codes, target, p):
            events += tracker.add({"marker": f"stim/{code}", "proba": [1 - prob, prob], "sample_time": t,
                                   "marker_time": t, "received_time": t,
                                   "true": "target" if is_target else "nontarget"})
            t += 0.25
        t += 3.0                                    # the pause between letters
        letters.append((events, speller.Letter("x", 0, codes, np.repeat(np.arange(3), 4),
                                               speller.target_evidence(np.c_[1 - p, p]), None, matrix)))
    assert letters[0][0] == []                      # the first letter waits for the pause ...
    (first,) = letters[1][0]                        # ... which the second letter's first flash shows
    (last,) = tracker.finish()
    assert [first["letter"], last["letter"]] == [letters[0][1].choose(), letters[1][1].choose()] == ["B", "C"]
    assert [first["true"], last["true"], first["flashes"], last["flashes"]] == ["B", "C", 12, 12]
    assert last["latency_ms"] is not None and tracker.text == "BC"
