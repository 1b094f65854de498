"""Every registered decoder is a true scikit-learn estimator: scikit-learn's own checks
(with a written list of the checks each is expected to fail, and why), mixins and
``score``, NotFittedError, ``cross_val_score`` with default scoring, and the public
registration API (a toy decoder appears in the decoder list and runs an experiment)."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import KFold, cross_val_score
from sklearn.utils import estimator_checks as ec

import decoders
from data.errors import InputError
from decoders.base import ClassifierDecoder, DecoderParams, Task

from .simulated_mi import one_blas_thread, simulate

# Small settings so the checks stay fast (the CNN trains one tiny epoch).
SMALL = {"eeg-simpleconv": dict(epochs=1, filters=4, sfreq=100.0, resample_hz=None, kernel_size=3,
                                device="cpu", batch_size=8),
         "fbcsp-lda": dict(sfreq=100.0),
         "eegnet-erp": dict(epochs=1, F1=2, D=1, F2=2, sfreq=100.0, device="cpu", batch_size=8, val_fraction=0.0)}

_SEQUENTIAL = "a sequential filter: each prediction depends on the samples before it (time order matters)"
_CONTINUOUS_EXPECTED = {
    "check_methods_sample_order_invariance": _SEQUENTIAL,
    "check_methods_subset_invariance": _SEQUENTIAL,
    "check_regressors_train": "fits a state model on a time series; shuffled i.i.d. samples carry no dynamics",
    "check_supervised_y_2d": "targets are (n_samples, n_targets) by design: a column vector is valid, no warning",
    "check_fit1d": "a 1-D array is read as one feature over time (a single channel), not refused",
    "check_fit2d_predict1d": "a 1-D array is read as one feature over time (a single channel), not refused",
}
_ONE_SAMPLE = "the state model needs consecutive samples; the message says so in its own words"
# Which of scikit-learn's checks each decoder fails, and why. Trial decoders declare 3-D input
# through their tags, so scikit-learn (whose checks generate 2-D data) runs only its
# data-free checks on them; the 3-D behaviour is tested below.
EXPECTED_FAILURES: dict[str, dict[str, str]] = {
    "eeg-simpleconv": {}, "csp-lda": {}, "tangent-space-lr": {}, "voxel-lr": {},
    "erp-lda": {}, "xdawn-ts-lr": {}, "eegnet-erp": {},
    "brainmae": {}, "brainmae-pretrain": {}, "brainmae-regressor": {}, "fc-lr": {}, "tangent-fc-lr": {},
    "fbcsp-lda": {"check_parameters_default_constructible": "bands is a list of [low, high] pairs (a JSON-able "
                                                            "schema value, not a tuple)"},
    "kalman": {**_CONTINUOUS_EXPECTED, "check_fit2d_1sample": _ONE_SAMPLE,
               "check_estimators_empty_data_messages": "targets are checked before features; empty data fails "
                                                       "in the state-model fit"},
    "dkf": {**_CONTINUOUS_EXPECTED, "check_fit2d_1sample": _ONE_SAMPLE,
            "check_estimators_empty_data_messages": "targets are checked before features; empty data fails "
                                                    "in the state-model fit"},
    "wiener": {**_CONTINUOUS_EXPECTED,
               "check_parameters_default_constructible": "alphas is a list of ridge penalties (a JSON-able "
                                                         "schema value, not a tuple)"},
    # Volume decoders need the stimuli (images) beside the voxels: only the data-free checks apply.
    "mindbridge": {},
    "ridge-images": {"check_parameters_default_constructible": "alphas is a list of ridge penalties (a JSON-able "
                                                               "schema value, not a tuple)"},
}
# Checks that need no data, run directly on the trial decoders as well.
DATA_FREE_CHECKS = ("check_no_attributes_set_in_init", "check_parameters_default_constructible",
                    "check_get_params_invariance", "check_set_params", "check_estimator_repr",
                    "check_do_not_raise_errors_in_init_or_set_params", "check_mixin_order",
                    "check_valid_tag_types")


def _make(name: str):
    return decoders.create(name, SMALL.get(name))


REGISTERED = [e.name for e in decoders.available()]   # listing imports no decoder module


def test_every_registered_decoder_has_an_expected_failure_list():
    """Every registered decoder goes through check_estimator (below, parametrized by the
    registry) with a written list of expected failures, and the list names no other decoder."""
    unlisted = set(REGISTERED) - set(EXPECTED_FAILURES)
    assert not unlisted, f"registered decoders without an EXPECTED_FAILURES entry (even {{}}): {sorted(unlisted)}"
    stale = set(EXPECTED_FAILURES) - set(REGISTERED)
    assert not stale, f"EXPECTED_FAILURES names decoders that are not registered: {sorted(stale)}"


def test_every_registry_entry_agrees_with_its_class():
    """The registry holds a name and an import target; every fact is the class's own."""
    from decoders.registry import INPUT_KINDS

    for e in decoders.available():
        cls = e.load()
        assert cls.name == e.name, f"{e.target} declares name {cls.name!r}, registered as {e.name!r}"
        assert isinstance(cls.description, str) and cls.description.strip(), e.name
        assert (e.description, e.task, e.input_kind, e.params) == \
            (cls.description, Task(cls.task), cls.input_kind, cls.Params), e.name
        assert isinstance(cls.task, Task), f"{e.name}: task must be a decoders.base.Task"
        assert e.input_kind in INPUT_KINDS, f"{e.name}: input_kind {e.input_kind!r}"
        assert issubclass(cls.Params, DecoderParams), e.name
        assert e.params_schema()["type"] == "object", e.name
        assert all(isinstance(m, str) for m in e.modalities), e.name


def test_an_entry_reads_its_facts_from_the_class():
    entry = decoders.register("toy-nearest-mean", NearestMeanPower)
    try:
        assert entry.description == NearestMeanPower.description
        NearestMeanPower.description = "Changed in the class."
        assert decoders.registry.entry("toy-nearest-mean").description == "Changed in the class."
    finally:
        NearestMeanPower.description = "Toy: nearest class mean of log channel power."
        decoders.unregister("toy-nearest-mean")


def test_a_bad_target_is_reported_with_the_decoder_name():
    from decoders import ParameterError

    with pytest.raises(ParameterError, match="'broken'.*module:Class"):
        decoders.registry.Entry("broken", "no_colon_here").load()
    with pytest.raises(ParameterError, match="not a Decoder class"):
        decoders.registry.Entry("broken", "decoders.base:Task").load()


@pytest.mark.parametrize("name", REGISTERED)
def test_check_estimator(name):
    assert name in EXPECTED_FAILURES, f"{name}: add its expected failures (even {{}}) to EXPECTED_FAILURES"
    with one_blas_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = ec.check_estimator(_make(name), on_fail=None,
                                     expected_failed_checks=EXPECTED_FAILURES[name])
    failed = {r["check_name"]: repr(r["exception"])[:300] for r in results if r["status"] == "failed"}
    assert not failed, failed
    xfailed = {r["check_name"] for r in results if r["status"] == "xfail"}
    if decoders.registry.entry(name).input_kind == "continuous":
        assert len(results) > 40   # the full suite ran
    else:
        tags = _make(name).__sklearn_tags__().input_tags
        assert tags.three_d_array if decoders.registry.entry(name).input_kind == "trials" \
            else not (tags.two_d_array or tags.three_d_array)
        for check in DATA_FREE_CHECKS:
            if check in EXPECTED_FAILURES[name]:
                with pytest.raises(AssertionError):
                    getattr(ec, check)(name, _make(name))
                xfailed.add(check)
            else:
                getattr(ec, check)(name, _make(name))
    stale = set(EXPECTED_FAILURES[name]) - xfailed
    assert not stale, f"{name} now passes {stale}: remove them from EXPECTED_FAILURES"


def test_mixins_and_not_fitted():
    for e in decoders.available():
        est = _make(e.name)
        assert is_classifier(est) == (e.task == Task.CLASSIFICATION), e.name
        assert is_regressor(est) == (e.task == Task.REGRESSION), e.name
        assert hasattr(est, "score")
        assert "params" not in est.get_params()
        shape = (4, 8, 200) if e.input_kind == "trials" else (50, 3)
        with pytest.raises(NotFittedError, match="not trained"):
            est.predict(np.zeros(shape))


def test_input_error_is_a_value_error_with_its_message():
    err = InputError("bad value", path="exp.yaml", hint="Use 3.")
    assert isinstance(err, ValueError)
    assert str(err) == "exp.yaml: bad value Use 3."


def test_cross_val_score_default_scoring_on_a_classifier():
    X, y, _ = simulate(n_per_class=20, seed=1)
    with one_blas_thread():
        scores = cross_val_score(decoders.create("csp-lda"), X, y, cv=KFold(4, shuffle=True, random_state=0))
    assert scores.mean() > 0.8   # 10 Hz ERD on one channel per class: far above chance (0.5)


def test_cross_val_score_default_scoring_on_a_regressor(datasets):
    x = np.loadtxt(datasets / "flint-run1" / "x.csv", delimiter=",")[:3000]
    z = np.loadtxt(datasets / "flint-run1" / "z.csv", delimiter=",")[:3000]
    with one_blas_thread():
        scores = cross_val_score(decoders.create("wiener"), x, z, cv=KFold(3))   # contiguous blocks
    assert scores.mean() > 0.3   # R^2; chance is <= 0


# ----------------------------------------------------------------------- public extension API
class NearestMeanParams(DecoderParams):
    pass


class NearestMeanPower(ClassifierDecoder):
    """Toy decoder: nearest class mean of log channel power (defined outside NeuroDeck)."""

    name = "toy-nearest-mean"
    description = "Toy: nearest class mean of log channel power."
    task = Task.CLASSIFICATION
    input_kind = "trials"
    Params = NearestMeanParams

    def fit(self, X, y=None, **_):
        feats = np.log(np.var(X, axis=2))
        self.classes_ = np.unique(y)
        self.means_ = np.stack([feats[y == c].mean(0) for c in self.classes_])
        return self

    def predict(self, X, **_):
        self._require_fitted("means_")
        feats = np.log(np.var(X, axis=2))
        return self.classes_[((feats[:, None] - self.means_[None]) ** 2).sum(-1).argmin(1)]


@pytest.fixture
def toy_registered():
    decoders.register("toy-nearest-mean", NearestMeanPower)
    yield
    decoders.unregister("toy-nearest-mean")


def test_a_toy_decoder_registered_publicly_appears_and_runs(toy_registered, tmp_path):
    from app.experiment import run_experiment

    listed = {e.name: e for e in decoders.available()}   # what the GUI's decoder list reads
    assert listed["toy-nearest-mean"].task == Task.CLASSIFICATION
    config = {"name": "toy", "dataset": {"source": "demo:motor-imagery", "window": [0.5, 3.5],
                                         "preprocessing": {"band": [8.0, 30.0]}},
              "decoder": {"name": "toy-nearest-mean"},
              "evaluation": {"protocol": "kfold", "n_folds": 2, "within": "subject"},
              "output": {"runs_dir": str(tmp_path), "save_model": False, "figures": False}}
    with one_blas_thread():
        result = run_experiment(config)
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert metrics["decoder"] == "toy-nearest-mean"
    assert metrics["summary"]["accuracy"]["mean"] > 0.6   # the demo's ERD is in log power


def test_entry_point_plugins_are_loaded_lazily(monkeypatch):
    from decoders import registry

    class FakePoint:
        name, value = "toy", "tests.test_estimators:toy_entry"

        def load(self):
            return toy_entry

    monkeypatch.setattr(registry, "_plugins_loaded", False)
    monkeypatch.setattr("importlib.metadata.entry_points",
                        lambda group: [FakePoint()] if group == registry.ENTRY_POINT_GROUP else [])
    try:
        assert "toy-plugin" in {e.name for e in decoders.available()}
        assert registry.get("toy-plugin") is NearestMeanPower
    finally:
        decoders.unregister("toy-plugin")


def toy_entry():
    return decoders.Entry("toy-plugin", "tests.test_estimators:NearestMeanPower")


def test_clone_keeps_the_parameters():
    est = decoders.create("eeg-simpleconv", {"epochs": 3, "lr": 0.01})
    assert clone(est).get_params() == est.get_params()


def test_a_dkf_bundle_saved_before_the_training_settings_still_loads(tmp_path):
    from decoders.bundle import load_bundle, save_bundle

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((300, 3)), np.cumsum(rng.standard_normal((300, 2)), axis=0)
    dkf = decoders.create("dkf", {"lr": 0.02}).fit(X, y)
    save_bundle(dkf, tmp_path / "b", input_spec={})
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    manifest["params"]["learning_rate"] = manifest["params"].pop("lr")   # the old parameter name
    (tmp_path / "b" / "manifest.json").write_text(json.dumps(manifest))
    loaded, _ = load_bundle(tmp_path / "b")
    assert loaded.lr == 0.02
    np.testing.assert_allclose(loaded.predict(X[:50]), dkf.predict(X[:50]))


def test_an_experiment_file_may_still_say_learning_rate_for_the_dkf():
    assert decoders.create("dkf", {"f": "neural", "learning_rate": 0.01}).lr == 0.01
