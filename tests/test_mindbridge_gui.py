"""The Train view's live reconstruction grid while MindBridge trains on the demo: the grid of
fixed validation stimuli refreshes every `preview_every` epochs (subjects named over the
columns), and each loss term gets its own curve."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.simulated_mi import one_blas_thread

pytestmark = pytest.mark.gui


def test_grid_refreshes_and_loss_terms_plot_while_training(qtbot, tmp_path):
    from app.gui.controller import Workbench
    from app.gui.training_view import TrainingView
    from data.loading import load_dataset
    from decoders.events import TrainingContext
    from decoders.mindbridge import MindBridge

    wb = Workbench()
    view = TrainingView(wb)
    qtbot.addWidget(view)
    view.resize(1100, 800)
    view.show()
    view.tabs.setCurrentWidget(view.reconstruction)
    data = load_dataset({"source": "demo:visual-fmri"})
    rows = np.flatnonzero(data.session == "train")[::3]
    wb.training.start()
    refreshed = []
    wb.training.subscribe(lambda change, info: refreshed.append(view.reconstruction.images.refreshes)
                          if change == "reconstruction" else None)
    model = MindBridge(**{**MindBridge.presets["tiny"], "epochs": 6, "preview_every": 2,
                          "codec_epochs": 10, "val_fraction": 0.1})
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with one_blas_thread():
            model.fit(data.X[rows], stimuli=data.stimuli[rows], subject=data.subject[rows],
                      context=TrainingContext(on_event=wb.training.apply))
    finally:
        torch.set_num_threads(threads)
    grid = view.reconstruction.images
    assert refreshed == [1, 2, 3]                        # epochs 2, 4, 6
    assert view.reconstruction.stack.currentWidget() is grid and grid.n_shown == 8
    assert grid.caption.text() == "epoch 6"
    assert set(grid.term_curves) == {f"train_{t}" for t in ("emb", "pix", "corr", "clip", "rec", "cyc")}
    assert len(grid.term_curves["train_cyc"].xData) == 6
    assert {key for _, key in view.loss_plot.curves} == {"train_loss", "val_loss"}   # the total, as before
    assert view.score_plot.isHidden()                    # no score per epoch: the loss takes the width
    curves_height, tabs_height = view.split.sizes()
    assert tabs_height > curves_height                   # the first preview gave the images the room
    view.model.reset()
    assert not view.score_plot.isHidden()
    view.grab().save(str(tmp_path / "train-view-mindbridge.png"))
