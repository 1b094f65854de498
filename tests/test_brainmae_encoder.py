"""Pretraining and fine-tuning as separate steps: a brainmae-pretrain run (no labels) leaves
an encoder bundle; a brainmae experiment names it (run folder or exported bundle) and
fine-tunes it; bad encoders are refused with the path named."""
import json

import numpy as np
import pytest
import torch

from app.experiment import run_experiment
from data.loading import load_dataset
from decoders.base import ParameterError
from decoders.brainmae.decoder import BrainMAE
from decoders.bundle import BundleError, load_bundle, save_bundle
from decoders.events import EpochEnd, Reconstruction, SignalReconstruction
from decoders.evaluation import make_splits


def _config(tmp_path, decoder, params, name):
    return {"name": name, "dataset": {"source": "demo:resting-state"},
            "decoder": {"name": decoder, "params": params},
            "evaluation": {"protocol": "leave-one-site-out"},
            "output": {"runs_dir": str(tmp_path / "runs")}}


@pytest.fixture(scope="module")
def pretrain_run(tmp_path_factory):
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("pretrain")
    events = []
    result = run_experiment(_config(tmp, "brainmae-pretrain", {"dim": 16, "depth": 1, "epochs": 4, "lr": 3e-3},
                                    "demo-pretrain"), on_event=events.append)
    return result, events


def test_pretraining_run_scores_held_out_sites_and_streams_reconstructions(pretrain_run):
    result, events = pretrain_run
    s = result.metrics["summary"]
    assert s["masked_r2"]["mean"] > s["masked_r2_roi_mean"]["mean"]
    assert s["masked_r2"]["mean"] > s["masked_r2_linear"]["mean"]
    epochs = [e.row() for e in events if isinstance(e, EpochEnd)]
    assert {"train_loss", "val_loss", "val_masked_r2"} <= set(epochs[0])
    recon = [e for e in events if isinstance(e, Reconstruction)]
    assert len(recon) >= 4 * 4      # every epoch of every fold
    r = recon[-1]
    assert isinstance(r, SignalReconstruction) and np.asarray(r.truth).shape == np.asarray(r.decoded).shape
    assert np.asarray(r.mask).dtype == bool and np.asarray(r.mask).any()
    assert len(r.channel_names) == np.asarray(r.truth).shape[0] == 4
    assert (result.run_dir / "model" / "manifest.json").exists()


def test_finetuning_names_the_pretrained_run_and_learns(pretrain_run, tmp_path):
    run_dir = pretrain_run[0].run_dir
    result = run_experiment(_config(tmp_path, "brainmae", {"encoder": str(run_dir), "epochs": 8, "val_fraction": 0.2},
                                    "demo-finetune"))
    # 80 subjects, balanced: 0.65 is ~2.7 sd above chance
    assert result.metrics["summary"]["accuracy"]["mean"] > 0.65
    history = (result.run_dir / "history.csv").read_text()
    assert "val_acc" in history.splitlines()[0]
    log = (result.run_dir / "log.txt").read_text()
    assert "fine-tuning the pretrained encoder" in log
    bundle, manifest = load_bundle(result.run_dir / "model")
    assert manifest["state"]["architecture"]["dim"] == 16     # the encoder's, not the default 64
    demo = load_dataset({"source": "demo:resting-state"})
    pred = bundle.predict(demo.X[:10], tr=demo.tr[:10])
    assert set(pred.tolist()) <= set(range(len(demo.class_names)))


def test_encoder_weights_are_the_pretrained_ones(pretrain_run):
    encoder, _ = load_bundle(pretrain_run[0].run_dir / "model")
    model = BrainMAE(encoder=str(pretrain_run[0].run_dir), epochs=1, lr=1e-12, weight_decay=0)
    demo = load_dataset({"source": "demo:resting-state"})
    model.fit(demo.X[:20], demo.y[:20], tr=demo.tr[:20])
    torch.testing.assert_close(model.net_.roi_embedding, encoder.net_.roi_embedding, atol=1e-6, rtol=0)


def test_bad_encoders_are_refused_with_the_path(pretrain_run, tmp_path):
    demo = load_dataset({"source": "demo:resting-state"})
    with pytest.raises(ParameterError, match="does not exist"):
        BrainMAE(encoder=str(tmp_path / "nowhere"), epochs=1).fit(demo.X, demo.y)
    finetuned = BrainMAE(dim=16, depth=1, epochs=1).fit(demo.X[:20], demo.y[:20])
    save_bundle(finetuned, tmp_path / "classifier", input_spec={"kind": "trials"})
    with pytest.raises(ParameterError, match="not a brainmae-pretrain encoder"):
        BrainMAE(encoder=str(tmp_path / "classifier"), epochs=1).fit(demo.X, demo.y)
    # an edited architecture no longer matches the weights: refused before any array is used
    model = tmp_path / "tampered"
    encoder, _ = load_bundle(pretrain_run[0].run_dir / "model")
    save_bundle(encoder, model, input_spec={"kind": "trials"})
    manifest = json.loads((model / "manifest.json").read_text())
    manifest["state"]["architecture"]["dim"] = 32
    (model / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=str(model)):
        load_bundle(model)


def test_finetune_from_scratch_and_pretrained_here_beat_chance():
    torch.set_num_threads(1)
    demo = load_dataset({"source": "demo:resting-state"})
    for pretrain_epochs in (0, 3):
        correct = total = 0
        for s in make_splits(demo, "leave-one-site-out")[:2]:
            m = BrainMAE(dim=32, depth=1, pretrain_epochs=pretrain_epochs, epochs=10)
            m.fit(demo.X[s.train], demo.y[s.train], tr=demo.tr[s.train])
            proba = m.predict_proba(demo.X[s.test], tr=demo.tr[s.test])
            np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-5)
            correct += int((m.classes_[proba.argmax(1)] == demo.y[s.test]).sum())
            total += len(s.test)
        # 44 held-out subjects, balanced classes: 0.68 is ~2.4 sd above chance (measured 0.89 / 0.91)
        assert correct / total > 0.68


def test_both_are_registered():
    import decoders
    from decoders.brainmae.pretrain import BrainMAEPretrain
    from decoders.registry import get

    assert {"brainmae", "brainmae-pretrain"} <= {e.name for e in decoders.available()}
    assert get("brainmae") is BrainMAE and get("brainmae-pretrain") is BrainMAEPretrain
