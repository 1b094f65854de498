"""Tasks as specifications: the registry, the reconstruction and pretraining metrics on
data with known structure, evaluation handing each task what its spec says, and one
vocabulary (README's decoder table and protocol list vs the decoder and protocol registries)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import decoders
from data.decoding_set import DecodingSet
from decoders import metrics
from decoders.base import Decoder, DecoderParams, Task
from decoders.evaluation import evaluate
from decoders.protocols import protocol_names
from decoders.tasks import TaskSpec, get_task, register_task, tasks

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_task_has_a_spec_with_its_headline_among_its_metrics():
    assert {t.name for t in tasks()} == {t.value for t in Task}
    for spec in tasks():
        assert spec.headline in spec.metric_names
        assert spec.fit_inputs in ("labels", "targets", "stimuli", "none")
        assert callable(spec.metric_function())
    assert get_task(Task.RECONSTRUCTION).fit_inputs == "stimuli"
    assert get_task("pretraining").test_function() is not None


def test_adding_a_task_is_one_entry():
    spec = register_task(TaskSpec("toy-task", "labels", "decoders.metrics:classification", "accuracy", True,
                                  ("accuracy",), (), ("fold",), ()))
    try:
        assert get_task("toy-task") is spec
    finally:
        from decoders import tasks as module

        module._TASKS.pop("toy-task")


def _images(n=12, size=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, size, size))


def test_reconstruction_metrics_on_known_structure():
    images = _images()
    rng = np.random.default_rng(1)
    perfect = metrics.reconstruction(images, images)
    assert perfect["pixcorr"] == pytest.approx(1.0)
    assert perfect["ssim"] == pytest.approx(1.0)
    assert perfect["pixel_mse"] == pytest.approx(0.0)
    assert perfect["two_way_pixel"] == 1.0
    noisy = images + 0.3 * rng.standard_normal(images.shape)
    m = metrics.reconstruction(images, noisy)
    assert 0.5 < m["pixcorr"] < 0.99 and m["two_way_pixel"] > 0.9 and 0 < m["ssim"] < 1
    shuffled = metrics.reconstruction(images, images[np.roll(np.arange(len(images)), 1)])
    assert abs(shuffled["pixcorr"]) < 0.2 and 0.3 < shuffled["two_way_pixel"] < 0.7   # chance: 0.5
    emb = metrics.reconstruction(images, noisy, true_embeddings=images[:, 0], recon_embeddings=noisy[:, 0])
    assert "two_way_embedding" in emb


def test_pretraining_metrics():
    t = np.arange(100.0)
    assert metrics.pretraining(t, t) == {"masked_r2": 1.0, "masked_mse": 0.0}
    assert metrics.pretraining(t, np.full(100, t.mean()))["masked_r2"] == pytest.approx(0.0)


# ------------------------------------------------ evaluation hands each task what its spec says
class _ToyParams(DecoderParams):
    pass


class MeanImageFromPower(Decoder):
    """Reconstruction toy: an image is a linear read-out of trial log power (least squares)."""

    name = "toy-recon"
    description = "toy"
    task = Task.RECONSTRUCTION
    input_kind = "trials"
    Params = _ToyParams

    def fit(self, X, y=None, *, stimuli=None, context=None):
        assert y is None and stimuli is not None
        F = np.c_[np.log(X.var(axis=2)), np.ones(len(X))]
        self.shape_ = stimuli.shape[1:]
        self.W_ = np.linalg.lstsq(F, stimuli.reshape(len(X), -1), rcond=None)[0]
        return self

    def predict(self, X):
        F = np.c_[np.log(X.var(axis=2)), np.ones(len(X))]
        return (F @ self.W_).reshape((len(X),) + self.shape_)


class MaskedChannelMean(Decoder):
    """Pretraining toy: reconstructs a masked channel from the mean of the others."""

    name = "toy-pretrain"
    description = "toy"
    task = Task.PRETRAINING
    input_kind = "trials"
    Params = _ToyParams

    def fit(self, X, *, context=None):
        self.fitted_ = True
        return self

    def reconstruct_masked(self, X, rng):
        c = rng.integers(X.shape[1])
        others = np.delete(X, c, axis=1).mean(axis=1)
        return X[:, c], others

    def predict(self, X):
        return X


def _set(n=40, seed=0):
    rng = np.random.default_rng(seed)
    shared = rng.standard_normal((n, 1, 100))
    X = shared + 0.1 * rng.standard_normal((n, 4, 100))   # channels share one source
    X[:, 0] *= rng.uniform(0.5, 3.0, n)[:, None]          # channel 0's power varies over trials
    return X


def _decoding_set(X, stimuli=None):
    return DecodingSet(X=X, y=None, kind="trials", modality="eeg", subject="S1", session="1", run="1",
                       sfreq=100.0, ch_names=[f"C{i}" for i in range(X.shape[1])], stimuli=stimuli)


def test_reconstruction_folds_fit_on_stimuli_and_score_pixcorr():
    X = _set()
    power = np.log(X[:, 0].var(axis=1))
    base = _images(1, 8)[0]
    stimuli = power[:, None, None] * base[None] + 0.01 * np.random.default_rng(2).random((len(X), 8, 8))
    result = evaluate(_decoding_set(X, stimuli=stimuli), MeanImageFromPower(), "holdout", test_fraction=0.25)
    assert result.task == "reconstruction"
    assert result.summary["pixcorr"]["mean"] > 0.9
    assert set(get_task("reconstruction").metric_names) >= {"pixcorr", "ssim", "pixel_mse", "two_way_pixel"}


def test_pretraining_folds_fit_on_x_only_and_score_masked_r2():
    result = evaluate(_decoding_set(_set()), MaskedChannelMean(), "holdout", test_fraction=0.25)
    assert result.task == "pretraining"
    assert result.summary["masked_r2"]["mean"] > 0.5   # the shared source predicts the masked channel


# ------------------------------------------------------------------------------ one vocabulary
def _readme_section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def test_readme_decoder_table_matches_the_registry():
    rows = re.findall(r"^\|\s*`([a-z0-9-]+)`\s*\|\s*([a-z]+)\s*\|", _readme_section("Decoders"), re.M)
    assert rows, "README's ## Decoders section has no | `name` | task | table"
    registered = {(e.name, e.task.value) for e in decoders.available()
                  if e.target.startswith(("decoders.simpleconv", "decoders.classical", "decoders.kalman"))}
    assert registered <= set(rows), f"missing from README: {registered - set(rows)}"
    known = {(e.name, e.task.value) for e in decoders.available()}
    assert set(rows) <= known, f"README lists decoders the registry lacks: {set(rows) - known}"


def test_readme_protocol_list_matches_protocols():
    line = re.search(r"^Protocols: (.+)$", README.read_text(), re.M)
    assert line, "README has no 'Protocols: ...' line"
    assert tuple(re.findall(r"`([a-z-]+)`", line.group(1))) == protocol_names()
