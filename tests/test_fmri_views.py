"""The Data view's fMRI tab on real data: ABIDE ROI series (a few subjects per site: series,
a subject's connectivity, the autism - control difference) and Haxby NIfTI (mean-volume
slices with the mask over them); the Qt-free computations in data.fmri.views."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.gui

ABIDE = Path("../shared/datasets/abide-cc200")
HAXBY = Path("../shared/datasets/haxby2001-sub001")
SHOTS = Path(os.environ.get("NEURODECK_SHOTS", "")) if os.environ.get("NEURODECK_SHOTS") else None


def _view(qtbot):
    from app.gui.controller import Workbench
    from app.gui.data_view import DataView

    view = DataView(Workbench())
    qtbot.addWidget(view)
    view.resize(1200, 850)
    view.show()
    return view


def _save(view, tmp_path, name):
    target = (SHOTS or tmp_path) / name
    assert view.grab().save(str(target))


def test_group_difference_recovers_a_known_coupling():
    from data.decoding_set import DecodingSet
    from data.fmri.views import group_difference, subject_connectivity

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 4, 100))
    y = np.repeat([0, 1], 10)
    X[y == 0, 1] += X[y == 0, 0]            # class 0: ROIs 0 and 1 coupled
    X[:, :, 90:] = np.nan                   # padding is ignored
    d = DecodingSet(X=X, y=y, kind="trials", modality="fmri-roi", subject=np.arange(20), session="s", run="1",
                    class_names=["a", "b"])
    diff = group_difference(d)
    assert diff[0, 1] == diff.max() and diff[0, 1] > 0.5 and abs(diff[2, 3]) < 0.3
    assert np.allclose(np.diag(subject_connectivity(X, 0)), 1)


@pytest.mark.skipif(not ABIDE.exists(), reason="ABIDE data not present")
def test_abide_roi_series_connectivity_and_group_difference(qtbot, tmp_path):
    from data.fmri.roi_series import load_roi_folder

    view = _view(qtbot)
    assert not view.tabs.isTabVisible(view.tabs.indexOf(view.fmri))     # no fMRI tab before fMRI data
    data = load_roi_folder(ABIDE, {"max_subjects_per_site": 4})
    view.model.set_trials(data)
    pane = view.fmri
    assert view.tabs.isTabVisible(view.tabs.indexOf(pane)) and not view.tabs.isTabVisible(view.tabs.indexOf(view.epochs))
    assert view.tabs.currentWidget() is pane and pane.roi_panel.isVisible() and not pane.volume_plot.isVisible()
    assert len(pane.series_plot.listDataItems()) == 8
    fc = pane.fc_image.image
    assert fc.shape == (200, 200) and fc.std() > 0.05
    assert np.isclose(np.diag(fc), 1).mean() > 0.9   # 1 except on flat (all-zero) ROIs: 0
    diff = pane.diff_image.image
    assert diff.shape == (200, 200) and np.abs(diff).max() > 0
    assert "autism − control" in pane.diff_plot.plotItem.titleLabel.text
    assert view.browser.source.ch_names[:2] == ["roi1", "roi2"] and view.browser.source.data.shape[0] == 200
    pane.subject_box.setValue(3)
    assert not np.allclose(pane.fc_image.image, fc)
    assert np.allclose(view.browser.source.data, data.X[3][:, ~np.isnan(data.X[3]).any(axis=0)])
    _save(view, tmp_path, "data-view-abide.png")
    view.tabs.setCurrentIndex(0)
    _save(view, tmp_path, "data-view-abide-signal.png")


@pytest.mark.skipif(not HAXBY.exists(), reason="Haxby data not present")
@pytest.mark.parametrize("source, options, n_in_mask", [
    ("single-slice/bold.nii.gz", {"mask": "mask.nii.gz", "labels": "attributes_literal.txt"}, 530),
    ("sub001", {"pattern": "BOLD/*/bold_25mm.nii.gz", "mask": "masks/25mm/brain.nii.gz"}, 129)])
def test_haxby_mean_volume_with_mask(qtbot, tmp_path, source, options, n_in_mask):
    from data.fmri.nifti import load_nifti

    view = _view(qtbot)
    view.model.set_trials(load_nifti(HAXBY / source, options))
    pane = view.fmri
    assert view.tabs.currentWidget() is pane and pane.volume_plot.isVisible() and not pane.roi_panel.isVisible()
    mean, overlay = pane.volume_image.image, pane.overlay_image.image
    assert mean.std() > 0 and overlay.shape[:2] == mean.shape
    assert int((overlay[..., 3] > 0).sum()) == n_in_mask       # every mask voxel drawn, nothing else
    assert "mask.nii.gz" in pane.volume_plot.plotItem.titleLabel.text or "brain.nii.gz" in pane.volume_plot.plotItem.titleLabel.text
    _save(view, tmp_path, f"data-view-haxby-{source.split('/')[0]}.png")
