"""BrainMAE fine-tuning learns the demo's label (a coupling change of one network) on held-out
sites, pretrained and from scratch; it is registered and goes through get_params / clone."""
import numpy as np
import pytest
import torch
from sklearn.base import clone

import decoders
from data.loading import load_dataset
from decoders.brainmae.decoder import BrainMAE
from decoders.registry import get
from decoders.evaluation import make_splits


@pytest.fixture(scope="module")
def demo():
    return load_dataset({"source": "demo:resting-state"})


@pytest.mark.parametrize("pretrain_epochs", [0, 3])
def test_finetune_beats_chance_on_held_out_sites(demo, pretrain_epochs):
    torch.set_num_threads(1)
    model = BrainMAE(dim=32, depth=1, pretrain_epochs=pretrain_epochs, finetune_epochs=10, lr=1e-3)
    correct = total = 0
    for s in make_splits(demo, "leave-one-site-out")[:2]:
        m = clone(model).fit(demo.X[s.train], demo.y[s.train])
        correct += int((m.predict(demo.X[s.test]) == demo.y[s.test]).sum())
        total += len(s.test)
        proba = m.predict_proba(demo.X[s.test])
        np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-5)
    # 44 held-out subjects, balanced classes: 0.68 is ~2.4 sd above chance
    assert correct / total > 0.68


def test_registered():
    assert "brainmae" in {e.name for e in decoders.available()}
    assert get("brainmae") is BrainMAE
