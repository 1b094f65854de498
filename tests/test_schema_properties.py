"""Property-based test of the experiment schema (issue 24): random values in every field of a
small experiment end in exit 0 (a valid experiment) or 2 (bad input, named), never 1 (a
crash) and never a hang. Each example goes through ``neurodeck run FILE --check``: the file
is validated, the data loaded, the decoder built and the folds cut, nothing trained.

Bounded and reproducible: 60 examples, derandomized (a fixed seed), no per-example deadline
(loading the demo data takes about a second), one time limit for the whole test.
"""
from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.cli import main

# Values chosen to sit on and beyond every bound: non-finite, huge, negative, zero, typical.
NASTY_FLOATS = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, -1.0, 1e-9, 0.5, 3.0, 30.0, 599.0, 600.0,
                     601.0, 1e5, 1e9, 1e308, -1e12, 1e12]),
    st.floats(min_value=-10, max_value=100, allow_nan=False))
NASTY_INTS = st.one_of(st.sampled_from([-(2**63), -1, 0, 1, 2, 3, 5, 2**32 - 1, 2**32, 10**9, 10**26]),
                       st.integers(min_value=-3, max_value=12))


def mostly(*good, bad):
    """A plausible value four times in five, else one from ``bad``: most examples get past the
    first check, so the later ones (data, decoder, folds) are reached too."""
    plausible = st.sampled_from(good)
    return st.sampled_from([True, True, True, True, False]).flatmap(lambda ok: plausible if ok else bad)


def edges(values=NASTY_FLOATS):
    return st.tuples(st.none() | values, st.none() | values) | st.lists(values, max_size=3)


preprocessing = st.fixed_dictionaries({}, optional={
    "picks": mostly("eeg", ["C3", "C4", "Cz"], bad=st.sampled_from(["meg", "data", ["NOPE"], [], 3])),
    "reference": mostly(None, "average", bad=st.sampled_from(["Cz", "NOPE", ["C3", "C4"], 1.5])),
    "notch": mostly(None, 50.0, [50.0, 100.0], bad=NASTY_FLOATS | st.lists(NASTY_FLOATS, max_size=3)),
    "band": mostly(None, [8.0, 30.0], [1.0, None], [None, 40.0], bad=edges()),
    "resample": mostly(None, 80.0, 100.0, bad=NASTY_FLOATS),
    "align": mostly("none", "subject", "session", bad=st.sampled_from(["everything", 1])),
    "standardize": mostly("none", "trial", "subject", bad=st.sampled_from(["all", 3])),
})

dataset = st.fixed_dictionaries({"source": mostly("demo:motor-imagery", bad=st.sampled_from(["demo:nothing", ""]))},
                                optional={
    "subjects": mostly([1], [2], [1, 2], bad=st.sampled_from([[0], [99], [], "1", None, [1.5]])),
    "runs": mostly(None, bad=st.sampled_from([[1], [99], []])),
    "events": mostly(None, bad=st.sampled_from([{"left": "left", "right": "right"}, {"left": "a"}, {"nope": "x"}, {}])),
    "window": mostly([0.0, 3.0], [0.5, 2.5], [-0.5, 1.0], bad=edges()),
    "baseline": mostly(None, [-0.5, 0.0], [None, 0.0], bad=edges()),
    "reject": mostly(None, 500.0, 1e6, bad=NASTY_FLOATS),
    "min_trials": mostly(1, 5, bad=NASTY_INTS),
    "channel_mismatch": mostly("common", "error", bad=st.just("maybe")),
    "preprocessing": preprocessing,
    "seed": mostly(0, 7, bad=NASTY_INTS),
    "cache": st.booleans(),
})

decoder = st.one_of(
    st.fixed_dictionaries({"name": st.just("csp-lda")}, optional={
        "params": st.fixed_dictionaries({}, optional={"n_components": mostly(2, 4, bad=NASTY_INTS)})}),
    st.fixed_dictionaries({"name": st.sampled_from(["tangent-space-lr", "fbcsp-lda", "kalman", "no-such-decoder"])}),
    st.fixed_dictionaries({"name": st.just("eeg-simpleconv")}, optional={
        "preset": mostly(None, "within-subject", bad=st.just("nope")),
        "params": st.fixed_dictionaries({}, optional={
            "epochs": mostly(1, 50, bad=NASTY_INTS), "batch_size": mostly(16, bad=NASTY_INTS),
            "lr": mostly(1e-3, bad=NASTY_FLOATS), "seed": mostly(0, bad=NASTY_INTS),
            "val_fraction": mostly(0.0, 0.2, bad=NASTY_FLOATS), "early_stopping": mostly(None, 5, bad=NASTY_INTS),
            "weight_decay": mostly(0.0, 1e-4, bad=NASTY_FLOATS)})}),
)

evaluation = st.one_of(
    st.fixed_dictionaries({"protocol": st.just("kfold")}, optional={
        "n_folds": mostly(2, 5, bad=NASTY_INTS), "within": mostly("session", "subject", "all", bad=st.just("galaxy"))}),
    st.fixed_dictionaries({"protocol": st.just("holdout")}, optional={
        "test_fraction": mostly(0.2, 0.5, bad=NASTY_FLOATS),
        "train_range": mostly(None, [0, 40], bad=st.lists(NASTY_INTS, max_size=3)),
        "test_range": mostly(None, [40, 80], bad=st.lists(NASTY_INTS, max_size=3))}),
    st.fixed_dictionaries({"protocol": st.sampled_from(["blocked-kfold", "repeated-kfold", "loso", "nope"])}, optional={
        "n_folds": mostly(2, 3, bad=NASTY_INTS), "gap": mostly(0, 2, bad=NASTY_INTS),
        "n_repeats": mostly(1, 2, bad=NASTY_INTS)}),
)

experiment = st.fixed_dictionaries({"dataset": dataset, "decoder": decoder}, optional={
    "name": st.sampled_from(["x", "", "a/b", "ü" * 3]),
    "training": st.fixed_dictionaries({}, optional={
        "device": mostly("auto", "cpu", bad=st.sampled_from(["cuda:7", "gpu", "cuda:-1"])),
        "seed": mostly(0, 42, bad=NASTY_INTS)}),
    "evaluation": evaluation,
    "output": st.fixed_dictionaries({}, optional={"save_model": st.booleans(), "figures": st.booleans(),
                                                   "runs_dir": st.sampled_from(["runs", "", "/dev/null/x"])}),
})


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


@pytest.mark.timeout(900)
@settings(max_examples=60, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(config=experiment)
def test_any_experiment_exits_0_or_2_never_1(config, workdir, capsys, monkeypatch):
    monkeypatch.setenv("NEURODECK_CACHE", str(workdir / "cache"))
    monkeypatch.chdir(workdir)
    path = workdir / "experiment.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    code = main(["run", str(path), "--check"])
    err = capsys.readouterr().err
    assert code in (0, 2), f"exit {code} for {config!r}:\n{err[-3000:]}"
    if code == 2:
        assert "Traceback" not in err and " ".join(err.split()).startswith("error: "), err[-3000:]
    assert not (workdir / "runs").exists() and not [p for p in os.listdir(workdir) if p.endswith(".partial")]
