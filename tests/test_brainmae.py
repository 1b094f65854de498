"""BrainMAE pretraining on real ABIDE data: masked segments of a held-out site's subjects are
reconstructed better than the ROI-mean fill and linear interpolation."""
import numpy as np
import torch

from data.fmri.roi_series import load_roi_folder
from decoders.brainmae.masking import baseline_fills, mask_segments, masked_r2, segment_windows
from decoders.brainmae.pretrain import masked_scores, pretrain


def test_baselines_exact_on_known_signal():
    t = np.arange(48, dtype=np.float32)
    W = np.broadcast_to(t, (1, 3, 48)).reshape(1, 3, 4, 12).copy()
    mask = np.zeros((1, 3, 4), bool)
    mask[0, :, 1] = True
    fills = baseline_fills(W, mask)
    M = np.repeat(mask[..., None], 12, -1)
    assert masked_r2(W[M], fills["linear"][M]) > 0.999     # a line is interpolated exactly
    assert masked_r2(W[M], fills["roi-mean"][M]) < 0


def test_pretrained_beats_fills_on_held_out_site(datasets):
    torch.set_num_threads(1)
    d = load_roi_folder(datasets / "abide-cc200", {"sites": ["Caltech", "Trinity", "OHSU"],
                                                   "max_subjects_per_site": 16})
    W, owner = segment_windows(d.X, 4, 12, stride=24)
    test = d.session[owner] == "OHSU"
    net, timing = pretrain(W[~test], dim=32, depth=1, epochs=4, seed=0)
    scores = masked_scores(net, W[test])
    assert timing["losses"][-1] < timing["losses"][0]
    assert scores["brainmae"] > scores["roi-mean"] + 0.03
    assert scores["brainmae"] > scores["linear"]

