"""The fMRI path through the widgets (offscreen): open demo:resting-state, pretrain the BrainMAE
encoder (brainmae-pretrain, leave one site out, tiny network) while the Train view shows the
held-out subject's masked ROI segments and their reconstruction, then fine-tune the classifier
(brainmae) from that run's encoder bundle, typed into the form's `encoder` field.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_gui_workflow import isolated_settings, wait_until

pytestmark = pytest.mark.gui

EPOCHS = 2
SCREENSHOT = Path("/tmp/gui_brainmae.png")
FINETUNE_SCREENSHOT = Path("/tmp/gui_brainmae_finetune.png")


def pick_decoder(window, name: str) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    view = window.view("decoder")
    items = [view.list.item(i) for i in range(view.list.count())]
    item = next(i for i in items if i.data(Qt.UserRole) == name)
    assert item.flags() & Qt.ItemIsEnabled, f"{name} is offered for ROI series"
    view.list.scrollToItem(item)
    QTest.mouseClick(view.list.viewport(), Qt.LeftButton, pos=view.list.visualItemRect(item).center())
    assert window.wb.decoder.name == name


def pick_protocol(window, protocol: str) -> None:
    box = window.view("decoder").protocol_box
    index = box.findData(protocol)
    assert index >= 0, f"{protocol} is offered"
    box.setCurrentIndex(index)
    box.activated.emit(index)
    assert window.wb.decoder.protocol == protocol


def train(qapp, window, record: dict, key: str) -> dict:
    """Start from the decoder view's button, wait for the end; what the Train view showed."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    done: list = []
    window.wb.training_done.connect(done.append)
    reconstructions: list = []
    window.wb.training.subscribe(lambda change, info: reconstructions.append(info.get("view"))
                                 if change == "reconstruction" else None)
    QTest.mouseClick(window.view("decoder").start_button, Qt.LeftButton)
    wait_until(qapp, lambda: done, 600, f"{key} training to end")
    window.wb.training_done.disconnect(done.append)
    view = window.view("train")
    model = window.wb.training
    folds = [f for f in model.history if f != "final"]
    result = {
        "state": model.state, "error": window.error_text() or model.error, "run_dir": model.run_dir,
        "summary": dict(model.summary), "folds": folds, "log": view.log.toPlainText(),
        "loss_points": {f: (view.loss_plot.n_points(f, "train_loss"), view.loss_plot.n_points(f, "val_loss"))
                        for f in model.history},
        "score_points": {f: (view.score_plot.n_points(f, "train_acc"), view.score_plot.n_points(f, "val_acc"))
                         for f in model.history},
        "reconstruction_events": reconstructions,
        "progress_text": view.progress_label.text(),
    }
    record[key] = result
    return result


@pytest.fixture(scope="module")
def walk(qapp, tmp_path_factory):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QSplitter

    from app.gui.main_window import MainWindow

    root = tmp_path_factory.mktemp("gui-brainmae")
    env = isolated_settings(root)
    record: dict = {}
    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    window.wb.set_runs_dir(root / "runs")
    try:
        # Data: the demo from the combo; it builds its ROI series directly (no recordings).
        data_view = window.view("data")
        index = data_view.demo_box.findData("demo:resting-state")
        assert index > 0, "demo:resting-state is listed"
        data_view.demo_box.setCurrentIndex(index)
        data_view.demo_box.activated.emit(index)
        wait_until(qapp, lambda: window.wb.data.trials is not None or window.error_text(), 120,
                   "the demo's ROI series")
        assert not window.error_text(), window.error_text()
        record["n_subjects"] = len(window.wb.data.trials.X)

        # Pretraining: brainmae-pretrain, leave one site out, tiny network.
        window.steps.setCurrentRow(1)
        wait_until(qapp, lambda: window.wb.decoder.entries, 120, "the decoder registry")
        wait_until(qapp, lambda: not window.wb.background.is_busy(), 120, "device detection")
        decoder_view = window.view("decoder")
        pick_decoder(window, "brainmae-pretrain")
        decoder_view.form.edit("dim", 16)
        decoder_view.form.edit("depth", 1)
        decoder_view.form.edit("epochs", EPOCHS)
        pick_protocol(window, "leave-one-site-out")
        record["pretrain_params"] = dict(window.wb.decoder.values)
        pretrain = train(qapp, window, record, "pretrain")

        view = window.view("train")
        view.tabs.setCurrentWidget(view.reconstruction)
        split = next(s for s in view.findChildren(QSplitter) if s.orientation() == Qt.Vertical)
        split.setSizes([1, 1])                        # as a user drags it: half the height for the pane
        qapp.processEvents()
        pane = view.reconstruction
        record["pane"] = {"current": pane.current, "stacked": pane.stack.currentWidget() is pane.signal,
                          "title": pane.title.text(), "rows": list(pane.signal.channel_names),
                          "curves": len(pane.signal.listDataItems()), "shaded": len(pane.signal.shaded),
                          "x_label": pane.signal.getPlotItem().getAxis("bottom").labelText}
        assert window.grab().save(str(SCREENSHOT))

        # Fine-tuning: brainmae from the pretraining run's encoder bundle, typed into the form.
        window.show_step("decoder")
        pick_decoder(window, "brainmae")
        encoder = str(Path(pretrain["run_dir"]) / "model") if pretrain["run_dir"] else ""
        record["encoder"] = encoder
        assert "encoder" in decoder_view.form.editors, "the form offers the encoder parameter"
        decoder_view.form.edit("encoder", encoder)
        decoder_view.form.edit("epochs", EPOCHS)
        decoder_view.form.edit("val_fraction", 0.2)   # validation curves too (the default holds none out)
        pick_protocol(window, "leave-one-site-out")
        record["finetune_params"] = dict(window.wb.decoder.values)
        train(qapp, window, record, "finetune")
        view.tabs.setCurrentWidget(view.confusion)
        qapp.processEvents()
        assert window.grab().save(str(FINETUNE_SCREENSHOT))
        record["window"] = window
        yield record
    finally:
        window.close()
        env.undo()


def test_pretraining_runs_leave_one_site_out_and_saves_an_encoder(walk):
    assert walk["pretrain_params"]["dim"] == 16 and walk["pretrain_params"]["epochs"] == EPOCHS
    pretrain = walk["pretrain"]
    assert pretrain["state"] == "finished", pretrain["error"]
    assert len(pretrain["folds"]) == 4, pretrain["folds"]                # four sites, one held out per fold
    assert "masked_r2" in pretrain["summary"], pretrain["summary"]
    run = Path(pretrain["run_dir"])
    manifest = json.loads((run / "model" / "manifest.json").read_text())
    assert manifest["decoder"] == "brainmae-pretrain"


def test_loss_curves_have_a_point_per_epoch(walk):
    pretrain = walk["pretrain"]
    for fold in pretrain["folds"]:
        assert pretrain["loss_points"][fold] == (EPOCHS, EPOCHS), (fold, pretrain["loss_points"])


def test_reconstruction_pane_shows_the_held_out_subjects_masked_rois(walk):
    pretrain, pane = walk["pretrain"], walk["pane"]
    # one event per epoch of every fold (and of the final fit on all subjects)
    assert pretrain["reconstruction_events"].count("signal") >= EPOCHS * len(pretrain["folds"])
    assert pane["current"] == "signal" and pane["stacked"]
    rows = pane["rows"]
    assert len(rows) >= 3 and all(r.startswith("roi") for r in rows), rows
    assert pane["curves"] == 2 * len(rows)                           # true and reconstructed per ROI
    assert pane["shaded"] >= 1                                       # masked segments shaded
    assert pane["title"].startswith(f"Masked segments (shaded) of {len(rows)} ROIs of held-out subject ")
    assert f"epoch {EPOCHS}" in pane["title"]
    assert pane["x_label"] == "time (s)"
    assert SCREENSHOT.stat().st_size > 10_000


def test_finetuning_from_the_pretrained_encoder_reports_accuracy(walk):
    finetune = walk["finetune"]
    assert walk["finetune_params"]["encoder"] == walk["encoder"]
    assert finetune["state"] == "finished", finetune["error"]
    assert f"fine-tuning the pretrained encoder {walk['encoder']}" in finetune["log"]
    assert len(finetune["folds"]) == 4
    for fold in finetune["folds"]:
        assert finetune["score_points"][fold] == (EPOCHS, EPOCHS), (fold, finetune["score_points"])
    accuracy = finetune["summary"]["accuracy"]["mean"]
    assert 0.0 <= accuracy <= 1.0
    metrics = json.loads((Path(finetune["run_dir"]) / "metrics.json").read_text())
    assert metrics["summary"]["accuracy"]["mean"] == pytest.approx(accuracy)
    assert "accuracy" in finetune["progress_text"]
