"""Builders of bad inputs for the corpus test (tests/test_bad_input_corpus.py) and the GUI
test: each writes one hostile or broken file into a folder and returns its path. Nothing
large lives in the repository; every file is made on the spot."""
from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import zipfile
from pathlib import Path

import numpy as np

ALIAS_BOMB = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"{b}: &{b} [{', '.join(['*' + a] * 9)}]" for a, b in zip("abcdefgh", "bcdefghi")]) + "\n"
GOOD_EXPERIMENT = "dataset: {source: 'demo:motor-imagery'}\ndecoder: {name: csp-lda}\n" \
                  "evaluation: {protocol: kfold, n_folds: 2}\n"


def text(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def huge_yaml(folder: Path, megabytes: int = 50) -> Path:
    path = folder / "huge.yaml"
    with open(path, "wb") as fh:
        fh.write(b"name: '")
        fh.write(b"x" * (megabytes * 2**20))
        fh.write(b"'\n")
    return path


def edf(folder: Path, name: str = "rec.edf", *, samples_per_record: int = 100, duration: str = "1",
        n_records: int = 4, n_signals: int = 2, truncate: int = 0) -> Path:
    """A small, valid EDF file (or one with the header values given)."""
    def field(value, width):
        return str(value).ljust(width)[:width].encode("ascii")

    header = b"".join([field(0, 8), field("X X X X", 80), field("Startdate 01-JAN-2020 X X X", 80),
                       field("01.01.20", 8), field("00.00.00", 8), field(256 * (1 + n_signals), 8),
                       field("", 44), field(n_records, 8), field(duration, 8), field(n_signals, 4)])
    per_signal = [(16, [f"EEG{i}" for i in range(n_signals)]), (80, [""] * n_signals),
                  (8, ["uV"] * n_signals), (8, ["-500"] * n_signals), (8, ["500"] * n_signals),
                  (8, ["-32768"] * n_signals), (8, ["32767"] * n_signals), (80, [""] * n_signals),
                  (8, [samples_per_record] * n_signals), (32, [""] * n_signals)]
    header += b"".join(field(v, width) for width, values in per_signal for v in values)
    rng = np.random.default_rng(0)
    data = rng.integers(-1000, 1000, n_records * n_signals * samples_per_record).astype("<i2").tobytes()
    path = folder / name
    path.write_bytes((header + data)[: len(header) + len(data) - truncate])
    return path


def continuous_folder(folder: Path, name: str, n_features: int, n_targets: int, n: int = 300) -> Path:
    """x.csv (features) and z.csv (targets) as the Flint data lays them out."""
    path = folder / name
    path.mkdir()
    rng = np.random.default_rng(1)
    np.savetxt(path / "x.csv", rng.normal(size=(n, n_features)), delimiter=",")
    np.savetxt(path / "z.csv", rng.normal(size=(n, n_targets)), delimiter=",")
    return path


# ------------------------------------------------------------------------------ bundles
def copy_bundle(good: Path, folder: Path, name: str) -> Path:
    path = folder / name
    shutil.copytree(good, path) if good.is_dir() else shutil.copy(good, path)
    return path


def edit_manifest(good: Path, folder: Path, name: str, edit) -> Path:
    """A copy of a bundle folder whose manifest ``edit(manifest)`` changed."""
    path = copy_bundle(good, folder, name)
    manifest = json.loads((path / "manifest.json").read_text())
    edit(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


def resigned(good: Path, folder: Path, name: str, change) -> Path:
    """A copy whose weights ``change(arrays)`` rewrote, with the checksum and tensor table
    recomputed, as someone editing a bundle on purpose would."""
    from safetensors.numpy import load, save

    path = copy_bundle(good, folder, name)
    arrays = dict(load((path / "weights.safetensors").read_bytes()))
    change(arrays)
    raw = save(arrays)
    (path / "weights.safetensors").write_bytes(raw)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["weights"]["sha256"] = hashlib.sha256(raw).hexdigest()
    manifest["weights"]["arrays"] = {k: {"dtype": v.dtype.str, "shape": list(v.shape)} for k, v in arrays.items()}
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


def corrupt_zip(good_zip: Path, folder: Path) -> Path:
    """The bundle zip with bytes in the middle of its compressed weights overwritten."""
    path = copy_bundle(good_zip, folder, "corrupt.zip")
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("weights.safetensors")
    raw = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for i in range(start + 10, start + min(info.compress_size - 10, 200)):
        raw[i] = 0xFF
    path.write_bytes(bytes(raw))
    return path


def zip_bomb(good_zip: Path, folder: Path, gigabytes: float = 1.05) -> Path:
    """The bundle's manifest with a weights member that inflates to ``gigabytes`` of zeros."""
    path = folder / "bomb.zip"
    with zipfile.ZipFile(good_zip) as src:
        manifest = src.read("manifest.json")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("manifest.json", manifest)
        with zf.open("weights.safetensors", "w", force_zip64=True) as fh:
            chunk = b"\0" * 2**24
            for _ in range(int(gigabytes * 2**30) // len(chunk)):
                fh.write(chunk)
    return path


def huge_manifest_zip(folder: Path, megabytes: int = 20) -> Path:
    path = folder / "huge-manifest.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", b'{"format": "neurodeck-decoder-bundle"' + b" " * (megabytes * 2**20) + b"}")
    return path


def pickle_bundle(folder: Path) -> Path:
    path = folder / "model.zip"
    path.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    return path


def fifo_manifest(good: Path, folder: Path, name: str = "fifo-bundle") -> Path:
    """A copy of a bundle folder whose manifest.json is a named pipe (reading it would block)."""
    import os

    path = copy_bundle(good, folder, name)
    (path / "manifest.json").unlink()
    os.mkfifo(path / "manifest.json")
    return path


# ------------------------------------------------------------------------------ sweeps
def sweep(folder: Path, name: str, *, axes: str = "", executor: str = "") -> Path:
    """A sweep file around GOOD_EXPERIMENT with the axes / executor given (YAML flow text)."""
    base = "{dataset: {source: 'demo:motor-imagery'}, decoder: {name: csp-lda}, " \
           "evaluation: {protocol: kfold, n_folds: 2}}"
    lines = [f"name: {Path(name).stem}", f"base: {base}", f"output: {{sweeps_dir: {folder / 'sweeps'}}}"]
    lines += [f"axes: {axes}"] if axes else []
    lines += [f"executor: {executor}"] if executor else []
    return text(folder, name, "\n".join(lines) + "\n")


# ------------------------------------------------------------------------------ fMRI and tables
def bold(folder: Path, name: str = "bold.nii.gz", *, n_vol: int = 20, shape=(4, 4, 3), tr: float = 2.0,
         nan_volumes: tuple[int, ...] = (), inf_voxel: bool = False, truncate: int = 0) -> Path:
    """A small 4-D BOLD image with a labels file (``labels.txt``: one line per volume), optionally
    with NaN volumes, one Inf voxel, or the compressed file cut short by ``truncate`` bytes."""
    import nibabel as nib

    rng = np.random.default_rng(0)
    data = (100 + rng.normal(size=(*shape, n_vol))).astype(np.float32)
    for v in nan_volumes:
        data[..., v] = np.nan
    if inf_voxel:
        data[1, 1, 1, n_vol // 2] = np.inf
    img = nib.Nifti1Image(data, np.eye(4))
    img.header.set_zooms((1.0, 1.0, 1.0, tr))
    img.header.set_xyzt_units("mm", "sec")
    path = folder / name
    nib.save(img, str(path))
    (folder / "labels.txt").write_text("".join(f"{'ab'[(i // 5) % 2]} 1\n" for i in range(n_vol)))
    if truncate:
        raw = path.read_bytes()
        path.write_bytes(raw[: len(raw) - truncate])
    return path


def roi_file(folder: Path, name: str = "s_0050001_rois.1D", *, bad_line: int = 0, token: str = "abc",
             n: int = 60, n_rois: int = 5) -> Path:
    """An AFNI-style ROI series text file; line ``bad_line`` (1-based, 0: none) holds a text token."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2)
    lines = ["#" + "\t".join(f"#{i}" for i in range(n_rois))]
    lines += ["\t".join(f"{v:.4f}" for v in row) for row in rng.normal(size=(n, n_rois))]
    if bad_line:
        cells = lines[bad_line - 1].split("\t")
        cells[1] = token
        lines[bad_line - 1] = "\t".join(cells)
    return text(folder, name, "\n".join(lines) + "\n")


def bci2000_dat(folder: Path, name: str = "fast.dat", sampling_rate: str = "99999999Hz") -> Path:
    """A minimal BCI2000 .dat file (2 channels, int16, 10 samples) whose header says ``sampling_rate``."""
    params = (f"Source:Signal%20Properties:DataIOFilter int SourceCh= 2 16 1 % // channels\n"
              f"Source:Signal%20Properties:DataIOFilter int SampleBlockSize= 10 10 1 % // samples\n"
              f"Source:Signal%20Properties:DataIOFilter float SamplingRate= {sampling_rate} 160Hz 1 % // rate\n"
              "Source:Signal%20Properties:DataIOFilter floatlist SourceChGain= 2 1 1 0 % % // gain\n"
              "Source:Signal%20Properties:DataIOFilter floatlist SourceChOffset= 2 0 0 0 % % // offset\n")
    states = "Running 1 0 0 0\nStimulusCode 5 0 0 1\n"
    def header(length: int) -> str:
        return (f"BCI2000V= 1.1 HeaderLen= {length:<6} SourceCh= 2 StatevectorLen= 1 "
                "DataFormat= int16\r\n[ State Vector Definition ]\r\n" + states.replace("\n", "\r\n")
                + "[ Parameter Definition ]\r\n" + params.replace("\n", "\r\n") + "\r\n")
    head = header(0)
    head = header(len(head.encode("ascii")))
    samples = np.zeros((10, 2), "<i2").tobytes()
    rows = b"".join(samples[i * 4:(i + 1) * 4] + b"\x00" for i in range(10))
    return text(folder, name, head.encode("ascii") + rows)


def truncated_npz(folder: Path, name: str = "cut.npz") -> Path:
    """A features/targets .npz table cut in half (its zip directory is lost)."""
    path = folder / name
    rng = np.random.default_rng(3)
    np.savez(path, x=rng.normal(size=(300, 4)), z=rng.normal(size=(300, 2)))
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    return path
