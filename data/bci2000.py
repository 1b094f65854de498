"""BCI2000 ``.dat`` recordings, read with BCI2000's own reader (``bci2000tools``, GPL: the
optional extra ``neurodeck[bci2000]``). States StimulusCode / StimulusType become annotations
``stim/<code>`` and ``target`` / ``nontarget`` at each stimulus onset."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import CorruptFileError, DataError

MAGIC = (b"HeaderLen=", b"BCI2000V=")


def is_bci2000_file(path: str | Path) -> bool:
    """True for a ``.dat`` file whose first bytes are a BCI2000 header (cheap: 10 bytes)."""
    path = Path(path).expanduser()
    if path.suffix.lower() != ".dat" or not path.is_file():
        return False
    with open(path, "rb") as f:
        head = f.read(10)
    return head.startswith(MAGIC)


def read_raw(path: str | Path, max_sfreq: float | None = None):
    """An ``mne.io.RawArray`` (volts) with the stimulus states as annotations."""
    try:
        from BCI2000Tools.FileReader import bcistream
    except ImportError:
        raise DataError("reading BCI2000 .dat files needs BCI2000's reader: "
                        "pip install neurodeck[bci2000]", path) from None
    import mne

    try:
        stream = bcistream(str(path))
        signal, states = stream.decode()
        sfreq = float(stream.samplingrate())
    except Exception as exc:  # noqa: BLE001 - the reader raises many kinds on damaged files
        raise CorruptFileError(f"cannot be read as a BCI2000 file: {exc}", path) from exc
    if sfreq <= 0 or (max_sfreq is not None and sfreq > max_sfreq):   # data.readers gives its limit
        limit = f"more than {max_sfreq:,.0f} Hz" if sfreq > 0 else "a rate of zero or less"
        raise CorruptFileError(f"the BCI2000 header claims a sampling rate of {sfreq:.4g} Hz; {limit} "
                               "is not a real recording (damaged header?).", path)
    names = stream.params.get("ChannelNames")
    n_channels = signal.shape[0]
    names = [str(n) for n in names] if names is not None and len(names) == n_channels \
        else [f"Ch{i + 1}" for i in range(n_channels)]
    info = mne.create_info(names, sfreq, ch_types="eeg")
    raw = mne.io.RawArray(np.asarray(signal, dtype=np.float64) * 1e-6, info, verbose="error")
    onsets, labels = stimulus_annotations(states)
    if onsets:
        raw.set_annotations(mne.Annotations(np.asarray(onsets) / sfreq, 0.0, labels))
    return raw


def stimulus_annotations(states: dict) -> tuple[list[int], list[str]]:
    """(sample, description) of each StimulusCode onset: ``stim/<code>`` and, when a
    StimulusType state is present, ``target`` or ``nontarget`` at the same sample."""
    if "StimulusCode" not in states:
        return [], []
    code = np.asarray(states["StimulusCode"]).ravel().astype(int)
    kind = np.asarray(states["StimulusType"]).ravel().astype(int) if "StimulusType" in states else None
    starts = np.flatnonzero((code != 0) & (np.r_[0, code[:-1]] != code))
    onsets, labels = [], []
    for s in starts:
        onsets.append(int(s))
        labels.append(f"stim/{code[s]}")
        if kind is not None:
            onsets.append(int(s))
            labels.append("target" if kind[s] else "nontarget")
    return onsets, labels


def header_entities(path: str | Path, limit: int = 1 << 20) -> tuple[str | None, str | None]:
    """(SubjectName, SubjectSession) from the ASCII header, without decoding the signal;
    None where the header lacks them (read at most ``limit`` bytes)."""
    import re

    with open(path, "rb") as f:
        head = f.read(limit).decode("latin-1", errors="replace")
    found = {}
    for key in ("SubjectName", "SubjectSession"):
        match = re.search(rf"\b{key}= (\S+)", head)
        found[key] = match.group(1) if match and match.group(1) not in ("%", "") else None
    session = found["SubjectSession"]
    return found["SubjectName"], str(int(session)) if session and session.isdigit() else session
