"""The sweep report's paired statistics (issue 20): seeds of one subject share its data, so each
subject's score is averaged over its seeds before the Wilcoxon signed-rank test pairs the
decoders by subject (scipy.stats.wilcoxon over subjects, not over subject x seed pairs)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import wilcoxon

from app.sweeps.report import _html, paired_tests, subject_means


def run(condition, subject, seed, accuracy, state="done", by_subject=None):
    return {"id": f"{condition}-s{subject}-seed{seed}", "condition": condition, "decoder": condition,
            "subject": subject, "seed": seed, "protocol": "", "dataset": "", "state": state,
            "metrics": {} if accuracy is None else {"accuracy": accuracy}, "by_subject": by_subject or {},
            "seconds": 1.0, "error": "", "run_dir": ""}


def sweep_rows():
    rng = np.random.default_rng(3)
    rows = []
    for s in range(1, 7):                          # six subjects x three seeds, two decoders
        level = 0.55 + 0.05 * s
        for seed in range(3):
            rows.append(run("csp-lda", str(s), seed, level + 0.02 * rng.standard_normal()))
            rows.append(run("eegnet", str(s), seed, level - 0.01 * s + 0.02 * rng.standard_normal()))
    rows.append(run("eegnet", "6", 3, None, state="failed"))
    return rows


def test_seeds_are_averaged_per_subject_before_the_test():
    rows = sweep_rows()
    means = subject_means(rows, "accuracy")
    assert sorted(means) == ["csp-lda", "eegnet"] and sorted(means["csp-lda"]) == [str(s) for s in range(1, 7)]
    three = [r["metrics"]["accuracy"] for r in rows if r["condition"] == "eegnet" and r["subject"] == "4"
             and r["state"] == "done"]
    assert means["eegnet"]["4"] == pytest.approx(np.mean(three))
    (test,) = paired_tests(rows, "accuracy")
    assert (test["a"], test["b"]) == ("csp-lda", "eegnet")
    assert test["n_pairs"] == 6, "one pair per subject, not per (subject, seed)"
    assert test["n_runs"] == 36
    subjects = [str(s) for s in range(1, 7)]
    expected = wilcoxon([means["csp-lda"][s] for s in subjects], [means["eegnet"][s] for s in subjects])
    assert test["statistic"] == pytest.approx(float(expected.statistic))
    assert test["p_value"] == pytest.approx(float(expected.pvalue))
    assert test["mean_difference"] == pytest.approx(np.mean([means["csp-lda"][s] - means["eegnet"][s]
                                                             for s in subjects]))
    # pooling subjects x seeds as independent pairs gives another (smaller, overconfident) p
    pooled = wilcoxon([r["metrics"]["accuracy"] for r in rows if r["condition"] == "csp-lda"],
                      [r["metrics"]["accuracy"] for r in rows if r["condition"] == "eegnet" and r["state"] == "done"])
    assert pooled.pvalue < test["p_value"]


def test_a_run_over_several_subjects_contributes_its_per_subject_scores():
    rows = []
    for seed in (0, 1):
        rows.append(run("a", "", seed, 0.8, by_subject={str(s): {"accuracy": 0.6 + 0.05 * s + 0.01 * seed}
                                                        for s in range(1, 6)}))
        rows.append(run("b", "", seed, 0.7, by_subject={str(s): {"accuracy": 0.58 + 0.04 * s} for s in range(1, 6)}))
    means = subject_means(rows, "accuracy")
    assert means["a"]["3"] == pytest.approx(0.755)
    (test,) = paired_tests(rows, "accuracy")
    assert test["n_pairs"] == 5 and test["a_better"] == 5 and test["b_better"] == 0


def test_a_pooled_run_without_per_subject_scores_is_one_pair_and_too_few_to_test():
    rows = [run("a", "", 0, 0.8), run("b", "", 0, 0.7)]
    (test,) = paired_tests(rows, "accuracy")
    assert test["n_pairs"] == 1 and math.isnan(test["p_value"])


def test_the_report_says_how_it_pairs():
    rows = sweep_rows()
    page = _html("demo", rows, [], paired_tests(rows, "accuracy"), "accuracy", ["accuracy"], [])
    assert "Wilcoxon signed-rank over subjects)" in page and "averaged over its seeds" in page
    assert "subjects x seeds" not in page
