"""Evaluation protocols on simulated sets with known structure (fast, no real data)."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from pydantic import Field

from data.decoding_set import DecodingSet
from decoders.base import Decoder, DecoderParams, Task
from decoders.evaluation import (FoldResult, ProtocolError, blocked_kfold_splits, evaluate,
                                 finetune_splits, holdout_splits, kfold_splits, make_splits)
from decoders.events import (Cancelled, EpochEnd, FoldEnd, Progress, TrainingContext,
                             TrajectoryReconstruction)


class LogVarLDA(Decoder):
    """Log-variance per channel + LDA: learns class-dependent power. Fine-tuning refits the
    LDA on the new trials pooled with a weighted copy of the source trials' features."""

    name = "test-logvar-lda"
    description = "test decoder"
    task = Task.CLASSIFICATION
    supports_fine_tune = True

    class Params(DecoderParams):
        shrinkage: float = Field(0.1, ge=0, le=1)

    def _features(self, X):
        return np.log(np.var(X, axis=2) + 1e-12)

    def fit(self, X, y=None, *, subject=None, session=None, context=None):
        from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

        self.seen_subjects_ = None if subject is None else sorted(set(subject))
        self.lda_ = LinearDiscriminantAnalysis(solver="lsqr", shrinkage=self.shrinkage)
        self.lda_.fit(self._features(X), y)
        self.train_F_, self.train_y_ = self._features(X), np.asarray(y)
        if context is not None:
            for epoch in range(2):
                context.check_cancel()
                context.emit(EpochEnd(epoch=epoch, n_epochs=2, metrics={"train_loss": 1.0 / (epoch + 1)}))
                context.emit(Progress(fraction=(epoch + 1) / 2, eta_s=0.0, message=""))
        return self

    def fine_tune(self, X, y, *, subject=None, context=None):
        from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

        self.fine_tuned_on_ = len(X)
        F = np.vstack([self.train_F_, self._features(X)])
        Y = np.concatenate([self.train_y_, y])
        self.lda_ = LinearDiscriminantAnalysis(solver="lsqr", shrinkage=self.shrinkage).fit(F, Y)
        return self

    def predict(self, X, *, subject=None):
        return self.lda_.predict(self._features(X))

    def predict_proba(self, X, *, subject=None):
        return self.lda_.predict_proba(self._features(X))


def simulated_trials(n_subjects=3, n_per_class=20, sessions=("1",), seed=0) -> DecodingSet:
    """Two classes: class 1 has more power on channel 0, class 0 on channel 1."""
    rng = np.random.default_rng(seed)
    X, y, subj, sess, run = [], [], [], [], []
    for s in range(n_subjects):
        for se in sessions:
            for r in range(2):
                for c in (0, 1):
                    for _ in range(n_per_class // 2):
                        x = rng.standard_normal((4, 64))
                        x[0 if c else 1] *= 2.0
                        X.append(x)
                        y.append(c)
                        subj.append(str(s + 1))
                        sess.append(se)
                        run.append(str(r + 1))
    return DecodingSet(np.array(X, np.float32), np.array(y), "trials", "eeg", np.array(subj),
                       np.array(sess), np.array(run), sfreq=64.0, class_names=["a", "b"])


def test_kfold_is_stratified_seeded_and_within_session():
    data = simulated_trials(sessions=("1", "2"))
    splits = kfold_splits(data, n_folds=5, seed=3)
    assert len(splits) == 3 * 2 * 5
    again = kfold_splits(data, n_folds=5, seed=3)
    assert all(np.array_equal(a.test, b.test) for a, b in zip(splits, again))
    other = kfold_splits(data, n_folds=5, seed=4)
    assert not all(np.array_equal(a.test, b.test) for a, b in zip(splits, other))
    for s in splits:
        assert not np.intersect1d(s.train, s.test).size
        group = set(zip(data.subject[s.test], data.session[s.test]))
        assert len(group) == 1 and set(zip(data.subject[s.train], data.session[s.train])) == group
        assert np.bincount(data.y[s.test]).tolist() == [4, 4]
    # the test folds of one group partition it
    first = np.sort(np.concatenate([s.test for s in splits[:5]]))
    assert np.array_equal(first, np.flatnonzero((data.subject == "1") & (data.session == "1")))


def test_finetune_uses_the_kfold_test_folds():
    data = simulated_trials()
    kf = kfold_splits(data, 5, seed=7, within="subject")
    ft = finetune_splits(data, 5, seed=7, within="subject")
    assert [s.fold for s in ft] == [s.fold for s in kf]
    for a, b in zip(kf, ft):
        assert np.array_equal(a.test, b.test) and np.array_equal(np.sort(a.train), b.train)
        target = data.subject[b.test[0]]
        assert set(data.subject[b.pretrain]) == set(data.subjects) - {target}
    calib = finetune_splits(data, 5, seed=7, within="subject", n_calibration=6)
    assert all(len(s.train) == 6 for s in calib)


def test_cross_session_loso_and_group_errors():
    data = simulated_trials(sessions=("1", "2"))
    splits = make_splits(data, "cross-session", train_groups=["1"], test_groups=["2"])
    assert len(splits) == 3
    for s in splits:
        assert set(data.session[s.train]) == {"1"} and set(data.session[s.test]) == {"2"}
    by_run = make_splits(data, "cross-session", split_by="run")
    assert len(by_run) == 3 * 2 and all(len(set(data.run[s.test])) == 1 for s in by_run)
    with pytest.raises(ProtocolError, match="test_groups.*'9'"):
        make_splits(data, "cross-session", train_groups=["1"], test_groups=["9"])
    loso = make_splits(data, "loso")
    assert [set(data.subject[s.test]) for s in loso] == [{"1"}, {"2"}, {"3"}]
    with pytest.raises(ProtocolError, match="at least two subjects"):
        make_splits(data.subset(data.subject == "1"), "loso")
    with pytest.raises(ProtocolError, match="fewer than n_folds"):
        make_splits(data.subset(np.r_[0:6, 10:12]), "kfold", n_folds=5)
    with pytest.raises(ProtocolError, match="only one class"):
        make_splits(data.subset(np.arange(10)), "kfold", n_folds=5)


def test_contiguous_protocols_never_shuffle():
    (h,) = holdout_splits(6000, (0, 5000), (5000, 6000))
    assert np.array_equal(h.train, np.arange(5000)) and np.array_equal(h.test, np.arange(5000, 6000))
    with pytest.raises(ProtocolError, match="test_range"):
        holdout_splits(5500, (0, 5000), (5000, 6000))
    with pytest.raises(ProtocolError, match="overlap"):
        holdout_splits(6000, (0, 5000), (4000, 6000))
    blocks = blocked_kfold_splits(100, 4, gap=2)
    assert [b.test[0] for b in blocks] == [0, 25, 50, 75]
    for b in blocks:
        assert np.all(np.diff(b.test) == 1)
        assert np.abs(b.train[:, None] - b.test[None, :]).min() > 2
    continuous = DecodingSet(np.zeros((50, 3)), np.zeros((50, 2)), "continuous", "spikes", "1", "1", "1")
    with pytest.raises(ProtocolError, match="never shuffle"):
        make_splits(continuous, "kfold")


def test_kfold_learns_and_reports_events_and_timings():
    data = simulated_trials()
    events = []
    result = evaluate(data, LogVarLDA(), "kfold", n_folds=5, seed=0,
                      context=TrainingContext(on_event=events.append))
    assert len(result.folds) == 15
    assert result.summary["accuracy"]["mean"] > 0.85  # chance is 0.5
    assert set(result.summary) >= {"accuracy", "balanced_accuracy", "kappa", "roc_auc"}
    assert set(result.by_subject) == {"1", "2", "3"}
    fold_ends = [e for e in events if isinstance(e, FoldEnd)]
    assert [e.fold for e in fold_ends] == list(range(15))
    assert np.sum(fold_ends[0].confusion) == 8
    progress = [e.fraction for e in events if isinstance(e, Progress)]
    assert progress == sorted(progress) and progress[-1] == pytest.approx(1.0)
    assert result.folds[0].history and result.folds[0].history[0]["epoch"] == 0
    assert result.timings["fit_seconds_mean"] > 0 and result.timings["predict_ms_per_sample"] > 0
    # a fold round-trips through JSON (used to resume runs)
    back = FoldResult.from_json(result.folds[3].to_json())
    assert np.array_equal(back.y_pred, result.folds[3].y_pred) and back.metrics == result.folds[3].metrics


def test_a_decoder_that_cannot_learn_stays_at_chance():
    data = simulated_trials(n_per_class=40)
    rng = np.random.default_rng(1)
    data.y = rng.permutation(data.y)  # labels no longer related to the signal
    result = evaluate(data, LogVarLDA(), "kfold", n_folds=5, seed=0)
    assert abs(result.summary["accuracy"]["mean"] - 0.5) < 0.12


def test_finetune_pretrains_once_per_subject_and_resumes():
    data = simulated_trials()
    fits = []

    class Counting(LogVarLDA):
        def fit(self, X, y=None, **kw):
            fits.append(len(X))
            return super().fit(X, y, **kw)

    saved = {}
    result = evaluate(data, Counting(), "finetune", n_folds=5, seed=0, within="subject",
                      on_fold=lambda f: saved.__setitem__(f.fold, f))
    assert fits == [80, 80, 80]  # pretrained once per target on the two other subjects
    assert result.summary["accuracy"]["mean"] > 0.85
    assert all(f.info["pretrain_seconds"] > 0 for f in result.folds)
    # pretraining curves go with each target's first fold (this decoder's fine_tune emits none)
    assert {row["fold"] for row in result.folds[0].history} == {"pretrain:1"}
    assert result.folds[1].history == []
    assert {row["fold"] for row in result.folds[5].history} == {"pretrain:2"}
    kfold = evaluate(data, LogVarLDA(), "kfold", n_folds=5, seed=0, within="subject")
    assert [f.test_index.tolist() for f in result.folds] == [f.test_index.tolist() for f in kfold.folds]
    fits.clear()
    partial = {k: v for k, v in saved.items() if k < 7}
    resumed = evaluate(data, Counting(), "finetune", n_folds=5, seed=0, within="subject", completed=partial)
    assert fits == [80, 80]  # subject 1's folds (0-4) were all done: no pretraining for it
    assert [f.metrics for f in resumed.folds] == [f.metrics for f in result.folds]


def test_cancel_stops_between_batches():
    data = simulated_trials()
    flag = threading.Event()

    def on_event(event):
        if isinstance(event, FoldEnd) and event.fold == 1:
            flag.set()

    done = []
    with pytest.raises(Cancelled):
        evaluate(data, LogVarLDA(), "kfold", context=TrainingContext(on_event, flag),
                 on_fold=done.append)
    assert [f.fold for f in done] == [0, 1]


def test_regression_folds_send_their_test_trajectories():
    """Each blocked fold of a continuous decoder shows its held-out truth and decoding."""
    from decoders.registry import create

    rng = np.random.default_rng(0)
    t = np.arange(3000) * 0.1
    velocity = np.c_[np.sin(t), np.cos(0.7 * t)]
    tuning = rng.normal(size=(2, 12))
    X = velocity @ tuning + 0.3 * rng.normal(size=(3000, 12))
    data = DecodingSet(X=X.astype(np.float32), y=velocity, kind="continuous", modality="spikes",
                       subject="1", session="1", run="1", target_names=["vx", "vy"])
    events = []
    result = evaluate(data, create("kalman"), "blocked-kfold", n_folds=3,
                      context=TrainingContext(on_event=events.append))
    shown = [e for e in events if isinstance(e, TrajectoryReconstruction) and e.split == "test"]
    assert [e.fold for e in shown] == [f.fold for f in result.folds]
    for event, fold in zip(shown, result.folds):
        assert event.view == "trajectory" and event.target_names == ["vx", "vy"]
        np.testing.assert_array_equal(event.truth, velocity[fold.test_index][:len(event.truth)])
        decoded_r = np.corrcoef(event.truth[:, 0], event.decoded[:, 0])[0, 1]
        assert decoded_r > 0.8  # the tuned features carry the velocity
