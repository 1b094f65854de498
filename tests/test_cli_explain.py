"""`neurodeck explain RUN|BUNDLE DATA`: arrays and figures of a run's model on demo EEG and on
Haxby's NIfTI slice (voxel maps written back as NIfTI), and bad input refused (exit 2)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from decoders.bundle import save_bundle
from tests.simulated_mi import one_thread

MI_SPEC = {"source": "demo:motor-imagery", "subjects": ["1"], "window": [0.5, 3.5],
           "preprocessing": {"band": [8.0, 30.0]}}
HAXBY_OPTIONS = {"mask": "mask.nii.gz", "labels": "attributes_literal.txt", "hrf_delay": 0.0}


def _run_folder(folder: Path, decoder, spec: dict) -> Path:
    """A run folder as `neurodeck run` leaves it (metrics.json, model/)."""
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps({"decoder": decoder.name}))
    save_bundle(decoder, folder / "model", input_spec=spec)
    return folder


@pytest.fixture(scope="module")
def mi_run(tmp_path_factory):
    import decoders
    from data.loading import load_dataset

    with one_thread():
        data = load_dataset(MI_SPEC)
        decoder = decoders.create("csp-lda").fit(data.X, data.y)
    spec = {"kind": "trials", "modality": "eeg", "shape": list(data.X.shape[1:]), "ch_names": data.ch_names,
            "sfreq": data.sfreq, "window": MI_SPEC["window"], "preprocessing": MI_SPEC["preprocessing"],
            "class_names": data.class_names}
    return _run_folder(tmp_path_factory.mktemp("explain") / "run-csp", decoder, spec)


def test_explain_a_run_writes_maps_and_figures_into_the_run(mi_run, capsys):
    with one_thread():
        assert main(["explain", str(mi_run), "demo:motor-imagery", "--subjects", "1"]) == 0
    out = mi_run / "explain"
    assert "3 explanation(s) of csp-lda" in capsys.readouterr().err
    index = json.loads((out / "explanations.json").read_text())
    assert [e["method"] for e in index["explanations"]] == ["csp-pattern", "haufe-pattern", "csp-class-pattern"]
    for entry in index["explanations"]:
        assert (out / entry["npz"]).is_file() and entry["figures"]
        for png in entry["figures"]:
            assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with np.load(out / "03-csp-class-pattern.npz") as z:
        assert str(z["axis0_kind"]) == "channel" and z["outputs"].tolist() == ["right vs left"]
        names = z["axis0_values"].tolist()
        maps = z["maps"]
        assert json.loads(str(z["extra"]))["signed"] is True
    assert maps.shape == (1, 36)
    assert maps[0, names.index("C3")] < 0 < maps[0, names.index("C4")]   # right-hand imagery: left mu/beta down


def test_explain_arrays_only_into_a_chosen_folder(mi_run, tmp_path):
    out = tmp_path / "maps"
    with one_thread():
        assert main(["explain", str(mi_run / "model"), "demo:motor-imagery", "--subjects", "1", "--out", str(out),
                     "--no-figures"]) == 0
    assert sorted(p.suffix for p in out.iterdir()) == [".json", ".npz", ".npz", ".npz"]


def test_voxel_maps_are_written_as_nifti_at_the_mask_positions(tmp_path, datasets):
    import nibabel as nib

    import decoders
    from data.loading import load_dataset

    source = datasets / "haxby2001-sub001" / "single-slice" / "bold.nii.gz"
    data = load_dataset({"source": str(source), "kind": "nifti", "options": HAXBY_OPTIONS})
    decoder = decoders.create("voxel-lr").fit(data.X, data.y)
    spec = {"kind": "trials", "modality": "fmri", "ch_names": data.ch_names, "class_names": data.class_names,
            "source_kind": "nifti", "options": HAXBY_OPTIONS, "shape": list(data.X.shape[1:])}
    run = _run_folder(tmp_path / "run-haxby", decoder, spec)
    assert main(["explain", str(run), str(source)]) == 0
    out = run / "explain"
    index = json.loads((out / "explanations.json").read_text())["explanations"]
    assert index[0]["nifti"] == "01-haufe-pattern.nii.gz" and len(index[0]["figures"]) == 8
    image = nib.load(out / "01-haufe-pattern.nii.gz")
    mask = nib.load(source.parent / "mask.nii.gz")
    assert image.shape == (*mask.shape[:3], 8) and np.allclose(image.affine, mask.affine)
    volume = np.asarray(image.dataobj)
    inside = np.asarray(mask.dataobj) != 0
    assert np.count_nonzero(volume[~inside]) == 0 and np.count_nonzero(volume[inside]) > 0.9 * inside.sum() * 8
    with np.load(out / "01-haufe-pattern.npz") as z:
        maps, outputs = z["maps"], z["outputs"].tolist()
    assert outputs == data.class_names
    i, j, k = (int(v) for v in data.ch_names[0][1:].split("_"))      # "v<i>_<j>_<k>"
    np.testing.assert_allclose(volume[i, j, k], maps[:, 0], rtol=1e-5)


def test_bad_input_exits_2_naming_the_file(mi_run, tmp_path, capsys):
    assert main(["explain", str(tmp_path / "nothing"), "demo:motor-imagery"]) == 2
    err = " ".join(capsys.readouterr().err.split())   # the CLI wraps its messages
    assert "nothing" in err and "no such bundle" in err

    import decoders

    kalman = decoders.create("kalman").fit(np.random.default_rng(0).normal(size=(50, 3)),
                                           np.random.default_rng(1).normal(size=(50, 2)))
    bundle = save_bundle(kalman, tmp_path / "kalman", input_spec={"kind": "continuous"})
    assert main(["explain", str(bundle), "demo:center-out"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "kalman" in err and "no explanation is available" in err and "csp-lda" in err

    missing = tmp_path / "absent.edf"
    assert main(["explain", str(mi_run), str(missing)]) == 2
    assert "absent.edf" in capsys.readouterr().err

    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    assert main(["explain", str(mi_run), "demo:motor-imagery", "--out", str(blocker)]) == 2
    assert "--out" in capsys.readouterr().err
