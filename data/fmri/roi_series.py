"""ROI time series, one file per subject (``.1D``, ``.1D.gz``, ``.csv``, ``.tsv``, ``.npy``:
time x ROIs), optionally joined with a phenotype table for labels or continuous targets
(source kind ``roi-series``).

A source is a folder; files are found recursively (an ABIDE site folder holds
``rois_cc200/*.1D[.gz]`` and ``phenotypic_SITE.csv``). Each subject is one sample of a
``trials`` `DecodingSet`: ``X`` is (n_subjects, n_rois, max_time) float32 with each subject's
series first and NaN after (`series_lengths` gives the lengths back). ``session`` holds the
site, so the ``leave-one-site-out`` protocol leaves one site out: in a root holding several
folders, the folder directly under the root; in one site's folder, the site the file name
starts with (ABIDE: ``OHSU_0050142_rois_cc200.1D.gz`` -> ``OHSU``), else the folder name
(with a warning).

Targets: with ``target_columns`` (e.g. ``[AGE_AT_SCAN]``) ``y`` is float64 (n_subjects,
n_targets) read from those phenotype columns instead of class codes (``label_column`` is then
ignored), ``target_names`` are the columns and ``class_names`` is empty: a regression set. A
subject whose value is missing, not a number or ABIDE's missing code (-9999; any value <=
`MISSING_CODE`) is skipped; the counts per column are warned and kept in
``provenance["skipped"]`` (with the subjects that had no phenotype row) and
``provenance["warnings"]``.

TR (the set's ``tr``, one per subject): ``options.tr`` for every subject, else
``options.site_tr[site]``, else the ABIDE I scan parameters for a known ABIDE site name
(`ABIDE_TR`, case-insensitive). When a site's TR is still unknown the set's ``tr`` is None and
decoders use their own default. ``sfreq`` is 1/TR when all subjects share one TR, else None.
"""
from __future__ import annotations

import csv
import gzip
import math
import re
import warnings
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..decoding_set import DecodingSet
from ..errors import CorruptFileError, DataError, MissingFileError, UnsupportedFormatError

SUFFIXES = (".1d", ".1d.gz", ".csv", ".tsv", ".npy")

# Repetition time (s) of the ABIDE I sites, keyed by `abide_site_key` (lower case, no
# underscores, no sub-sample letter: MaxMun_a, MAX_MUN -> maxmun; UCLA_1 -> ucla1).
# Source: the ABIDE I scan parameters as tabulated per site (SITE_ID -> TR) in public ABIDE
# pipelines found with the project's code search (several independent tables that agree on
# every value below); the official per-site pages (fcon_1000.projects.nitrc.org/indi/abide)
# could not be reached from here. Leuven_1 / Leuven_2 (1.656 s vs 1.667 s) and SBL (2.2 s vs
# 2.5 s) are left out because those tables disagree: their TR stays unknown unless set with
# options.tr or options.site_tr.
ABIDE_TR = {"caltech": 2.0, "cmu": 2.0, "kki": 2.5, "maxmun": 3.0, "nyu": 2.0, "ohsu": 2.5,
            "olin": 1.5, "pitt": 1.5, "sdsu": 2.0, "stanford": 2.0, "trinity": 2.0,
            "ucla": 3.0, "ucla1": 3.0, "ucla2": 3.0, "um": 2.0, "um1": 2.0, "um2": 2.0,
            "usm": 2.0, "yale": 2.0}
# File-name prefixes that name a subject, not a site (sub_0050001_rois.1D).
_NOT_SITES = {"s", "sub", "subj", "subject", "participant", "p"}
# The ABIDE I sites whose TR the table above leaves unknown (sources disagree).
ABIDE_TR_UNSOURCED = ("leuven1", "leuven2", "sbl")
# An ABIDE Preprocessed file name: SITE_SUBJECTID_... (the site may hold underscores:
# UCLA_1_0051201_rois_cc200.1D, MaxMun_a_0051606_rois_cc200.1D).
_FILE_SITE = re.compile(r"^(?P<site>[A-Za-z][A-Za-z0-9_]*?)_(?P<number>\d{4,})(?:_|\.|$)")
# Phenotype values at or below this are missing-value codes (ABIDE writes -9999).
MISSING_CODE = -999.0


class RoiSeriesOptions(BaseModel):
    """How subjects are found and labelled."""

    model_config = ConfigDict(extra="forbid")

    pattern: str = Field("*rois*", description="Glob (recursive) of the ROI files; '*' for every supported file.")
    phenotype: str | None = Field("phenotypic*.csv", description="Glob of phenotype tables (null: no labels).")
    id_column: str = Field("SUB_ID", description="Phenotype column holding the subject number found in file names.")
    label_column: str | None = Field("DX_GROUP", description="Phenotype column of the class label (null: no labels).")
    label_names: dict[str, str] | None = Field({"1": "autism", "2": "control"}, description="Label value -> class name.")
    target_columns: list[str] | None = Field(
        None, min_length=1, description="Phenotype columns of continuous targets, e.g. [AGE_AT_SCAN] (a regression "
        "set; label_column is then ignored). Subjects whose value is missing, not a number or <= -999 "
        "(ABIDE's -9999) are skipped.")
    sites: list[str] | None = Field(None, description="Sites (sub-folder names) to load; null: all.")
    max_subjects_per_site: int | None = Field(None, ge=1, description="Keep the first N subjects of each site (small tests).")
    tr: float | None = Field(None, gt=0, allow_inf_nan=False,
                             description="Repetition time in seconds of every subject (overrides site_tr and the ABIDE table).")
    site_tr: dict[str, Annotated[float, Field(gt=0, allow_inf_nan=False)]] | None = Field(
        None, description="Site folder name -> repetition time in seconds; sites not named: the ABIDE table, else unknown.")


def site_tr(site: str, opts: RoiSeriesOptions) -> float | None:
    """TR in seconds of ``site``: ``opts.tr``, ``opts.site_tr``, the ABIDE table, or None."""
    if opts.tr:
        return float(opts.tr)
    given = opts.site_tr or {}
    if site in given:
        return float(given[site])
    lower = {k.lower(): v for k, v in given.items()}
    if site.lower() in lower:
        return float(lower[site.lower()])
    return ABIDE_TR.get(abide_site_key(site))


def abide_site_key(site: str) -> str:
    """``site`` as an `ABIDE_TR` key: lower case, a trailing sub-sample letter and the
    underscores dropped (``MaxMun_a`` and ``MAX_MUN`` -> ``maxmun``, ``UCLA_1`` -> ``ucla1``)."""
    return re.sub(r"_[a-z]$", "", site.lower()).replace("_", "")


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return ".1d.gz" if name.endswith(".1d.gz") else path.suffix.lower()


def is_roi_folder(source: str) -> bool:
    """A folder holding ``*rois*`` ROI files (cheap: stops at the first)."""
    if ":" in source and not Path(source).exists():
        return False
    path = Path(source).expanduser()
    if not path.is_dir():
        return False
    return any(_suffix(p) in SUFFIXES for p in path.rglob("*rois*"))


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _numbers(tokens: list[str], line: int) -> list[float]:
    """One row of numbers; a token that is not one names its line (a row is never dropped)."""
    try:
        return [float(t) for t in tokens]
    except ValueError:   # parse once; look for the culprit only when there is one
        bad = next(t for t in tokens if not _is_number(t))
        raise ValueError(f"line {line}: {bad[:40]!r} is not a number") from None


def read_roi_file(path: Path) -> np.ndarray:
    """(time, n_rois) float32 from one file; header lines starting with '#' or letters skipped."""
    path = Path(path)
    if not path.exists():
        raise MissingFileError("file not found.", path=path)
    suffix = _suffix(path)
    if suffix not in SUFFIXES:
        raise UnsupportedFormatError(f"ROI series are read from {', '.join(SUFFIXES)} files.", path=path)
    try:
        if suffix == ".npy":
            data = np.load(path, allow_pickle=False)
        else:
            opener = gzip.open if suffix == ".1d.gz" else open
            with opener(path, "rt") as fh:
                lines = [(number, ln) for number, ln in enumerate(fh, 1)
                         if ln.strip() and not ln.lstrip().startswith("#")]
            delim = "," if suffix == ".csv" else None
            rows = [(number, ln.split(delim) if delim else ln.split()) for number, ln in lines]
            if rows and not any(_is_number(v) for v in rows[0][1]):   # a header row of names
                rows = rows[1:]
            data = np.array([_numbers(tokens, number) for number, tokens in rows], dtype=np.float32)
    except (OSError, ValueError, EOFError) as exc:
        raise CorruptFileError(f"cannot read ROI series: {exc}", path=path) from exc
    if data.ndim != 2 or min(data.shape) < 2:
        raise CorruptFileError(f"expected a (time, ROIs) table, got shape {data.shape}.", path=path)
    if not np.isfinite(data).all():
        raise CorruptFileError("the ROI series contain NaN or Inf values.", path=path)
    return data.astype(np.float32)


def _phenotypes(root: Path, opts: RoiSeriesOptions) -> dict[int, dict[str, str]]:
    table: dict[int, dict[str, str]] = {}
    if not opts.phenotype:
        return table
    for path in sorted(root.rglob(opts.phenotype)):
        with open(path, newline="", encoding="utf-8", errors="replace") as fh:
            reader = csv.DictReader(fh)
            if opts.id_column not in (reader.fieldnames or []):
                raise DataError(f"phenotype table has no column {opts.id_column!r}.", path=path)
            absent = [c for c in opts.target_columns or [] if c not in reader.fieldnames]
            if absent:
                raise DataError(f"phenotype table has no column {', '.join(map(repr, absent))} (target_columns); "
                                f"available: {', '.join(reader.fieldnames)}.", path=path)
            for row in reader:
                try:
                    table[int(float(row[opts.id_column]))] = row
                except ValueError:
                    continue
    return table


def _target_value(text: str | None) -> float | None:
    """A phenotype cell as a number, or None when it is empty, not a number or a missing code."""
    try:
        value = float((text or "").strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value > MISSING_CODE else None


def _subject_number(path: Path) -> int | None:
    numbers = re.findall(r"\d{4,}", path.name)
    return int(numbers[0]) if numbers else None


def _folder_site(root: Path, path: Path) -> str:
    rel = path.relative_to(root).parts
    return rel[0] if len(rel) > 1 else root.name


def file_site(path: Path) -> str | None:
    """The site an ABIDE-style file name starts with (``OHSU_0050142_rois_cc200.1D.gz`` ->
    ``OHSU``), or None."""
    found = _FILE_SITE.match(path.name)
    if not found or found["site"].lower() in _NOT_SITES:
        return None
    return found["site"]


def site_names(root: Path, files: list[Path]) -> tuple[dict[Path, str], str | None]:
    """Each file's site, and a warning when a site had to be taken from a folder name.

    Several folders directly under ``root`` holding files: a multi-site root, each folder a
    site. Otherwise (one site's folder, e.g. ``OHSU/rois_cc200/*.1D``) the folder names say
    nothing about the site: it is read from the file name (``OHSU_0050142_...``), and only a
    file whose name carries none falls back to its folder name, with a warning.
    """
    nested = {p.relative_to(root).parts[0] for p in files if len(p.relative_to(root).parts) > 1}
    if len(nested) > 1:
        return {p: _folder_site(root, p) for p in files}, None
    sites, fallback = {}, []
    for p in files:
        sites[p] = file_site(p) or _folder_site(root, p)
        if file_site(p) is None:
            fallback.append(p)
    if not fallback:
        return sites, None
    used = sorted({sites[p] for p in fallback})
    return sites, (f"{len(fallback)} of {len(files)} ROI files have no site in their name (SITE_SUBJECTID_..., "
                   f"as ABIDE names them, e.g. {fallback[0].name}); their site is the folder name "
                   f"{', '.join(map(repr, used))}")


def find_files(root: Path, opts: RoiSeriesOptions) -> list[Path]:
    """The ROI files of ``root`` that ``opts`` selects (pattern, sites, subjects per site)."""
    return _find_files(root, opts)[0]


def _find_files(root: Path, opts: RoiSeriesOptions) -> tuple[list[Path], dict[Path, str], str | None]:
    files = sorted(p for p in root.rglob(opts.pattern) if p.is_file() and _suffix(p) in SUFFIXES)
    site_of, site_warning = site_names(root, files)
    if opts.sites is not None:
        missing = set(opts.sites) - {site_of[p] for p in files}
        if missing:
            raise DataError(f"sites {sorted(missing)} not found.", path=root)
        files = [p for p in files if site_of[p] in opts.sites]
    if opts.max_subjects_per_site:
        kept, counts = [], {}
        for p in files:
            s = site_of[p]
            if counts.get(s, 0) < opts.max_subjects_per_site:
                kept.append(p)
                counts[s] = counts.get(s, 0) + 1
        files = kept
    if not files:
        raise MissingFileError(f"no ROI series files matching {opts.pattern!r}.", path=root)
    return files, site_of, site_warning


def load_roi_folder(source: str | Path, options: dict | None = None) -> DecodingSet:
    """Every subject's series (NaN-padded to the longest) with labels (or ``target_columns``
    targets) from the phenotype table."""
    root = Path(source).expanduser()
    if not root.is_dir():
        raise MissingFileError("folder not found.", path=root)
    opts = RoiSeriesOptions(**(options or {}))
    files, site_of, site_warning = _find_files(root, opts)
    if opts.target_columns and not opts.phenotype:
        raise DataError("target_columns are read from phenotype tables, but phenotype is null.", path=root)
    pheno = _phenotypes(root, opts)
    if opts.target_columns and not pheno:
        raise DataError(f"no phenotype table matching {opts.phenotype!r} to read target_columns from.", path=root)
    label_column = None if opts.target_columns or not opts.phenotype else opts.label_column   # no table: unlabelled
    series, subjects, sites, labels, targets = [], [], [], [], []
    no_row, missing = 0, dict.fromkeys(opts.target_columns or [], 0)
    for path in files:
        number = _subject_number(path)
        row = pheno.get(number) if number is not None else None
        label = None
        if opts.target_columns:
            if row is None:
                no_row += 1
                continue    # no phenotype row: no targets, skipped
            values = [_target_value(row.get(c)) for c in opts.target_columns]
            if None in values:
                for c, v in zip(opts.target_columns, values):
                    missing[c] += v is None
                continue    # a target missing (empty, not a number, -9999): skipped
            targets.append(values)
        elif label_column:
            if row is None or label_column not in row:
                no_row += 1
                continue    # no phenotype row: not labelled, skipped
            label = row[label_column].strip()
            if opts.label_names:
                label = opts.label_names.get(label, label)
        series.append(read_roi_file(path))
        subjects.append(str(number) if number is not None else path.stem)
        sites.append(site_of[path])
        labels.append(label)
    warn_list = []
    if site_warning:
        warnings.warn(f"{root}: {site_warning}", stacklevel=2)
        warn_list.append(site_warning)
    for column, n in missing.items():
        if n:
            msg = (f"{n} of {len(files)} subjects skipped: no usable {column} (empty, not a number, "
                   f"or a missing code <= {MISSING_CODE:g})")
            warnings.warn(f"{root}: {msg}", stacklevel=2)
            warn_list.append(msg)
    if no_row:
        msg = f"{no_row} of {len(files)} ROI files skipped: no phenotype row for their subject"
        warnings.warn(f"{root}: {msg}", stacklevel=2)
        warn_list.append(msg)
    constant = _constant_rois(series, subjects)
    if constant:
        shown = "; ".join(f"{s}: {', '.join(f'roi{i + 1}' for i in rois[:5])}" + (" ..." if len(rois) > 5 else "")
                          for s, rois in list(constant.items())[:3])
        msg = (f"{len(constant)} of {len(series)} subjects have constant (e.g. all-zero) ROI series, "
               f"{sum(map(len, constant.values()))} in all (kept; z-scored to 0 by the decoders): {shown}")
        warnings.warn(f"{root}: {msg}", stacklevel=2)
        warn_list.append(msg)
    if not series:
        usable = f" with usable {', '.join(opts.target_columns)}" if opts.target_columns else ""
        raise DataError(f"no ROI files matched a phenotype row{usable}.", path=root)
    n_rois = {s.shape[1] for s in series}
    if len(n_rois) > 1:
        raise DataError(f"ROI files have different ROI counts {sorted(n_rois)}.", path=root)
    lengths = np.array([len(s) for s in series])
    X = np.full((len(series), n_rois.pop(), lengths.max()), np.nan, dtype=np.float32)
    for i, s in enumerate(series):
        X[i, :, : len(s)] = s.T
    y, class_names, target_names = None, [], []
    if opts.target_columns:
        y, target_names = np.array(targets, dtype=np.float64), list(opts.target_columns)
    elif label_column:
        class_names = sorted(set(labels))
        y = np.array([class_names.index(lab) for lab in labels])
    by_site = {site: site_tr(site, opts) for site in dict.fromkeys(sites)}
    tr = None if None in by_site.values() else np.array([by_site[s] for s in sites], dtype=np.float64)
    return DecodingSet(
        X=X, y=y, kind="trials", modality="fmri-roi", subject=np.array(subjects),
        session=np.array(sites), run=np.full(len(series), "1"),
        sfreq=1.0 / tr[0] if tr is not None and len(set(tr.tolist())) == 1 else None,
        ch_names=[f"roi{i + 1}" for i in range(X.shape[1])], ch_types=["misc"] * X.shape[1],
        class_names=class_names, target_names=target_names, tr=tr,
        provenance={"source": str(source), "files": [str(p) for p in files],
                    "lengths": lengths.tolist(), "tr_by_site": by_site,
                    "skipped": {"no_phenotype_row": no_row, **({"targets": missing} if opts.target_columns else {})},
                    "warnings": warn_list, "constant_rois": constant,
                    "steps": [{"name": "roi-series", "params": opts.model_dump()}]})


def _constant_rois(series: list[np.ndarray], subjects: list[str]) -> dict[str, list[int]]:
    """Subject -> indices of its ROIs whose series is constant (e.g. all zero: outside the
    subject's brain mask)."""
    out = {}
    for s, x in zip(subjects, series):
        flat = np.flatnonzero(np.ptp(x, axis=0) == 0) if len(x) else np.arange(x.shape[1])
        if len(flat):
            out[s] = flat.tolist()
    return out


def series_lengths(X: np.ndarray) -> np.ndarray:
    """Valid length of each NaN-padded (n, rois, time) series."""
    return (~np.isnan(X[:, 0, :])).sum(axis=1)


def load_roi_series(spec) -> DecodingSet:
    return load_roi_folder(spec.source, spec.options)


def describe_roi_series(source: str, **opts) -> dict:
    """Subjects, sites (count and TR), ROIs, time points, labels or targets with counts, and
    what was skipped or is constant: the folder is read the way ``run`` reads it."""
    root = Path(source).expanduser()
    o = {k: v for k, v in opts.items() if k in RoiSeriesOptions.model_fields}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = load_roi_folder(root, o)
    lengths = np.asarray(d.provenance["lengths"])
    sites = {s: int((d.session == s).sum()) for s in dict.fromkeys(d.session.tolist())}
    info = {"source": str(source), "kind": "set", "data_kind": "trials", "modality": "fmri-roi",
            "n_samples": len(d), "shape": [len(d), int(d.X.shape[1]), "time (varies)"],
            "n_files": len(d.provenance["files"]), "n_rois": int(d.X.shape[1]),
            "time_points": f"{lengths.min()}-{lengths.max()}" if lengths.min() != lengths.max() else str(lengths.min()),
            "sites": sites, "tr": {s: v if v is not None else "unknown" for s, v in d.provenance["tr_by_site"].items()},
            "warnings": d.provenance["warnings"], "subjects": d.subjects,
            "phenotype_tables": [str(p) for p in sorted(root.rglob(d.provenance["steps"][0]["params"]["phenotype"]))]
            if d.provenance["steps"][0]["params"]["phenotype"] else []}
    if d.class_names:
        info["classes"] = {c: int((d.y == i).sum()) for i, c in enumerate(d.class_names)}
        info["classes_by_site"] = {s: {c: int(((d.session == s) & (d.y == i)).sum()) for i, c in enumerate(d.class_names)}
                                   for s in sites}
    if d.target_names:
        info["targets"] = list(d.target_names)
    return info
