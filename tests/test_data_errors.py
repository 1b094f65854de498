"""Bad input gives a `DataError` naming the file and the problem: a corpus of broken files
made from the real recordings (truncation, flipped bytes, wrong extension, empty files), and
event/class/sample problems when making trials."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from data import DatasetSpec, load_dataset
from data.errors import (BadSamplesError, CorruptFileError, DataError, MissingFileError,
                         NoEventsError, TooFewClassesError, TooFewTrialsError,
                         UnknownEventError, UnsupportedFormatError)
from data.readers import open_recording

EEGBCI_S1 = "eegbci/MNE-eegbci-data/files/eegmmidb/1.0.0/S001"
FORMATS = "mne-testing-formats"


def _cut(src: Path, dst: Path, n_bytes: int) -> Path:
    dst.write_bytes(src.read_bytes()[:n_bytes])
    return dst


def _flip(src: Path, dst: Path, start: int, stop: int) -> Path:
    data = bytearray(src.read_bytes())
    for i in range(start, stop):
        data[i] ^= 0xFF
    dst.write_bytes(bytes(data))
    return dst


def build_corpus(datasets: Path, folder: Path) -> dict[str, tuple[Path, type, str]]:
    """name -> (path, expected error class, a word the message must contain)."""
    edf = datasets / EEGBCI_S1 / "S001R03.edf"
    fmt = datasets / FORMATS
    folder.mkdir(parents=True, exist_ok=True)
    c: dict[str, tuple[Path, type, str]] = {}
    c["missing"] = (folder / "no_such_recording.edf", MissingFileError, "not found")
    (folder / "empty.edf").write_bytes(b"")
    c["empty"] = (folder / "empty.edf", CorruptFileError, "empty")
    c["truncated_edf"] = (_cut(edf, folder / "truncated.edf", 1_000_000), CorruptFileError,
                          "truncated")
    c["tiny_edf"] = (_cut(edf, folder / "tiny.edf", 100), CorruptFileError, "too short")
    c["truncated_bdf"] = (_cut(fmt / "BDF/test_generator_2.bdf", folder / "truncated.bdf",
                               1_000_000), CorruptFileError, "truncated")
    c["flipped_header_edf"] = (_flip(edf, folder / "flipped_header.edf", 0, 256),
                               CorruptFileError, "header")
    # flipping bytes inside the data records damages the EDF+ annotation channel
    c["flipped_records_edf"] = (_flip(edf, folder / "flipped_records.edf", 16896, 16896 + 41280),
                                CorruptFileError, "cannot be read")
    shutil.copy(edf, folder / "edf_named.fif")
    c["edf_named_fif"] = (folder / "edf_named.fif", CorruptFileError, "FIF")
    shutil.copy(fmt / "SSS/sample_audvis_trunc_raw_sss.fif", folder / "fif_named.edf")
    c["fif_named_edf"] = (folder / "fif_named.edf", CorruptFileError, "EDF")
    shutil.copy(edf, folder / "edf_named.set")
    c["edf_named_set"] = (folder / "edf_named.set", CorruptFileError, "EEGLAB")
    shutil.copy(edf, folder / "recording.xyz")
    c["unknown_extension"] = (folder / "recording.xyz", UnsupportedFormatError, "extension")
    c["fif_truncated"] = (_cut(fmt / "SSS/sample_audvis_trunc_raw_sss.fif",
                               folder / "truncated_raw.fif", 1_000_000), CorruptFileError, "FIF")
    shutil.copy(fmt / "EEGLAB/test_raw.set", folder / "short_fdt.set")
    _cut(fmt / "EEGLAB/test_raw.fdt", folder / "short_fdt.fdt", 1_000_000)
    # the .set names its data file 'test_raw.fdt': keep that name in a sub-folder
    sub = folder / "eeglab"
    sub.mkdir(exist_ok=True)
    shutil.copy(fmt / "EEGLAB/test_raw.set", sub / "test_raw.set")
    _cut(fmt / "EEGLAB/test_raw.fdt", sub / "test_raw.fdt", 1_000_000)
    c["eeglab_truncated_fdt"] = (sub / "test_raw.set", CorruptFileError, "EEGLAB")
    c["eeglab_data_file_given"] = (folder / "short_fdt.fdt", UnsupportedFormatError, ".set")
    bv = folder / "brainvision"
    bv.mkdir(exist_ok=True)
    for name in ("test_NO.vhdr", "test_NO.vmrk"):
        shutil.copy(fmt / "Brainvision" / name, bv / name)
    _cut(fmt / "Brainvision/test_NO.eeg", bv / "test_NO.eeg", 300_001)
    c["brainvision_truncated_eeg"] = (bv / "test_NO.vhdr", CorruptFileError, "truncated")
    bv2 = folder / "brainvision_no_data"
    bv2.mkdir(exist_ok=True)
    for name in ("test_NO.vhdr", "test_NO.vmrk"):
        shutil.copy(fmt / "Brainvision" / name, bv2 / name)
    c["brainvision_missing_eeg"] = (bv2 / "test_NO.vhdr", MissingFileError, "missing")
    c["cnt_truncated"] = (_cut(fmt / "CNT/scan41_short.cnt", folder / "truncated.cnt", 500_000),
                          CorruptFileError, "truncated")
    c["gdf_truncated"] = (_cut(fmt / "GDF/test_1ch.gdf", folder / "truncated.gdf", 10_000),
                          CorruptFileError, "GDF")
    mff = folder / "truncated.mff"
    shutil.copytree(fmt / "EGI/test_egi_pns.mff", mff)
    for p in mff.rglob("*"):
        p.chmod(0o644 if p.is_file() else 0o755)
    mff.chmod(0o755)
    _cut(fmt / "EGI/test_egi_pns.mff/signal1.bin", mff / "signal1.bin", 1_000_000)
    c["mff_truncated"] = (mff, CorruptFileError, "EGI MFF")
    (folder / "nothing_here").mkdir(exist_ok=True)
    (folder / "nothing_here" / "notes.txt").write_text("no recordings")
    c["folder_without_recordings"] = (folder / "nothing_here", DataError, "no recordings")
    return c


@pytest.fixture(scope="module")
def corpus(datasets, tmp_path_factory):
    return build_corpus(datasets, tmp_path_factory.mktemp("broken"))


CASES = ["missing", "empty", "truncated_edf", "tiny_edf", "truncated_bdf", "flipped_header_edf",
         "flipped_records_edf", "edf_named_fif", "fif_named_edf", "edf_named_set",
         "unknown_extension", "fif_truncated", "eeglab_truncated_fdt", "eeglab_data_file_given",
         "brainvision_truncated_eeg", "brainvision_missing_eeg", "cnt_truncated",
         "gdf_truncated", "mff_truncated", "folder_without_recordings"]


@pytest.mark.parametrize("case", CASES)
def test_broken_file_gives_a_data_error_naming_file_and_problem(corpus, case):
    path, error, word = corpus[case]
    with pytest.raises(error) as info:
        if case == "folder_without_recordings":
            load_dataset(DatasetSpec(source=str(path)))
        else:
            open_recording(path)
    message = str(info.value)
    assert str(path) in message
    assert word.lower() in message.lower(), message
    assert info.value.path == str(path)


def test_corpus_covers_every_case(corpus):
    assert set(CASES) == set(corpus)


# ------------------------------------------------------------------ trial-making errors
def _eegbci(datasets, **kw):
    base = dict(source="eegbci", data_path=str(datasets / "eegbci"), subjects=[2], runs=[3],
                events={"T1": "left", "T2": "right"}, cache=False)
    base.update(kw)
    return DatasetSpec(**base)


def test_event_name_not_present(datasets):
    with pytest.raises(UnknownEventError) as info:
        load_dataset(_eegbci(datasets, events={"T1": "left", "T9": "right"}))
    text = str(info.value)
    assert "'T9'" in text and "T0 (15)" in text and "eegbci" in text


def test_fewer_than_two_classes(datasets):
    with pytest.raises(TooFewClassesError, match="at least two classes"):
        load_dataset(_eegbci(datasets, events={"T1": "hand", "T2": "hand"}))


def test_class_with_too_few_trials(datasets):
    with pytest.raises(TooFewTrialsError) as info:
        load_dataset(_eegbci(datasets, min_trials=10))
    assert "'left' has 7" in str(info.value) or "'left' has 8" in str(info.value)


def test_rejection_that_empties_a_class_is_reported(datasets):
    with pytest.raises(TooFewTrialsError, match="reject"):
        load_dataset(_eegbci(datasets, reject=1.0))


def test_recording_without_events(datasets):
    path = datasets / FORMATS / "Brainvision/test_NO.vhdr"
    with pytest.raises(NoEventsError) as info:
        load_dataset(DatasetSpec(source=str(path), cache=False))
    assert str(path) in str(info.value)


def _eegbci_fif(datasets, folder: Path, name: str, *, sfreq=None, drop=(), nan=False) -> Path:
    import mne

    raw = mne.io.read_raw_edf(datasets / EEGBCI_S1 / "S001R03.edf", preload=True, verbose="error")
    mne.datasets.eegbci.standardize(raw)
    raw.crop(0, 60)
    if drop:
        raw.drop_channels(list(drop))
    if sfreq:
        raw.resample(sfreq, verbose="error")
    if nan:
        raw._data[5, 1000:1100] = np.nan
    path = folder / name
    raw.save(path, overwrite=True, verbose="error")
    return path


def test_nan_samples_are_refused(datasets, tmp_path):
    path = _eegbci_fif(datasets, tmp_path, "sub-1_run-1_raw.fif", nan=True)
    with pytest.raises(BadSamplesError) as info:
        load_dataset(DatasetSpec(source=str(path), events={"T1": "a", "T2": "b"}, min_trials=1))
    assert str(path) in str(info.value) and "100 NaN/Inf samples" in str(info.value)
    assert "FC4" in str(info.value)  # the channel that holds them


def test_mismatched_sampling_rates_refused_unless_resampled(datasets, tmp_path):
    _eegbci_fif(datasets, tmp_path, "sub-1_run-1_raw.fif")
    _eegbci_fif(datasets, tmp_path, "sub-1_run-2_raw.fif", sfreq=128)
    spec = dict(source=str(tmp_path), events={"T1": "a", "T2": "b"}, min_trials=1, cache=False)
    from data.errors import SfreqMismatchError

    with pytest.raises(SfreqMismatchError) as info:
        load_dataset(DatasetSpec(**spec))
    assert "160 Hz" in str(info.value) and "128 Hz" in str(info.value)
    assert "run-2_raw.fif" in str(info.value) and "resample" in str(info.value)
    data = load_dataset(DatasetSpec(**spec, preprocessing={"resample": 100}))
    assert data.sfreq == 100 and data.X.shape[2] == 300
    assert sorted(set(data.run)) == ["1", "2"]


def test_mismatched_channels_common_or_refused(datasets, tmp_path):
    from data.errors import ChannelMismatchError

    _eegbci_fif(datasets, tmp_path, "sub-1_run-1_raw.fif")
    _eegbci_fif(datasets, tmp_path, "sub-1_run-2_raw.fif", drop=("Fp1", "Oz"))
    spec = dict(source=str(tmp_path), events={"T1": "a", "T2": "b"}, min_trials=1, cache=False)
    with pytest.raises(ChannelMismatchError) as info:
        load_dataset(DatasetSpec(**spec, channel_mismatch="error"))
    assert "Fp1" in str(info.value) and "Oz" in str(info.value)
    with pytest.warns(UserWarning, match="dropping .*Fp1, Oz"):
        data = load_dataset(DatasetSpec(**spec))
    assert len(data.ch_names) == 62 and "Fp1" not in data.ch_names
    assert list(data.provenance["dropped_channels"].values()) == [["Fp1", "Oz"]]


def test_bad_window_and_baseline_name_the_setting(datasets):
    from data.errors import InputError

    with pytest.raises(InputError, match="baseline"):
        load_dataset(_eegbci(datasets, window=(0, 2), baseline=(-0.5, 0)))
    with pytest.raises(ValueError, match="window"):   # refused by the schema, where it enters
        _eegbci(datasets, window=(2, 1))
    with pytest.raises(InputError, match="Nyquist"):
        load_dataset(_eegbci(datasets, preprocessing={"band": (8, 90)}))


def test_unknown_channel_pick_names_the_channel(datasets):
    with pytest.raises(DataError, match="XYZ1"):
        load_dataset(_eegbci(datasets, preprocessing={"picks": ["C3", "XYZ1"]}))
