"""Stimulus-paired samples (source kind ``stimulus-pairs``): a voxel vector per sample and the
image shown, from ``.mat`` (MATLAB v5/v7 or v7.3) or ``.npz`` files, one file per subject.

Keys inside a file are named by `StimulusPairsOptions` (defaults fit the fmri-recon files:
``fmriTrn``/``fmriTest``, ``stimTrn``/``stimTest``, ``labelTrn``/``labelTest``). Each key pair
is one split, recorded as the sample's ``session`` ("train", "test"); samples are ordered
split by split (every subject's train samples, then every subject's test samples), so the
``holdout`` protocol's sample ranges select the files' own train/test split.

Subjects with different voxel counts share one `DecodingSet`: ``X`` is (n_samples,
max_voxels) float32, each subject's voxels first and the rest NaN; ``provenance["n_voxels"]``
maps subject -> its voxel count (`subject_voxels` gives a subject's block back).
"""
from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .decoding_set import DecodingSet
from .errors import CorruptFileError, DataError, MissingFileError, UnsupportedFormatError

SUFFIXES = (".mat", ".npz")


class StimulusPairsOptions(BaseModel):
    """Which arrays of each file hold voxels, images and labels, and how images are laid out."""

    model_config = ConfigDict(extra="forbid")

    voxels: list[str] = Field(["fmriTrn", "fmriTest"], description="Keys of (n_samples, n_voxels) arrays, one per split.")
    images: list[str] = Field(["stimTrn", "stimTest"], description="Keys of the images shown, (n_samples, H*W) or (n_samples, H, W), one per split.")
    labels: list[str] | None = Field(["labelTrn", "labelTest"], description="Keys of per-sample labels (optional; missing keys are skipped).")
    splits: list[str] = Field(["train", "test"], description="Names of the splits (stored as the samples' session).")
    image_shape: tuple[int, int] | None = Field(None, description="(H, W) of flat images; null: square.")
    image_order: Literal["C", "F"] = Field("C", description="Flat image layout: C (row-major) or F (column-major, MATLAB).")
    subject_names: list[str] | None = Field(None, description="One name per file; null: the file stems.")
    unit_range: bool = Field(True, description="Divide images by their file's maximum when above 1 (e.g. 0-255 -> 0-1).")


def is_stimulus_file(source: str) -> bool:
    """Never auto-detected: ``.mat``/``.npz`` are also continuous tables, so name ``kind: stimulus-pairs``."""
    return False


def _read(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        raise MissingFileError("file not found.", path=path)
    if path.suffix.lower() not in SUFFIXES:
        raise UnsupportedFormatError(f"stimulus pairs are read from {' or '.join(SUFFIXES)} files.", path=path)
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        from scipy.io import loadmat

        try:
            return {k: v for k, v in loadmat(path).items() if not k.startswith("__")}
        except NotImplementedError:  # MATLAB v7.3 (HDF5)
            from pymatreader import read_mat

            return read_mat(str(path))
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:   # damaged or cut short
        raise CorruptFileError(f"not a readable {path.suffix} file ({exc}).", path=path) from None


def _images(raw: np.ndarray, opts: StimulusPairsOptions, path: Path, key: str) -> np.ndarray:
    a = np.asarray(raw, dtype=np.float32)
    if a.ndim == 3:
        return a
    if a.ndim != 2:
        raise DataError(f"images '{key}' have shape {a.shape}; expected (n, H*W) or (n, H, W).", path=path)
    h, w = opts.image_shape or (int(round(np.sqrt(a.shape[1]))),) * 2
    if h * w != a.shape[1]:
        raise DataError(f"images '{key}' have {a.shape[1]} pixels, not {h}x{w}.", path=path,
                        hint="Set dataset.options.image_shape.")
    return a.reshape(len(a), h, w, order=opts.image_order)


def read_subject(path: str | Path, opts: StimulusPairsOptions) -> dict[str, np.ndarray]:
    """One file's samples: X (n, n_voxels), stimuli (n, H, W), labels (n,) or None, split (n,)."""
    path = Path(path)
    arrays = _read(path)
    if len(opts.voxels) != len(opts.images) or len(opts.splits) < len(opts.voxels):
        raise DataError("dataset.options: voxels, images (and splits) must name one key per split.")
    X, stim, labels, split = [], [], [], []
    for i, (vk, ik) in enumerate(zip(opts.voxels, opts.images)):
        for key in (vk, ik):
            if key not in arrays:
                raise DataError(f"no array '{key}' in the file.", path=path,
                                hint=f"It holds: {', '.join(sorted(arrays))}. Set dataset.options.")
        v = np.asarray(arrays[vk], dtype=np.float32)
        im = _images(arrays[ik], opts, path, ik)
        if v.ndim != 2 or len(v) != len(im):
            raise DataError(f"'{vk}' {v.shape} and '{ik}' ({len(im)} images) do not pair up.", path=path)
        if not np.isfinite(v).all():
            raise DataError(f"'{vk}' holds NaN or infinite values.", path=path)
        X.append(v)
        stim.append(im)
        split.append(np.full(len(v), opts.splits[i]))
        lk = opts.labels[i] if opts.labels and i < len(opts.labels) else None
        labels.append(np.asarray(arrays[lk]).ravel() if lk in arrays else None)
    if len({x.shape[1] for x in X}) > 1:
        raise DataError(f"splits have different voxel counts {[x.shape[1] for x in X]}.", path=path)
    if len({s.shape[1:] for s in stim}) > 1:
        raise DataError("splits have images of different sizes.", path=path)
    peak = max(float(s.max()) for s in stim)
    if opts.unit_range and peak > 1:
        stim = [s / peak for s in stim]
    y = None if any(lab is None or len(lab) != len(x) for lab, x in zip(labels, X)) else np.concatenate(labels)
    return {"X": np.concatenate(X), "stimuli": np.concatenate(stim), "y": y, "split": np.concatenate(split)}


def combine_subjects(parts: dict[str, dict[str, np.ndarray]], source: str, files: list[str],
                     modality: str = "fmri") -> DecodingSet:
    """Per-subject arrays -> one volumes `DecodingSet` (voxels NaN-padded to the largest count)."""
    shapes = {s: p["stimuli"].shape[1:] for s, p in parts.items()}
    if len(set(shapes.values())) > 1:
        raise DataError(f"subjects' images differ in size: {shapes}.", path=source)
    width = max(p["X"].shape[1] for p in parts.values())
    X = np.full((sum(len(p["X"]) for p in parts.values()), width), np.nan, dtype=np.float32)
    row = 0
    for p in parts.values():
        X[row:row + len(p["X"]), :p["X"].shape[1]] = p["X"]
        row += len(p["X"])
    have_y = all(p["y"] is not None for p in parts.values())
    cat = lambda k: np.concatenate([p[k] for p in parts.values()])  # noqa: E731
    subject = np.concatenate([np.full(len(p["X"]), s) for s, p in parts.items()])
    split = cat("split")
    rank = {name: i for i, name in enumerate(dict.fromkeys(split.tolist()))}
    order = np.argsort([rank[x] for x in split], kind="stable")   # every train sample first
    stimuli = cat("stimuli")[order]
    return DecodingSet(
        X=X[order], y=cat("y").astype(np.int64)[order] if have_y else None, kind="volumes",
        modality=modality, subject=subject[order], session=split[order], run=np.full(len(X), "1"),
        stimuli=stimuli,
        provenance={"source": source, "files": files,
                    "n_voxels": {s: int(p["X"].shape[1]) for s, p in parts.items()},
                    "image_shape": list(stimuli.shape[1:])})


def subject_voxels(data: DecodingSet, subject: str) -> np.ndarray:
    """The (n, n_voxels) block of one subject, without padding."""
    n = data.provenance.get("n_voxels", {}).get(subject)
    rows = data.X[data.subject == subject]
    return rows if n is None else rows[:, :n]


def _files(spec) -> list[tuple[str, str | None]]:
    """(file, data_path) for each subject: ``spec.sources`` when given, else ``spec.source``."""
    subs = getattr(spec, "sources", None)
    if subs:
        return [(s.source, getattr(s, "data_path", None)) for s in subs]
    return [(spec.source, spec.data_path)]


def load_stimulus_pairs(spec) -> DecodingSet:
    """A `DatasetSpec` naming one or several stimulus-pair files -> a volumes `DecodingSet`."""
    opts = StimulusPairsOptions.model_validate(spec.options or {})
    files = [str(Path(dp) / f) if dp and not Path(f).is_absolute() else f for f, dp in _files(spec)]
    names = opts.subject_names or [Path(f).stem for f in files]
    if len(names) != len(files) or len(set(names)) != len(names):
        raise DataError(f"dataset.options.subject_names: need {len(files)} distinct names, got {names}.")
    parts = {n: read_subject(f, opts) for n, f in zip(names, files)}
    if spec.subjects:
        wanted = [str(s) for s in spec.subjects]
        missing = [s for s in wanted if s not in parts]
        if missing:
            raise DataError(f"dataset.subjects {missing} not among {list(parts)}.")
        parts = {s: parts[s] for s in wanted}
    data = combine_subjects(parts, spec.source, files)
    return data.with_step("stimulus_pairs", **opts.model_dump(mode="json"))


load_stimulus_pairs.loads_sources = True   # one file per subject, voxel counts differ: combined here


def describe_stimulus_pairs(source: str, **opts) -> dict:
    """What a stimulus-pair file holds (for ``neurodeck info``)."""
    options = StimulusPairsOptions.model_validate(opts.get("options") or {})
    part = read_subject(source, options)
    splits, counts = np.unique(part["split"], return_counts=True)
    return {"kind": "volumes", "modality": "fmri", "n_samples": int(len(part["X"])),
            "n_voxels": int(part["X"].shape[1]), "image_shape": list(part["stimuli"].shape[1:]),
            "splits": dict(zip(splits.tolist(), counts.tolist())),
            "distinct_images": int(len(np.unique(part["stimuli"].reshape(len(part["X"]), -1), axis=0)))}
