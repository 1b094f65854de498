"""Per-sample repetition time (``DecodingSet.tr``): ABIDE TRs per site, options that override
them, persistence and validation, stacking, the demo and NIfTI sets, and the TRs reaching
decoders whose fit / predict / fine_tune accept ``tr``."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from data.decoding_set import DecodingSet
from data.fmri.roi_series import describe_roi_series, load_roi_folder
from data.info import format_description
from data.loading import load_dataset
from data.sources.combine import stack
from decoders.base import ClassifierDecoder, Decoder, DecoderParams, Task
from decoders.evaluation import evaluate, fit_arguments, make_splits
from decoders.events import TrainingContext

ABIDE_SITES = {"Caltech": 2.0, "KKI": 2.5, "NYU": 2.0, "OHSU": 2.5, "SDSU": 2.0, "Trinity": 2.0, "UCLA": 3.0}
HAXBY = Path("../shared/datasets/haxby2001-sub001")


@pytest.fixture(scope="module")
def abide(datasets):
    """Two subjects of each of the seven ABIDE sites (TRs from the built-in table)."""
    return load_roi_folder(datasets / "abide-cc200", {"max_subjects_per_site": 2})


def _by_site(data: DecodingSet) -> dict[str, float]:
    return {site: float(data.tr[data.session == site][0]) for site in dict.fromkeys(data.session)}


# ---------------------------------------------------------------------------- roi-series
def test_abide_tr_per_site(abide):
    assert abide.tr.dtype == np.float64 and abide.tr.shape == (len(abide),)
    assert _by_site(abide) == ABIDE_SITES
    for site, tr in ABIDE_SITES.items():       # every subject of a site has the site's TR
        assert set(abide.tr[abide.session == site].tolist()) == {tr}
    assert abide.sfreq is None                  # TRs differ between sites
    assert abide.summary()["tr"] == [2.0, 2.5, 3.0]


def test_one_site_has_sfreq_one_over_tr(datasets):
    d = load_roi_folder(datasets / "abide-cc200", {"sites": ["UCLA"], "max_subjects_per_site": 3})
    assert d.tr.tolist() == [3.0] * 3 and d.sfreq == pytest.approx(1 / 3.0)


def test_tr_option_overrides_every_site(datasets):
    d = load_roi_folder(datasets / "abide-cc200", {"max_subjects_per_site": 1, "tr": 1.5,
                                                   "site_tr": {"UCLA": 9.0}})
    assert d.tr.tolist() == [1.5] * 7 and d.sfreq == pytest.approx(1 / 1.5)


def test_site_tr_overrides_one_site(datasets):
    d = load_roi_folder(datasets / "abide-cc200", {"max_subjects_per_site": 1, "site_tr": {"KKI": 2.2}})
    assert _by_site(d) == {**ABIDE_SITES, "KKI": 2.2}


def test_site_tr_rejects_bad_values(datasets):
    from pydantic import ValidationError

    for bad in (0.0, -2.0, float("nan"), float("inf")):
        with pytest.raises(ValidationError):
            load_roi_folder(datasets / "abide-cc200", {"max_subjects_per_site": 1, "site_tr": {"KKI": bad}})


def _unknown_sites(root: Path) -> Path:
    """Two sites the ABIDE table does not know (SiteX, siteY), two subjects each."""
    rng = np.random.default_rng(0)
    for site, numbers in (("SiteX", (50001, 50002)), ("siteY", (50003, 50004))):
        (root / site).mkdir(parents=True)
        for n in numbers:
            np.savetxt(root / site / f"s_{n:07d}_rois.1D", rng.standard_normal((30, 5)))
    return root


def test_unknown_site_leaves_tr_unknown(tmp_path):
    root = _unknown_sites(tmp_path / "study")
    d = load_roi_folder(root, {"phenotype": None, "label_column": None})
    assert d.tr is None and d.sfreq is None
    info = describe_roi_series(str(root), phenotype=None)
    assert info["tr"] == {"SiteX": "unknown", "siteY": "unknown"}
    # site_tr for one of them is not enough: the set's TR stays unknown
    half = load_roi_folder(root, {"phenotype": None, "label_column": None, "site_tr": {"SiteX": 2.0}})
    assert half.tr is None and half.provenance["tr_by_site"] == {"SiteX": 2.0, "siteY": None}
    both = load_roi_folder(root, {"phenotype": None, "label_column": None,
                                  "site_tr": {"SiteX": 2.0, "SITEY": 0.8}})   # names: case-insensitive
    assert both.tr.tolist() == [2.0, 2.0, 0.8, 0.8]


def test_info_shows_the_tr_of_each_site(datasets, capsys):
    from app.cli import main

    text = format_description(describe_roi_series(str(datasets / "abide-cc200"), sites=["Caltech", "UCLA"]))
    assert "TR (s): Caltech (2.0), UCLA (3.0)" in text
    assert main(["info", str(datasets / "abide-cc200")]) == 0
    out = capsys.readouterr().out
    assert "TR (s): Caltech (2.0), KKI (2.5), NYU (2.0), OHSU (2.5), SDSU (2.0), Trinity (2.0), UCLA (3.0)" in out


# ---------------------------------------------------------------------------- the set
def test_subset_save_load_keep_tr(abide, tmp_path):
    part = abide.subset(abide.session != "NYU")
    assert part.tr.tolist() == abide.tr[abide.session != "NYU"].tolist()
    path = tmp_path / "set.npz"
    part.save(path)
    back = DecodingSet.load(path)
    assert back.tr.dtype == np.float64
    np.testing.assert_array_equal(back.tr, part.tr)
    with np.load(path, allow_pickle=False) as z:      # a plain float array, no pickle
        assert z["tr"].dtype == np.float64
    none = abide.subset(np.arange(3))
    none.tr = None
    none.save(tmp_path / "none.npz")
    assert DecodingSet.load(tmp_path / "none.npz").tr is None


@pytest.mark.parametrize("bad", [[2.0, 2.0], [2.0, 0.0, 2.0], [2.0, -1.0, 2.0], [2.0, np.nan, 2.0],
                                 [2.0, np.inf, 2.0], [[2.0, 2.0, 2.0]], ["a", "b", "c"]])
def test_invalid_tr_is_refused(bad):
    with pytest.raises(ValueError, match="tr"):
        DecodingSet(np.zeros((3, 2, 4), np.float32), None, "trials", "fmri-roi", np.array(["1", "2", "3"]),
                    "1", "1", tr=bad)


def test_tr_from_a_list_becomes_float64():
    d = DecodingSet(np.zeros((2, 2, 4), np.float32), None, "trials", "fmri-roi", np.array(["1", "2"]),
                    "1", "1", tr=[2, 3])
    assert d.tr.dtype == np.float64 and d.tr.tolist() == [2.0, 3.0]


def test_combine_keeps_tr_when_every_part_has_it(abide):
    caltech, ohsu = abide.subset(abide.session == "Caltech"), abide.subset(abide.session == "OHSU")
    ohsu.X = ohsu.X[:, :, : caltech.X.shape[2]]        # equal lengths to stack
    ohsu.X[:] = np.nan_to_num(ohsu.X)
    both = stack([caltech, ohsu], ["caltech", "ohsu"], "error", "two sites")
    assert both.tr.tolist() == [2.0, 2.0, 2.5, 2.5] and both.sfreq is None
    same = stack([caltech, caltech], ["a", "b"], "error", "twice")
    assert same.tr.tolist() == [2.0] * 4 and same.sfreq == pytest.approx(0.5)
    ohsu.tr = None
    ohsu.sfreq = caltech.sfreq
    assert stack([caltech, ohsu], ["caltech", "ohsu"], "error", "two sites").tr is None


# ---------------------------------------------------------------------------- other sources
def test_resting_state_demo_has_tr():
    d = load_dataset({"source": "demo:resting-state"})
    assert d.tr.tolist() == d.provenance["tr"]
    assert {s: float(d.tr[d.session == s][0]) for s in dict.fromkeys(d.session)} == {
        "SiteA": 2.0, "SiteB": 2.5, "SiteC": 1.5, "SiteD": 3.0}
    picked = load_dataset({"source": "demo:resting-state", "subjects": ["SiteB"]})
    assert picked.tr.tolist() == [2.5] * len(picked)


@pytest.mark.skipif(not HAXBY.exists(), reason="Haxby data not present")
def test_nifti_tr_from_header_or_option():
    pytest.importorskip("nilearn")
    from data.fmri.nifti import load_nifti

    image = HAXBY / "single-slice" / "bold.nii.gz"
    opts = {"mask": "mask.nii.gz", "labels": "attributes_literal.txt"}
    d = load_nifti(image, opts)
    assert d.tr.shape == (len(d),) and set(d.tr.tolist()) == {2.5} and d.sfreq == pytest.approx(0.4)
    assert set(load_nifti(image, {**opts, "tr": 2.0}).tr.tolist()) == {2.0}


# ---------------------------------------------------------------------------- decoders
CALLS: list[tuple[str, list[str], list[float]]] = []   # (method, subjects, TRs) of every call


class TrAware(ClassifierDecoder):
    """Records the subjects and TRs it is given; predicts the training majority class."""

    name = "test-tr-aware"
    description = "test decoder taking tr"
    task = Task.CLASSIFICATION
    supports_fine_tune = True

    class Params(DecoderParams):
        pass

    def _record(self, method, subject, tr):
        CALLS.append((method, list(map(str, subject)), None if tr is None else list(map(float, tr))))

    def fit(self, X, y=None, *, subject=None, tr=None, context=None):
        self._record("fit", subject, tr)
        self.classes_ = np.unique(y)
        self.majority_ = int(np.bincount(y).argmax())
        return self

    def fine_tune(self, X, y, *, subject=None, tr=None, context=None):
        self._record("fine_tune", subject, tr)
        return self

    def predict(self, X, *, subject=None, tr=None):
        self._record("predict", subject, tr)
        return np.full(len(X), self.majority_)

    def predict_proba(self, X, *, subject=None, tr=None):
        self._record("predict_proba", subject, tr)
        proba = np.zeros((len(X), len(self.classes_)))
        proba[:, self.majority_] = 1.0
        return proba


class NoTr(TrAware):
    """The same decoder with methods that take no ``tr`` (as every decoder before it)."""

    name = "test-no-tr"

    def fit(self, X, y=None, *, subject=None, context=None):
        return super().fit(X, y, subject=subject, context=context)

    def predict(self, X, *, subject=None):
        return super().predict(X, subject=subject)

    def predict_proba(self, X, *, subject=None):
        return super().predict_proba(X, subject=subject)


def test_decoder_gets_the_tr_of_its_train_and_test_subjects(abide):
    CALLS.clear()
    result = evaluate(abide, TrAware(), "leave-one-site-out")
    splits = make_splits(abide, "leave-one-site-out")
    assert len(result.folds) == len(splits) == 7
    tr_of = dict(zip(abide.subject.tolist(), abide.tr.tolist()))
    fits = [c for c in CALLS if c[0] == "fit"]
    predicts = [c for c in CALLS if c[0] == "predict"]
    probas = [c for c in CALLS if c[0] == "predict_proba"]
    assert len(fits) == len(predicts) == len(probas) == 7
    for split, fit, predict, proba in zip(splits, fits, predicts, probas):
        assert fit[1] == abide.subject[split.train].tolist()
        assert fit[2] == abide.tr[split.train].tolist() == [tr_of[s] for s in fit[1]]
        assert predict[1] == proba[1] == abide.subject[split.test].tolist()
        assert predict[2] == proba[2] == abide.tr[split.test].tolist() == [ABIDE_SITES[split.info["site"]]] * 2


def test_decoder_without_tr_is_unaffected(abide):
    CALLS.clear()
    tr_aware = evaluate(abide, TrAware(), "leave-one-site-out")
    CALLS.clear()
    plain = evaluate(abide, NoTr(), "leave-one-site-out")
    assert [c[0] for c in CALLS] == ["fit", "predict", "predict_proba"] * 7
    assert all(c[2] is None for c in CALLS)
    for a, b in zip(plain.folds, tr_aware.folds):
        np.testing.assert_array_equal(a.y_pred, b.y_pred)
        assert a.metrics["accuracy"] == b.metrics["accuracy"]


def test_set_without_tr_passes_none(abide):
    CALLS.clear()
    data = abide.subset(np.isin(abide.session, ["Caltech", "UCLA"]))
    data.tr = None
    evaluate(data, TrAware(), "leave-one-site-out")
    assert len(CALLS) == 6 and all(c[2] is None for c in CALLS)


def test_fine_tune_gets_the_target_subjects_tr():
    rng = np.random.default_rng(0)
    n = 24
    subject = np.repeat(["a", "b", "c"], n // 3)
    data = DecodingSet(rng.standard_normal((n, 3, 10)).astype(np.float32), np.tile([0, 1], n // 2),
                       "trials", "fmri-roi", subject, "1", "1", class_names=["x", "y"],
                       tr=np.repeat([2.0, 2.5, 3.0], n // 3))
    CALLS.clear()
    evaluate(data, TrAware(), "finetune", n_folds=2)
    tuned = [c for c in CALLS if c[0] == "fine_tune"]
    assert len(tuned) == 6
    expected = {"a": 2.0, "b": 2.5, "c": 3.0}
    for _, subjects, trs in CALLS:
        assert trs == [expected[s] for s in subjects]
    for _, subjects, _ in tuned:
        assert len(set(subjects)) == 1          # fine-tuned on the target subject only


def test_final_fit_and_predict_command_pass_tr(abide):
    from app.commands.predict import predict_rows

    _, kwargs = fit_arguments(TrAware(), abide, context=TrainingContext())
    np.testing.assert_array_equal(kwargs["tr"], abide.tr)
    assert "tr" not in fit_arguments(NoTr(), abide, context=TrainingContext())[1]
    model = TrAware().fit(abide.X, abide.y, subject=abide.subject, tr=abide.tr)
    CALLS.clear()
    predict_rows(model, {"class_names": abide.class_names}, abide)
    assert [c[0] for c in CALLS] == ["predict", "predict_proba"]
    assert all(c[2] == abide.tr.tolist() for c in CALLS)


class TrPretrainer(Decoder):
    """A self-supervised toy: fit records the TRs; reconstruct_masked returns the input."""

    name = "test-tr-pretrainer"
    description = "test pretraining decoder taking tr"
    task = Task.PRETRAINING

    class Params(DecoderParams):
        pass

    def fit(self, X, y=None, *, tr=None, context=None):
        CALLS.append(("fit", [], None if tr is None else list(map(float, tr))))
        return self

    def reconstruct_masked(self, X, rng):
        true = np.nan_to_num(X[:, :, :10]).ravel()
        return true, true + 0.1


def test_pretraining_fit_gets_tr(abide):
    CALLS.clear()
    evaluate(abide, TrPretrainer(), "leave-one-site-out")
    splits = make_splits(abide, "leave-one-site-out")
    assert [c[2] for c in CALLS] == [abide.tr[s.train].tolist() for s in splits]
