"""demo:resting-state: deterministic, laid out like the roi-series kind, and the label's
network-coupling change is learnable across sites by fc-lr (leave-one-site-out)."""
import numpy as np

from data.fmri.roi_series import series_lengths
from data.loading import load_dataset
from decoders.connectivity import FCLR
from decoders.evaluation import make_splits


def test_layout_and_determinism():
    a = load_dataset({"source": "demo:resting-state"})
    b = load_dataset({"source": "demo:resting-state"})
    np.testing.assert_array_equal(np.nan_to_num(a.X), np.nan_to_num(b.X))
    assert a.X.dtype == np.float32 and a.X.ndim == 3 and a.modality == "fmri-roi"
    assert len(set(a.session)) == 4 and a.class_names == ["control", "patient"]
    assert series_lengths(a.X).tolist() == a.provenance["lengths"]
    assert len(set(a.provenance["tr"])) == 4          # TR differs between sites
    assert len(set(series_lengths(a.X))) == 4          # so does the length
    for site in set(a.session):                        # both classes at every site
        assert set(a.y[a.session == site]) == {0, 1}
    c = load_dataset({"source": "demo:resting-state", "seed": 1})
    assert not np.allclose(np.nan_to_num(a.X), np.nan_to_num(c.X))


def test_fc_lr_above_chance_leave_one_site_out():
    d = load_dataset({"source": "demo:resting-state"})
    accs = []
    for s in make_splits(d, "leave-one-site-out"):
        m = FCLR().fit(d.X[s.train], d.y[s.train])
        accs.append((m.predict(d.X[s.test]) == d.y[s.test]).mean())
    assert np.mean(accs) > 0.75 and min(accs) > 0.6
