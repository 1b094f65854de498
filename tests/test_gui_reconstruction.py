"""The reconstruction pane's "signal" view: one masked signal, or k ROI signals stacked (one
row each, masked spans shaded within their row, y ticks naming the ROIs), as BrainMAE's
pretraining reports them once per epoch."""
from __future__ import annotations

import numpy as np
import pytest

from decoders.events import SignalReconstruction

pytestmark = pytest.mark.gui


def roi_event(k=4, n_times=120, seed=0, **extra):
    rng = np.random.default_rng(seed)
    t = np.arange(n_times)
    truth = np.stack([np.sin(t / (6 + 2 * i)) + 0.2 * rng.standard_normal(n_times) for i in range(k)])
    decoded = truth + 0.3 * rng.standard_normal(truth.shape)
    mask = np.zeros((k, n_times), bool)
    for i in range(k):                       # two hidden segments per ROI, at different places
        mask[i, 10 + 7 * i: 30 + 7 * i] = True
        mask[i, 70 + 5 * i: 85 + 5 * i] = True
    fields = {"truth": truth, "decoded": decoded, "mask": mask,
              "channel_names": [f"roi{3 * i + 1}" for i in range(k)], "subject": "0051456", "epoch": 3, "fold": 1}
    return SignalReconstruction(**{**fields, **extra})


def rects_in(overlay):
    from PySide6.QtWidgets import QGraphicsRectItem

    return [item for item in overlay.getPlotItem().items if isinstance(item, QGraphicsRectItem)]


def row_of(rect, centers):
    mid = rect.rect().center().y()
    return int(np.argmin([abs(mid - c) for c in centers]))


def test_stacked_roi_signals_with_masked_spans_in_their_own_rows(qtbot):
    from app.gui.reconstruction import ReconstructionPane

    pane = ReconstructionPane()
    qtbot.addWidget(pane)
    pane.resize(900, 520)
    pane.show()
    event = roi_event()
    pane.show_event(event)
    overlay = pane.signal
    assert pane.stack.currentWidget() is overlay and pane.current == "signal"
    assert pane.title.text() == ("Masked segments (shaded) of 4 ROIs of held-out subject 0051456 and their "
                                 "reconstruction, epoch 3 (fold 1)")
    curves = overlay.listDataItems()
    assert len(curves) == 8                                    # true and reconstructed per ROI
    assert [c.name() for c in curves if c.name()] == ["true", "reconstructed"]   # legend entries once
    ticks = overlay.getAxis("left")._tickLevels[0]
    assert [name for _, name in ticks] == ["roi1", "roi4", "roi7", "roi10"]
    centers = [y for y, _ in ticks]
    assert centers == sorted(centers, reverse=True)           # first ROI on top
    # Each row's curves sit around its tick, and do not cross into the next row.
    gap = abs(centers[0] - centers[1])
    for i, center in enumerate(centers):
        for curve in curves[2 * i: 2 * i + 2]:
            assert abs(np.median(curve.yData) - center) < gap / 2
    # Two shaded spans per ROI, each inside its own row, covering exactly its masked samples.
    assert len(overlay.shaded) == 8 and len(rects_in(overlay)) == 8
    for rect in overlay.shaded:
        r = rect.rect()
        row = row_of(rect, centers)
        assert r.height() < gap
        hidden = np.flatnonzero(event.mask[row])
        samples = np.arange(int(np.ceil(r.left())), int(np.floor(r.right())) + 1)
        assert set(samples) <= set(hidden)
    per_row = np.bincount([row_of(r, centers) for r in overlay.shaded], minlength=4)
    assert per_row.tolist() == [2, 2, 2, 2]
    assert overlay.getPlotItem().getAxis("bottom").labelText == "sample"
    pane.grab().save("/tmp/recon_pane.png")


def test_seconds_axis_when_the_event_has_a_tr_and_many_rois_are_capped(qtbot):
    from app.gui.reconstruction import ReconstructionPane, SignalOverlay

    pane = ReconstructionPane()
    qtbot.addWidget(pane)
    pane.show_event(roi_event(k=20, tr=2.0, fold=None, epoch=None))
    overlay = pane.signal
    shown = SignalOverlay.max_channels
    assert len(overlay.listDataItems()) == 2 * shown
    assert pane.title.text() == (f"Masked segments (shaded) of {shown} of 20 ROIs of held-out subject 0051456 "
                                 "and their reconstruction")
    assert overlay.getPlotItem().getAxis("bottom").labelText == "time (s)"
    assert overlay.listDataItems()[0].xData[-1] == pytest.approx(2.0 * 119)
    first = min(overlay.shaded, key=lambda r: (-r.rect().center().y(), r.rect().left()))
    assert first.rect().left() == pytest.approx(2.0 * 9.5) and first.rect().width() == pytest.approx(2.0 * 20)


def test_one_dimensional_signal_still_draws_one_trace_pair(qtbot):
    from app.gui.reconstruction import ReconstructionPane

    pane = ReconstructionPane()
    qtbot.addWidget(pane)
    pane.show_event(roi_event())                       # stacked first, then back to 1-D: nothing left over
    mask = np.zeros(200, bool)
    mask[50:80] = True
    mask[120:130] = True
    t = np.arange(200)
    pane.show_event(SignalReconstruction(truth=np.sin(t / 9), decoded=np.cos(t / 9), mask=mask, fold=0))
    overlay = pane.signal
    assert len(overlay.listDataItems()) == 2
    assert len(overlay.shaded) == 2
    assert len(rects_in(overlay)) == 2                          # the stacked view's 8 are gone
    assert overlay.channel_names == []
    assert overlay.getAxis("left")._tickLevels is None          # numeric y axis again, no ROI names
    assert pane.title.text() == "Masked signal (shaded) and its reconstruction (fold 0)"
    spans = sorted((r.rect().left(), r.rect().right()) for r in overlay.shaded)
    assert spans == [(49.5, 79.5), (119.5, 129.5)]
    pane.show_event(SignalReconstruction(truth=np.sin(t / 9), decoded=np.cos(t / 9)))   # no mask
    assert len(overlay.listDataItems()) == 2 and overlay.shaded == []
