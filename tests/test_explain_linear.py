"""Activation patterns of the linear decoders (`decoders.explain.linear`), checked against
sources whose place is known: the formula on a mixture, the simulated motor sources of
demo:motor-imagery (C3 / C4, mu / beta), the label-carrying network of demo:resting-state,
the receptive fields of demo:visual-fmri, and an ERP placed on one channel and latency."""
from __future__ import annotations

import numpy as np
import pytest

import decoders
from decoders.explain import ExplainError, Explanation, explain, explainable
from decoders.explain.data import explain_inputs, voxel_image
from decoders.explain.linear import filter_patterns, haufe_pattern, mean_covariance
from tests.simulated_mi import one_thread

LEFT_MOTOR = {"FC5", "FC3", "FC1", "C5", "C3", "C1", "CP5", "CP3", "CP1"}
RIGHT_MOTOR = {"FC2", "FC4", "FC6", "C2", "C4", "C6", "CP2", "CP4", "CP6"}
MOTOR = LEFT_MOTOR | RIGHT_MOTOR | {"FCz", "Cz", "CPz"}


@pytest.fixture(autouse=True)
def single_thread():
    with one_thread():
        yield


def by_method(explanations: list[Explanation]) -> dict[str, Explanation]:
    return {e.method: e for e in explanations}


def test_every_linear_decoder_has_an_explainer():
    linear = {"csp-lda", "fbcsp-lda", "tangent-space-lr", "erp-lda", "xdawn-ts-lr", "fc-lr", "tangent-fc-lr",
              "voxel-lr", "ridge-images"}
    assert linear <= set(explainable())
    with pytest.raises(ExplainError, match="no explanation is available for decoder 'kalman'.*csp-lda"):
        explain(decoders.create("kalman"), np.zeros((3, 2)))


def test_pattern_finds_the_source_where_the_weights_point_at_the_distractor():
    """Haufe et al. 2014's example: a signal on channel 0, a distractor on channels 0 and 1.
    The best filter subtracts channel 1 (a large weight there); the pattern has none there."""
    rng = np.random.default_rng(0)
    n = 4000
    signal, distractor = rng.choice([-1.0, 1.0], n), rng.normal(0, 3, n)
    X = np.column_stack([signal + distractor, distractor, rng.normal(0, 1, n)]) + rng.normal(0, 0.1, (n, 3))
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    w = LinearDiscriminantAnalysis().fit(X, signal > 0).coef_
    assert abs(w[0, 1]) > 0.8 * abs(w[0, 0])                  # the weights load the distractor channel
    a = haufe_pattern(X, w)[0]
    assert abs(a[1]) < 0.15 * abs(a[0]) and abs(a[2]) < 0.15 * abs(a[0])
    assert np.sign(a[0]) == np.sign((X[:, 0] * signal).mean())   # signed as the class difference
    several = haufe_pattern(X, np.vstack([w, -w, w * 2]), per_output=True)
    np.testing.assert_allclose(several[1], -several[0], atol=1e-9)
    np.testing.assert_allclose(several[2], several[0] / 2, atol=1e-9)


def test_filter_patterns_of_a_full_filter_set_are_mnes_csp_patterns():
    from mne.decoding import CSP

    rng = np.random.default_rng(1)
    mixing = rng.normal(size=(5, 5))
    y = np.repeat([0, 1], 30)
    scale = np.array([[3, 1, 1, 1, 0.3], [1, 1, 1, 1, 1]])[y]          # class 0: source 0 up, 4 down
    sources = rng.normal(size=(60, 5, 200)) * scale[:, :, None]
    X = np.einsum("cs,nst->nct", mixing, sources)
    csp = CSP(n_components=5, norm_trace=False).fit(X, y)
    ours = filter_patterns(csp.filters_, mean_covariance(X))
    np.testing.assert_allclose(ours, csp.patterns_, rtol=1e-6, atol=1e-8 * np.abs(csp.patterns_).max())


# ---------------------------------------------------------------- demo:motor-imagery
@pytest.fixture(scope="module")
def motor():
    from data.loading import load_dataset

    with one_thread():
        ds = load_dataset({"source": "demo:motor-imagery", "subjects": ["1"], "window": [0.5, 3.5]})
    return ds


def _peak(values: np.ndarray, names: list[str]) -> str:
    return names[int(np.argmax(np.abs(values)))]


def _band_passed(ds, low=8.0, high=30.0):
    from scipy.signal import butter, sosfiltfilt

    return sosfiltfilt(butter(4, (low, high), btype="bandpass", fs=ds.sfreq, output="sos"), ds.X, axis=-1)


def test_csp_lda_pattern_peaks_over_the_simulated_motor_sources(motor):
    X = _band_passed(motor)
    decoder = decoders.create("csp-lda").fit(X, motor.y)
    maps = by_method(explain(decoder, X, motor.y, {"ch_names": motor.ch_names, "class_names": motor.class_names}))
    names = motor.ch_names
    spatial = maps["csp-pattern"]
    assert spatial.maps.shape == (4, len(names)) and spatial.axes[0].values == tuple(names)
    # the two most discriminative components (MNE orders by mutual information): one per hemisphere
    peaks = {_peak(m, names) for m in spatial.maps[:2]}
    assert peaks <= MOTOR and peaks & LEFT_MOTOR and peaks & RIGHT_MOTOR, peaks
    per_class = maps["csp-class-pattern"]
    assert per_class.outputs == ("right vs left",)
    m = per_class.maps[0]
    assert _peak(m, names) in MOTOR
    # imagining the right hand desynchronises (lowers) mu/beta over the left hemisphere: C3 down, C4 up
    assert m[names.index("C3")] < 0 < m[names.index("C4")]
    left, right = [np.mean([m[names.index(c)] for c in side]) for side in (LEFT_MOTOR, RIGHT_MOTOR)]
    assert left < 0 < right
    assert maps["haufe-pattern"].axes[0].kind == "component"


def test_tangent_space_pattern_peaks_over_the_motor_channels(motor):
    X = _band_passed(motor)
    decoder = decoders.create("tangent-space-lr").fit(X, motor.y)
    maps = by_method(explain(decoder, X, motor.y, {"ch_names": motor.ch_names, "class_names": motor.class_names}))
    names = motor.ch_names
    pairs = maps["tangent-pattern"].maps[0]
    np.testing.assert_allclose(pairs, pairs.T, atol=1e-12 * np.abs(pairs).max())
    assert _peak(maps["tangent-pattern-channels"].maps[0], names) in MOTOR
    power = np.diagonal(pairs)           # the variance change of each channel with the score
    assert _peak(power, names) in MOTOR
    assert power[names.index("C3")] < 0 < power[names.index("C4")]
    top5 = {names[i] for i in np.argsort(-maps["tangent-pattern-channels"].maps[0])[:5]}
    assert len(top5 & MOTOR) >= 4, top5


def test_filter_bank_pattern_peaks_in_the_simulated_band_over_motor_channels(motor):
    from data.demos.motor_imagery import subject_params

    subject = subject_params(0, "1")
    bands = [(4.0, 8.0), (8.0, 13.0), (13.0, 18.0), (18.0, 26.0), (26.0, 35.0)]
    decoder = decoders.create("fbcsp-lda", {"sfreq": motor.sfreq, "bands": bands, "n_components": 2})
    decoder.fit(motor.X, motor.y)
    maps = by_method(explain(decoder, motor.X, motor.y, {"ch_names": motor.ch_names}))
    per_class = maps["csp-class-pattern"]
    assert [a.kind for a in per_class.axes] == ["frequency", "channel"]
    strength = np.abs(per_class.maps[0]).mean(axis=1)       # per band
    low, high = bands[int(np.argmax(strength))]
    assert low <= subject.mu_freq <= high or low <= subject.beta_freq <= high, (strength, subject)
    # 26-35 Hz holds no simulated rhythm (the 4-8 Hz band does catch the mu's filter leakage)
    assert subject.beta_freq < 26 and strength[-1] < 0.5 * strength.max(), strength
    band = int(np.argmax(strength))
    assert _peak(per_class.maps[0, band], motor.ch_names) in MOTOR
    assert maps["csp-pattern"].maps.shape == (2, len(bands), len(motor.ch_names))


# ---------------------------------------------------------------- demo:resting-state
@pytest.fixture(scope="module")
def resting():
    from data.loading import load_dataset

    return load_dataset({"source": "demo:resting-state"})


@pytest.mark.parametrize("name", ["fc-lr", "tangent-fc-lr"])
def test_the_label_carrying_network_ranks_first(resting, name):
    decoder = decoders.create(name).fit(resting.X, resting.y)
    X, y, context = explain_inputs(resting)
    maps = by_method(explain(decoder, X, y, context))
    method = "haufe-pattern" if name == "fc-lr" else "tangent-pattern"
    pairs, matrix = maps[method], maps[f"{method}-matrix"]
    n = len(resting.ch_names)
    assert pairs.maps.shape == (1, n * (n - 1) // 2) and pairs.axes[0].values[0] == "roi1-roi2"
    assert matrix.extra["networks"] == resting.provenance["networks"]
    M = np.abs(matrix.maps[0])
    strength = {}
    for network, rois in resting.provenance["networks"].items():
        idx = [resting.ch_names.index(r) for r in rois]
        block = M[np.ix_(idx, idx)]
        strength[network] = block[~np.eye(len(idx), dtype=bool)].mean()
    ranked = sorted(strength, key=strength.get, reverse=True)
    assert ranked[0] == "net1", strength                    # the demo's label changes network 0's coupling
    assert strength["net1"] > 3 * strength[ranked[1]], strength
    # stronger coupling for "patient": the within-network pattern is positive
    net1 = [resting.ch_names.index(r) for r in resting.provenance["networks"]["net1"]]
    assert matrix.outputs == ("patient vs control",)
    assert matrix.maps[0][np.ix_(net1, net1)][~np.eye(len(net1), dtype=bool)].mean() > 0


# ---------------------------------------------------------------- demo:visual-fmri
def test_ridge_pattern_ranks_the_receptive_field_voxels_first():
    from data.demos import visual_fmri
    from data.loading import load_dataset

    ds = load_dataset({"source": "demo:visual-fmri", "subjects": ["A"]})
    rng = np.random.default_rng(0)      # the demo's draws for subject A, the first it simulates
    visual_fmri.digit_images(visual_fmri.SAMPLES["A"], rng)
    rf = visual_fmri.receptive_fields(visual_fmri.SUBJECT_VOXELS["A"], rng)      # (voxels, pixels)
    decoder = decoders.create("ridge-images").fit(ds.X, stimuli=ds.stimuli, subject=ds.subject)
    X, y, context = explain_inputs(ds)
    (e,) = explain(decoder, X, y, context)
    assert e.maps.shape == (28 * 28, 700) and e.extra["image_shape"] == [28, 28] and e.extra["subject"] == "A"
    top = np.argsort(-np.abs(e.maps), axis=1)[:, :10]                     # 10 strongest voxels per pixel
    seen = rf.max(axis=0)
    hit = np.take_along_axis(rf.T, top, axis=1).mean(axis=1) / seen       # their receptive field on the pixel
    chance = rf.mean(axis=0) / seen
    assert hit.mean() > 8 * chance.mean(), (hit.mean(), chance.mean())
    # and each strong voxel's pattern over pixels peaks near its receptive-field centre
    # (pattern x output variance: the voxel's covariance with each pixel's output)
    covariance = e.maps * np.asarray(e.extra["output_variance"])[:, None]
    centre = np.array(np.unravel_index(rf.argmax(axis=1), (28, 28))).T
    strongest = np.argsort(-np.abs(covariance).max(axis=0))[:50]
    peak = np.array(np.unravel_index(np.abs(covariance[:, strongest]).argmax(axis=0), (28, 28))).T
    assert np.median(np.linalg.norm(peak - centre[strongest], axis=1)) <= 3.0


# ---------------------------------------------------------------- ERP and voxels, simulated here
def _erp_trials(seed=0, n=800):
    """Targets carry a positive wave on Pz at 0.3-0.5 s; a strong shared noise source covers
    Fz and Pz (a distractor the filter must cancel)."""
    rng = np.random.default_rng(seed)
    names = ["Fz", "Cz", "Pz", "Oz", "C3", "C4"]
    sfreq, times = 50.0, np.arange(40) / 50.0
    y = (np.arange(n) % 4 == 0).astype(int)
    X = rng.normal(0, 1.0, (n, len(names), len(times)))
    X += rng.normal(0, 3.0, (n, 1, len(times))) * np.array([1.0, 0.3, 0.8, 0, 0, 0])[None, :, None]
    wave = np.exp(-0.5 * ((times - 0.4) / 0.05) ** 2)
    X[y == 1, names.index("Pz")] += 2.0 * wave
    return X, y, names, sfreq, times


def test_erp_lda_pattern_peaks_on_the_simulated_erp():
    X, y, names, sfreq, times = _erp_trials()
    decoder = decoders.create("erp-lda", {"bin_samples": 4}).fit(X, y)
    (e,) = explain(decoder, X, y, {"ch_names": names, "sfreq": sfreq, "class_names": ["nontarget", "target"]})
    assert [a.kind for a in e.axes] == ["channel", "time"] and e.maps.shape == (1, 6, 10)
    assert e.outputs == ("target vs nontarget",)
    c, t = np.unravel_index(np.abs(e.maps[0]).argmax(), e.maps[0].shape)
    assert names[c] == "Pz" and 0.3 <= e.axis("time").values[t] <= 0.5 and e.maps[0, c, t] > 0
    assert abs(e.maps[0, names.index("Fz")]).max() < 0.3 * e.maps[0, c, t]   # the distractor is not in the pattern


def test_xdawn_patterns_and_score_covariance_find_the_erp():
    X, y, names, sfreq, times = _erp_trials(1)
    decoder = decoders.create("xdawn-ts-lr", {"nfilter": 2}).fit(X, y)
    maps = by_method(explain(decoder, X, y, {"ch_names": names, "times": times, "class_names": ["non", "target"]}))
    assert set(maps) == {"xdawn-pattern", "tangent-pattern", "tangent-pattern-channels", "score-covariance"}
    xdawn = maps["xdawn-pattern"]
    assert xdawn.outputs == ("non 1", "non 2", "target 1", "target 2")
    assert _peak(xdawn.maps[2], names) == "Pz"
    from pyriemann.spatialfilters import Xdawn

    reference = Xdawn(nfilter=2).fit(X, y).patterns_          # pyRiemann's own patterns, up to sign and scale
    cosine = np.abs(np.sum(xdawn.maps * reference, axis=1)) / np.linalg.norm(xdawn.maps, axis=1) / np.linalg.norm(reference, axis=1)
    assert cosine.min() > 0.95, cosine
    score = maps["score-covariance"].maps[0]
    c, t = np.unravel_index(np.abs(score).argmax(), score.shape)
    assert names[c] == "Pz" and 0.3 <= times[t] <= 0.5 and score[c, t] > 0
    assert maps["tangent-pattern"].maps.shape == (1, 6, 6)
    assert _peak(maps["tangent-pattern-channels"].maps[0], names) == "Pz"


def test_voxel_pattern_ranks_the_informative_voxels_first_selected_or_not():
    rng = np.random.default_rng(3)
    n, v = 300, 200
    y = np.arange(n) % 3
    X = rng.normal(size=(n, v))
    informative = {0: [5, 6], 1: [50, 51], 2: [150, 151]}
    for c, idx in informative.items():
        X[np.ix_(y == c, idx)] += 1.5
    for k_best in (None, 20):
        decoder = decoders.create("voxel-lr", {"k_best": k_best, "C": 1.0}).fit(X[:, :, None], y)
        (e,) = explain(decoder, X[:, :, None], y, {"class_names": ["a", "b", "c"]})
        assert e.outputs == ("a", "b", "c") and e.maps.shape == (3, v)
        for c, idx in informative.items():
            assert set(np.argsort(-e.maps[c])[:2]) == set(idx)


def test_voxel_maps_go_back_to_their_nifti_positions():
    extra = {"voxel_ijk": np.array([[0, 1, 0], [2, 0, 1]]), "mask_affine": np.eye(4) * 2, "mask_shape": (3, 2, 2)}
    image = voxel_image(np.array([1.5, -2.0]), extra)
    data = np.asarray(image.dataobj)
    assert data.shape == (3, 2, 2) and data[0, 1, 0] == 1.5 and data[2, 0, 1] == -2.0 and np.count_nonzero(data) == 2
    with pytest.raises(ExplainError, match="no positions"):
        voxel_image(np.zeros(2), {})


def test_wrong_context_is_refused_with_the_reason(motor):
    decoder = decoders.create("csp-lda").fit(motor.X[:, :, :100], motor.y)
    with pytest.raises(ExplainError, match="3 channel names for data with 36"):
        explain(decoder, motor.X[:, :, :100], motor.y, {"ch_names": ["a", "b", "c"]})
    X, y, names, sfreq, _ = _erp_trials()
    erp = decoders.create("erp-lda").fit(X, y)
    with pytest.raises(ExplainError, match="times or sfreq"):
        explain(erp, X, y, {"ch_names": names})
