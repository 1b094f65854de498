"""EEG-SimpleConv recipes chosen from the data (issue 23): the run states the recipe and the
rule that chose it (log and metrics.json), and the pooled fine-tune trains one network on the
pretraining subjects' trials together with the new subject's."""
from __future__ import annotations

import numpy as np
import pytest

from data.errors import InputError
from decoders import TrainingContext
from decoders.base import ParameterError
from decoders.events import LogMessage
from decoders.simpleconv import EEGSimpleConv
from tests.simulated_mi import one_thread, simulate

SMALL = dict(sfreq=100.0, resample_hz=50.0, filters=8, kernel_size=7, epochs=3, batch_size=16, device="cpu",
             val_fraction=0.0, fine_tune_epochs=2)


@pytest.fixture(autouse=True)
def single_thread():
    with one_thread():
        yield


@pytest.fixture(scope="module")
def three_subjects():
    return simulate(n_subjects=3, n_per_class=12, n_chans=6, seconds=1.0, seed=3)


def logging_context():
    lines: list[str] = []
    ctx = TrainingContext(lambda e: lines.append(e.message) if isinstance(e, LogMessage) else None)
    return ctx, lines


def test_fit_states_the_recipe_and_the_rule_that_chose_it(three_subjects):
    X, y, subj = three_subjects
    ctx, lines = logging_context()
    small = EEGSimpleConv(**SMALL).fit(X, y, subject=subj, context=ctx)
    [line] = [m for m in lines if "recipe" in m]
    assert "small-data" in line and f"{len(X)} training trials < small_data_trials=300" in line
    assert "3 subject(s)" in line
    assert small.fold_facts() == {"recipe": small.recipe_, "tangent_weight": 0.0}
    broad = EEGSimpleConv(**SMALL, small_data_trials=10).fit(X, y, subject=subj)
    assert broad.recipe_.startswith(f"published: broadband input ({len(X)} training trials >= small_data_trials=10)")
    assert EEGSimpleConv(**SMALL, recipe="published").fit(X, y).recipe_.startswith("published: broadband input (recipe: published)")


def test_pooled_fine_tune_trains_a_fresh_network_on_source_and_target(three_subjects):
    X, y, subj = three_subjects
    source, target = subj != "S3", subj == "S3"
    model = EEGSimpleConv(**SMALL, fine_tune_mode="pooled").fit(X[source], y[source], subject=subj[source])
    before = {k: v.clone() for k, v in model.pipeline_.net.state_dict().items()}
    ctx, lines = logging_context()
    model.fine_tune(X[target], y[target], subject=subj[target], context=ctx)
    assert model.subjects_ == ["S1", "S2", "S3"] and set(model.alignments_) == {"S1", "S2", "S3"}
    assert f"trained on {len(X)} trials of 3 subject(s)" in model.recipe_
    assert any("recipe" in m for m in lines)
    # the same network as a fit on all three subjects (fit is seeded), not the pretrained one continued
    pooled = EEGSimpleConv(**SMALL).fit(np.concatenate([X[source], X[target]]),
                                         np.concatenate([y[source], y[target]]),
                                         subject=np.concatenate([subj[source], subj[target]]))
    np.testing.assert_allclose(model.predict_proba(X[target], subject="S3"),
                               pooled.predict_proba(X[target], subject="S3"), atol=1e-5)
    assert any(not np.allclose(before[k].numpy(), v.numpy()) for k, v in model.pipeline_.net.state_dict().items())


def test_continued_fine_tune_is_unchanged_by_default(three_subjects):
    X, y, subj = three_subjects
    source, target = subj != "S3", subj == "S3"
    model = EEGSimpleConv(**SMALL).fit(X[source], y[source], subject=subj[source])
    assert model.fine_tune_mode == "continue" and not hasattr(model, "_source_trials")
    model.fine_tune(X[target], y[target], subject=subj[target])
    assert model.fine_tune_history_ and "then fine-tuned 2 epochs on 24 trials of subject(s) S3" in model.recipe_


def test_pooled_fine_tune_refuses_a_pretraining_subject_and_a_loaded_model(three_subjects):
    X, y, subj = three_subjects
    source = subj != "S3"
    model = EEGSimpleConv(**SMALL, fine_tune_mode="pooled").fit(X[source], y[source], subject=subj[source])
    s1 = subj == "S1"
    with pytest.raises(InputError, match="S1"):
        model.fine_tune(X[s1], y[s1], subject=subj[s1])
    arrays, extra = model.get_state()
    loaded = EEGSimpleConv(**SMALL, fine_tune_mode="pooled").set_state(arrays, extra)
    with pytest.raises(ParameterError, match="fine_tune_mode"):
        loaded.fine_tune(X[subj == "S3"], y[subj == "S3"], subject="S3")


def test_fold_facts_reach_the_fold_metrics(three_subjects):
    from data.decoding_set import DecodingSet
    from decoders.evaluation import evaluate

    X, y, subj = three_subjects
    data = DecodingSet(X=X, y=y, kind="trials", modality="eeg", subject=subj, session="1", run="1",
                       sfreq=100.0, class_names=["left", "right"])
    result = evaluate(data, EEGSimpleConv(**SMALL, fine_tune_mode="pooled"), "finetune", n_folds=2,
                      within="subject", test_subjects=["S3"], seed=0)
    folds = result.fold_metrics()
    assert len(folds) == 2
    assert all(f["recipe"].startswith("small-data") and "of 3 subject(s)" in f["recipe"] for f in folds)
