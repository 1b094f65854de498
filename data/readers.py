"""One entry point for EEG/MEG recordings: files, folders, BIDS roots, public datasets, demos.

``open_recording(path)`` reads one file (format chosen by extension) into an MNE Raw.
``open_source(source)`` resolves a source string into `Recording` objects:

- a file (FIF, EDF/BDF, GDF, BrainVision, EEGLAB .set, Neuroscan .cnt, EGI .mff);
- a folder of such files, or a BIDS root (a folder with ``dataset_description.json``);
- ``eegbci`` / ``eegbci:1,2``: PhysioNet EEG Motor Movement/Imagery through
  ``mne.datasets.eegbci``, read from a local copy (``data_path`` or ``MNE_DATA``);
- ``moabb:NAME``: a MOABB dataset, read from a local copy, never downloaded;
- ``demo:NAME``: a simulated raw demo (``data.demos``).

Every failure is a `DataError` naming the file and the problem.
"""
from __future__ import annotations

import contextlib
import io
import os
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
EEGBCI_PATTERN = "MNE-eegbci-data/files/eegmmidb/1.0.0/S{s:03d}/S{s:03d}R{r:02d}.edf"


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
    from .sources.bci2000 import is_bci2000_file

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
                        hint="Use it as a dataset source (open_source) instead.")
    if path.is_file() and path.stat().st_size == 0:
        raise CorruptFileError("the file is empty (0 bytes).", path)
    if reader in ("edf", "bdf"):
        _check_edf_size(path, label)
    elif reader == "cnt":
        _check_cnt_size(path)
    elif reader == "brainvision":
        _check_brainvision_size(path)
    if reader == "bci2000":
        from .sources.bci2000 import read_raw

        return read_raw(path)
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
                               f"{label} file): {_short(exc)}", path) from exc
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
            errors.append(f"{data_format}: {_short(exc)}")
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


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


# --------------------------------------------------------------------------- sources
def resolve_files(source: str, *, data_path: str | Path | None = None, subjects=None,
                  sessions=None, runs=None) -> list[SourceFile] | None:
    """The recording files a source stands for, without reading them.

    Returns ``None`` for sources whose files are not plain recordings (demos, MOABB).
    """
    kind, arg = source_kind(source)
    if kind == "eegbci":
        if sessions is not None and not _keep("1", sessions):
            raise DataError(f"EEGBCI has a single session ('1'), not {list(sessions)}.",
                            hint="Leave sessions out for EEGBCI.")
        return _eegbci_files(arg, data_path, subjects, runs)
    if kind in ("demo", "moabb"):
        return None
    path = Path(source).expanduser()
    if not path.exists():
        raise MissingFileError("file or folder not found.", path)
    if path.is_dir() and suffix_of(path) != ".mff":
        if (path / "dataset_description.json").is_file():
            files = _bids_files(path, subjects, sessions, runs)
        else:
            files = _folder_files(path, subjects, sessions, runs)
        if not files:
            raise DataError("no recordings found (matching the subjects/sessions/runs asked "
                            "for).", path, hint=f"Recognised files: {', '.join(sorted(FORMATS))}, BCI2000 .dat.")
        return files
    format_of(path)
    return [_file_entities(path)]


def open_source(source: str, *, data_path: str | Path | None = None, subjects=None,
                sessions=None, runs=None, preload: bool = True, spec=None) -> list[Recording]:
    """Open every recording a source names, as `Recording` objects (MNE Raw + entities).

    ``spec`` (a `DatasetSpec`) is only used by demos, which simulate from its seed.
    """
    kind, arg = source_kind(source)
    if kind == "demo":
        return _demo_recordings(arg, source, data_path, subjects, sessions, runs, spec)
    if kind == "moabb":
        return _moabb_recordings(arg, data_path, subjects, sessions, runs)
    files = resolve_files(source, data_path=data_path, subjects=subjects, sessions=sessions,
                          runs=runs)
    if kind == "eegbci":
        _eegbci_load(files, data_path)
    recordings = []
    for item in files:
        raw = open_recording(item.path, preload=preload)
        if kind == "eegbci" or (_is_eegbci_name(item.path) and raw.ch_names[0].endswith(".")):
            _standardize_eegbci(raw)
        recordings.append(Recording(raw, item.subject, item.session, item.run, str(item.path)))
    return recordings


def source_kind(source: str) -> tuple[str, str]:
    """('eegbci' | 'demo' | 'moabb' | 'path', the part after the prefix)."""
    text = str(source).strip()
    lower = text.lower()
    if lower == "eegbci" or lower.startswith("eegbci:"):
        return "eegbci", text[7:]
    for prefix in ("demo", "moabb"):
        if lower.startswith(prefix + ":"):
            return prefix, text[len(prefix) + 1:].strip()
    return "path", text


def _same_id(value, wanted) -> bool:
    """'01' matches 1 and '1'; other strings must match exactly."""
    a, b = str(value), str(wanted)
    if a.isdigit() and b.isdigit():
        return int(a) == int(b)
    return a == b


def _keep(value: str, wanted) -> bool:
    return wanted is None or any(_same_id(value, w) for w in wanted)


def _is_eegbci_name(path: Path) -> bool:
    return re.fullmatch(r"S\d{3}R\d{2}\.edf", path.name, flags=re.IGNORECASE) is not None


def _file_entities(path: Path) -> SourceFile:
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


def _folder_files(folder: Path, subjects, sessions, runs) -> list[SourceFile]:
    from .sources.bci2000 import header_entities as bci2000_entities
    from .sources.bci2000 import is_bci2000_file

    found = []
    for path in sorted(folder.rglob("*")):
        if any(part.lower().endswith(".mff") for part in path.relative_to(folder).parts[:-1]):
            continue  # files inside an MFF package
        if suffix_of(path) in FORMATS and (path.is_file() or suffix_of(path) == ".mff"):
            item = _file_entities(path)
        elif suffix_of(path) == ".dat" and is_bci2000_file(path):
            subject, session = bci2000_entities(path)
            item = SourceFile(path, subject or "1", session or "1", path.stem)
        else:
            continue
        if _keep(item.subject, subjects) and _keep(item.session, sessions) and _keep(item.run, runs):
            found.append(item)
    return found


def _bids_files(root: Path, subjects, sessions, runs) -> list[SourceFile]:
    import mne_bids

    extensions = [".edf", ".bdf", ".vhdr", ".set", ".fif", ".cnt", ".mff", ".gdf"]
    try:
        paths = mne_bids.find_matching_paths(root, datatypes=["eeg", "meg", "ieeg"],
                                             extensions=extensions, ignore_nosub=True)
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"cannot be read as a BIDS dataset: {_short(exc)}", root) from exc
    found = []
    for bids_path in sorted(paths, key=lambda p: str(p.fpath)):
        if bids_path.suffix not in ("eeg", "meg", "ieeg"):
            continue
        item = SourceFile(Path(bids_path.fpath), bids_path.subject or "1",
                          bids_path.session or "1", bids_path.run or bids_path.task or "1")
        if _keep(item.subject, subjects) and _keep(item.session, sessions) \
                and _keep(item.run, runs):
            found.append(item)
    return found


# --------------------------------------------------------------------------- EEGBCI
def _eegbci_root(data_path) -> Path:
    import mne

    root = data_path or mne.get_config("MNE_DATASETS_EEGBCI_PATH") or mne.get_config("MNE_DATA")
    if root is None:
        root = Path.home() / "mne_data"
    return Path(root).expanduser()


def _eegbci_files(arg: str, data_path, subjects, runs) -> list[SourceFile]:
    root = _eegbci_root(data_path)
    if arg.strip():
        try:
            subjects = [int(s) for s in arg.split(",") if s.strip()]
        except ValueError:
            raise DataError(f"'eegbci:{arg}' should list subject numbers, e.g. eegbci:1,2.") \
                from None
    base = root / "MNE-eegbci-data/files/eegmmidb/1.0.0"
    if subjects is None:
        subjects = sorted(int(p.name[1:]) for p in base.glob("S[0-9][0-9][0-9]") if p.is_dir())
        if not subjects:
            raise MissingFileError("no local copy of the EEGBCI dataset here (expected "
                                   "MNE-eegbci-data/files/eegmmidb/1.0.0/S001/...).", root,
                                   hint="Set data_path to the folder that holds MNE-eegbci-data.")
    files = []
    for subject in subjects:
        subject = _as_int(subject, "subject")
        wanted = runs if runs is not None else sorted(
            int(p.stem[-2:]) for p in (base / f"S{subject:03d}").glob(f"S{subject:03d}R[0-9][0-9].edf"))
        if not wanted:
            raise MissingFileError(f"no local EEGBCI files for subject {subject}.",
                                   base / f"S{subject:03d}",
                                   hint="The dataset is read offline; copy the files there first.")
        for run in wanted:
            run = _as_int(run, "run")
            path = root / EEGBCI_PATTERN.format(s=subject, r=run)
            if not path.is_file():
                raise MissingFileError(f"EEGBCI subject {subject} run {run} is not in the local "
                                       "copy.", path, hint="The dataset is read offline; copy "
                                       "the file there or leave that subject/run out.")
            files.append(SourceFile(path, str(subject), "1", str(run)))
    return files


def _eegbci_load(files: list[SourceFile], data_path) -> list[Path]:
    """Paths through ``mne.datasets.eegbci.load_data``, the lookup a user's own script does
    (every file was checked to exist, so it downloads nothing)."""
    from mne.datasets import eegbci

    runs_of: dict[int, tuple[int, ...]] = {}
    for f in files:
        runs_of[int(f.subject)] = runs_of.get(int(f.subject), ()) + (int(f.run),)
    groups: dict[tuple[int, ...], list[int]] = {}
    for subject, runs in runs_of.items():
        groups.setdefault(runs, []).append(subject)
    found = set()
    for runs, subjects in groups.items():
        found |= {Path(p) for p in eegbci.load_data(subjects, list(runs), path=str(
            _eegbci_root(data_path)), update_path=False, verbose="error")}
    return [f.path for f in files if f.path in found]


def _as_int(value, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DataError(f"EEGBCI {what} '{value}' is not a number.") from None


def _standardize_eegbci(raw) -> None:
    """Standard channel names ('Fc5.' -> 'FC5') and the standard_1005 montage."""
    from mne.datasets import eegbci

    import mne

    eegbci.standardize(raw)
    # the standard 10-05 positions; MNE 1.13 renames 'standard_1005' to 'colin27_1005'
    builtin = mne.channels.get_builtin_montages()
    name = "colin27_1005" if "colin27_1005" in builtin else "standard_1005"
    raw.set_montage(name, on_missing="ignore", verbose="error")


# --------------------------------------------------------------------------- MOABB
@contextlib.contextmanager
def _moabb_offline(data_path):
    """Point MOABB at ``data_path`` (via MNE_DATA) and turn any download into an error."""
    import moabb.datasets.download as download

    real_retrieve = download.retrieve

    def offline_retrieve(url, known_hash, fname=None, path=None, **kwargs):
        target = Path(path or ".") / (fname or Path(url).name)
        if not target.exists():
            raise MissingFileError("is not in the local copy of the dataset (NeuroDeck reads "
                                   "MOABB datasets offline and downloads nothing).", target)
        return real_retrieve(url, known_hash, fname=fname, path=path, **kwargs)

    # "upstream" stops MOABB's NEMAR mirror look-ups (network); upstream fetches go through
    # `retrieve`, which only accepts files already present.
    overrides = {"MOABB_DOWNLOAD_PROVIDER": "upstream"}
    if data_path is not None:
        overrides["MNE_DATA"] = str(Path(data_path).expanduser())
    saved = {k: os.environ.get(k) for k in overrides}
    os.environ.update(overrides)
    download.retrieve = offline_retrieve
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        download.retrieve = real_retrieve
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def moabb_dataset(name: str):
    """Instantiate the MOABB dataset class called ``name``."""
    import moabb.datasets

    cls = getattr(moabb.datasets, name, None)
    if not isinstance(cls, type):
        raise DataError(f"'moabb:{name}' is not a MOABB dataset.",
                        hint="Use the class name, e.g. moabb:BNCI2014_001.")
    return cls()


def _moabb_copy_error(message: str, exc: BaseException, data_path) -> MissingFileError:
    """``message: <cause>``, reported against the MOABB data folder in use."""
    return MissingFileError(f"{message}: {_short(exc)}",
                            data_path or os.environ.get("MNE_DATA", "~/mne_data"))


def moabb_files(name: str, data_path, subjects) -> list[str]:
    """Local files of a MOABB dataset's subjects (empty for simulated ones)."""
    dataset = moabb_dataset(name)
    files: list[str] = []
    with _moabb_offline(data_path):
        for subject in subjects or dataset.subject_list:
            try:
                found = dataset.data_path(subject)
            except NotImplementedError:
                return []
            except DataError:
                raise
            except Exception as exc:  # noqa: BLE001
                raise _moabb_copy_error(f"the local copy of MOABB dataset {name} (subject "
                                        f"{subject}) cannot be used", exc, data_path) from exc
            found = [found] if isinstance(found, (str, Path)) else list(found or [])
            files.extend(str(f) for f in found)
    return files


def _moabb_recordings(name, data_path, subjects, sessions, runs) -> list[Recording]:
    dataset = moabb_dataset(name)
    if subjects is not None:
        unknown = [s for s in subjects if not any(_same_id(s, k) for k in dataset.subject_list)]
        if unknown:
            raise DataError(f"MOABB dataset {name} has no subject(s) {unknown}.",
                            hint=f"Subjects: {dataset.subject_list}.")
        subjects = [k for k in dataset.subject_list if any(_same_id(s, k) for s in subjects)]
    with _moabb_offline(data_path):
        try:
            data = dataset.get_data(subjects)
        except DataError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise _moabb_copy_error(f"MOABB dataset {name} cannot be read from its local copy",
                                    exc, data_path) from exc
    recordings = []
    for subject, by_session in data.items():
        for session, by_run in by_session.items():
            if not _keep(str(session), sessions):
                continue
            for run, raw in by_run.items():
                if not _keep(str(run), runs):
                    continue
                if len(raw.annotations) == 0:
                    _stim_to_annotations(raw, dataset.event_id)
                recordings.append(Recording(raw, str(subject), str(session), str(run),
                                            f"moabb:{name}"))
    if not recordings:
        raise DataError(f"MOABB dataset {name} has no recordings for the sessions/runs asked for.")
    return recordings


def _stim_to_annotations(raw, event_id: dict) -> None:
    import mne

    events = mne.find_events(raw, shortest_event=1, verbose="error")
    names = {code: name for name, code in event_id.items()}
    keep = [e for e in events if e[2] in names]
    if keep:
        raw.set_annotations(raw.annotations + mne.Annotations(
            [raw.times[e[0] - raw.first_samp] for e in keep], [0.0] * len(keep),
            [names[e[2]] for e in keep], orig_time=raw.annotations.orig_time))


# --------------------------------------------------------------------------- demos
def _demo_recordings(name, source, data_path, subjects, sessions, runs, spec) -> list[Recording]:
    from . import demos
    from .spec import DatasetSpec

    demo = demos.get(name)
    if demo.kind != "raw":
        raise DataError(f"'{source}' builds a ready-made data set, not raw recordings.",
                        hint="Load it with load_dataset instead.")
    if spec is None:
        spec = DatasetSpec(source=source, data_path=None if data_path is None else str(data_path),
                           subjects=subjects, sessions=sessions, runs=runs)
    recordings = list(demo.build(spec))
    return [r for r in recordings if _keep(r.subject, subjects) and _keep(r.session, sessions)
            and _keep(r.run, runs)]
