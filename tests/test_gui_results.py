"""Results for within-subject protocols and comparisons (issue 20): metrics.json, the log and
the Results view say what the saved model was trained on (pooled over subjects when the folds
trained within each subject); Results shows the per-subject table; Compare says when the two
runs were not on the same data."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from app import workspace
from app.experiment import run_experiment

from .test_experiment import config_dict, test_decoder  # noqa: F401 - the fixture

pytestmark = pytest.mark.gui


def make_run(runs_dir, within="subject", seed=0, save_model=True):
    config = config_dict(runs_dir, within=within)
    config["dataset"]["seed"] = seed
    config["output"].update(save_model=save_model, figures=False)
    return run_experiment(config).run_dir


def test_a_within_subject_run_says_its_saved_model_pools_the_subjects(tmp_path, test_decoder):  # noqa: F811
    run_dir = make_run(tmp_path)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    facts = metrics["final_model"]
    assert facts["pooled_subjects"] and not facts["matches_protocol"]
    assert facts["trained_on"] == "all 120 samples pooled over 3 subjects (1, 2, 3)"
    assert "within each subject" in facts["note"] and "dataset.subjects" in facts["note"]
    log = (run_dir / "log.txt").read_text()
    assert "training the final decoder on all 120 samples pooled over 3 subjects" in log
    assert "was not evaluated as such" in log
    assert set(metrics["by_subject"]) == {"1", "2", "3"} and len(metrics["data_fingerprint"]) == 16
    run = workspace.read_run(run_dir)
    assert run.final_model == facts and set(run.by_subject) == {"1", "2", "3"}

    pooled = json.loads((make_run(tmp_path, within="all") / "metrics.json").read_text())["final_model"]
    assert pooled["matches_protocol"] and pooled["note"] == ""
    assert "final_model" in json.loads((make_run(tmp_path, save_model=False) / "metrics.json").read_text())


def results_view(qtbot, runs_dir):
    from PySide6.QtCore import QObject, Signal

    from app.gui.results_view import ResultsView

    class Bench(QObject):
        runs_changed = Signal()
        error = Signal(str, str)

        def __init__(self):
            super().__init__()
            self.runs_dir = runs_dir
            self.settings = SimpleNamespace(last_folder=str(runs_dir))
            self.errors = []
            self.error.connect(lambda title, text: self.errors.append((title, text)))

        def list_runs(self):
            return workspace.list_runs(self.runs_dir)

    bench = Bench()
    view = ResultsView(bench)
    qtbot.addWidget(view)
    view.resize(1100, 750)
    view.show()
    view.refresh()
    return view, bench


def test_results_show_the_per_subject_table_and_what_the_model_was_trained_on(qtbot, tmp_path, test_decoder):  # noqa: F811
    run_dir = make_run(tmp_path)
    view, bench = results_view(qtbot, tmp_path)
    assert view.select_run(run_dir)
    table = view.by_subject
    assert [table.verticalHeaderItem(r).text() for r in range(table.rowCount())] == ["subject 1", "subject 2", "subject 3"]
    assert table.horizontalHeaderItem(0).text() == "accuracy"
    by_subject = json.loads((run_dir / "metrics.json").read_text())["by_subject"]
    assert float(table.item(1, 0).text()) == pytest.approx(by_subject["2"]["accuracy"], abs=1e-3)
    assert view.model_note.isVisible()
    assert view.model_note.text().startswith("Saved model: trained on all 120 samples pooled over 3 subjects")
    assert "was not evaluated as such" in view.model_note.text()
    assert not bench.errors


def select_both(view, a, b):
    from PySide6.QtCore import QItemSelectionModel

    view.table.clearSelection()
    for row in range(view.proxy.rowCount()):
        if view.run_at(row).path in (a, b):
            view.table.selectionModel().select(view.proxy.index(row, 0),
                                               QItemSelectionModel.Select | QItemSelectionModel.Rows)


def test_compare_says_when_the_runs_were_on_different_data(qtbot, tmp_path, test_decoder):  # noqa: F811
    first = make_run(tmp_path, save_model=False)
    same_data = make_run(tmp_path, within="all", save_model=False)        # another protocol, same samples
    other_data = make_run(tmp_path, seed=1, save_model=False)             # other simulated trials
    view, _ = results_view(qtbot, tmp_path)
    select_both(view, first, same_data)
    assert view.details.currentWidget() is view.compare
    assert not view.compare_note.isVisible()
    select_both(view, first, other_data)
    note = view.compare_note.text()
    assert view.compare_note.isVisible() and note.startswith("These runs were not on the same data")
    assert "seed 0 vs 1" in note or "seed 1 vs 0" in note
