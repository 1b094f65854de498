"""Attributions of the deep decoders (decoders.explain.deep) and the model-randomisation check
(decoders.explain.checks): EEG-SimpleConv trained on demo:motor-imagery attributes its decision
to the simulated motor sources (C3 / C4 region), EEGNet to a simulated P300 (Pz, 0.3-0.5 s);
randomising the trained weights changes the maps (Adebayo et al. 2018); BrainMAE gives ROI and
ROI-pair maps, MindBridge a voxel map per subject."""
from __future__ import annotations

import numpy as np
import pytest

import decoders
from decoders.explain import explain
from decoders.explain.checks import randomisation_check, spearman
from decoders.explain.data import explain_inputs

from .simulated_mi import one_thread
from .test_explain_linear import _erp_trials

LEFT_MOTOR = {"FC5", "FC3", "FC1", "C5", "C3", "C1", "CP5", "CP3", "CP1"}
RIGHT_MOTOR = {"FC2", "FC4", "FC6", "C2", "C4", "C6", "CP2", "CP4", "CP6"}
MOTOR = LEFT_MOTOR | RIGHT_MOTOR          # around the simulated sources, under C3 and C4
QUICK = {"ig_steps": 8, "max_per_class": 12}


@pytest.fixture(autouse=True)
def single_thread():
    with one_thread():
        yield


def by_method(explanations):
    return {e.method: e for e in explanations}


# ---------------------------------------------------------------- EEG-SimpleConv, demo:motor-imagery
@pytest.fixture(scope="module")
def motor():
    from data.loading import load_dataset

    with one_thread():
        ds = load_dataset({"source": "demo:motor-imagery", "subjects": ["1"], "window": [0.5, 3.5]})
        params = {**decoders.registry.get("eeg-simpleconv").presets["quick"], "epochs": 8, "val_fraction": 0.0,
                  "sfreq": ds.sfreq}
        decoder = decoders.create("eeg-simpleconv", params).fit(ds.X, ds.y, subject=ds.subject)
    X, y, context = explain_inputs(ds)
    return decoder, X, y, context


def test_simpleconv_attributions_peak_over_the_simulated_motor_sources(motor):
    decoder, X, y, context = motor
    assert (decoder.predict(X) == y).mean() > 0.8                 # it learned the task
    maps = by_method(explain(decoder, X, y, {**context, **QUICK}))
    assert set(maps) == {"integrated-gradients", "integrated-gradients-magnitude", "integrated-gradients-bands",
                         "grad-cam"}
    ig = maps["integrated-gradients"]
    assert ig.outputs == ("left", "right") and ig.maps.shape == (2, 36, X.shape[2])
    assert [a.kind for a in ig.axes] == ["channel", "time"] and ig.axis("time").values[0] == pytest.approx(0.5)
    names = list(ig.axis("channel").values)
    motor_rows = [i for i, n in enumerate(names) if n in MOTOR]
    other_rows = [i for i, n in enumerate(names) if n not in MOTOR | {"FCz", "Cz", "CPz"}]
    # the strongest channels sit over the central strip around C3 / C4; the lateral motor
    # channels outweigh the frontal, temporal, parietal and occipital ones. (Ranks below the
    # top three are near ties after 8 epochs: Oz 0.31 vs FC3 0.30 of the peak at rank 5.)
    for method, ratio in (("integrated-gradients-magnitude", 1.25), ("integrated-gradients-bands", 1.8)):
        strength = maps[method].reduce_to("channel").mean(axis=0)       # mean |attribution| per channel
        top = [names[i] for i in np.argsort(-strength)[:5]]
        assert set(top[:3]) <= MOTOR | {"FCz", "Cz", "CPz"} and top[0] in MOTOR, (method, top)
        assert len(set(top) & (MOTOR | {"FCz", "Cz", "CPz"})) >= 4, (method, top)
        assert strength[motor_rows].mean() > ratio * strength[other_rows].mean(), method
    bands = maps["integrated-gradients-bands"]
    assert bands.extra["bands"][2] == [8.0, 13.0] and [a.kind for a in bands.axes] == ["frequency", "channel"]
    per_band = np.abs(bands.maps).sum(axis=(0, 2))
    assert per_band[2:4].sum() > 0.7 * per_band.sum()          # mu and beta (the recipe band-passes 8-30 Hz)
    cam = maps["grad-cam"]
    assert cam.extra["layer"].startswith("net.") and cam.extra["grad_cam_time"].shape == (2, X.shape[2])
    assert np.all(cam.extra["grad_cam_time"] >= 0)


def test_randomising_simpleconv_weights_changes_its_maps(motor):
    decoder, X, y, context = motor
    before = [p.detach().clone() for p in decoder.pipeline_.parameters()]
    result = randomisation_check(decoder, X, y, {**context, **QUICK, "methods": ["integrated-gradients-bands"]},
                                 max_steps=2)
    assert all(np.array_equal(a, b.detach()) for a, b in zip(before, decoder.pipeline_.parameters()))  # untouched
    assert result.layers[0] == "net.stem.0" and result.layers[-1] == "net.head"
    assert result.steps[0].layers == ["net.head"] and len(result.steps[-1].layers) == len(result.layers)
    agreement = result.self_agreement["integrated-gradients-bands"]
    randomised = result.fully_randomised["integrated-gradients-bands"]
    assert agreement > 0.4, result.table()
    assert randomised < agreement - 0.3, result.table()
    assert "| none: self-agreement of two halves |" in result.table()


def test_spearman_of_constant_or_mismatched_maps():
    assert spearman(np.ones(5), np.arange(5)) == 0.0
    assert spearman(np.arange(5.0), np.arange(5.0) ** 3) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="cannot be compared"):
        spearman(np.ones(4), np.ones(5))


# ---------------------------------------------------------------- EEGNet, a simulated P300
def test_eegnet_attributions_find_the_simulated_erp():
    X, y, names, sfreq, times = _erp_trials(n=400)
    decoder = decoders.create("eegnet-erp", {"sfreq": sfreq, "epochs": 25, "val_fraction": 0.0}).fit(X, y)
    context = {"ch_names": names, "sfreq": sfreq, "times": times, "class_names": ["nontarget", "target"],
               "ig_steps": 8, "max_per_class": 40}
    maps = by_method(explain(decoder, X, y, context))
    ig = maps["integrated-gradients"]
    assert ig.outputs == ("nontarget", "target")
    target = ig.maps[1]
    c, t = np.unravel_index(np.abs(target).argmax(), target.shape)
    assert names[c] == "Pz" and 0.25 <= times[t] <= 0.55, (names[c], times[t])
    assert target[c, t] > 0                                   # the positive wave raises the target logit
    assert maps["grad-cam"].extra["layer"] == "net.block2.1"   # the last (pointwise) convolution
    result = randomisation_check(decoder, X, y, {**context, "methods": ["integrated-gradients"]}, max_steps=1)
    assert result.fully_randomised["integrated-gradients"] < result.self_agreement_abs["integrated-gradients"]


# ---------------------------------------------------------------- BrainMAE and MindBridge
def test_brainmae_gives_roi_and_roi_pair_attributions():
    from data.loading import load_dataset

    ds = load_dataset({"source": "demo:resting-state"})
    decoder = decoders.create("brainmae", {"dim": 16, "depth": 1, "heads": 2, "epochs": 2}).fit(ds.X, ds.y, tr=ds.tr)
    X, y, context = explain_inputs(ds)
    assert len(context["tr"]) == len(X)
    maps = by_method(explain(decoder, X, y, {**context, "ig_steps": 4, "max_per_class": 4}))
    n = len(ds.ch_names)
    roi, pairs = maps["integrated-gradients"], maps["integrated-gradients-roi-pairs"]
    assert roi.maps.shape == (2, n) and roi.axis("roi").values == tuple(ds.ch_names)
    assert pairs.maps.shape == (2, n * (n - 1) // 2) and pairs.axis("roi_pair").values[0] == f"{ds.ch_names[0]}-{ds.ch_names[1]}"
    assert np.abs(pairs.maps).max() > 0


def test_mindbridge_gives_a_voxel_map_per_subject():
    from data.loading import load_dataset

    ds = load_dataset({"source": "demo:visual-fmri", "subjects": ["A", "B"]})
    decoder = decoders.create("mindbridge", {**decoders.registry.get("mindbridge").presets["tiny"],
                                             "epochs": 2, "codec_epochs": 3})
    decoder.fit(ds.X, stimuli=ds.stimuli, subject=ds.subject)
    X, y, context = explain_inputs(ds)
    found = explain(decoder, X, y, {**context, "ig_steps": 4, "max_per_class": 6})
    assert [e.extra["subject"] for e in found] == ["A", "B"]
    for e, name in zip(found, ["A", "B"]):
        n_vox = decoder.network_.n_voxels[decoder.subjects_.index(name)]
        assert e.maps.shape == (1, n_vox) and [a.kind for a in e.axes] == ["voxel"]
    with pytest.raises(ValueError, match="images the subjects saw"):
        explain(decoder, X, None, {k: v for k, v in context.items() if k != "stimuli"})
