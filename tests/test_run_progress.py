"""What `neurodeck run` shows while it works (issue 20): on a terminal a bar with the epoch,
the time spent and the time left; piped to a file or a CI log, a line per fold, flushed as
it happens; --quiet, warnings only."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import yaml

from app.commands.run_progress import RunDisplay, duration
from decoders.events import FoldEnd, LogMessage, Progress

ROOT = Path(__file__).resolve().parents[1]
MOTOR = ["FC3", "FC1", "FCz", "FC2", "FC4", "C5", "C3", "C1", "Cz", "C2", "C4", "C6"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def feed(display: RunDisplay) -> None:
    display(LogMessage(message="kfold: 2 folds (0 already done)"))
    display(LogMessage(message="[fold 0] a fold's own log line", fold=0))
    display(Progress(fraction=0.25, eta_s=90.0, message="epoch 3/50"))
    display(FoldEnd(fold=0, metrics={"accuracy": 0.75}, label="fold 1/2"))
    display(LogMessage(message="warning: few trials", warning=True))
    display.close()


def test_a_terminal_gets_a_bar_with_the_epoch_and_the_time_left():
    stream = Terminal()
    display = RunDisplay.for_stream(quiet=False, stream=stream)
    assert display.mode == "terminal"
    feed(display)
    out = stream.getvalue()
    assert "25%" in out and "epoch 3/50" in out and "about 1:30 left" in out, out
    assert "fold 0: fold 1/2: accuracy 0.750" in out and "warning: few trials" in out
    assert "a fold's own log line" not in out


def test_a_file_gets_flushed_lines_per_fold_and_a_rare_progress_line(monkeypatch):
    import app.commands.run_progress as run_progress

    stream = io.StringIO()
    display = RunDisplay.for_stream(quiet=False, stream=stream)
    assert display.mode == "lines"
    feed(display)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "kfold: 2 folds (0 already done)"
    assert lines[1].startswith("fold 0: fold 1/2: accuracy 0.750 (0:00 elapsed, about 1:30 left)")
    assert "\r" not in stream.getvalue() and not any("epoch" in line for line in lines)  # < 30 s
    monkeypatch.setattr(run_progress, "PROGRESS_EVERY_S", 0.0)
    stream = io.StringIO()
    feed(RunDisplay("lines", stream))
    assert "25% · 0 folds done · epoch 3/50 · 0:00 elapsed · about 1:30 left" in stream.getvalue()


def test_quiet_says_warnings_only():
    stream = Terminal()
    feed(RunDisplay.for_stream(quiet=True, stream=stream))
    assert stream.getvalue() == "warning: few trials\n"
    assert duration(3725) == "1:02:05" and duration(None) == "?" and duration(61) == "1:01"


def test_piped_run_prints_each_fold_as_it_ends(tmp_path, datasets):
    """A real run with its standard error in a pipe: each fold's line arrives when the fold
    ends, not at the end of the run."""
    config = {"name": "piped", "decoder": {"name": "eeg-simpleconv", "params": {"epochs": 4}},
              "dataset": {"source": "eegbci", "data_path": str(datasets / "eegbci"), "subjects": [1],
                          "runs": [4, 8], "events": {"T1": "left", "T2": "right"}, "window": [0.5, 2.5],
                          "preprocessing": {"picks": MOTOR, "band": [8.0, 30.0]}},
              "training": {"device": "cpu", "seed": 0}, "evaluation": {"protocol": "kfold", "n_folds": 2},
              "output": {"runs_dir": str(tmp_path / "runs"), "figures": False}}
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "run", str(tmp_path / "exp.yaml")], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"})
    runs = tmp_path / "runs"
    arrivals = []   # (the run's metrics not yet written when the line was read, the line)
    for line in proc.stderr:
        arrivals.append((not any(runs.rglob("metrics.json")), line.rstrip("\n")))
    assert proc.wait(600) == 0, "\n".join(text for _, text in arrivals)
    folds = [(running, text) for running, text in arrivals if text.startswith("fold ")]
    assert [text.split(":")[0] for _, text in folds] == ["fold 0", "fold 1"], arrivals
    assert all("elapsed" in text and "left" in text for _, text in folds)
    # the first fold's line was read before the run wrote its metrics (the second fold, the
    # final fit and the run folder were still to come), not flushed at exit
    assert folds[0][0], arrivals
