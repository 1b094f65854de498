"""Which bundle can decode which signal (app.online.compatibility), and where online
sessions and exports go by default (app.output_paths): no Qt, no stream, no training."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.online.compatibility import SignalFacts, check, problem
from app.output_paths import default_export_path, recording_path, run_of, session_folder
from data.errors import ChannelMismatchError, InputError

EEG = SignalFacts("the recording r.edf (replayed as an LSL stream)", ["C3", "Cz", "C4", "STI"], 160.0, "eeg")


def manifest(**input_spec) -> dict:
    spec = {"kind": "trials", "modality": "eeg", "ch_names": ["C3", "Cz", "C4"],
            "class_names": ["left", "right"], "preprocessing": {"align": "none", "standardize": "none"}}
    return {"decoder": "csp-lda", "input": {**spec, **input_spec}}


def test_a_fitting_bundle_passes():
    assert problem(manifest(), EEG) is None
    check(manifest(), EEG, "b")
    assert problem(manifest(modality=None), SignalFacts("s", ["C3", "Cz", "C4"])) is None   # unknowns


@pytest.mark.parametrize("spec, words", [
    ({"kind": "continuous"}, ["decodes feature bins", "neurodeck online BUNDLE --replay"]),
    ({"kind": "volumes"}, ["decodes fMRI volumes"]),
    ({"class_names": []}, ["predicts values, not classes"]),
    ({"modality": "fmri-roi", "ch_names": ["roi1", "roi2"]},
     ["csp-lda was trained on fMRI ROI series", "the recording r.edf (replayed as an LSL stream) is EEG"]),
    ({"ch_names": ["C3", "Cz", "C4", "Pz", "Oz"]}, ["lacks 2 channel(s) csp-lda was trained on: Pz, Oz"]),
    ({"preprocessing": {"align": "session"}}, ["per-subject alignment", "--adapt"]),
])
def test_what_does_not_fit_is_named(spec, words):
    reason = problem(manifest(**spec), EEG)
    assert reason is not None and all(w in reason for w in words), reason
    with pytest.raises(InputError) as caught:
        check(manifest(**spec), EEG, "RUN/model")
    assert str(caught.value).startswith("RUN/model: ") and words[0] in str(caught.value)
    assert isinstance(caught.value, ChannelMismatchError) == ("lacks" in words[0])


def test_adapt_lets_an_aligned_bundle_through():
    assert problem(manifest(preprocessing={"align": "session"}), EEG, adapt=True) is None


def test_default_places_are_in_the_workspace_next_to_the_run(tmp_path):
    run = tmp_path / "runs" / "20261204-120000-csp-lda-0123abcd"
    (run / "model").mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps({}), encoding="utf-8")
    assert run_of(run) == run and run_of(run / "model") == run and run_of(tmp_path) is None
    assert default_export_path(run / "model", ".onnx") == run / "exports" / f"{run.name}.onnx"
    assert (run / "exports").is_dir()
    loose = tmp_path / "elsewhere" / "bundle.zip"
    loose.parent.mkdir()
    assert default_export_path(loose, ".zip") == loose.parent / "exports" / "bundle.zip"
    session = session_folder(tmp_path / "runs", run / "model")
    assert session.parent == tmp_path / "runs" / "sessions" and session.name.endswith(run.name)
    assert not session.exists()
    recording = recording_path(tmp_path / "runs")
    assert recording.parent == tmp_path / "runs" / "recordings" and recording.name.endswith("_raw.fif")


def test_stream_facts_come_from_the_stream(datasets):
    from app.online.compatibility import stream_facts
    from app.online.replay import start_replay

    player = start_replay(str(datasets / "eegbci/MNE-eegbci-data/files/eegmmidb/1.0.0/S001/S001R04.edf"),
                          speed=5, wait_s=0)
    try:
        facts = stream_facts(player.name)
    finally:
        player.stop()
    assert len(facts.ch_names) == 64 and "C3" in facts.ch_names and facts.sfreq == 160.0
    assert facts.modality == "eeg" and facts.label == f"the LSL stream '{player.name}'"
    assert "is EEG" in problem(manifest(modality="fmri-roi", ch_names=["roi1"]), facts)
