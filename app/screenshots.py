"""Render every view of the NeuroDeck window to PNG (1280x800) with real content.

    python -m app.screenshots OUTDIR [--theme light|dark]

It opens demo:motor-imagery, makes trials, trains EEG-SimpleConv briefly (subject 1, two
folds, a few epochs), shows the results, then trains a Kalman filter on demo:center-out for
the reconstruction pane. Settings and runs go to a temporary folder.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

SIZE = (1280, 800)


def _wait(app, condition, timeout_s: float, what: str) -> None:
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            raise RuntimeError(f"timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.01)


def _settle(app, seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def render(outdir: Path, theme_name: str = "light") -> list[Path]:
    from app.gui import theme
    from app.gui.main_window import MainWindow, create_app

    outdir.mkdir(parents=True, exist_ok=True)
    app = create_app([])
    theme.apply(app, theme_name)
    window = MainWindow()
    window.resize(*SIZE)
    window.show()
    work = Path(tempfile.mkdtemp(prefix="neurodeck-shots-"))
    window.wb.set_runs_dir(work / "runs")
    written: list[Path] = []
    done: dict = {}
    window.wb.training_done.connect(lambda state: done.__setitem__("state", state))

    def shot(name: str) -> None:
        _settle(app)
        path = outdir / f"{name}.png"
        window.grab().save(str(path))
        written.append(path)
        print(f"wrote {path}", flush=True)

    def train() -> None:
        done.clear()
        if not window.start_training():
            raise RuntimeError(window.error_text())
        _wait(app, lambda: "state" in done, 900, "training")
        if done["state"] != "finished":
            raise RuntimeError(f"training {done['state']}: {window.error_text()}")

    # Data: the motor-imagery demo, one subject, its signal and its epochs.
    window.wb.open("demo:motor-imagery")
    _wait(app, lambda: window.wb.data.recordings, 300, "the demo")
    data_view = window.show_step("data")
    data_view.subjects_edit.setText("1")
    data_view.subjects_edit.editingFinished.emit()
    data_view.browser.set_view(start_s=20)
    shot("1-data-signal")
    data_view.tabs.setCurrentWidget(data_view.epochs)
    _wait(app, lambda: window.wb.data.trials is not None, 300, "the trials")
    data_view.epochs.mode_box.setCurrentText("ERD/ERS per class")
    shot("2-data-epochs-erd")
    data_view.epochs.mode_box.setCurrentText("signed r² map")
    shot("3-data-epochs-r2-map")

    # Decoder: EEG-SimpleConv with a short training.
    decoder_view = window.show_step("decoder")
    _wait(app, lambda: window.wb.decoder.entries and not window.wb.background.is_busy(), 300, "the registry")
    decoder_view.choose("eeg-simpleconv")
    decoder_view.form.edit("epochs", 25)
    decoder_view.form.edit("val_fraction", 0.2)
    decoder_view.eval_form.edit("n_folds", 3)
    decoder_view.eval_form.edit("within", "all")
    shot("4-decoder")
    train()
    window.show_step("train")
    shot("5-training")
    results = window.show_step("results")
    _wait(app, lambda: results.selected_runs(), 30, "the run in the results table")
    shot("6-results")

    # A second decoder on the same trials, then the two side by side.
    decoder_view = window.show_step("decoder")
    decoder_view.choose("csp-lda")
    train()
    results = window.show_step("results")
    _settle(app, 1.0)  # let the new run's own selection land first
    results.table.selectAll()
    results.compare_selected()
    shot("7-results-compare")

    # Reconstruction pane: a Kalman filter on the center-out demo (true vs decoded velocity).
    window.wb.open("demo:center-out")
    _wait(app, lambda: window.wb.data.source == "demo:center-out" and window.wb.data.trials is not None,
          300, "the center-out demo")
    decoder_view = window.show_step("decoder")
    decoder_view.choose("kalman")
    train()
    training = window.show_step("train")
    training.tabs.setCurrentWidget(training.reconstruction)
    shot("8-training-reconstruction")
    window.show_step("online")
    shot("9-online")
    window.set_theme("dark" if theme_name == "light" else "light")
    window.show_step("results")
    shot(f"10-results-{'dark' if theme_name == 'light' else 'light'}")
    window.set_theme(theme_name)
    window.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    args = parser.parse_args(argv)
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # same pixels with or without a display
    settings = Path(tempfile.mkdtemp(prefix="neurodeck-settings-")) / "settings.ini"
    os.environ["NEURODECK_SETTINGS"] = str(settings)
    render(args.outdir, args.theme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
