"""Stimulus-paired volumes: the stimulus-pairs source kind on the real fmri-recon files, .npz
files, bad input, and demo:visual-fmri."""
from __future__ import annotations

import numpy as np
import pytest

from data.errors import DataError, MissingFileError
from data.loading import load_dataset
from data.stimuli import subject_voxels


def recon_spec(datasets, **options):
    folder = datasets / "fmri-recon"
    return {"kind": "stimulus-pairs",
            "sources": [{"source": str(folder / "digit69_28x28.mat")},
                        {"source": str(folder / "miyawaki_structured_28x28.mat")}],
            "options": {"image_order": "F", "subject_names": ["digit69", "miyawaki"], **options}}


def test_two_subjects_with_different_voxel_counts(datasets):
    data = load_dataset(recon_spec(datasets))
    assert data.kind == "volumes" and data.subjects == ["digit69", "miyawaki"]
    assert data.provenance["n_voxels"] == {"digit69": 3092, "miyawaki": 967}
    assert data.X.shape == (219, 3092) and data.stimuli.shape == (219, 28, 28)
    # every train sample first, so holdout [0, 197) -> [197, 219) is the files' own split
    assert (data.session[:197] == "train").all() and (data.session[197:] == "test").all()
    assert np.isnan(data.X[data.subject == "miyawaki"][:, 967:]).all()
    assert np.isfinite(subject_voxels(data, "miyawaki")).all()
    assert subject_voxels(data, "digit69").shape == (100, 3092)
    assert 0 <= data.stimuli.min() and data.stimuli.max() == 1.0   # digit69's 0-255 scaled
    # column-major storage read as such: a '6' has its loop at the bottom (more ink below
    # the middle row than above), which the row-major reading would turn sideways
    sixes = data.stimuli[(data.subject == "digit69") & (data.y == 1)]
    assert sixes[:, 14:, :].sum() > 1.3 * sixes[:, :14, :].sum()


def test_miyawaki_test_images_all_occur_in_train(datasets):
    data = load_dataset(recon_spec(datasets))
    m = data.subject == "miyawaki"
    flat = data.stimuli[m].reshape(m.sum(), -1).round(4)
    train = {r.tobytes() for r in flat[data.session[m] == "train"]}
    assert all(r.tobytes() in train for r in flat[data.session[m] == "test"])
    assert len({r.tobytes() for r in flat}) == 20


def test_npz_file_and_row_major_images(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(12, 4, 6)).astype(np.float32)
    path = tmp_path / "s1.npz"
    np.savez(path, fmriTrn=rng.normal(size=(10, 30)), stimTrn=images[:10].reshape(10, -1),
             fmriTest=rng.normal(size=(2, 30)), stimTest=images[10:].reshape(2, -1))
    data = load_dataset({"source": str(path), "kind": "stimulus-pairs",
                         "options": {"image_shape": [4, 6], "labels": None}})
    np.testing.assert_allclose(data.stimuli, images)
    assert data.y is None and data.subjects == ["s1"] and data.X.shape == (12, 30)


def test_bad_input_names_the_file_and_key(tmp_path, datasets):
    path = tmp_path / "bad.npz"
    np.savez(path, fmriTrn=np.zeros((3, 5)), stimTrn=np.zeros((3, 16)))
    with pytest.raises(DataError, match=r"bad\.npz.*no array 'fmriTest'"):
        load_dataset({"source": str(path), "kind": "stimulus-pairs"})
    with pytest.raises(DataError, match="15 pixels, not"):
        np.savez(path, fmriTrn=np.zeros((3, 5)), stimTrn=np.zeros((3, 15)))
        load_dataset({"source": str(path), "kind": "stimulus-pairs",
                      "options": {"voxels": ["fmriTrn"], "images": ["stimTrn"], "labels": None}})
    with pytest.raises(MissingFileError, match="nowhere.mat"):
        load_dataset({"source": str(tmp_path / "nowhere.mat"), "kind": "stimulus-pairs"})
    with pytest.raises(ValueError, match="stimulus-pairs.*voxel_keys"):  # InputError or the spec's ValidationError
        load_dataset({"source": str(path), "kind": "stimulus-pairs", "options": {"voxel_keys": ["x"]}})


def test_demo_visual_fmri():
    data = load_dataset({"source": "demo:visual-fmri"})
    assert data.subjects == ["A", "B", "C"]
    assert data.provenance["n_voxels"] == {"A": 700, "B": 500, "C": 350}
    assert len(data) == 900 and (data.session[:750] == "train").all()
    again = load_dataset({"source": "demo:visual-fmri"})
    np.testing.assert_array_equal(data.X[~np.isnan(data.X)], again.X[~np.isnan(again.X)])
    # voxels respond to the images: ridge from subject C's voxels predicts held-out pixels
    from sklearn.linear_model import Ridge

    c = data.subject == "C"
    X, Y = subject_voxels(data, "C"), data.stimuli[c].reshape(c.sum(), -1)
    pred = Ridge(alpha=10.0).fit(X[:250], Y[:250]).predict(X[250:])
    r = [np.corrcoef(p, t)[0, 1] for p, t in zip(pred, Y[250:])]
    assert np.mean(r) > 0.6
