"""The ``nifti`` source kind (4-D BOLD + mask or atlas, events or per-volume labels), its
input errors, ``neurodeck info``, and the ``voxel-lr`` baseline on Haxby subject 1."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from data import sources
from data.errors import DataError, InputError
from data.fmri.nifti import events_to_volume_labels, load_nifti

nib = pytest.importorskip("nibabel")
pytest.importorskip("nilearn")

HAXBY = Path("../shared/datasets/haxby2001-sub001")
CATEGORIES = ["bottle", "cat", "chair", "face", "house", "scissors", "scrambledpix", "shoe"]


def _bold(path: Path, n_vol: int = 40, shape=(4, 4, 3), seed: int = 0, tr: float = 2.0,
          signal: np.ndarray | None = None) -> Path:
    rng = np.random.default_rng(seed)
    data = 100 + rng.normal(size=(*shape, n_vol))
    if signal is not None:   # a class-dependent pattern in voxel (0, 0, 0)
        data[0, 0, 0] += signal
    img = nib.Nifti1Image(data.astype(np.float32), np.eye(4))
    img.header.set_zooms((1.0, 1.0, 1.0, tr))
    img.header.set_xyzt_units("mm", "sec")
    nib.save(img, str(path))
    return path


def _image3d(path: Path, data: np.ndarray) -> Path:
    nib.save(nib.Nifti1Image(data, np.eye(4)), str(path))
    return path


def _events(path: Path, rows) -> Path:
    path.write_text("onset\tduration\ttrial_type\n" + "".join(f"{o}\t{d}\t{t}\n" for o, d, t in rows))
    return path


def test_kind_detected_for_images_and_bold_folders(tmp_path):
    (tmp_path / "run1").mkdir()
    img = _bold(tmp_path / "run1" / "sub-01_task-x_bold.nii.gz")
    assert sources.kind_of(str(img)).name == "nifti"
    assert sources.kind_of(str(tmp_path)).name == "nifti"
    (tmp_path / "notes.txt").write_text("x")
    assert sources.kind_of(str(tmp_path / "notes.txt")).name != "nifti"


def test_events_with_delay_label_the_right_volumes(tmp_path):
    ev = _events(tmp_path / "e.tsv", [(4.0, 6.0, "a"), (20.0, 0.5, "b")])
    labels = events_to_volume_labels(ev, 15, tr=2.0)
    assert labels[2:5] == ["a", "a", "a"] and labels[1] is None and labels[5] is None
    assert labels[10] == "b" and labels.count("b") == 1   # short event: the volume at its onset
    shifted = events_to_volume_labels(ev, 15, tr=2.0, delay=4.0)
    assert shifted[4:7] == ["a", "a", "a"] and shifted[3] is None and shifted[12] == "b"


def test_runs_events_mask_and_blocks(tmp_path):
    for r in (1, 2):
        (tmp_path / f"run{r}").mkdir()
        _bold(tmp_path / f"run{r}" / "bold.nii.gz", seed=r)
        _events(tmp_path / f"run{r}" / "bold_events.tsv", [(10, 10, "a"), (40, 10, "b"), (60, 10, "a")])
    mask = np.zeros((4, 4, 3), np.uint8)
    mask[:2, :2, :] = 1
    _image3d(tmp_path / "mask.nii.gz", mask)
    d = load_nifti(tmp_path, {"mask": "mask.nii.gz"})
    assert d.X.shape == (30, 12, 1) and d.class_names == ["a", "b"] and d.sfreq == pytest.approx(0.5)
    assert sorted(set(d.run)) == ["run1", "run2"]
    assert np.allclose(d.X[d.run == "run1"].mean(), 0, atol=0.5)   # z-scored within the run
    blocks = load_nifti(tmp_path, {"mask": "mask.nii.gz", "sample": "block"})
    assert len(blocks) == 6 and list(blocks.y[blocks.run == "run1"]) == [0, 1, 0]
    assert load_nifti(tmp_path, {"mask": "mask.nii.gz", "tr": 5.0}).sfreq == pytest.approx(0.2)


def test_atlas_gives_roi_series_and_labels_file_gives_chunks(tmp_path):
    _bold(tmp_path / "bold.nii.gz", n_vol=12)
    atlas = np.zeros((4, 4, 3), np.int16)
    atlas[:2] = 1
    atlas[2:, :2] = 2
    _image3d(tmp_path / "atlas.nii.gz", atlas)
    (tmp_path / "labels.txt").write_text("labels chunks\n" + "".join(
        f"{'rest' if t % 3 == 0 else 'ab'[t % 2]} {t // 6}\n" for t in range(12)))
    d = load_nifti(tmp_path / "bold.nii.gz", {"atlas": "atlas.nii.gz", "labels": "labels.txt"})
    assert d.ch_names == ["roi1", "roi2"] and d.X.shape == (8, 2, 1)
    assert sorted(set(d.run)) == ["0", "1"] and "rest" not in d.class_names


def test_input_errors_name_the_file(tmp_path):
    bold = _bold(tmp_path / "bold.nii.gz", n_vol=10)
    _image3d(tmp_path / "small.nii.gz", np.ones((3, 3, 3), np.uint8))
    _image3d(tmp_path / "empty.nii.gz", np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "short.txt").write_text("a 0\n" * 7)
    (tmp_path / "broken.nii.gz").write_bytes(b"not a nifti file at all")
    cases = [({"mask": "small.nii.gz"}, "small.nii.gz", "does not match"),
             ({"atlas": "small.nii.gz"}, "small.nii.gz", "does not match"),
             ({"mask": "empty.nii.gz"}, "empty.nii.gz", "empty"),
             ({"labels": "short.txt"}, "short.txt", "7 label lines for 10 volumes"),
             ({}, str(tmp_path), "events files")]
    for options, named, problem in cases:
        with pytest.raises(DataError) as err:
            load_nifti(bold, options)
        assert named in str(err.value) and problem in str(err.value), (options, str(err.value))
    with pytest.raises(DataError, match="broken.nii.gz.*cannot read"):
        load_nifti(tmp_path / "broken.nii.gz", {"labels": "short.txt"})


def test_constant_voxels_are_warned_dropped_and_reported(tmp_path):
    bold = _bold(tmp_path / "bold.nii.gz", n_vol=10)
    img = nib.load(str(bold))
    data = np.asarray(img.dataobj).copy()
    data[1, 1, 1] = 0.0
    nib.save(nib.Nifti1Image(data, img.affine, img.header), str(bold))
    _image3d(tmp_path / "mask.nii.gz", np.ones((4, 4, 3), np.uint8))
    (tmp_path / "labels.txt").write_text("".join(f"{'ab'[t % 2]}\n" for t in range(10)))
    with pytest.warns(UserWarning, match="1 of 48 voxels are constant"):
        d = load_nifti(bold, {"mask": "mask.nii.gz", "labels": "labels.txt"})
    assert d.X.shape[1] == 47 and "v1_1_1" not in d.ch_names
    assert "constant" in d.provenance["warnings"][0]


def test_cli_info_and_bad_file_exit_2(tmp_path, capsys):
    (tmp_path / "r1").mkdir()
    _bold(tmp_path / "r1" / "bold.nii.gz", n_vol=30)
    _events(tmp_path / "r1" / "bold_events.tsv", [(10, 10, "a"), (40, 10, "b")])
    assert main(["info", str(tmp_path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["source_kind"] == "nifti" and info["volumes"] == [30] and info["tr"] == 2.0
    assert info["classes"] == {"a": 5, "b": 5} and info["image_shape"] == [4, 4, 3]
    assert main(["info", str(tmp_path)]) == 0
    assert "TR (s): 2" in capsys.readouterr().out
    (tmp_path / "bad.nii").write_bytes(b"\0" * 10)
    assert main(["info", str(tmp_path / "bad.nii")]) == 2
    assert "bad.nii" in capsys.readouterr().err


@pytest.mark.skipif(not HAXBY.exists(), reason="Haxby data not present")
def test_haxby_single_slice_leave_one_run_out_far_above_chance():
    from decoders.evaluation import evaluate
    from decoders.voxel import VoxelLR

    d = load_nifti(HAXBY / "single-slice" / "bold.nii.gz", {"mask": "mask.nii.gz", "labels": "attributes_literal.txt"})
    assert d.class_names == CATEGORIES and d.X.shape == (864, 530, 1)
    assert len(set(d.run)) == 12 and np.bincount(d.y).tolist() == [108] * 8
    result = evaluate(d, VoxelLR(), "cross-session", split_by="run")
    acc = [f.metrics["accuracy"] for f in result.folds]
    assert len(acc) == 12
    assert np.mean(acc) >= 0.5   # measured 0.666; chance 0.125


@pytest.mark.skipif(not HAXBY.exists(), reason="Haxby data not present")
def test_haxby_25mm_runs_with_events():
    d = load_nifti(HAXBY / "sub001", {"pattern": "BOLD/*/bold_25mm.nii.gz", "mask": "masks/25mm/brain.nii.gz"})
    assert d.class_names == CATEGORIES and d.X.shape == (864, 129, 1) and len(set(d.run)) == 12
    with pytest.raises(InputError):
        load_nifti(HAXBY / "sub001", {"pattern": "BOLD/*/bold_25mm.nii.gz", "mask": "masks/25mm/brain.nii.gz",
                                      "atlas": "masks/25mm/vt.nii.gz"})


def test_repeated_kfold_within_each_site():
    from app.experiment import EvaluationConfig
    from data.decoding_set import DecodingSet
    from decoders.evaluation import make_splits

    y = np.tile([0, 1], 15)
    site = np.repeat(["A", "B", "C"], 10)
    d = DecodingSet(X=np.zeros((30, 2, 4)), y=y, kind="trials", modality="fmri-roi", subject=np.arange(30),
                    session=site, run="1", class_names=["a", "b"])
    splits = make_splits(d, "repeated-kfold", n_folds=5, n_repeats=3, seed=1)
    assert len(splits) == 3 * 3 * 5
    for s in splits:   # train and test inside one site, both classes in every training fold
        assert len(set(site[s.train]) | set(site[s.test])) == 1 and len(set(y[s.train])) == 2
    first = [s for s in splits if s.info["site"] == "A"]
    tested = [np.sort(np.concatenate([s.test for s in first if s.info["repeat"] == r])) for r in range(3)]
    assert all(np.array_equal(t, np.arange(10)) for t in tested)     # each repeat tests every subject once
    assert not np.array_equal(first[0].test, first[5].test)          # reshuffled between repeats
    assert EvaluationConfig(protocol="repeated-kfold", n_repeats=2).n_repeats == 2
    with pytest.raises(ValueError, match="n_repeats not used"):
        EvaluationConfig(protocol="kfold", n_repeats=2)
