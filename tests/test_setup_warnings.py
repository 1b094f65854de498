"""Warnings for decoder setups known to fail (issue 13): logged by the experiment runner."""
from __future__ import annotations

import numpy as np

from app.experiment import EvaluationConfig
from app.setup_warnings import setup_warnings
from data.decoding_set import DecodingSet
from decoders.classical import CSPLDA
from decoders.simpleconv import EEGSimpleConv


def _trials(n_per_subject: int, subjects=("1",)) -> DecodingSet:
    n = n_per_subject * len(subjects)
    return DecodingSet(X=np.zeros((n, 4, 32), np.float32), y=np.arange(n) % 2, kind="trials", modality="eeg",
                       subject=np.repeat(subjects, n_per_subject), session="0", run="0", sfreq=160.0,
                       class_names=["a", "b"])


def test_known_failing_setups_are_named_with_a_remedy():
    data = _trials(45)
    within = EvaluationConfig(protocol="kfold", n_folds=5, within="subject")
    warnings = setup_warnings(EEGSimpleConv, dict(sfreq=160.0, recipe="published", batch_size=64,
                                                  subject_head_weight=0.2), data, within)
    text = " ".join(warnings)
    assert len(warnings) == 3
    assert "subject_head_weight: 0" in text            # subject head, one training subject
    assert "batch_size 64 is larger than the ~36" in text
    assert "recipe: auto" in text and "csp-lda" in text  # deep model, 36 trials, no pretraining


def test_sound_setups_raise_no_warning():
    within = EvaluationConfig(protocol="kfold", n_folds=5, within="subject")
    assert setup_warnings(EEGSimpleConv, dict(sfreq=160.0), _trials(45), within) == []   # auto recipe
    assert setup_warnings(CSPLDA, {}, _trials(45), within) == []
    loso = EvaluationConfig(protocol="loso")
    assert setup_warnings(EEGSimpleConv, dict(sfreq=160.0, recipe="published", subject_head_weight=0.2,
                                              batch_size=32), _trials(200, ("1", "2", "3")), loso) == []


def test_brainmae_warnings_follow_the_decoder_and_its_settings():
    """Issue 20: pretraining (no labels) and fine-tuning from a pretrained `encoder:` are
    not told that 'a deep model with no pretraining stays at chance'; from scratch it is,
    with remedies this decoder has (an encoder, pretrain_epochs, the ROI linear decoders),
    not EEG ones."""
    from data.loading import load_dataset
    from data.spec import DatasetSpec
    from decoders.brainmae.decoder import BrainMAE
    from decoders.brainmae.pretrain import BrainMAEPretrain

    data = load_dataset(DatasetSpec(source="demo:resting-state", cache=False))
    sites = EvaluationConfig(protocol="leave-one-site-out")
    assert setup_warnings(BrainMAEPretrain, {}, data, sites) == []
    assert setup_warnings(BrainMAE, {"encoder": "runs/brainmae-pretrain-run"}, data, sites) == []
    assert setup_warnings(BrainMAE, {"pretrain_epochs": 5}, data, sites) == []
    (scratch,) = setup_warnings(BrainMAE, {}, data, sites)
    assert "no pretraining usually stays at chance" in scratch
    assert "encoder:" in scratch and "pretrain_epochs" in scratch and "fc-lr" in scratch
    assert "recipe" not in scratch and "csp-lda" not in scratch and "finetune protocol" not in scratch
