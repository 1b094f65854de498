"""BrainMAE predictions are computed in batches of windows under inference mode: the
subject probabilities must not depend on the batch size (ABIDE subjects, tiny network)."""
import numpy as np
import torch

import decoders.brainmae.decoder as brainmae_decoder
from data.fmri.roi_series import load_roi_folder
from decoders.brainmae.decoder import BrainMAE


def test_batched_prediction_equals_one_pass(datasets, monkeypatch):
    torch.set_num_threads(1)
    d = load_roi_folder(datasets / "abide-cc200", {"sites": ["Caltech"]})
    X, y, tr = d.X[14:24], d.y[14:24], d.tr[14:24]              # controls and patients
    model = BrainMAE(dim=16, depth=1, epochs=1, val_fraction=0).fit(X, y, tr=tr)
    one_pass = model.predict_proba(X, tr=tr)
    monkeypatch.setattr(brainmae_decoder, "_EVAL_BATCH", 3)   # several batches, a ragged last one
    batched = model.predict_proba(X, tr=tr)
    assert one_pass.shape == (len(X), 2)
    np.testing.assert_allclose(batched, one_pass, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(batched.sum(axis=1), 1, atol=1e-5)
    assert not torch.is_inference_mode_enabled()               # the mode ends with the call
