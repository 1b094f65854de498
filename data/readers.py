"""Reading EEG/MEG recording files, and finding them in folders and BIDS roots.

``open_recording(path)`` reads one file (format chosen by extension, BCI2000 ``.dat`` by
content) into an MNE Raw. `folder_files` and `bids_files` list the recording files of a
folder or a BIDS root with their subject / session / run. Which source string means which
files is the business of the source kinds (`data.sources`), not of this module.

Every failure is a `DataError` naming the file and the problem.
"""
from __future__ import annotations

import contextlib
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from .errors import (CorruptFileError, DataError, MissingFileError, UnsupportedFormatError,
                     input_error_from_os)
from .recording import Recording

# extension -> (reader key, what a person calls the format)
FORMATS: dict[str, tuple[str, str]] = {
    ".fif": ("fif", "FIF"), ".fif.gz": ("fif", "FIF"),
    ".edf": ("edf", "EDF"), ".bdf": ("bdf", "BDF"), ".gdf": ("gdf", "GDF"),
    ".vhdr": ("brainvision", "BrainVision"), ".ahdr": ("brainvision", "BrainVision"),
    ".set": ("eeglab", "EEGLAB"), ".cnt": ("cnt", "Neuroscan CNT"), ".mff": ("mff", "EGI MFF"),
}
# data or marker files that belong to a header file a person should open instead
COMPANIONS = {".fdt": ".set", ".eeg": ".vhdr", ".vmrk": ".vhdr", ".amrk": ".ahdr",
              ".dat": ".vhdr"}


@dataclass(frozen=True)
class SourceFile:
    """One recording file of a source and its place in the dataset."""

    path: Path
    subject: str = "1"
    session: str = "1"
    run: str = "1"


# --------------------------------------------------------------------------- one file
def suffix_of(path: str | Path) -> str:
    """The format-defining extension, lower case (``.fif.gz`` counts as one)."""
    name = Path(path).name.lower()
    return ".fif.gz" if name.endswith(".fif.gz") else Path(name).suffix


def format_of(path: str | Path) -> tuple[str, str]:
    """(reader key, format label) for ``path``; `UnsupportedFormatError` if unknown."""
    suffix = suffix_of(path)
    if suffix in FORMATS:
        return FORMATS[suffix]
    from .bci2000 import is_bci2000_file

    if is_bci2000_file(path):  # .dat is also BrainVision's data file: decided by content
        return ("bci2000", "BCI2000")
    if suffix in COMPANIONS:
        header = Path(path).with_suffix(COMPANIONS[suffix]).name
        raise UnsupportedFormatError(
            f"'{suffix}' holds part of a recording, not the recording itself.",
            path, hint=f"Open its header file instead (e.g. {header}).")
    known = ", ".join(sorted(FORMATS))
    raise UnsupportedFormatError(
        f"unknown file extension '{suffix or '(none)'}'.", path,
        hint=f"Recordings can be {known}, a folder of them, or a BIDS root.")


def open_recording(path: str | Path, *, preload: bool = True):
    """Read one recording file into an ``mne.io.BaseRaw`` (format chosen by extension).

    Raises `MissingFileError`, `UnsupportedFormatError` or `CorruptFileError` (truncated,
    damaged or not what its extension says), each naming ``path``.
    """
    path = Path(path)
    if not path.exists():
        raise MissingFileError("file not found.", path)
    reader, label = format_of(path)
    if path.is_dir() and reader != "mff":
        raise DataError("is a folder, not a recording file.", path,
                        hint="Use it as a dataset source instead.")
    if path.is_file() and path.stat().st_size == 0:
        raise CorruptFileError("the file is empty (0 bytes).", path)
    if reader in ("edf", "bdf"):
        _check_edf_size(path, label)
    elif reader == "cnt":
        _check_cnt_size(path)
    elif reader == "brainvision":
        _check_brainvision_size(path)
    if reader == "bci2000":
        from .bci2000 import read_raw

        return read_raw(path, max_sfreq=MAX_SFREQ)
    try:
        raw = _read(path, reader, preload)
        if not preload and raw.n_times:
            # lazy readers only meet a truncated data file when they reach its end
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore")
                raw.get_data(start=raw.n_times - 1, stop=raw.n_times)
    except DataError:
        raise
    except FileNotFoundError as exc:
        missing = getattr(exc, "filename", None) or str(exc)
        raise MissingFileError(f"a file this {label} recording needs is missing ({missing}).",
                               path) from exc
    except (PermissionError, IsADirectoryError, NotADirectoryError) as exc:
        raise input_error_from_os(exc, path) from None
    except MemoryError as exc:
        raise CorruptFileError(f"cannot be read as {label}: its header asks for more memory "
                               "than exists (damaged header?).", path) from exc
    except Exception as exc:  # noqa: BLE001 - every reader failure becomes a DataError
        raise CorruptFileError(f"cannot be read as {label} (damaged, truncated or not a "
                               f"{label} file): {short_error(exc)}", path) from exc
    if raw.n_times == 0 or len(raw.ch_names) == 0:
        raise CorruptFileError(f"the {label} file holds no samples.", path)
    if not 0 < raw.info["sfreq"] <= MAX_SFREQ:   # any format: refuse before anything sized by it
        raise CorruptFileError(f"the {label} header claims a sampling rate of {raw.info['sfreq']:.4g} Hz; "
                               f"more than {MAX_SFREQ:,.0f} Hz is not a real recording (damaged header?).", path)
    return raw


def _read(path: Path, reader: str, preload: bool):
    import mne

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reader chatter (MNE naming notes, mffpy block notes)
        if reader == "cnt":
            return _read_cnt(path, preload)
        if reader == "mff":
            with contextlib.redirect_stdout(io.StringIO()):  # mffpy prints notes on stdout
                return mne.io.read_raw_egi(path, preload=preload, verbose="error")
        functions = {"fif": mne.io.read_raw_fif, "edf": mne.io.read_raw_edf,
                     "bdf": mne.io.read_raw_bdf, "gdf": mne.io.read_raw_gdf,
                     "brainvision": mne.io.read_raw_brainvision,
                     "eeglab": mne.io.read_raw_eeglab}
        return functions[reader](path, preload=preload, verbose="error")


def _read_cnt(path: Path, preload: bool):
    """Neuroscan CNT: 16- and 32-bit files share the extension and MNE cannot always tell.

    When MNE's own detection fails, both are read and the one whose signal is smooth
    (high lag-1 autocorrelation) wins: reading 32-bit samples as 16-bit ones interleaves
    high and low halves and destroys it; reading 16-bit as 32-bit halves the sample count
    and makes it rougher too.
    """
    import mne

    try:
        return mne.io.read_raw_cnt(path, data_format="auto", preload=preload, verbose="error")
    except Exception:  # noqa: BLE001 - fall back to trying both layouts
        pass
    candidates, errors = [], []
    for data_format in ("int16", "int32"):
        try:
            raw = mne.io.read_raw_cnt(path, data_format=data_format, preload=False, verbose="error")
            candidates.append((_smoothness(raw.get_data(stop=min(raw.n_times, 4000))), data_format))
        except Exception as exc:  # noqa: BLE001
            errors.append(f"{data_format}: {short_error(exc)}")
    if not candidates:
        raise CorruptFileError("cannot be read as Neuroscan CNT (neither 16- nor 32-bit "
                               f"layout works): {'; '.join(errors)}", path)
    best = max(candidates)[1]
    raw = mne.io.read_raw_cnt(path, data_format=best, preload=preload, verbose="error")
    raw.info["description"] = f"Neuroscan CNT, data_format={best} (detected)"
    return raw


def _smoothness(data) -> float:
    import numpy as np

    data = data - data.mean(axis=1, keepdims=True)
    num = (data[:, 1:] * data[:, :-1]).sum(axis=1)
    den = (data * data).sum(axis=1)
    ok = den > 0
    return float(np.median(num[ok] / den[ok])) if ok.any() else -1.0


def _check_edf_size(path: Path, label: str) -> None:
    """MNE reads a truncated EDF/BDF without complaint; compare its size with its header."""
    with open(path, "rb") as fh:
        head = fh.read(256)
        if len(head) < 256:
            raise CorruptFileError(f"too short to be an {label} file ({len(head)} bytes; the "
                                   "fixed header alone has 256).", path)
        try:
            header_bytes = int(head[184:192].decode("ascii").strip())
            n_records = int(head[236:244].decode("ascii").strip())
            n_signals = int(head[252:256].decode("ascii").strip())
            fh.seek(256 + n_signals * 216)
            counts = fh.read(n_signals * 8).decode("ascii")
            per_signal = [int(counts[i * 8:(i + 1) * 8].strip()) for i in range(n_signals)]
            samples = sum(per_signal)
            duration = float(head[244:252].decode("ascii").strip())
        except (ValueError, UnicodeDecodeError):
            raise CorruptFileError(f"the {label} header is damaged (its size fields are not "
                                   "numbers).", path) from None
    _check_edf_rate(path, label, per_signal, duration)
    if n_records < 0:  # -1: unknown while recording; nothing to compare
        return
    expected = header_bytes + n_records * samples * (3 if label == "BDF" else 2)
    actual = path.stat().st_size
    if actual < expected:
        raise CorruptFileError(f"the file is truncated: {actual} bytes, but its header "
                               f"describes {n_records} records ({expected} bytes).", path)


MAX_SFREQ = 100_000.0   # Hz; EEG/MEG/ECoG amplifiers stay well below (absurd header values are refused)


def _check_edf_rate(path: Path, label: str, per_signal: list[int], duration: float) -> None:
    """Refuse header values that would make the reader allocate absurd amounts of memory."""
    if duration < 0 or (per_signal and min(per_signal) < 1):
        raise CorruptFileError(f"the {label} header is damaged: record duration {duration:g} s, "
                               f"samples per record {min(per_signal, default=0)}.", path)
    if duration > 0 and per_signal and max(per_signal) / duration > MAX_SFREQ:
        raise CorruptFileError(f"the {label} header claims a sampling rate of {max(per_signal) / duration:.4g} Hz "
                               f"({max(per_signal)} samples per {duration:g} s record); more than "
                               f"{MAX_SFREQ:,.0f} Hz is not a real recording (damaged header?).", path)


def _check_cnt_size(path: Path) -> None:
    """The event table follows the samples; a file that ends before it lost samples."""
    size = path.stat().st_size
    if size < 900:
        raise CorruptFileError(f"too short to be a Neuroscan CNT file ({size} bytes; the setup "
                               "header alone has 900).", path)
    with open(path, "rb") as fh:
        fh.seek(886)  # SETUP.EventTablePos
        event_table = int.from_bytes(fh.read(4), "little", signed=True)
    if event_table > size:
        raise CorruptFileError(f"the file is truncated: {size} bytes, but its header places the "
                               f"event table after the samples at byte {event_table}.", path)


def _check_brainvision_size(path: Path) -> None:
    """A binary BrainVision data file holds whole samples of every channel."""
    import configparser

    text = path.read_bytes().decode("latin-1")
    body = text[text.find("["):] if "[" in text else ""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(body)
        sections = {name.lower(): parser[name] for name in parser.sections()}
        common = sections["common infos"]
        data_file = path.parent / common.get("DataFile", "").strip()
        n_channels = int(common.get("NumberOfChannels", "0"))
        fmt = sections.get("binary infos", {}).get("BinaryFormat", "").strip().upper()
    except (configparser.Error, KeyError, ValueError):
        return  # let MNE's reader report what is wrong with the header
    n_bytes = {"INT_16": 2, "UINT_16": 2, "INT_32": 4, "IEEE_FLOAT_32": 4}.get(fmt)
    if not n_bytes or not n_channels or not data_file.is_file():
        return
    size = data_file.stat().st_size
    if size == 0 or size % (n_channels * n_bytes):
        raise CorruptFileError(f"its data file {data_file.name} is truncated or damaged: {size} "
                               f"bytes is not a whole number of samples ({n_channels} channels "
                               f"x {n_bytes} bytes).", path)


def short_error(exc: BaseException) -> str:
    """An exception as one line of at most 200 characters (for error messages)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


# --------------------------------------------------------------------------- finding files
def same_id(value, wanted) -> bool:
    """'01' matches 1 and '1'; other strings must match exactly."""
    a, b = str(value), str(wanted)
    if a.isdigit() and b.isdigit():
        return int(a) == int(b)
    return a == b


def wanted(value: str, selection) -> bool:
    """True when ``selection`` is None (all) or names ``value`` (see `same_id`)."""
    return selection is None or any(same_id(value, w) for w in selection)


def matches(item: SourceFile, subjects, sessions, runs) -> bool:
    """True when a file's subject, session and run are all among those asked for."""
    return wanted(item.subject, subjects) and wanted(item.session, sessions) and wanted(item.run, runs)


def file_entities(path: Path) -> SourceFile:
    """Subject/session/run from BIDS-like (sub-01_ses-2_run-3) or EEGBCI-like (S001R03)
    names; otherwise subject '1', session '1' and the file name as run."""
    name = path.name
    found = {k: re.search(rf"{k}-([A-Za-z0-9]+)", name) for k in ("sub", "ses", "run")}
    if found["sub"]:
        return SourceFile(path, found["sub"].group(1),
                          found["ses"].group(1) if found["ses"] else "1",
                          found["run"].group(1) if found["run"] else path.stem)
    eegbci = re.fullmatch(r"S(\d{3})R(\d{2})\.edf", name, flags=re.IGNORECASE)
    if eegbci:
        return SourceFile(path, str(int(eegbci.group(1))), "1", str(int(eegbci.group(2))))
    return SourceFile(path, "1", "1", name)


def folder_files(folder: Path, subjects=None, sessions=None, runs=None) -> list[SourceFile]:
    """Every recording file under ``folder`` (recursively) among the subjects / sessions /
    runs asked for (None: all); BCI2000 files take theirs from their header."""
    from .bci2000 import header_entities as bci2000_entities
    from .bci2000 import is_bci2000_file

    found = []
    for path in sorted(folder.rglob("*")):
        if any(part.lower().endswith(".mff") for part in path.relative_to(folder).parts[:-1]):
            continue  # files inside an MFF package
        if suffix_of(path) in FORMATS and (path.is_file() or suffix_of(path) == ".mff"):
            item = file_entities(path)
        elif suffix_of(path) == ".dat" and is_bci2000_file(path):
            subject, session = bci2000_entities(path)
            item = SourceFile(path, subject or "1", session or "1", path.stem)
        else:
            continue
        if matches(item, subjects, sessions, runs):
            found.append(item)
    return found


def bids_files(root: Path, subjects=None, sessions=None, runs=None) -> list[SourceFile]:
    """The EEG / MEG / iEEG recordings of a BIDS root among the subjects / sessions / runs
    asked for (None: all)."""
    import mne_bids

    extensions = [".edf", ".bdf", ".vhdr", ".set", ".fif", ".cnt", ".mff", ".gdf"]
    try:
        paths = mne_bids.find_matching_paths(root, datatypes=["eeg", "meg", "ieeg"],
                                             extensions=extensions, ignore_nosub=True)
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"cannot be read as a BIDS dataset: {short_error(exc)}", root) from exc
    found = []
    for bids_path in sorted(paths, key=lambda p: str(p.fpath)):
        if bids_path.suffix not in ("eeg", "meg", "ieeg"):
            continue
        item = SourceFile(Path(bids_path.fpath), bids_path.subject or "1",
                          bids_path.session or "1", bids_path.run or bids_path.task or "1")
        if matches(item, subjects, sessions, runs):
            found.append(item)
    return found


# --------------------------------------------------------------------------- opening files
def is_eegbci_file(path: Path) -> bool:
    """True for a file named like the dataset's (``S001R03.edf``)."""
    return re.fullmatch(r"S\d{3}R\d{2}\.edf", Path(path).name, flags=re.IGNORECASE) is not None


def open_files(found: list[SourceFile], preload: bool = True, eegbci: bool = False) -> list:
    """`Recording` objects of ``found``. EEGBCI files (``eegbci``, or files named and
    labelled like them) get standard channel names and positions."""
    recordings = []
    for item in found:
        raw = open_recording(item.path, preload=preload)
        if eegbci or (is_eegbci_file(item.path) and raw.ch_names[0].endswith(".")):
            standardize_eegbci(raw)
        recordings.append(Recording(raw, item.subject, item.session, item.run, str(item.path)))
    return recordings


def standardize_eegbci(raw) -> None:
    """Standard channel names ('Fc5.' -> 'FC5') and the standard_1005 montage."""
    from mne.datasets import eegbci

    import mne

    eegbci.standardize(raw)
    # the standard 10-05 positions; MNE 1.13 renames 'standard_1005' to 'colin27_1005'
    builtin = mne.channels.get_builtin_montages()
    name = "colin27_1005" if "colin27_1005" in builtin else "standard_1005"
    raw.set_montage(name, on_missing="ignore", verbose="error")
