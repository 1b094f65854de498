"""MindBridge-style cross-subject reconstruction: learning on the demo (cross-subject beats
single-subject for a subject with little data), reset-tuning, bundles, bad input, and one
real-data run on fmri-recon next to the ridge baseline."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from data.errors import InputError
from data.loading import load_dataset
from decoders import metrics
from decoders.mindbridge import AutoencoderCodec, ImageCodec, MindBridge
from decoders.ridge_images import RidgeImages
from tests.simulated_mi import one_thread

TINY = dict(MindBridge.presets["tiny"], seed=0)


@pytest.fixture(autouse=True)
def _one_thread():
    with one_thread():
        yield


@pytest.fixture(scope="module")
def demo():
    return load_dataset({"source": "demo:visual-fmri"})


def fit(model, data, rows):
    return model.fit(data.X[rows], stimuli=data.stimuli[rows], subject=data.subject[rows])


def scores(model, data, rows):
    return metrics.reconstruction(data.stimuli[rows], model.predict(data.X[rows], subject=data.subject[rows]))


def test_cross_subject_beats_single_subject_with_little_data(demo):
    """Subject C has 20 training samples; A and B have 250 each. One model trained on all
    three reconstructs C's 50 test images better than the same network trained on C alone."""
    train_c = np.flatnonzero((demo.subject == "C") & (demo.session == "train"))[:20]
    others = np.flatnonzero(np.isin(demo.subject, ["A", "B"]) & (demo.session == "train"))
    test_c = (demo.subject == "C") & (demo.session == "test")
    network = {**TINY, "ridge_blend": 0.0}   # the shared network only: the ridge skip path is per subject
    cross = scores(fit(MindBridge(**network), demo, np.concatenate([others, train_c])), demo, test_c)
    single = scores(fit(MindBridge(**network), demo, train_c), demo, test_c)
    # measured: PixCorr 0.81 vs 0.71, two-way 0.89 vs 0.58
    assert cross["pixcorr"] > single["pixcorr"] + 0.05, (cross, single)
    assert cross["two_way_pixel"] > single["two_way_pixel"] + 0.15, (cross, single)
    assert cross["two_way_pixel"] > 0.85


def test_reset_tuning_trains_only_the_new_subject(demo):
    ab = np.flatnonzero(np.isin(demo.subject, ["A", "B"]) & (demo.session == "train"))
    model = fit(MindBridge(**{**TINY, "finetune_epochs": 40}), demo, ab)
    shared = {k: v.clone() for k, v in model.network_.state_dict().items() if not k.startswith(("embedders", "builders"))}
    subject_a = {k: v.clone() for k, v in model.network_.embedders[0].state_dict().items()}
    codec = {k: v.clone() for k, v in model.codec_.net.state_dict().items()}
    with pytest.raises(InputError, match="subject.*'C'.*not trained"):
        model.predict(demo.X[demo.subject == "C"], subject=demo.subject[demo.subject == "C"])

    c = np.flatnonzero((demo.subject == "C") & (demo.session == "train"))[:40]
    model.fine_tune(demo.X[c], stimuli=demo.stimuli[c], subject=demo.subject[c])
    assert model.subjects_ == ["A", "B", "C"] and model.network_.n_voxels == [700, 500, 350]
    after = model.network_.state_dict()
    for k, v in shared.items():
        if not k.startswith("voxel_"):   # the statistics buffers grow a row for C
            assert torch.equal(after[k], v), k
    for k, v in model.network_.embedders[0].state_dict().items():
        assert torch.equal(v, subject_a[k])
    for k, v in model.codec_.net.state_dict().items():
        assert torch.equal(v, codec[k])
    test_c = (demo.subject == "C") & (demo.session == "test")
    assert scores(model, demo, test_c)["two_way_pixel"] > 0.8
    # subject A is still served as before
    test_a = (demo.subject == "A") & (demo.session == "test")
    assert scores(model, demo, test_a)["two_way_pixel"] > 0.85


def test_bundle_round_trip_includes_the_image_decoder(demo, tmp_path):
    from decoders.bundle import load_bundle, save_bundle

    rows = np.flatnonzero(demo.session == "train")[::5]
    model = fit(MindBridge(**{**TINY, "epochs": 3, "codec_epochs": 3}), demo, rows)
    assert isinstance(model.codec_, ImageCodec)
    save_bundle(model, tmp_path / "mb", input_spec={"kind": "volumes"})
    loaded, manifest = load_bundle(tmp_path / "mb")
    assert any(k.startswith("codec.") for k in manifest["weights"]["arrays"])
    test = demo.session == "test"
    np.testing.assert_allclose(loaded.predict(demo.X[test], subject=demo.subject[test]),
                               model.predict(demo.X[test], subject=demo.subject[test]), atol=1e-5)


def test_codec_round_trip_and_bad_input():
    rng = np.random.default_rng(0)
    images = (rng.uniform(size=(40, 6, 6)) > 0.5).astype(np.float32)
    codec = AutoencoderCodec((6, 6), dim=8, hidden=32).fit(images, epochs=2)
    emb = codec.encode(images)
    assert emb.shape == (40, 8) and codec.decode(emb).shape == (40, 6, 6)
    model = MindBridge(**TINY)
    with pytest.raises(InputError, match="stimuli"):
        model.fit(rng.normal(size=(4, 10)))
    X = rng.normal(size=(4, 10)).astype(np.float32)
    X[0, 3] = np.nan
    with pytest.raises(InputError, match="subject '1'.*trailing padding"):
        model.fit(X, stimuli=images[:4])


def test_fmri_recon_one_model_for_both_subjects(datasets):
    """Real data: one small MindBridge on digit69 (3,092 voxels) and miyawaki (967 voxels);
    each subject's test images are identified well above chance, and the ridge baseline
    measured beside it matches the published figure on digit69 (PixCorr ~0.79)."""
    folder = datasets / "fmri-recon"
    data = load_dataset({"kind": "stimulus-pairs",
                         "sources": [{"source": str(folder / "digit69_28x28.mat")},
                                     {"source": str(folder / "miyawaki_structured_28x28.mat")}],
                         "options": {"image_order": "F", "subject_names": ["digit69", "miyawaki"]}})
    train, test = data.session == "train", data.session == "test"
    model = fit(MindBridge(**{**TINY, "epochs": 150, "codec_epochs": 150, "hidden": 128, "pooled": 256,
                              "emb_dim": 32}), data, train)
    ridge = fit(RidgeImages(), data, train)
    for s, two_way in (("digit69", 0.7), ("miyawaki", 0.75)):   # chance: 0.5
        rows = test & (data.subject == s)
        got = scores(model, data, rows)
        assert got["two_way_pixel"] > two_way, (s, got)
        assert got["pixcorr"] > 0.55, (s, got)
    base = scores(ridge, data, test & (data.subject == "digit69"))
    assert 0.74 < base["pixcorr"] < 0.84 and base["two_way_pixel"] > 0.88
    # the ridge skip path (ridge_blend, default 0.5) lifts PixCorr over the network alone
    rows = test & (data.subject == "digit69")
    network_only = model.codec_.decode(model.predict_embedding(data.X[rows], subject=data.subject[rows]))
    alone = metrics.reconstruction(data.stimuli[rows], network_only)
    blended = scores(model, data, rows)
    assert model.ridge_ is not None
    assert blended["pixcorr"] > alone["pixcorr"] + 0.02, (blended, alone)


def test_run_and_predict_from_the_command_line(tmp_path, capsys):
    """`neurodeck run` on the demo writes per-subject metrics and the grid PNG; `neurodeck
    predict` reconstructs a known subject, refuses an unknown one, and adapts to it with --adapt."""
    import json

    import yaml

    from app.cli import main

    experiment = tmp_path / "demo.yaml"
    experiment.write_text(yaml.safe_dump({
        "name": "demo-mb", "dataset": {"source": "demo:visual-fmri", "subjects": ["A", "B"]},
        "decoder": {"name": "mindbridge", "preset": "tiny", "params": {"epochs": 3, "codec_epochs": 5, "finetune_epochs": 5}},
        "evaluation": {"protocol": "holdout", "train_range": [0, 500], "test_range": [500, 600]},
        "output": {"runs_dir": str(tmp_path / "runs")}}))
    assert main(["run", str(experiment), "--quiet"]) == 0
    run = next((tmp_path / "runs").iterdir())
    assert (run / "figures" / "reconstructions.png").stat().st_size > 1000
    assert set(json.loads((run / "metrics.json").read_text())["by_subject"]) == {"A", "B"}

    out = tmp_path / "pred" / "a.npz"
    out.parent.mkdir()
    assert main(["predict", str(run), "demo:visual-fmri", "--subjects", "A", "--out", str(out)]) == 0
    with np.load(out, allow_pickle=False) as z:
        assert z["images"].shape == (300, 28, 28) and set(z["subject"]) == {"A"}
        assert "truth" in z.files
        assert z["seen_in_training"].all()   # the run's final model trained on all of A and B
    assert out.with_suffix(".png").exists()
    assert main(["predict", str(run), "demo:visual-fmri", "--subjects", "C", "--out", str(out)]) == 2
    assert "not known to this decoder" in capsys.readouterr().err
    assert main(["predict", str(run), "demo:visual-fmri", "--subjects", "C", "--adapt", "--out", str(out)]) == 0
    with np.load(out, allow_pickle=False) as z:
        assert z["images"].shape == (50, 28, 28) and set(z["session"]) == {"test"}
        assert not z["seen_in_training"].any()


def test_correlation_loss_term_is_one_minus_pixcorr():
    """The ``corr`` loss term is 1 - the per-image Pearson correlation that PixCorr reports."""
    from decoders.mindbridge.decoder import _pixel_correlation

    rng = np.random.default_rng(0)
    a, b = rng.random((5, 49)), rng.random((5, 49))
    b[1] = 2 * a[1] + 0.3                     # perfectly correlated pair
    got = _pixel_correlation(torch.as_tensor(a), torch.as_tensor(b)).numpy()
    want = [np.corrcoef(x, y)[0, 1] for x, y in zip(a, b)]
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert got[1] == pytest.approx(1.0)
    images = a.reshape(5, 7, 7)
    assert metrics.pixcorr(images, b.reshape(5, 7, 7)) == pytest.approx(np.mean(want), abs=1e-6)
