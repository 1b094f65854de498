"""The one entry point opens every format, folders, BIDS roots, EEGBCI, MOABB and demos."""
from __future__ import annotations

import shutil
import time

import pytest

from data import DatasetSpec, load_dataset
from data.errors import DataError, MissingFileError
from data.readers import open_recording
from data.sources import open_for_browsing as open_source

# file -> (channels, sfreq, samples), as verified in mne-testing-formats/SOURCE.md
FORMAT_FILES = {
    "BDF/multiple_annotation_chans.bdf": (19, 125.0, 30875),
    "BDF/test_bdf_stim_channel.bdf": (4, 500.0, 5000),
    "BDF/test_generator_2.bdf": (11, 200.0, 120000),
    "Brainvision/Analyzer_nV_Export.vhdr": (32, 500.0, 2),
    "Brainvision/test_NO.vhdr": (65, 5000.0, 2238),
    "Brainvision/test_VAmp.ahdr": (6, 500.0, 4352),
    "CNT/scan41_short.cnt": (128, 400.0, 3070),
    "CNT/test_CNT_events_mne_JWoess_clipped.cnt": (2, 1000.0, 90000),
    "EDF/chtypes_edf.edf": (42, 200.0, 1000),
    "EDF/subsecond_starttime.edf": (3, 512.0, 2560),
    "EDF/test_edf_overlapping_annotations.edf": (64, 128.0, 15872),
    "EDF/test_generator_2.edf": (11, 200.0, 120000),
    "EDF/test_reduced.edf": (139, 512.0, 3072),
    "EDF/test_utf8_annotations.edf": (11, 200.0, 2000),
    "EEGLAB/test_raw.set": (32, 128.0, 30504),
    "EGI/test_egi_evoked.mff": (260, 250.0, 6),
    "EGI/test_egi_multiepoch_eprime.mff": (263, 250.0, 4006),
    "EGI/test_egi_multiepoch_paused.mff": (263, 250.0, 4524),
    "EGI/test_egi_pns.mff": (265, 250.0, 3488),
    "GDF/test_1ch.gdf": (1, 150.0, 4500),
    "SSS/sample_audvis_trunc_raw_sss.fif": (376, 300.3075, 301),
}


def test_the_table_lists_every_recording_in_the_folder(datasets):
    from data.readers import FORMATS, suffix_of

    root = datasets / "mne-testing-formats"
    found = {str(p.relative_to(root)) for p in root.glob("*/*") if suffix_of(p) in FORMATS}
    assert found == set(FORMAT_FILES)


@pytest.mark.parametrize("name", sorted(FORMAT_FILES))
def test_every_format_opens_through_the_entry_point(datasets, name):
    n_channels, sfreq, n_samples = FORMAT_FILES[name]
    path = datasets / "mne-testing-formats" / name
    recordings = open_source(str(path))
    assert len(recordings) == 1
    raw = recordings[0].raw
    assert len(raw.ch_names) == n_channels
    assert raw.info["sfreq"] == pytest.approx(sfreq, rel=1e-5)
    assert raw.n_times == n_samples
    assert recordings[0].path == str(path)


def test_cnt_sample_width_is_detected(datasets):
    """MNE cannot tell 16- from 32-bit CNT here; the smooth reading must win."""
    root = datasets / "mne-testing-formats" / "CNT"
    short = open_recording(root / "scan41_short.cnt")  # 16-bit
    assert "int16" in short.info["description"]
    assert short.n_times == 3070
    clipped = open_recording(root / "test_CNT_events_mne_JWoess_clipped.cnt")  # 32-bit
    assert "int32" in clipped.info["description"]
    # only the 32-bit reading finds all 12 events of the file's event table
    assert len(clipped.annotations) == 12
    # EEG in volts: tens of microvolts, not volts (a wrong width gives nonsense amplitudes)
    assert 1e-7 < short.get_data().std() < 1e-3


def test_eegbci_offline_standard_names_and_montage(datasets):
    recordings = open_source("eegbci:2", data_path=datasets / "eegbci", runs=[3, 4])
    assert [(r.subject, r.session, r.run) for r in recordings] == [("2", "1", "3"), ("2", "1", "4")]
    raw = recordings[0].raw
    assert raw.info["sfreq"] == 160 and len(raw.ch_names) == 64
    assert {"C3", "Cz", "C4", "FCz"} <= set(raw.ch_names) and not any("." in c for c in raw.ch_names)
    assert raw.get_montage() is not None
    assert set(raw.annotations.description) == {"T0", "T1", "T2"}


def test_eegbci_all_local_subjects_and_missing_ones(datasets):
    recordings = open_source("eegbci", data_path=datasets / "eegbci", runs=[3], preload=False)
    assert [r.subject for r in recordings] == ["1", "2", "3"]
    with pytest.raises(MissingFileError, match="subject 2 run 5"):
        open_source("eegbci:2", data_path=datasets / "eegbci", runs=[5])
    with pytest.raises(DataError, match="single session"):
        open_source("eegbci:2", data_path=datasets / "eegbci", sessions=[2])


def test_folder_of_recordings(datasets, tmp_path):
    for run in (3, 4):
        name = f"S002R{run:02d}.edf"
        shutil.copy(datasets / "eegbci/MNE-eegbci-data/files/eegmmidb/1.0.0/S002" / name, tmp_path)
    recordings = open_source(str(tmp_path))
    assert [(r.subject, r.run) for r in recordings] == [("2", "3"), ("2", "4")]
    assert "C3" in recordings[0].raw.ch_names  # EEGBCI files get standard names here too
    assert [r.subject for r in open_source(str(tmp_path), runs=[4])] == ["2"]


def test_bids_root(datasets, tmp_path):
    import mne
    import mne_bids

    root = tmp_path / "bids"
    for run in (3, 4):
        src = datasets / f"eegbci/MNE-eegbci-data/files/eegmmidb/1.0.0/S002/S002R{run:02d}.edf"
        raw = mne.io.read_raw_edf(src, verbose="error")
        bids_path = mne_bids.BIDSPath(subject="02", session="a", task="fists", run=run,
                                      datatype="eeg", root=root)
        mne_bids.write_raw_bids(raw, bids_path, verbose=False, overwrite=True)
    recordings = open_source(str(root))
    assert [(r.subject, r.session, r.run) for r in recordings] == [("02", "a", "3"), ("02", "a", "4")]
    data = load_dataset(DatasetSpec(source=str(root), events={"T1": "left", "T2": "right"},
                                    window=(0, 2)))
    assert len(data) == 30 and set(data.subject) == {"02"} and set(data.run) == {"3", "4"}


def test_moabb_dataset_through_the_same_path():
    data = load_dataset(DatasetSpec(source="moabb:FakeDataset", subjects=[1], window=(0, 1)))
    assert data.class_names == ["fake1", "fake2", "fake3"]
    assert set(data.subject) == {"1"} and len(set(data.run)) > 1


def test_moabb_missing_local_copy_is_a_clear_error_and_downloads_nothing(tmp_path):
    start = time.perf_counter()
    with pytest.raises(MissingFileError, match="local copy") as info:
        open_source("moabb:PhysionetMI", data_path=tmp_path, subjects=[1])
    assert str(tmp_path) in str(info.value)
    assert time.perf_counter() - start < 30
    assert not any(p.is_file() for p in tmp_path.rglob("*"))
    with pytest.raises(DataError, match="not a MOABB dataset"):
        open_source("moabb:NoSuchDataset")


def test_demo_raw_recordings_become_trials():
    data = load_dataset(DatasetSpec(source="demo:motor-imagery", subjects=["1"],
                                    preprocessing={"band": (8, 30)}))
    assert data.class_names == ["left", "right"]
    assert data.sfreq == 160 and set(data.subject) == {"1"}
    assert min(data.summary()["classes"].values()) >= 5
