"""BrainMAE windows, network variants and pretraining: segments last seg_seconds whatever the
TR; on real ABIDE data masked segments of a held-out site's subjects are reconstructed better
than the ROI-mean fill and linear interpolation."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from data.fmri.roi_series import load_roi_folder
from decoders.brainmae.masking import baseline_fills, mask_segments, masked_r2, points_per_segment, segment_windows
from decoders.brainmae.network import VARIANTS, BrainMAENet
from decoders.brainmae.pretrain import BrainMAEPretrain
from decoders.tasks import pretraining_test


def test_baselines_exact_on_known_signal():
    t = np.arange(48, dtype=np.float32)
    W = np.broadcast_to(t, (1, 3, 48)).reshape(1, 3, 4, 12).copy()
    mask = np.zeros((1, 3, 4), bool)
    mask[0, :, 1] = True
    fills = baseline_fills(W, mask)
    M = np.repeat(mask[..., None], 12, -1)
    assert masked_r2(W[M], fills["linear"][M]) > 0.999     # a line is interpolated exactly
    assert masked_r2(W[M], fills["roi-mean"][M]) < 0


def test_segments_last_the_same_seconds_at_every_tr():
    # two subjects, 300 s each: TR 2 s (150 points) and TR 3 s (100 points), the same slow sine
    seconds = lambda n, tr: np.arange(n) * tr  # noqa: E731
    x2 = np.sin(2 * np.pi * seconds(150, 2.0) / 120)[None].repeat(3, 0)
    x3 = np.sin(2 * np.pi * seconds(100, 3.0) / 120)[None].repeat(3, 0)
    X = np.full((2, 3, 150), np.nan, np.float32)
    X[0], X[1, :, :100] = x2, x3
    assert points_per_segment(15, 2.0) == 8 and points_per_segment(15, 3.0) == 5
    W, owner = segment_windows(X, [2.0, 3.0], n_segments=4, seg_seconds=15, seg_points=8, stride_segments=4)
    assert W.shape[1:] == (3, 4, 8)
    assert np.bincount(owner).tolist() == [4, 5]   # 18 and 20 whole segments of 15 s
    # the first window of both subjects covers about the same minute of the same signal
    # (whole TRs: 8 x 2 s = 16 s segments against 5 x 3 s = 15 s)
    assert np.corrcoef(W[0, 0].ravel(), W[4, 0].ravel())[0, 1] > 0.9
    with pytest.raises(ValueError, match=r"subject 0 has 150 time points \(300 s at TR 2 s\)"):
        segment_windows(X, [2.0, 3.0], n_segments=24, seg_seconds=15, seg_points=8)


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_encoder_variant_reconstructs_and_learns(variant):
    torch.manual_seed(0)
    net = BrainMAENet(6, 4, 8, dim=16, depth=1, heads=2, variant=variant)
    W = torch.randn(8, 6, 4, 8)
    mask = torch.as_tensor(mask_segments((8, 6, 4), 0.5, np.random.default_rng(0)))
    assert net.reconstruct(W, mask).shape == W.shape
    if variant == "static-graph":
        A = net.blocks[0].graph(net.roi_embedding)
        assert torch.all(A.diagonal(dim1=1, dim2=2) == 0)          # no self-loops
        torch.testing.assert_close(A.sum(-1), torch.ones(2, 6))
        # the graph comes from the embeddings alone: the same for any signal
        torch.testing.assert_close(A, net.blocks[0].graph(net.roi_embedding))


def test_pretrained_beats_fills_on_held_out_site(datasets):
    torch.set_num_threads(1)
    d = load_roi_folder(datasets / "abide-cc200", {"sites": ["Caltech", "Trinity", "OHSU"],
                                                   "max_subjects_per_site": 16})
    tr = d.tr if getattr(d, "tr", None) is not None else np.where(d.session == "OHSU", 2.5, 2.0)
    test = d.session == "OHSU"
    model = BrainMAEPretrain(dim=32, depth=1, epochs=30, schedule="none", variant="static-graph", val_fraction=0)
    model.fit(d.X[~test], tr=tr[~test], subject=d.subject[~test])
    losses = [h["train_loss"] for h in model.history_]
    assert losses[-1] < 0.8 * losses[0]
    scores, _ = pretraining_test(model, SimpleNamespace(X=d.X, tr=tr), np.flatnonzero(test))
    # measured: 0.14 vs ROI mean -0.23 and linear interpolation -1.1
    assert scores["masked_r2"] > 0.05
    assert scores["masked_r2"] > scores["masked_r2_roi_mean"] + 0.1
    assert scores["masked_r2"] > scores["masked_r2_linear"]
