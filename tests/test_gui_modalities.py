"""Issue 20, item 4: every modality end to end in the GUI, driven through the widgets as a
user clicks them (offscreen): open the data with the Data view's own actions, look at it in
the pane that fits it, go to the Decoder view, click a decoder the list offers for this data
(its default preset kept; only the evaluation shortened in the form so each walk takes
seconds), press Train, find the run in Results by clicking its row, export its bundle with
the Export button. Each step is grabbed at 1280 x 800 in the light and the dark theme (into
the test's tmp folder, copied to /tmp/nd-shots/ for people to look at).

One walk per modality: EEG trials (demo:motor-imagery, csp-lda), ROI series
(demo:resting-state, fc-lr, leave one site out), NIfTI voxels (Haxby's single slice with its
mask and labels set in the source-option form, voxel-lr), stimulus pairs (demo:visual-fmri,
ridge-images, holdout) and continuous features (demo:center-out, kalman, blocked k-fold).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from tests.test_gui_workflow import isolated_settings, wait_until

pytestmark = pytest.mark.gui

SHOTS = Path("/tmp/nd-shots")
SIZE = (1280, 800)
WALK_TIMEOUT_S = 240


@dataclass
class Walk:
    """What a user does for one modality."""

    name: str
    open_data: Callable            # (qapp, window, monkeypatch, datasets) -> None
    pane: str                      # the Data view tab that must show the data
    decoder: str                   # the decoder clicked in the list
    params: dict = field(default_factory=dict)       # typed into the parameter form
    protocol: str | None = None    # picked in the protocol box (None: the one shown)
    evaluation: dict = field(default_factory=dict)   # typed into the evaluation form
    metric: str = "accuracy"


# ------------------------------------------------------------------------- user actions
def click(widget, pos=None) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    if pos is None:
        QTest.mouseClick(widget, Qt.LeftButton)
    else:
        QTest.mouseClick(widget, Qt.LeftButton, pos=pos)


def go_to(window, key: str):
    """Click the workflow step ``key`` in the navigation list."""
    row = window._keys.index(key)
    item = window.steps.item(row)
    click(window.steps.viewport(), window.steps.visualItemRect(item).center())
    assert window.current_step() == key
    return window.view(key)


def pick_demo(qapp, window, source: str) -> None:
    view = window.view("data")
    index = view.demo_box.findData(source)
    assert index > 0, f"{source} is offered"
    view.demo_box.setCurrentIndex(index)
    view.demo_box.activated.emit(index)   # what choosing it with the mouse emits
    settle(qapp, window, f"{source} to open")


def open_file(qapp, window, monkeypatch, path: Path) -> None:
    from PySide6.QtWidgets import QFileDialog, QPushButton

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(path), "")))
    button = next(b for b in window.view("data").findChildren(QPushButton) if b.text() == "Open file…")
    click(button)
    settle(qapp, window, f"{path.name} to open")


def settle(qapp, window, what: str) -> None:
    wait_until(qapp, lambda: not window.wb.background.is_busy(), WALK_TIMEOUT_S, what)
    qapp.processEvents()


def grab(qapp, window, folder: Path, name: str) -> Path:
    """The window as it is now, at 1280 x 800, into ``folder`` and /tmp/nd-shots/."""
    for _ in range(3):
        qapp.processEvents()
    image = window.grab()
    assert (image.width(), image.height()) == SIZE, (image.width(), image.height())
    path = folder / f"{name}.png"
    assert image.save(str(path))
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / path.name)
    return path


def grab_dark(qapp, window, folder: Path, walk: str, steps: list[str]) -> list[Path]:
    """Each step's view again in the dark theme (one theme switch: restyling is slow), then
    back to the light one."""
    written = []
    window.set_theme("dark")
    try:
        for number, key in enumerate(steps, start=1):
            window.show_step(key)
            written.append(grab(qapp, window, folder, f"{walk}-{number}-{key}-dark"))
    finally:
        window.set_theme("light")
    return written


# ------------------------------------------------------------------------- data per walk
def open_motor_imagery(qapp, window, monkeypatch, datasets) -> None:
    pick_demo(qapp, window, "demo:motor-imagery")
    view = window.view("data")
    view.subjects_edit.setText("1")           # one subject keeps the walk short
    view.subjects_edit.editingFinished.emit()
    tab = view.tabs.tabBar()
    click(tab, tab.tabRect(view.tabs.indexOf(view.epochs)).center())   # Epochs: makes the trials
    wait_until(qapp, lambda: window.wb.data.trials is not None or window.error_text(), WALK_TIMEOUT_S, "the trials")


def open_haxby(qapp, window, monkeypatch, datasets) -> None:
    open_file(qapp, window, monkeypatch, datasets / "haxby2001-sub001" / "single-slice" / "bold.nii.gz")
    window.hide_error()   # without its mask and labels the image may not make samples yet
    form = window.view("data").options_form
    form.edit("mask", "mask.nii.gz")
    form.edit("labels", "attributes_literal.txt")
    settle(qapp, window, "the NIfTI set with its options")


WALKS = [
    Walk("eeg-trials", open_motor_imagery, "Epochs", "csp-lda", evaluation={"n_folds": 2}),
    Walk("roi-series", lambda q, w, m, d: pick_demo(q, w, "demo:resting-state"), "fMRI", "fc-lr",
         protocol="leave-one-site-out"),
    Walk("nifti-voxels", open_haxby, "fMRI", "voxel-lr", protocol="kfold", evaluation={"n_folds": 2}),
    Walk("stimulus-pairs", lambda q, w, m, d: pick_demo(q, w, "demo:visual-fmri"), "Stimuli", "ridge-images",
         params={"target": "pixels"}, protocol="holdout", metric="pixcorr"),   # no image codec to train
    Walk("continuous", lambda q, w, m, d: pick_demo(q, w, "demo:center-out"), "Features", "kalman",
         evaluation={"n_folds": 2}, metric="r2"),
]


@pytest.mark.parametrize("walk", WALKS, ids=[w.name for w in WALKS])
def test_modality_walk(qapp, tmp_path, monkeypatch, datasets, walk):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QFileDialog

    from app.gui.main_window import MainWindow
    from decoders.bundle import load_bundle

    env = isolated_settings(tmp_path)
    window = MainWindow()
    window.set_theme("light")   # as `neurodeck gui` does before the window shows (app/gui/main_window.launch)
    window.resize(*SIZE)
    window.show()
    window.wb.set_runs_dir(tmp_path / "runs")
    shots: list[Path] = []
    try:
        # Data: open it, see it in the pane that fits it.
        walk.open_data(qapp, window, monkeypatch, datasets)
        assert not window.error_text(), window.error_text()
        data_view = window.view("data")
        current = data_view.tabs.tabText(data_view.tabs.currentIndex())
        assert current == walk.pane, (current, walk.pane)
        assert data_view.preprocessing_box.isVisibleTo(data_view) == (walk.name == "eeg-trials")
        shots.append(grab(qapp, window, tmp_path, f"{walk.name}-1-data-light"))

        # Decoder: click the decoder in the list (offered for this data), keep its default preset.
        decoder_view = go_to(window, "decoder")
        wait_until(qapp, lambda: window.wb.decoder.entries, WALK_TIMEOUT_S, "the decoder registry")
        settle(qapp, window, "device detection")
        items = [decoder_view.list.item(i) for i in range(decoder_view.list.count())]
        item = next(i for i in items if i.data(Qt.UserRole) == walk.decoder)
        assert item.flags() & Qt.ItemIsEnabled, f"{walk.decoder} is offered for this data"
        decoder_view.list.scrollToItem(item)
        click(decoder_view.list.viewport(), decoder_view.list.visualItemRect(item).center())
        assert window.wb.decoder.name == walk.decoder
        assert window.wb.decoder.preset == decoder_view.preset_box.currentData()
        for name, value in walk.params.items():
            decoder_view.form.edit(name, value)
        if walk.protocol is not None:
            box = decoder_view.protocol_box
            index = box.findData(walk.protocol)
            assert index >= 0, f"{walk.protocol} is offered"
            box.setCurrentIndex(index)
            box.activated.emit(index)
        for name, value in walk.evaluation.items():
            decoder_view.eval_form.edit(name, value)
        assert not window.error_text(), window.error_text()
        shots.append(grab(qapp, window, tmp_path, f"{walk.name}-2-decoder-light"))

        # Train: the button, then wait for the end.
        done: list = []
        window.wb.training_done.connect(done.append)
        click(decoder_view.start_button)
        wait_until(qapp, lambda: done or window.error_text(), WALK_TIMEOUT_S, "training to end")
        model = window.wb.training
        assert done == ["finished"], (done, window.error_text(), model.error)
        assert window.current_step() == "train"
        shots.append(grab(qapp, window, tmp_path, f"{walk.name}-3-train-light"))

        # Results: click the run's row, read its metric, export it with the button.
        results = go_to(window, "results")
        wait_until(qapp, lambda: any(Path(r.path) == Path(model.run_dir) for r in results.runs), 30, "the run listed")
        row = next(r for r in range(results.proxy.rowCount())
                   if Path(results.run_at(r).path) == Path(model.run_dir))
        click(results.table.viewport(), results.table.visualRect(results.proxy.index(row, 0)).center())
        assert [Path(r.path) for r in results.selected_runs()] == [Path(model.run_dir)]
        run = results.selected_runs()[0]
        assert walk.metric in run.metrics, (walk.metric, run.metrics)
        shots.append(grab(qapp, window, tmp_path, f"{walk.name}-4-results-light"))
        destination = tmp_path / "exported" / f"{walk.name}.zip"
        destination.parent.mkdir()
        monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(destination), "")))
        exported: list = []
        results.exported.connect(exported.append)
        assert results.export_button.isEnabled()
        click(results.export_button)
        wait_until(qapp, lambda: exported or window.error_text(), 120, "the export")
        assert not window.error_text(), window.error_text()
        _, manifest = load_bundle(Path(exported[0]))
        assert manifest["decoder"] == walk.decoder
        shots += grab_dark(qapp, window, tmp_path, walk.name, ["data", "decoder", "train", "results"])
        assert len(shots) == 8 and all(p.stat().st_size > 10_000 for p in shots)
    finally:
        window.close()
        env.undo()
