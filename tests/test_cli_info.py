"""`neurodeck info`: works on every test recording and public-dataset source; every broken
file exits 2 with one paragraph that names the file, and no traceback."""
from __future__ import annotations

import json

import pytest

from app.cli import main
from tests.test_data_errors import CASES, build_corpus
from tests.test_data_readers import FORMAT_FILES


@pytest.mark.parametrize("name", sorted(FORMAT_FILES))
def test_info_on_every_format(datasets, name, capsys):
    n_channels, sfreq, n_samples = FORMAT_FILES[name]
    path = datasets / "mne-testing-formats" / name
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"Source: {path}" in out and "Sampling rate:" in out and "Events (annotations):" in out
    assert main(["info", "--json", str(path)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert sum(info["channel_counts"].values()) == n_channels
    assert info["sfreq"] == [pytest.approx(sfreq, rel=1e-5)]
    assert info["duration_s"] == pytest.approx(n_samples / sfreq, abs=1e-3)


def test_info_event_counts_from_annotations_and_stim(datasets, capsys):
    root = datasets / "mne-testing-formats"
    assert main(["info", "--json", str(root / "EEGLAB/test_raw.set")]) == 0
    assert json.loads(capsys.readouterr().out)["events"] == {"rt": 74, "square": 80}
    assert main(["info", "--json", str(root / "BDF/test_bdf_stim_channel.bdf")]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["events"] == {} and sum(info["stim_events"].values()) == 9


def test_info_eegbci(datasets, capsys):
    code = main(["info", "eegbci:1,2", "--data-path", str(datasets / "eegbci"), "--runs", "3,4"])
    assert code == 0
    out = capsys.readouterr().out
    assert "Channels: 64 eeg" in out and "Sampling rate: 160 Hz" in out
    assert "T1 (31)" in out and "Subjects: 1, 2" in out and "Runs: 3, 4" in out
    assert "Recordings: 4" in out


def test_info_demo(capsys):
    assert main(["info", "demo:motor-imagery", "--subjects", "1"]) == 0
    out = capsys.readouterr().out
    assert "left (" in out and "right (" in out and "Subjects: 1" in out


def test_info_on_a_demo_that_builds_a_set(capsys):
    assert main(["info", "--json", "demo:center-out"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "set" and info["data_kind"] == "continuous"
    assert info["n_samples"] == info["shape"][0] > 0


@pytest.fixture(scope="module")
def corpus(datasets, tmp_path_factory):
    return build_corpus(datasets, tmp_path_factory.mktemp("broken-cli"))


@pytest.mark.parametrize("case", CASES)
def test_info_on_broken_input_exits_2_with_one_paragraph(corpus, case, capsys):
    path, _, word = corpus[case]
    assert main(["info", str(path)]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith("error: ") and "Traceback" not in err and "\n\n" not in err
    flat = " ".join(err.split())
    assert str(path) in flat and word.lower() in flat.lower()
    assert captured.out == ""


def test_info_on_missing_public_dataset_exits_2(tmp_path, capsys):
    assert main(["info", "eegbci:7", "--data-path", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "subject 7" in " ".join(err.split()) and "Traceback" not in err


def test_info_takes_source_kind_options(datasets, capsys):
    root = datasets / "abide-cc200"
    assert main(["info", str(root), "--kind", "roi-series", "--option", "sites=[NYU, UCLA]",
                 "--option", "site_tr={NYU: 1.5}", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert set(info["sites"]) == {"NYU", "UCLA"}
    assert info["tr"] == {"NYU": 1.5, "UCLA": 3.0}     # the option, then ABIDE's table
    assert main(["info", str(root), "--option", "bogus=1"]) == 2
    assert "bogus" in capsys.readouterr().err
    assert main(["info", str(root), "--option", "tr"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err
