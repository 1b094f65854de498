"""Classical baselines: CSP+LDA, filter-bank CSP+LDA, tangent space+LR, on the motor-imagery
demo and simulated data; they equal the library pipelines; state round-trips without pickle."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from decoders import create
from decoders.base import ParameterError
from decoders.classical import CSPLDA, FilterBankCSPLDA, TangentSpaceLR
from data.errors import InputError
from tests.simulated_mi import one_thread, simulate

DEMO_SPEC = {"source": "demo:motor-imagery", "subjects": ["1"], "runs": ["1", "2", "3"],
             "window": [0.5, 3.5], "preprocessing": {"band": [8.0, 30.0]}}


@pytest.fixture(autouse=True)
def single_thread():
    with one_thread():
        yield


@pytest.fixture(scope="module")
def demo_split():
    """Demo subject 1, three runs (240 trials, left vs right); a stratified 75/25 split."""
    from sklearn.model_selection import train_test_split

    from data.loading import load_dataset

    with one_thread():
        ds = load_dataset(DEMO_SPEC)
    tr, te = train_test_split(np.arange(len(ds)), test_size=0.25, random_state=0, stratify=ds.y)
    return ds, tr, te


@pytest.mark.parametrize("name", ["csp-lda", "fbcsp-lda", "tangent-space-lr"])
def test_far_above_chance_on_the_motor_imagery_demo(demo_split, name):
    ds, tr, te = demo_split
    params = {"sfreq": ds.sfreq} if name == "fbcsp-lda" else {}
    decoder = create(name, params).fit(ds.X[tr], ds.y[tr])
    accuracy = float(np.mean(decoder.predict(ds.X[te]) == ds.y[te]))
    assert accuracy >= 0.7, f"{name}: {accuracy:.2f} on 60 test trials (chance 0.5)"
    proba = decoder.predict_proba(ds.X[te])
    assert proba.shape == (len(te), 2) and np.allclose(proba.sum(1), 1)


def test_match_the_library_pipelines():
    from mne.decoding import CSP
    from mne.utils import use_log_level
    from pyriemann.estimation import Covariances
    from pyriemann.tangentspace import TangentSpace
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    X, y, _ = simulate(n_per_class=30, seed=1)
    X = X.astype(np.float64)
    with use_log_level("error"):
        csp = make_pipeline(CSP(n_components=4, log=True), LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"))
        csp.fit(X, y)
    ours = CSPLDA().fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), csp.predict_proba(X), atol=1e-10)
    ts = make_pipeline(Covariances("oas"), TangentSpace(metric="riemann"), LogisticRegression(max_iter=1000)).fit(X, y)
    np.testing.assert_allclose(TangentSpaceLR().fit(X, y).predict_proba(X), ts.predict_proba(X), atol=1e-8)


@pytest.mark.parametrize("cls,params", [(CSPLDA, {}), (FilterBankCSPLDA, {"sfreq": 100.0, "bands": [(8, 12), (12, 30)]}),
                                        (TangentSpaceLR, {"C": 0.5})])
def test_state_round_trip_is_exact_and_numeric(cls, params):
    X, y, _ = simulate(n_per_class=25, seed=2)
    y = np.where(y == 1, "right", "left")      # string classes survive too
    fitted = cls(**params).fit(X, y)
    arrays, extra = fitted.get_state()
    assert all(isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in arrays.values())
    restored = cls(**params).set_state(arrays, extra)
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))
    assert set(restored.predict(X)) <= {"left", "right"}


def test_multiclass_known_structure():
    """Three classes, each attenuating mu on its own channel: all three decoders separate them."""
    rng = np.random.default_rng(3)
    sfreq, n_times = 100.0, 200
    t = np.arange(n_times) / sfreq
    X, y = [], []
    for label in range(3):
        for _ in range(30):
            amp = np.full(6, 2.0)
            amp[label] *= 0.3
            X.append(rng.standard_normal((6, n_times)) + amp[:, None] * np.sin(2 * np.pi * 10 * t + rng.uniform(0, 6, (6, 1))))
            y.append(label)
    X, y = np.asarray(X), np.asarray(y)
    test = np.arange(len(X)) % 4 == 0
    for decoder in (CSPLDA(n_components=6), FilterBankCSPLDA(sfreq=sfreq, bands=[(8, 12), (16, 24)]), TangentSpaceLR()):
        decoder.fit(X[~test], y[~test])
        assert np.mean(decoder.predict(X[test]) == y[test]) >= 0.8, decoder.name
        assert decoder.predict_proba(X[test]).shape == (test.sum(), 3)


def test_bad_input_is_reported():
    X, y, _ = simulate(n_per_class=10)
    with pytest.raises(InputError, match="two classes"):
        CSPLDA().fit(X, np.zeros(len(X)))
    with pytest.raises(InputError, match="NaN"):
        bad = X.copy()
        bad[0, 0, 0] = np.nan
        TangentSpaceLR().fit(bad, y)
    with pytest.raises(NotFittedError, match="not trained"):
        CSPLDA().predict(X)
    fitted = CSPLDA().fit(X, y)
    with pytest.raises(InputError, match="8 channels; these trials have 7"):
        fitted.predict(X[:, :7])
    with pytest.raises(InputError, match=r"\(n_trials, n_channels, n_times\)"):
        fitted.predict(X[0])
    with pytest.raises(ParameterError, match="sfreq"):
        FilterBankCSPLDA().fit(X, y)
    with pytest.raises(ParameterError, match="sfreq/2"):
        FilterBankCSPLDA(sfreq=100.0, bands=[(8, 60)]).fit(X, y)
    with pytest.raises(ParameterError, match="exceeds"):
        CSPLDA(n_components=9).fit(X, y)


def test_real_eegbci_left_vs_right_well_above_chance(datasets):
    """Real EEG: EEGBCI subjects 1-3, left vs right fist (executed and imagined, 90 trials
    each), 8-30 Hz, 0.5-2.5 s; 3-fold cross-validation inside each subject, 270 test predictions."""
    from sklearn.model_selection import StratifiedKFold

    from data.loading import load_dataset

    with one_thread():
        ds = load_dataset({"source": "eegbci", "data_path": str(datasets / "eegbci"), "subjects": [1, 2, 3],
                           "runs": [3, 4, 7, 8, 11, 12], "events": {"T1": "left", "T2": "right"},
                           "window": [0.5, 2.5], "preprocessing": {"band": [8.0, 30.0]}})
    assert ds.X.shape == (270, 64, 320)
    # binomial test against chance: 157/270 has p < 0.005, 175/270 has p < 1e-6
    for name, at_least in (("csp-lda", 157), ("tangent-space-lr", 175)):
        correct = 0
        for subject in ds.subjects:
            idx = np.flatnonzero(ds.subject == subject)
            for tr, te in StratifiedKFold(3, shuffle=True, random_state=0).split(idx, ds.y[idx]):
                decoder = create(name).fit(ds.X[idx[tr]], ds.y[idx[tr]])
                correct += int(np.sum(decoder.predict(ds.X[idx[te]]) == ds.y[idx[te]]))
        assert correct >= at_least, f"{name}: {correct}/270 correct"
