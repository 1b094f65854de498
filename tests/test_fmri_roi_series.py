"""ROI time-series reader (roi-series kind) on ABIDE CC200, the leave-one-site-out protocol,
and the FC baselines learning a known structure."""
import gzip

import numpy as np
import pytest

from data import sources
from data.errors import CorruptFileError, MissingFileError
from data.fmri.roi_series import load_roi_folder, read_roi_file, series_lengths
from decoders.connectivity import FCLR, TangentFCLR
from decoders.evaluation import make_splits


def test_abide_sites_labels_and_lengths(datasets):
    root = datasets / "abide-cc200"
    assert sources.kind_of(str(root)).name == "roi-series"
    d = load_roi_folder(root, {"sites": ["Caltech", "OHSU"]})
    assert d.X.shape[:2] == (38 + 28, 200) and d.class_names == ["autism", "control"]
    assert 0 < d.y.sum() < len(d.y)
    assert sorted(set(d.session)) == ["Caltech", "OHSU"]
    raw = read_roi_file(next((root / "OHSU" / "rois_cc200").glob("*.1D.gz")))
    lengths = series_lengths(d.X)
    assert raw.shape[0] in set(lengths[d.session == "OHSU"]) and raw.shape[1] == 200
    splits = make_splits(d, "leave-one-site-out")
    assert [s.info["site"] for s in splits] == ["Caltech", "OHSU"]
    assert all(set(d.session[s.test]) == {s.info["site"]} for s in splits)


def test_bad_files(tmp_path):
    with pytest.raises(MissingFileError):
        load_roi_folder(tmp_path)
    bad = tmp_path / "s_0050001_rois.1D.gz"
    bad.write_bytes(b"not gzip")
    with pytest.raises(CorruptFileError, match="s_0050001_rois"):
        read_roi_file(bad)
    nan = tmp_path / "s_0050002_rois.1D"
    nan.write_text("1 2 3\nnan 1 2\n3 4 5\n")
    with pytest.raises(CorruptFileError, match="NaN"):
        read_roi_file(nan)


def _coupled_series(n, rng, n_rois=8, T=60):
    """Class 1 couples ROI 0 and ROI 1; class 0 leaves them independent."""
    X, y = np.empty((n, n_rois, T), np.float32), np.arange(n) % 2
    for i in range(n):
        x = rng.standard_normal((n_rois, T))
        if y[i]:
            x[1] = 0.8 * x[0] + 0.6 * x[1]
        X[i] = x
    X[::3, :, 50:] = np.nan   # unequal lengths
    return X, y


@pytest.mark.parametrize("cls", [FCLR, TangentFCLR])
def test_fc_decoders_learn_coupling(cls):
    rng = np.random.default_rng(0)
    X, y = _coupled_series(80, rng)
    Xt, yt = _coupled_series(40, rng)
    model = cls().fit(X, y)
    assert (model.predict(Xt) == yt).mean() > 0.85
    arrays, extra = model.get_state()
    clone = cls().set_state(arrays, extra)
    np.testing.assert_allclose(clone.predict_proba(Xt), model.predict_proba(Xt))


def test_constant_rois_are_warned_and_reported(datasets):
    # real ABIDE Caltech: some subjects have all-zero ROIs (outside their brain mask)
    with pytest.warns(UserWarning, match="constant .e.g. all-zero. ROI series"):
        d = load_roi_folder(datasets / "abide-cc200", {"sites": ["Caltech"]})
    constant = d.provenance["constant_rois"]
    assert constant and all(s in d.subjects for s in constant)
    subject, rois = next(iter(constant.items()))
    x = d.X[d.subjects.index(subject), rois[0]]
    assert np.ptp(x[~np.isnan(x)]) == 0


def test_info_describes_subjects_sites_time_points_and_labels(datasets):
    from data.fmri.roi_series import describe_roi_series
    from data.info import format_description

    info = describe_roi_series(str(datasets / "abide-cc200"), sites=["Caltech", "OHSU"])
    assert info["n_samples"] == 38 + 28 and info["n_rois"] == 200
    assert info["classes"] == {"autism": 19 + 13, "control": 19 + 15}
    assert info["classes_by_site"]["OHSU"] == {"autism": 13, "control": 15}
    text = format_description(info)
    assert "Time points: 78-" in text and "Classes by site: Caltech (autism 19, control 19)" in text
    assert "constant" in text
