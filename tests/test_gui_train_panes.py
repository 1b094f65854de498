"""Every pane of the Train view belongs to the current run and fold (issue 20): the curve axes
follow each new run (not the last run's epochs or a zoom), the score pane is named after
what the run reports (or says it reports none), a previous fold's reconstruction preview is
taken down when the next fold starts, and BrainMAE's pretraining previews a held-out subject
of each fold's own (named by its ID), not the same position of every fold."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from decoders.events import EpochEnd, SignalReconstruction, TrainingContext

pytestmark = pytest.mark.gui


def x_range(plot):
    return plot.getPlotItem().getViewBox().viewRange()[0]


def test_curve_axes_start_afresh_at_each_reset(qtbot):
    from app.gui.training_view import CurvePlot

    plot = CurvePlot("loss", ("train_loss",), "loss")
    qtbot.addWidget(plot)
    plot.resize(400, 300)
    plot.show()
    plot.update_fold(0, [{"epoch": e, "train_loss": 10.0 / e} for e in range(1, 51)])
    plot.getPlotItem().getViewBox().setXRange(20, 50)         # a zoom, as a user's drag leaves it
    assert x_range(plot)[1] >= 49
    plot.reset()
    assert x_range(plot)[1] < 5, "a run without epochs (CSP) must not keep the last run's 0-50"
    plot.update_fold(0, [{"epoch": e, "train_loss": 0.5 + e} for e in (1, 2, 3)])
    qtbot.waitUntil(lambda: 2.5 < x_range(plot)[1] < 4.5, timeout=2000)
    low, high = plot.getPlotItem().getViewBox().viewRange()[1]
    assert low < 1.6 and 3.4 < high < 5, "the y axis follows the new run's losses"


def make_view(qtbot):
    from app.gui.models.training_model import TrainingModel
    from app.gui.training_view import TrainingView

    model = TrainingModel()
    view = TrainingView(SimpleNamespace(training=model))
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    return model, view


def test_score_pane_named_after_what_the_run_reports(qtbot):
    model, view = make_view(qtbot)
    model.start(["left", "right"])
    model.apply(EpochEnd(fold=0, epoch=1, n_epochs=2, metrics={"train_loss": 1.0, "val_loss": 1.1,
                                                                "train_acc": 0.6, "val_acc": 0.5}))
    assert view.score_plot.getPlotItem().titleLabel.text == "accuracy"
    # the next run (MindBridge: losses only) gets an empty score pane that says why
    assert view.score_plot.getAxis("left").labelText == "accuracy"
    model.start([])
    assert view.score_plot.getPlotItem().titleLabel.text == "score"
    assert view.score_plot.getAxis("left").labelText == "accuracy / R²"    # not the last run's label
    model.apply(EpochEnd(fold=0, epoch=1, n_epochs=2, metrics={"train_loss": 3.0, "train_pix": 1.0}))
    assert not view.score_plot.curves
    assert "no score per epoch" in view.score_plot.note.toPlainText()
    assert view.score_plot.isHidden() and not view.loss_plot.isHidden()   # the loss curves take the width
    model.start([])
    assert not view.score_plot.isHidden()
    model.apply(EpochEnd(fold=0, epoch=1, n_epochs=2, metrics={"train_loss": 3.0, "val_masked_r2": 0.2}))
    assert view.score_plot.getPlotItem().titleLabel.text == "masked R²"
    assert not view.score_plot.isHidden()
    assert view.score_plot.note.toPlainText() == ""


def signal(fold, subject):
    t = np.arange(40.0)
    return SignalReconstruction(fold=fold, truth=np.sin(t / 5)[None], decoded=np.cos(t / 5)[None],
                                mask=(t > 20)[None], channel_names=["roi1"], subject=subject, epoch=1)


def test_a_fold_does_not_show_the_previous_folds_preview(qtbot):
    model, view = make_view(qtbot)
    pane = view.reconstruction
    model.start([])
    model.apply(EpochEnd(fold=1, epoch=1, n_epochs=2, metrics={"train_loss": 1.0}))
    model.apply(signal(1, "SiteA-09"))
    assert pane.stack.currentWidget() is pane.signal and "(fold 1)" in pane.title.text()
    assert "SiteA-09" in pane.title.text()
    model.apply(EpochEnd(fold=1, epoch=2, n_epochs=2, metrics={"train_loss": 0.9}))
    assert pane.stack.currentWidget() is pane.signal             # same fold: the preview stays
    model.apply(EpochEnd(fold=2, epoch=1, n_epochs=2, metrics={"train_loss": 1.0}))
    assert pane.stack.currentWidget() is pane.placeholder
    assert pane.placeholder.text().startswith("Fold 2:") and "SiteA-09" not in pane.title.text()
    model.apply(signal(2, "SiteC-05"))
    assert pane.stack.currentWidget() is pane.signal and "(fold 2)" in pane.title.text()
    assert "SiteC-05" in pane.title.text()
    model.start([])                                               # a new run: nothing of the last one
    assert pane.stack.currentWidget() is pane.placeholder and pane.title.text() == ""
    assert not pane.placeholder.text().startswith("Fold")


def test_brainmae_pretraining_previews_each_folds_own_held_out_subject():
    from decoders.brainmae.pretrain import BrainMAEPretrain

    rng = np.random.default_rng(0)
    n_subjects, t = 16, 160
    X = np.cumsum(rng.standard_normal((n_subjects, 4, t)), axis=2).astype(np.float32)
    ids = np.array([f"S{i:02d}" for i in range(n_subjects)])
    previews = {}
    for fold in range(4):                         # leave four subjects out, as a protocol's folds do
        train = np.setdiff1d(np.arange(n_subjects), np.arange(4 * fold, 4 * fold + 4))
        seen = []
        model = BrainMAEPretrain(dim=8, depth=1, heads=2, epochs=1, batch_size=64, val_fraction=0.1,
                                 seg_seconds=16, seg_points=8)
        model.fit(X[train], tr=np.full(len(train), 2.0), subject=ids[train],
                  context=TrainingContext(seen.append, fold=fold))
        shown = [e for e in seen if isinstance(e, SignalReconstruction)]
        assert shown and all(e.fold == fold for e in shown)
        subject = shown[0].subject
        assert subject in ids[train], f"fold {fold} previews {subject}, not one of its own subjects"
        row = int(np.flatnonzero(ids == subject)[0])
        assert np.allclose(shown[0].truth[0, :8], _first_segment(model, X[row], 2.0)[0], atol=1e-5)
        previews[fold] = subject
    assert len(set(previews.values())) >= 3, f"the folds preview the same subject: {previews}"


def _first_segment(model, series, tr):
    """The first window's ROI-0 segment of one subject, as the model cuts it."""
    W, _ = model._windows(series[None].astype(np.float32), np.array([tr]))
    return W[0, 0]
