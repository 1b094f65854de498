"""The ``calibration`` protocol: train on one recording (a calibration run), test on another
(the spelling run), the usual way a P300 speller is evaluated. Runs are ``data.run`` (for a
folder of BCI2000 files, each file's name without ``.dat``); every subject's samples of those
runs are pooled.
"""
from __future__ import annotations

import numpy as np
from pydantic import Field

from .base import Problem, Protocol, ProtocolError, ProtocolOptions, Requirements, Split


class CalibrationRuns(Protocol):
    """Train on the calibration runs, test on the other (or the named) runs: one fold."""

    name = "calibration"
    description = "Train on a calibration run (file), test on another run (e.g. a speller's spelling run)."
    requires = Requirements(groups="run", min_groups=2)

    class Options(ProtocolOptions):
        train_runs: list[str | int] | None = Field(None, description="Runs to train on (null: the first run).")
        test_runs: list[str | int] | None = Field(None, description="Runs to test on (null: every other run).")

    def build_splits(self, data, options, seed):
        return calibration_splits(data, options.train_runs, options.test_runs)

    def find_problems(self, data, options):
        problems = super().find_problems(data, options)
        runs = list(dict.fromkeys(data.run.tolist()))
        if not problems and len(runs) < 2:
            problems.append(Problem(f"{self.name}: needs at least two runs; the data holds only {runs}.",
                                    "Load the calibration and the test recording together, or use 'kfold'."))
        return problems

    def smallest_training_set(self, n_per_subject, n_total, options):
        return n_total // 2


def calibration_splits(data, train_runs=None, test_runs=None) -> list[Split]:
    """One `Split`: the samples of ``train_runs`` (default: the first run) against those of
    ``test_runs`` (default: every other run)."""
    runs = list(dict.fromkeys(data.run.tolist()))
    train = [str(r) for r in train_runs] if train_runs else runs[:1]
    test = [str(r) for r in test_runs] if test_runs else [r for r in runs if r not in train]
    for key, chosen in (("train_runs", train), ("test_runs", test)):
        missing = [r for r in chosen if r not in runs]
        if missing:
            raise ProtocolError(f"calibration: {key} {missing} are not runs of the data.",
                                hint=f"Runs: {', '.join(runs)}.")
    if set(train) & set(test):
        raise ProtocolError(f"calibration: runs {sorted(set(train) & set(test))} are both trained and tested on.")
    tr = np.flatnonzero(np.isin(data.run, train))
    te = np.flatnonzero(np.isin(data.run, test))
    if not len(te):
        raise ProtocolError(f"calibration: nothing to test on; the data holds only run(s) {', '.join(runs)}.",
                            hint="Load the test recording too, or name test_runs.")
    return [Split(0, tr, te, f"train run {','.join(train)} -> test run {','.join(test)}",
                  {"train_runs": train, "test_runs": test})]
