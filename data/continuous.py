"""Continuous features with kinematic targets -> `DecodingSet(kind="continuous")`.

Sources (``DatasetSpec.source`` with options in ``DatasetSpec.continuous``):

- a folder holding a feature table and a target table (``x.csv`` + ``z.csv`` as in the
  Flint/DKF data, or ``features.*`` + ``targets.*``; ``.csv``, ``.tsv``, ``.npy``);
  ``features`` / ``targets`` may name other files in the folder;
- one CSV/TSV table (header or not) or ``.npy`` matrix: ``features`` and ``targets`` pick
  columns by name or 0-based index;
- an ``.npz`` or ``.mat`` file: ``features`` and ``targets`` name keys (2-D arrays are
  (n_samples, n_columns); a list of keys is stacked column-wise);
- spike times: a table with columns ``time`` and ``unit`` (or keys ``spike_times`` and
  ``spike_units``) binned into counts per unit with ``bin_width`` seconds. Targets then need
  a ``time`` column (or a ``target_times`` / ``times`` key) and are averaged per bin. Timed
  feature tables (a ``time`` column) are summed per bin the same way (counts at a finer
  resolution).

- a recording MNE reads (FIF, EDF, BrainVision, ...) with continuous target channels
  (``targets``: e.g. misc channels holding velocity): features are the channels
  ``features`` names (names or types; default ``preprocessing.picks``) as their mean per
  ``bin_width`` bin, or their log power in ``preprocessing.band`` per bin.

``lags`` appends the previous bins' features to each sample and drops the first ``lags``
bins. Samples stay in time order; splits over them must be contiguous (evaluation's
``holdout`` / ``blocked-kfold``).
"""
from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .decoding_set import DecodingSet
from .errors import BadSamplesError, CorruptFileError, DataError, MissingFileError, UnsupportedFormatError
from .spec import DatasetSpec

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".npy")
KEYED_SUFFIXES = (".npz", ".mat")
FEATURE_STEMS = ("x", "features", "neural", "spikes")
TARGET_STEMS = ("z", "y", "targets", "kinematics", "velocity")
TIME_COLUMNS = ("time", "t", "time_s", "timestamp", "times")


@dataclass
class Table:
    """Columns read from a file: values (n_rows, n_cols), their names, optional times."""

    values: np.ndarray
    names: list[str]
    path: Path
    times: np.ndarray | None = None
    spikes: bool = False  # values[:, 0] are unit ids of spikes at ``times``


def looks_like_continuous_folder(folder: str | Path) -> bool:
    """True when ``folder`` holds a feature table and a target table (e.g. x.csv + z.csv)."""
    folder = Path(folder)
    return _find_stem(folder, FEATURE_STEMS) is not None and _find_stem(folder, TARGET_STEMS) is not None


def load_continuous(spec: DatasetSpec | dict) -> DecodingSet:
    """Read features and targets, bin and lag them, and return a continuous `DecodingSet`."""
    if isinstance(spec, dict):
        spec = DatasetSpec.model_validate(spec)
    opts = spec.continuous
    features_sel = opts.features if opts else None
    targets_sel = opts.targets if opts else None
    bin_width = opts.bin_width if opts else None
    lags = opts.lags if opts else 0
    source = Path(spec.source).expanduser()
    if not source.exists():
        raise MissingFileError("no such file or folder.", path=source)
    steps: list[tuple[str, dict]] = []
    sfreq = None
    modality = None
    if source.is_dir():
        feats, targs = _read_folder(source, features_sel, targets_sel)
    elif source.suffix.lower() in TABLE_SUFFIXES + KEYED_SUFFIXES:
        feats, targs = _read_single(source, features_sel, targets_sel)
    else:  # a recording MNE reads (FIF, EDF, BrainVision ...) with target channels
        feats, targs, modality = _read_recording(source, spec)
        steps.append(("bin", {"bin_width": bin_width, "features": "log band power" if
                              spec.preprocessing.band else "mean signal", "band": spec.preprocessing.band}))
        sfreq, bin_width = 1.0 / bin_width, None

    if bin_width is not None:
        feats, targs, start = bin_tables(feats, targs, bin_width)
        steps.append(("bin", {"bin_width": bin_width, "start": start}))
        sfreq = 1.0 / bin_width
    elif feats.spikes or feats.times is not None and len(feats.values) != len(targs.values):
        raise DataError("features are time-stamped (spike times or a time column) but no bin width "
                        "was given.", path=feats.path, hint="Set dataset.continuous.bin_width (seconds).")
    if len(feats.values) != len(targs.values):
        raise DataError(f"{len(feats.values)} feature rows but {len(targs.values)} target rows in "
                        f"{targs.path}; rows must be aligned time bins.", path=feats.path)
    X, y, names = feats.values, targs.values, feats.names
    for table, arr in ((feats, X), (targs, y)):
        _check_finite(arr, table)
    if lags:
        X, names = add_lags(X, names, lags)
        y = y[lags:]
        steps.append(("lags", {"lags": lags}))
    if len(X) < 2:
        raise DataError(f"only {len(X)} samples after binning/lags.", path=source)
    n = len(X)
    data = DecodingSet(
        X=np.ascontiguousarray(X, dtype=float), y=np.ascontiguousarray(y, dtype=float),
        kind="continuous", modality=modality or ("spikes" if feats.spikes else "features"),
        subject=np.full(n, "1"), session=np.full(n, "1"), run=np.full(n, "1"), sfreq=sfreq,
        ch_names=list(names), ch_types=["misc"] * len(names), target_names=list(targs.names),
        times=None if sfreq is None else np.arange(n) / sfreq,
        provenance={"source": str(spec.source),
                    "files": sorted({str(feats.path), str(targs.path)})},
    )
    for name, params in steps:
        data.with_step(name, **params)
    return data


# -------------------------------------------------------------------------- reading
def _find_stem(folder: Path, stems) -> Path | None:
    for stem in stems:
        for suffix in TABLE_SUFFIXES:
            for candidate in (folder / f"{stem}{suffix}", folder / f"{stem.upper()}{suffix}"):
                if candidate.is_file():
                    return candidate
    return None


def _read_folder(folder: Path, features_sel, targets_sel) -> tuple[Table, Table]:
    def pick(selection, stems, role) -> tuple[Path, object]:
        # a selection naming a file in the folder picks that file (all its columns)
        if isinstance(selection, str) and (folder / selection).is_file():
            return folder / selection, None
        found = _find_stem(folder, stems)
        if found is None:
            raise MissingFileError(f"no {role} table found (looked for {', '.join(s + '.csv' for s in stems)}).",
                                   path=folder, hint=f"Name it with dataset.continuous.{role}.")
        return found, selection

    fpath, fsel = pick(features_sel, FEATURE_STEMS, "features")
    tpath, tsel = pick(targets_sel, TARGET_STEMS, "targets")
    return _read_table(fpath, fsel, "features", spikes_ok=True), _read_table(tpath, tsel, "targets")


def _read_single(path: Path, features_sel, targets_sel) -> tuple[Table, Table]:
    suffix = path.suffix.lower()
    if suffix in KEYED_SUFFIXES:
        arrays = _read_keyed(path)
        return _keyed_features(arrays, path, features_sel), _keyed_targets(arrays, path, targets_sel)
    if suffix not in TABLE_SUFFIXES:
        raise UnsupportedFormatError(f"'{suffix}' is not a continuous-data format "
                                     "(.csv, .tsv, .txt, .npy, .npz, .mat).", path=path)
    if targets_sel is None:
        raise DataError("a single table holds both features and targets: say which columns are targets.",
                        path=path, hint="Set dataset.continuous.targets (column names or indices).")
    names, values = _read_matrix(path)
    times, names, values = _split_time(names, values)
    t_cols = _columns(names, targets_sel, path, "targets")
    f_cols = (_columns(names, features_sel, path, "features") if features_sel is not None
              else [i for i in range(len(names)) if i not in t_cols])
    if not f_cols:
        raise DataError("no feature columns left once the targets are taken.", path=path)
    return (Table(values[:, f_cols], [names[i] for i in f_cols], path, times),
            Table(values[:, t_cols], [names[i] for i in t_cols], path, times))


def _read_table(path: Path, selection, role: str, spikes_ok: bool = False) -> Table:
    names, values = _read_matrix(path)
    lowered = [n.lower() for n in names]
    if spikes_ok and sorted(lowered) == ["time", "unit"]:
        return Table(values[:, [lowered.index("unit")]], ["unit"], path,
                     values[:, lowered.index("time")], spikes=True)
    times, names, values = _split_time(names, values)
    if selection is not None:
        cols = _columns(names, selection, path, role)
        names, values = [names[i] for i in cols], values[:, cols]
    return Table(values, names, path, times)


def _read_matrix(path: Path) -> tuple[list[str], np.ndarray]:
    """(column names, float matrix) of a CSV/TSV/TXT table (header optional) or an .npy file."""
    if path.suffix.lower() == ".npy":
        try:
            values = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise CorruptFileError(f"cannot read as a NumPy array ({exc}).", path=path) from None
        values = _as_matrix(values, path)
        return [f"{path.stem}{i}" for i in range(values.shape[1])], values
    delimiter = "\t" if path.suffix.lower() == ".tsv" else None
    try:
        with open(path, encoding="utf-8-sig") as fh:
            first = fh.readline()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptFileError(f"cannot read as text ({exc}).", path=path) from None
    if delimiter is None:
        delimiter = "," if "," in first else ("\t" if "\t" in first else None)
    cells = [c.strip().strip('"') for c in first.strip().split(delimiter)]
    has_header = any(not _is_number(c) for c in cells if c)
    try:
        values = np.loadtxt(path, delimiter=delimiter, skiprows=int(has_header), ndmin=2,
                            encoding="utf-8-sig")
    except ValueError as exc:
        raise CorruptFileError(f"not a numeric table ({exc}).", path=path) from None
    if values.size == 0:
        raise DataError("the table has no rows.", path=path)
    # headerless columns are named after the file: x0, x1, ... / z0, z1
    names = cells if has_header else [f"{path.stem}{i}" for i in range(values.shape[1])]
    if len(names) != values.shape[1]:
        raise CorruptFileError(f"the header names {len(names)} columns but rows have {values.shape[1]}.", path=path)
    return names, values


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _as_matrix(values, path: Path, key: str | None = None) -> np.ndarray:
    where = f"key '{key}'" if key else "the array"
    arr = np.asarray(values)
    if arr.dtype.kind not in "biuf":
        raise CorruptFileError(f"{where} is not numeric (dtype {arr.dtype}).", path=path)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise DataError(f"{where} has shape {arr.shape}; expected (n_samples, n_columns).", path=path)
    return arr.astype(float)


def _split_time(names: list[str], values: np.ndarray):
    """Take a time column (named time, t, ...) out of a table, if there is one."""
    lowered = [n.lower() for n in names]
    for col in TIME_COLUMNS:
        if col in lowered:
            i = lowered.index(col)
            keep = [j for j in range(len(names)) if j != i]
            return values[:, i], [names[j] for j in keep], values[:, keep]
    return None, names, values


def _columns(names: list[str], selection, path: Path, role: str) -> list[int]:
    wanted = [selection] if isinstance(selection, (str, int)) else list(selection)
    out = []
    for item in wanted:
        key = str(item)
        if key in names:
            out.append(names.index(key))
        elif key.lstrip("-").isdigit() and -len(names) <= int(key) < len(names):  # an index
            out.append(int(key) % len(names))
        else:
            raise DataError(f"no column '{key}' for the {role}.", path=path,
                            hint=f"Columns: {', '.join(names[:20])}{' ...' if len(names) > 20 else ''}.")
    return out


def _read_keyed(path: Path) -> dict[str, np.ndarray]:
    if path.suffix.lower() == ".npz":
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:   # damaged or cut short
            raise CorruptFileError(f"cannot read as .npz without pickles ({exc}).", path=path) from None
    try:
        from pymatreader import read_mat

        raw = read_mat(str(path))
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file
        raise CorruptFileError(f"cannot read as a MATLAB file ({exc}).", path=path) from None
    return {k: v for k, v in raw.items() if not k.startswith("__")}


def _keyed_features(arrays: dict, path: Path, selection) -> Table:
    if selection is None and {"spike_times", "spike_units"} <= set(arrays):
        return Table(_as_matrix(arrays["spike_units"], path, "spike_units"), ["unit"], path,
                     np.asarray(arrays["spike_times"], float).ravel(), spikes=True)
    keys = _keys(arrays, path, selection, FEATURE_STEMS, "features")
    return _stack(arrays, keys, path, _times(arrays, ("feature_times", "times", "t", "time")))


def _keyed_targets(arrays: dict, path: Path, selection) -> Table:
    keys = _keys(arrays, path, selection, TARGET_STEMS, "targets")
    return _stack(arrays, keys, path, _times(arrays, ("target_times", "times", "t", "time")))


def _keys(arrays: dict, path: Path, selection, stems, role) -> list[str]:
    if selection is None:
        found = [s for s in stems if s in arrays] + [s.upper() for s in stems if s.upper() in arrays]
        if not found:
            raise DataError(f"say which key holds the {role}.", path=path,
                            hint=f"Set dataset.continuous.{role}; keys: {', '.join(sorted(arrays))}.")
        return found[:1]
    keys = [selection] if isinstance(selection, str) else [str(s) for s in selection]
    for key in keys:
        if key not in arrays:
            raise DataError(f"no key '{key}' for the {role}.", path=path,
                            hint=f"Keys: {', '.join(sorted(arrays))}.")
    return keys


def _stack(arrays: dict, keys: list[str], path: Path, times) -> Table:
    mats = [_as_matrix(arrays[k], path, k) for k in keys]
    lengths = {len(m) for m in mats}
    if len(lengths) > 1:
        raise DataError(f"keys {', '.join(keys)} have different lengths {sorted(lengths)}.", path=path)
    names = [k if m.shape[1] == 1 else f"{k}{i}" for k, m in zip(keys, mats) for i in range(m.shape[1])]
    values = np.hstack(mats)
    if times is not None and len(times) != len(values):
        times = None
    return Table(values, names, path, times)


def _times(arrays: dict, keys) -> np.ndarray | None:
    for key in keys:
        if key in arrays:
            return np.asarray(arrays[key], float).ravel()
    return None


def _check_finite(values: np.ndarray, table: Table) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        name = table.names[col] if col < len(table.names) else str(col)
        raise BadSamplesError(f"{int(bad.sum())} NaN/Inf value(s); the first in column '{name}', "
                              f"row {int(row)} (0-based, after binning).", path=table.path,
                              hint="Remove or interpolate those rows first.")


# ------------------------------------------------------------- MNE recordings
def _read_recording(path: Path, spec: DatasetSpec) -> tuple[Table, Table, str]:
    """Features and targets binned from one recording: targets are (misc) channels named in
    ``continuous.targets``; features are the channels ``continuous.features`` names (or
    ``preprocessing.picks``), as the mean signal per bin or, with ``preprocessing.band``,
    the log power in that band per bin."""
    from .readers import open_recording

    opts = spec.continuous
    if opts is None or opts.targets is None:
        raise DataError("name the target channels of this recording.", path=path,
                        hint="Set dataset.continuous.targets (e.g. [vx, vy]) and bin_width.")
    if opts.bin_width is None:
        raise DataError("a recording is binned into samples: set dataset.continuous.bin_width (seconds).",
                        path=path)
    raw = open_recording(path)
    names = list(raw.ch_names)
    targets = [opts.targets] if isinstance(opts.targets, (str, int)) else list(opts.targets)
    target_chs = [_channel(names, t, path, "targets") for t in targets]
    picks = opts.features if opts.features is not None else spec.preprocessing.picks
    picks = [picks] if isinstance(picks, (str, int)) else list(picks)
    types = dict(zip(names, raw.get_channel_types()))
    feature_chs = []
    for p in picks:
        if isinstance(p, str) and p in set(types.values()) and p not in names:
            feature_chs += [n for n in names if types[n] == p]
        else:
            feature_chs.append(_channel(names, p, path, "features"))
    feature_chs = [c for c in dict.fromkeys(feature_chs) if c not in target_chs]
    if not feature_chs:
        raise DataError(f"no feature channels: {picks} selects none besides the targets.", path=path,
                        hint=f"Channel types here: {', '.join(sorted(set(types.values())))}.")
    sfreq = raw.info["sfreq"]
    feats = raw.get_data(picks=feature_chs)
    band = spec.preprocessing.band
    if band is not None:
        import mne

        feats = mne.filter.filter_data(feats, sfreq, band[0], band[1], verbose="error") ** 2
    edges = np.arange(0, raw.n_times / sfreq + 1e-9, opts.bin_width)
    if len(edges) < 3:
        raise DataError(f"the recording ({raw.n_times / sfreq:.3g} s) is shorter than two bins.", path=path)
    times = raw.times
    X = bin_rows(times, feats.T, edges, "mean")
    if band is not None:
        X = np.log(X + 1e-30)
    y = bin_rows(times, raw.get_data(picks=target_chs).T, edges, "mean")
    centres = (edges[:-1] + edges[1:]) / 2
    kinds = {types[c] for c in feature_chs}
    modality = "ieeg" if kinds & {"ecog", "seeg", "dbs"} else (kinds.pop() if len(kinds) == 1 else "mixed")
    return Table(X, feature_chs, path, centres), Table(y, target_chs, path, centres), modality


def _channel(names: list[str], item, path: Path, role: str) -> str:
    if str(item) in names:
        return str(item)
    raise DataError(f"no channel '{item}' for the {role}.", path=path,
                    hint=f"Channels: {', '.join(names[:30])}{' ...' if len(names) > 30 else ''}.")


# -------------------------------------------------------------------- binning, lags
def bin_spike_times(times: np.ndarray, units: np.ndarray, edges: np.ndarray,
                    unit_ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Counts (n_bins, n_units) of spikes per unit in the bins given by ``edges``."""
    units = np.asarray(units).ravel()
    unit_ids = np.unique(units) if unit_ids is None else unit_ids
    counts = np.zeros((len(edges) - 1, len(unit_ids)))
    for j, u in enumerate(unit_ids):
        counts[:, j] = np.histogram(times[units == u], bins=edges)[0]
    return counts, unit_ids


def bin_rows(times: np.ndarray, values: np.ndarray, edges: np.ndarray, how: str) -> np.ndarray:
    """Sum (``how="sum"``) or average (``"mean"``) time-stamped rows in each bin; empty bins: NaN mean."""
    idx = np.searchsorted(edges, times, side="right") - 1
    inside = (idx >= 0) & (idx < len(edges) - 1)
    out = np.zeros((len(edges) - 1, values.shape[1]))
    np.add.at(out, idx[inside], values[inside])
    if how == "mean":
        counts = np.bincount(idx[inside], minlength=len(edges) - 1)[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(counts > 0, out / np.maximum(counts, 1), np.nan)
    return out


def bin_tables(feats: Table, targs: Table, bin_width: float) -> tuple[Table, Table, float]:
    """Bin time-stamped features (spike times or rows) and targets onto one grid."""
    for table, role in ((feats, "features"), (targs, "targets")):
        if table.times is None:
            raise DataError(f"binning needs times for the {role}: a 'time' column (seconds) "
                            "or a times key.", path=table.path)
        if len(table.times) and np.any(np.diff(table.times) < 0) and not table.spikes:
            raise DataError(f"the {role}' time column is not increasing.", path=table.path)
    # spikes are events, not samples: then the targets' span alone sets the extent
    spans = [_span(targs.times)] + ([] if feats.spikes else [_span(feats.times)])
    start, stop = max(s[0] for s in spans), min(s[1] for s in spans)
    n_bins = int(np.floor((stop - start) / bin_width + 1e-9))
    if n_bins < 2:
        raise DataError(f"features and targets overlap for {max(stop - start, 0):.3g} s, fewer than "
                        f"two bins of {bin_width} s.", path=feats.path)
    edges = start + bin_width * np.arange(n_bins + 1)
    if feats.spikes:
        values, ids = bin_spike_times(feats.times, feats.values[:, 0], edges)
        names = [f"unit{int(u) if float(u).is_integer() else u}" for u in ids]
    else:
        values, names = bin_rows(feats.times, feats.values, edges, "sum"), feats.names
    target_values = bin_rows(targs.times, targs.values, edges, "mean")
    if np.isnan(target_values).any():
        empty = int(np.argwhere(np.isnan(target_values))[0, 0])
        raise DataError(f"no target sample falls in bin {empty} ({edges[empty]:.3f}-{edges[empty + 1]:.3f} s); "
                        "the bin width is finer than the targets' sampling.", path=targs.path,
                        hint="Use a wider bin_width.")
    centres = (edges[:-1] + edges[1:]) / 2
    return (Table(values, names, feats.path, centres, spikes=feats.spikes),
            Table(target_values, targs.names, targs.path, centres), start)


def _span(times: np.ndarray) -> tuple[float, float]:
    """[first, last + one sampling interval): the time a table of samples covers."""
    step = float(np.median(np.diff(times))) if len(times) > 1 else 0.0
    return float(times[0]), float(times[-1]) + step


def add_lags(X: np.ndarray, names: list[str], lags: int) -> tuple[np.ndarray, list[str]]:
    """[x_t, x_{t-1}, ..., x_{t-lags}] per row; the first ``lags`` rows (no full history) are dropped."""
    n = len(X)
    if lags >= n:
        raise DataError(f"lags={lags} needs more than {lags} samples (have {n}).")
    blocks = [X[lags - k: n - k] for k in range(lags + 1)]
    lagged_names = [name if k == 0 else f"{name}@t-{k}" for k in range(lags + 1) for name in names]
    return np.hstack(blocks), lagged_names
