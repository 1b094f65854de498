"""The whole path a newcomer takes, driven through the widgets (offscreen): pick
demo:motor-imagery, pick EEG-SimpleConv, shorten training in the form, start, watch the
curves grow a point per epoch while the Qt event loop keeps ticking, find the run in the
results table, export its decoder.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.gui

EPOCHS = 20   # enough for the default small-data recipe to learn (issue 13)
FOLDS = 2



def isolated_settings(root):
    """Point the app's settings file and cache under ``root`` (the training process inherits
    them); ``.undo()`` on the returned MonkeyPatch restores them."""
    env = pytest.MonkeyPatch()
    env.setenv("NEURODECK_SETTINGS", str(root / "settings.ini"))
    env.setenv("NEURODECK_CACHE", str(root / "cache"))
    return env

def wait_until(app, condition, timeout_s: float, what: str):
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        app.processEvents()
        time.sleep(0.005)


@pytest.fixture(scope="module")
def walk(qapp, tmp_path_factory):
    """Run the walk once; the tests below check what it recorded."""
    from PySide6.QtCore import QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtCore import Qt

    from app.gui.main_window import MainWindow

    root = tmp_path_factory.mktemp("gui-walk")
    env = isolated_settings(root)
    record: dict = {"points": [], "ticks": []}
    window = MainWindow()
    window.resize(1280, 800)
    window.show()
    window.wb.set_runs_dir(root / "runs")

    # Data: pick the demo in the combo, as a user would.
    data_view = window.view("data")
    index = data_view.demo_box.findData("demo:motor-imagery")
    assert index > 0, "demo:motor-imagery is listed"
    data_view.demo_box.setCurrentIndex(index)
    data_view.demo_box.activated.emit(index)
    wait_until(qapp, lambda: window.wb.data.recordings or window.error_text(), 120, "the demo to open")
    assert not window.error_text(), window.error_text()
    record["summary"] = data_view.summary.text()
    record["counts_all"] = data_view.counts.text()
    # One subject keeps the test short; the counts must follow at once.
    data_view.subjects_edit.setText("1")
    data_view.subjects_edit.editingFinished.emit()
    record["counts_one"] = data_view.counts.text()

    # Decoder: wait for the registry, click EEG-SimpleConv, shorten training in the form.
    window.steps.setCurrentRow(1)
    decoder_view = window.view("decoder")
    wait_until(qapp, lambda: window.wb.decoder.entries, 120, "the decoder registry")
    wait_until(qapp, lambda: not window.wb.background.is_busy(), 120, "device detection")
    items = [decoder_view.list.item(i) for i in range(decoder_view.list.count())]
    item = next(i for i in items if i.data(Qt.UserRole) == "eeg-simpleconv")
    rect = decoder_view.list.visualItemRect(item)
    QTest.mouseClick(decoder_view.list.viewport(), Qt.LeftButton, pos=rect.center())
    assert window.wb.decoder.name == "eeg-simpleconv"
    record["preset"] = decoder_view.preset_box.currentText()
    decoder_view.form.edit("epochs", EPOCHS)
    decoder_view.eval_form.edit("n_folds", FOLDS)
    decoder_view.eval_form.edit("within", "all")
    record["overrides"] = window.wb.decoder.overrides()
    record["devices"] = [decoder_view.device_box.itemText(i) for i in range(decoder_view.device_box.count())]

    # Train: count curve points after every epoch event; watch the event loop.
    training_view = window.view("train")

    def on_change(change, info):
        if change == "epoch":
            fold = info["fold"]
            record["points"].append((fold, training_view.loss_plot.n_points(fold, "train_loss"),
                                     len(window.wb.training.history[fold])))
            record.setdefault("progress_text", training_view.progress_label.text())

    window.wb.training.subscribe(on_change)
    window.wb.training_done.connect(lambda state: record.__setitem__("done", state))
    ticker = QTimer()
    ticker.setInterval(10)
    ticker.timeout.connect(lambda: record["ticks"].append(time.perf_counter()))
    ticker.start()
    QTest.mouseClick(decoder_view.start_button, Qt.LeftButton)
    record["step_while_training"] = window.current_step()
    wait_until(qapp, lambda: "done" in record, 300, "training to end")
    ticker.stop()
    record["state"] = window.wb.training.state
    record["error"] = window.error_text()
    record["run_dir"] = window.wb.training.run_dir
    record["confusion_folds"] = list(training_view.confusion.matrices)
    record["progress"] = training_view.progress.value()
    record["log"] = training_view.log.toPlainText()

    # Results: the run is in the table; export its decoder.
    results = window.show_step("results")
    record["selected"] = results.select_run(record["run_dir"]) if record["run_dir"] else False
    runs = results.selected_runs()
    exported: list = []
    results.exported.connect(exported.append)
    if runs:
        results.export(runs[0], root / "exported" / "decoder.zip")
        wait_until(qapp, lambda: exported or window.error_text(), 60, "the export")
    record["export"] = Path(exported[0]) if exported else window.error_text()
    record["window"] = window
    record["root"] = root
    yield record
    window.close()
    env.undo()


def test_data_view_shows_summary_and_counts_at_once(walk):
    assert "36 eeg" in walk["summary"] and "160 Hz" in walk["summary"]
    assert "left ×160" in walk["summary"] and "right ×160" in walk["summary"]
    assert walk["counts_all"] == "left 160  ·  right 160"
    assert walk["counts_one"] == "left 40  ·  right 40"


def test_decoder_form_and_preset(walk):
    assert walk["preset"] == "quick"   # the first preset: what a first-time user gets
    assert walk["devices"][0].startswith("auto") and any(d.startswith("CPU") for d in walk["devices"])
    assert walk["overrides"] == {"epochs": EPOCHS}   # validation split is the default (val_fraction 0.2)


def test_training_finishes_with_a_curve_point_per_epoch(walk):
    assert walk["step_while_training"] == "train"
    assert walk["state"] == "finished", walk["error"]
    assert walk["progress"] == 1000
    assert "elapsed" in walk["progress_text"] and "left" in walk["progress_text"]  # progress with ETA
    assert "kfold: 2 folds" in walk["log"] and "run folder:" in walk["log"]
    folds = [0, 1]
    for fold in folds:
        seen = [(points, epochs) for f, points, epochs in walk["points"] if f == fold]
        assert [p for p, _ in seen] == list(range(1, EPOCHS + 1)), f"fold {fold}: {seen}"
        assert [e for _, e in seen] == list(range(1, EPOCHS + 1))
    assert sorted(f for f in walk["confusion_folds"]) == folds
    window = walk["window"]
    view = window.view("train")
    for fold in folds:  # validation curves by default
        assert view.loss_plot.n_points(fold, "val_loss") == EPOCHS
        assert view.score_plot.n_points(fold, "train_acc") == EPOCHS
        assert view.score_plot.n_points(fold, "val_acc") == EPOCHS


def test_default_path_ends_well_above_chance(walk):
    """Issue 13: EEG-SimpleConv's defaults on the demo were at chance (0.547, one fold all 'right')."""
    import json
    metrics = json.loads((Path(walk["run_dir"]) / "metrics.json").read_text())
    assert metrics["summary"]["accuracy"]["mean"] >= 0.7, metrics["summary"]   # chance 0.5; 0.79 measured
    for fold in metrics["folds"]:
        assert min(sum(row) for row in zip(*fold["confusion"])) > 0, "a fold predicted one class only"


def test_event_loop_never_stalls_during_training(walk):
    ticks = np.asarray(walk["ticks"])
    assert len(ticks) > 50, "the timer ran during training"
    gaps = np.diff(ticks) * 1000
    worst = int(np.argmax(gaps))
    print(f"\nevent loop during training: {len(ticks)} ticks over {ticks[-1] - ticks[0]:.1f} s, "
          f"largest gap {gaps.max():.1f} ms ({ticks[worst] - ticks[0]:.1f} s after the start, "
          f"{ticks[-1] - ticks[worst]:.1f} s before the end), median {np.median(gaps):.1f} ms, "
          f"{int((gaps > 50).sum())} gaps over 50 ms")
    # Only a generous bound: training on the GUI thread would freeze it for whole folds (many
    # seconds); the typical gap is a benchmark figure (tests/benchmarks/bench_gui.py), not a test.
    assert gaps.max() < 2000, f"the event loop stalled for {gaps.max():.0f} ms"


def test_run_appears_in_results_and_decoder_exports(walk):
    from decoders.bundle import load_bundle

    results = walk["window"].view("results")
    assert walk["selected"], ("the finished run is in the results table", walk["run_dir"],
                              [str(r.path) for r in results.runs])
    exported = walk["export"]
    assert isinstance(exported, Path), exported
    assert exported.exists() and exported.suffix == ".zip"
    decoder, manifest = load_bundle(exported)
    assert manifest["decoder"] == "eeg-simpleconv"
    trials = np.random.default_rng(0).standard_normal((3, *manifest["input"]["shape"])).astype(np.float32)
    assert decoder.predict(trials).shape == (3,)  # the exported decoder is usable as it is


def test_runs_made_elsewhere_appear_and_compare(walk, qapp):
    """A run folder written by another process (the CLI) shows up without a restart."""
    import shutil
    from pathlib import Path

    window = walk["window"]
    results = window.view("results")
    source = Path(walk["run_dir"])
    shutil.copytree(source, source.parent / (source.name + "-cli"))
    wait_until(qapp, lambda: len(results.runs) == 2, 10, "the file watcher to list the new run")
    results.table.selectAll()
    results.compare_selected()
    assert results.details.currentWidget() is results.compare
    assert results.compare_table.columnCount() == 2
    assert results.compare_table.item(0, 0).text() == "eeg-simpleconv"



def test_closing_the_window_during_a_run_cancels_it_cleanly(walk, qapp):
    """Last in this module: it closes the window."""
    from pathlib import Path

    window = walk["window"]
    window.show_step("decoder").form.edit("epochs", 200)
    runs_before = sorted(p.name for p in Path(window.wb.runs_dir).iterdir())
    epochs = []
    window.wb.training.subscribe(lambda change, info: epochs.append(info) if change == "epoch" else None)
    assert window.start_training()
    wait_until(qapp, lambda: epochs, 120, "the first epoch")
    started = time.monotonic()
    window.close()
    assert time.monotonic() - started < 20, "closing waits only for the current batch"
    assert not window.wb.training_running()
    assert window.wb.training.state == "cancelled"
    runs_after = sorted(p.name for p in Path(window.wb.runs_dir).iterdir() if not p.name.startswith("."))
    assert runs_after == [r for r in runs_before if not r.startswith(".")], "no finished-looking run folder"
