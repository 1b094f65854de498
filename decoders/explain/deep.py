"""Attributions of the deep decoders, computed with Captum on the input the user recognises.

Every attribution is taken through the decoder's whole input stage (alignment, band-pass,
z-score, resampling), so the maps are over the channels x time of the `DecodingSet` (ROI
series windows for BrainMAE, voxels for MindBridge), not over the network's internal input.
Maps are averaged per class over that class's samples, each attributed to its own class
(target = the class), and keep their sign (+: raises the class's logit).

- ``eeg-simpleconv`` and ``eegnet-erp``:

  * ``integrated-gradients`` (Sundararajan et al. 2017; zero baseline): channel x time, the
    signed mean over trials (phase-locked activity: ERPs), and ``integrated-gradients-magnitude``,
    the mean of its absolute value (induced rhythms, whose attributions change sign with their
    phase and cancel in the signed mean);
  * ``integrated-gradients-bands``: channel x frequency by attributing *band-limited parts of
    the input*: each trial is split into parts by masking its FFT (bands below; the parts and
    a remainder outside them sum exactly to the trial), the network reads their sum, and
    integrated gradients attribute the logit to each part (Captum's multi-input IG); a part's
    attributions are summed over time. By completeness the bands plus the remainder add up to
    the logit change from the baseline;
  * ``grad-cam``: Grad-CAM (Selvaraju et al. 2017, Captum ``LayerGradCam``) on the last
    convolution gives a time course only (that layer has already mixed the channels), so the
    channel x time map is Guided Grad-CAM: the time course, interpolated to the input's
    samples, times Captum's ``GuidedBackprop`` (ReLU networks; for ELU networks such as
    EEGNet guided backpropagation reduces to the plain gradient). The time course itself is
    kept in ``extra["grad_cam_time"]``.

- ``brainmae``: integrated gradients on the subjects' windows summed over time per ROI
  (``roi``); the network reads a learned connectivity (cosine similarities of the ROI tokens)
  with ``pool: similarity``, so also layer integrated gradients at the head's input
  (``roi_pair``: what each ROI pair's similarity contributes); with ``pool: mean`` ROI x time
  within a window instead.
- ``mindbridge``: per subject, integrated gradients of the agreement (dot product) of the
  predicted stimulus embedding with the embedding of the image actually seen, over the
  subject's voxels.
"""
from __future__ import annotations

import numpy as np

from .base import Axis, ExplainError, Explanation, explainer

BANDS_HZ = ((1.0, 4.0), (4.0, 8.0), (8.0, 13.0), (13.0, 30.0), (30.0, 45.0))
IG_STEPS = 24            # integration steps of integrated gradients
MAX_PER_CLASS = 40       # samples attributed per class (the first ones, in data order)
METHODS = ("integrated-gradients", "integrated-gradients-magnitude", "integrated-gradients-bands", "grad-cam")
CHUNK = 16               # samples per Captum call (bounds memory: steps x chunk forward passes)


# -- helpers shared by the deep explainers ------------------------------------------------------


def _subset(y: np.ndarray | None, n: int, max_per_class: int) -> np.ndarray:
    """Indices of at most ``max_per_class`` samples of each class (all of them without labels)."""
    if y is None:
        return np.arange(min(n, max_per_class))
    y = np.asarray(y)
    return np.sort(np.concatenate([np.flatnonzero(y == c)[:max_per_class] for c in np.unique(y)]))


def _targets(classes: np.ndarray, y: np.ndarray | None, n: int) -> list[tuple[int, np.ndarray]]:
    """(class index, rows) per class: the rows of that class, or every row without labels."""
    out = []
    for k, c in enumerate(classes):
        rows = np.arange(n) if y is None else np.flatnonzero(np.asarray(y).astype(str) == str(c))
        if len(rows):
            out.append((k, rows))
    if not out:
        raise ExplainError(f"none of the labels are among the decoder's classes {list(map(str, classes))}")
    return out


def _class_names(classes, context) -> tuple[str, ...]:
    names = context.get("class_names") or []
    labels = [str(c) for c in classes]
    if len(names) == len(labels) and all(isinstance(n, str) for n in names):
        # a class label that is an index into the names (integer codes) reads as its name
        if all(label.isdigit() and int(label) < len(names) for label in labels):
            return tuple(names[int(label)] for label in labels)
    return tuple(labels)


def _chunked(fn, x, rows, **kwargs) -> np.ndarray:
    """Sum over ``rows`` of ``fn(x[chunk], **kwargs)`` (a tensor or tuple of tensors), in chunks."""
    import torch

    total = None
    for start in range(0, len(rows), CHUNK):
        idx = torch.as_tensor(rows[start:start + CHUNK])
        out = fn(x[idx] if not isinstance(x, tuple) else tuple(p[idx] for p in x), **kwargs)
        parts = out if isinstance(out, tuple) else (out,)
        summed = [p.detach().sum(0).double().numpy() for p in parts]
        total = summed if total is None else [a + b for a, b in zip(total, summed)]
    return total if isinstance(x, tuple) else total[0]


def _band_parts(X: np.ndarray, sfreq: float, bands) -> np.ndarray:
    """(n_bands + 1, n, channels, time): the trials' parts in each band (FFT masks) and the remainder."""
    spectrum = np.fft.rfft(X, axis=-1)
    freqs = np.fft.rfftfreq(X.shape[-1], 1.0 / sfreq)
    parts, used = [], np.zeros(len(freqs), bool)
    for lo, hi in bands:
        inside = (freqs >= lo) & (freqs < hi) & ~used
        used |= inside
        parts.append(np.fft.irfft(spectrum * inside, n=X.shape[-1], axis=-1))
    parts.append(np.fft.irfft(spectrum * ~used, n=X.shape[-1], axis=-1))
    return np.stack(parts).astype(np.float32)


def _bands_for(sfreq: float | None, n_times: int) -> list[tuple[float, float]]:
    if not sfreq:
        return []
    nyquist = sfreq / 2
    resolution = sfreq / n_times
    return [(lo, min(hi, nyquist)) for lo, hi in BANDS_HZ if lo < nyquist and min(hi, nyquist) - lo >= resolution]


def _last_layer(module, kinds):
    layers = [m for m in module.modules() if isinstance(m, kinds)]
    if not layers:
        raise ExplainError(f"{type(module).__name__} has no convolution for Grad-CAM")
    return layers[-1]


def trial_attributions(forward, X: np.ndarray, y, classes, context: dict, decoder_name: str,
                       last_conv) -> list[Explanation]:
    """Integrated gradients (channel x time, channel x band) and Guided Grad-CAM of a trials
    network whose ``forward`` takes raw trials (n, channels, time) and returns class logits.

    Parameters
    ----------
    forward : torch.nn.Module
        Raw trials -> logits, in eval mode, holding ``last_conv``.
    X : ndarray, shape (n, channels, time)
    y : ndarray or None
    classes : ndarray
        The decoder's classes, in logit order.
    context : dict
        ``ch_names``, ``sfreq``, ``times``, ``class_names``; ``ig_steps``, ``max_per_class`` and
        ``methods`` (a subset of the three method names; default all) bound the work.
    decoder_name : str
    last_conv : torch.nn.Module
        The convolution Grad-CAM reads.
    """
    import torch
    from captum.attr import GuidedBackprop, IntegratedGradients, LayerGradCam

    X = np.asarray(X, np.float32)
    if X.ndim != 3:
        raise ExplainError(f"{decoder_name}: trials must be (n, channels, time), not {X.shape}")
    keep = _subset(y, len(X), int(context.get("max_per_class", MAX_PER_CLASS)))
    X = X[keep]
    y = None if y is None else np.asarray(y)[keep]
    n_steps = int(context.get("ig_steps", IG_STEPS))
    n_ch, n_t = X.shape[1:]
    ch_names = tuple(context.get("ch_names") or [f"ch{i + 1}" for i in range(n_ch)])
    sfreq = context.get("sfreq")
    times = context.get("times")
    if times is None or len(times) != n_t:
        times = np.arange(n_t) / sfreq if sfreq else np.arange(n_t, dtype=float)
    times = tuple(float(t) for t in times)
    if len(ch_names) != n_ch:
        raise ExplainError(f"{len(ch_names)} channel names for {n_ch} channels")
    x = torch.from_numpy(X)
    groups = _targets(classes, y, len(X))
    outputs = tuple(_class_names(classes, context)[k] for k, _ in groups)

    wanted = set(context.get("methods") or METHODS)
    found = []
    ig = IntegratedGradients(forward)
    if "integrated-gradients" in wanted or "integrated-gradients-magnitude" in wanted:
        signed, magnitude = [], []
        for k, rows in groups:
            total, absolute = np.zeros((n_ch, n_t)), np.zeros((n_ch, n_t))
            for start in range(0, len(rows), CHUNK):
                attr = ig.attribute(x[torch.as_tensor(rows[start:start + CHUNK])], target=k, n_steps=n_steps,
                                    internal_batch_size=256).detach().double().numpy()
                total += attr.sum(0)
                absolute += np.abs(attr).sum(0)
            signed.append(total / len(rows))
            magnitude.append(absolute / len(rows))
        axes = (Axis("channel", ch_names), Axis("time", times))
        facts = {"baseline": "zero input", "n_steps": n_steps, "samples_per_class": [len(r) for _, r in groups]}
        found.append(Explanation("integrated-gradients", np.stack(signed), outputs, axes, decoder_name,
                                 {"signed": True, **facts, "how": "integrated gradients averaged over the "
                                  "class's trials (phase-locked activity such as ERPs; induced rhythms cancel)"}))
        found.append(Explanation("integrated-gradients-magnitude", np.stack(magnitude), outputs, axes, decoder_name,
                                 {"signed": False, **facts, "how": "|integrated gradients| averaged over the "
                                  "class's trials (where induced rhythms, whose sign follows their phase, act)"}))

    bands = _bands_for(sfreq, n_t)
    if bands and "integrated-gradients-bands" in wanted:
        parts = tuple(torch.from_numpy(p) for p in _band_parts(X, sfreq, bands))

        class _Summed(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, *band_parts):
                return self.inner(torch.stack(band_parts).sum(0))

        band_ig = IntegratedGradients(_Summed(forward))
        per_band = []
        for k, rows in groups:
            attr = _chunked(band_ig.attribute, parts, rows, target=k, n_steps=n_steps, internal_batch_size=256)
            per_band.append(np.stack([a.sum(-1) for a in attr[:len(bands)]]) / len(rows))
        found.append(Explanation(
            "integrated-gradients-bands", np.stack(per_band), outputs,
            (Axis("frequency", tuple((lo + hi) / 2 for lo, hi in bands)), Axis("channel", ch_names)),
            decoder_name, {"signed": True, "bands": [list(b) for b in bands],
                           "how": "integrated gradients of band-limited parts of the input (FFT masks), "
                                  "summed over time"}))

    if "grad-cam" not in wanted:
        if not found:
            raise ExplainError(f"methods {sorted(wanted)}: none of {', '.join(METHODS)}")
        return found
    import warnings

    cam = LayerGradCam(forward, last_conv)
    guided = GuidedBackprop(forward)
    cam_maps, cam_times = [], []
    for k, rows in groups:
        total, course = np.zeros((n_ch, n_t)), np.zeros(n_t)
        for start in range(0, len(rows), CHUNK):
            xb = x[torch.as_tensor(rows[start:start + CHUNK])]
            c = cam.attribute(xb, target=k, relu_attributions=True).detach().reshape(len(xb), 1, -1)
            c = torch.nn.functional.interpolate(c, size=n_t, mode="linear", align_corners=True)[:, 0]
            with warnings.catch_warnings():   # captum says it sets requires_grad and hooks ReLUs: expected
                warnings.simplefilter("ignore", UserWarning)
                g = guided.attribute(xb, target=k).detach()
            total += (g * c[:, None, :]).sum(0).double().numpy()
            course += c.sum(0).double().numpy()
        cam_maps.append(total / len(rows))
        cam_times.append(course / len(rows))
    found.append(Explanation("grad-cam", np.stack(cam_maps), outputs,
                             (Axis("channel", ch_names), Axis("time", times)), decoder_name,
                             {"signed": True, "grad_cam_time": np.stack(cam_times), "layer": _layer_name(forward, last_conv),
                              "how": "Guided Grad-CAM: Grad-CAM time course of the last convolution x guided backpropagation"}))
    return found


def _layer_name(root, layer) -> str:
    return next((name for name, m in root.named_modules() if m is layer), type(layer).__name__)


# -- EEG-SimpleConv -------------------------------------------------------------------------------


def simpleconv_forward(decoder, X: np.ndarray):
    """Raw trials -> logits of a fitted `EEGSimpleConv`, with the alignment its
    ``predict_proba`` would use on these trials (the fitted subject's, else theirs)."""
    import copy

    import torch

    from data.alignment import reference_matrix

    decoder._check_fitted()
    p = decoder.validated_params()
    pipe = copy.deepcopy(decoder.pipeline_).cpu().eval()
    align = None
    if p.align:
        matrix = decoder.alignments_.get(decoder._default_subject) if decoder._default_subject else None
        if matrix is None:
            matrix = reference_matrix(decoder._bandpassed(np.asarray(X, np.float32))).astype(np.float32)
        align = torch.as_tensor(matrix)

    class SimpleConvLogits(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.stage, self.net = pipe.stage, pipe.net
            self.register_buffer("alignment", align if align is not None else torch.eye(decoder.n_chans_))

        def forward(self, x):
            return self.net(self.stage(x, self.alignment))

    return SimpleConvLogits().eval()


@explainer("eeg-simpleconv")
def explain_simpleconv(decoder, X, y, context) -> list[Explanation]:
    """Integrated gradients and Guided Grad-CAM of EEG-SimpleConv over raw trials."""
    import torch

    forward = simpleconv_forward(decoder, X)
    return trial_attributions(forward, X, y, decoder.classes_, context, decoder.name,
                              _last_layer(forward.net, torch.nn.Conv1d))


# -- EEGNet (ERP) ---------------------------------------------------------------------------------


def eegnet_forward(decoder):
    """Raw epochs -> logits of a fitted `EEGNetERP` (its z-score inside)."""
    import copy

    import torch

    decoder._require_fitted("net_")
    net = copy.deepcopy(decoder.net_).cpu().eval()

    class EEGNetLogits(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net
            self.register_buffer("mean", torch.as_tensor(decoder.mean_))
            self.register_buffer("std", torch.as_tensor(decoder.std_))

        def forward(self, x):
            return self.net((x - self.mean) / self.std)

    return EEGNetLogits().eval()


@explainer("eegnet-erp")
def explain_eegnet(decoder, X, y, context) -> list[Explanation]:
    """Integrated gradients and Guided Grad-CAM of EEGNet over raw epochs."""
    import torch

    forward = eegnet_forward(decoder)
    return trial_attributions(forward, X, y, decoder.classes_, context, decoder.name,
                              _last_layer(forward.net, torch.nn.Conv2d))


# -- BrainMAE -------------------------------------------------------------------------------------


@explainer("brainmae")
def explain_brainmae(decoder, X, y, context) -> list[Explanation]:
    """ROI (and ROI-pair, or ROI x time) attributions of a fitted BrainMAE classifier."""
    import copy

    import torch
    from captum.attr import IntegratedGradients, LayerIntegratedGradients

    decoder._require_fitted("net_")
    pool = decoder.validated_params().pool
    X = np.asarray(X, np.float32)
    keep = _subset(y, len(X), int(context.get("max_per_class", MAX_PER_CLASS)))
    tr = context.get("tr")
    X, tr = X[keep], None if tr is None else np.asarray(tr, float)[keep]
    y = None if y is None else np.asarray(y)[keep]
    W, owner = decoder._windows(X, tr, decoder._arch)
    net = copy.deepcopy(decoder.net_).cpu().eval()
    n_rois = net.n_rois
    roi_names = tuple(context.get("roi_names") or context.get("ch_names") or [f"roi{i + 1}" for i in range(n_rois)])
    if len(roi_names) != n_rois:
        raise ExplainError(f"{len(roi_names)} ROI names for a model of {n_rois} ROIs")

    class BrainMAELogits(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, w):
            return self.net.predict_head(w, pool)

    forward = BrainMAELogits().eval()
    n_steps = int(context.get("ig_steps", IG_STEPS))
    w = torch.from_numpy(W)
    groups = [(k, np.flatnonzero(np.isin(owner, rows))) for k, rows in _targets(decoder.classes_, y, len(X))]
    outputs = tuple(_class_names(decoder.classes_, context)[k] for k, _ in groups)
    ig = IntegratedGradients(forward)
    per_window = [_chunked(ig.attribute, w, rows, target=k, n_steps=n_steps, internal_batch_size=256) / len(rows)
                  for k, rows in groups]                        # (rois, segments, points) each
    found = [Explanation("integrated-gradients", np.stack([a.sum(axis=(1, 2)) for a in per_window]), outputs,
                         (Axis("roi", roi_names),), decoder.name,
                         {"signed": True, "baseline": "zero windows", "windows_per_class": [len(r) for _, r in groups],
                          "how": "integrated gradients on each subject's z-scored windows, summed over time"})]
    arch = decoder._arch
    if pool == "similarity":
        layer_ig = LayerIntegratedGradients(forward, net.head)
        pairs = [_chunked(layer_ig.attribute, w, rows, target=k, n_steps=n_steps, internal_batch_size=256,
                          attribute_to_layer_input=True) / len(rows) for k, rows in groups]
        iu = np.triu_indices(n_rois, 1)
        names = tuple(f"{roi_names[i]}-{roi_names[j]}" for i, j in zip(*iu))
        found.append(Explanation("integrated-gradients-roi-pairs", np.stack(pairs), outputs,
                                 (Axis("roi_pair", names),), decoder.name,
                                 {"signed": True, "networks": context.get("networks"), "roi_names": list(roi_names),
                                  "how": "layer integrated gradients at the head's input: the learned "
                                         "similarity of each ROI pair's tokens"}))
    else:
        step = arch["seg_seconds"] / arch["seg_points"]
        times = tuple(float(t) for t in np.arange(arch["n_segments"] * arch["seg_points"]) * step)
        found.append(Explanation("integrated-gradients-roi-time",
                                 np.stack([a.reshape(n_rois, -1) for a in per_window]), outputs,
                                 (Axis("roi", roi_names), Axis("time", times)), decoder.name,
                                 {"signed": True, "how": "integrated gradients over the time of a window (s from its start)"}))
    return found


# -- MindBridge -----------------------------------------------------------------------------------


@explainer("mindbridge")
def explain_mindbridge(decoder, X, y, context) -> list[Explanation]:
    """Voxel attributions per subject of a fitted MindBridge (see the module docstring)."""
    import copy

    import torch
    from captum.attr import IntegratedGradients

    decoder._require_fitted("network_")
    stimuli = context.get("stimuli")
    if stimuli is None and y is not None and np.ndim(y) == 3:
        stimuli = y
    if stimuli is None:
        raise ExplainError("mindbridge: voxel attributions need the images the subjects saw (the set's stimuli)")
    X = np.nan_to_num(np.asarray(X, np.float32), nan=0.0)
    stimuli = np.asarray(stimuli, np.float32)
    if len(stimuli) != len(X):
        raise ExplainError(f"mindbridge: {len(stimuli)} images for {len(X)} samples")
    subjects = np.asarray(context.get("subject") if context.get("subject") is not None
                          else np.full(len(X), decoder.subjects_[0])).astype(str)
    net = copy.deepcopy(decoder.network_).cpu().eval()
    decoder.codec_.net.cpu()
    target = torch.as_tensor(decoder.codec_.encode(stimuli), dtype=torch.float32)
    n_steps = int(context.get("ig_steps", IG_STEPS))
    max_samples = int(context.get("max_per_class", MAX_PER_CLASS))
    found = []
    for name in dict.fromkeys(subjects.tolist()):
        if name not in decoder.subjects_:
            raise ExplainError(f"mindbridge: subject {name!r} was not trained; known: {decoder.subjects_}")
        s = decoder.subjects_.index(name)
        n_vox = net.n_voxels[s]

        class Agreement(torch.nn.Module):
            def __init__(self, index=s):
                super().__init__()
                self.net, self.index = net, index

            def forward(self, v, seen):
                e = self.net.head(self.net.translator(self.net.embedders[self.index](self.net.pooled_input(v, self.index))))
                return (e * seen).sum(1)

        rows = np.flatnonzero(subjects == name)[:max_samples]
        ig = IntegratedGradients(Agreement())
        v = torch.from_numpy(np.ascontiguousarray(X[rows, :n_vox]))
        baseline = net.voxel_mean[s, :n_vox].expand_as(v)     # the subject's mean activity
        total = np.zeros(n_vox)
        for start in range(0, len(rows), CHUNK):
            sl = slice(start, start + CHUNK)
            attr = ig.attribute(v[sl], baselines=baseline[sl], additional_forward_args=(target[rows[sl]],),
                                n_steps=n_steps, internal_batch_size=256)
            total += attr.detach().sum(0).double().numpy()
        extra = {"signed": True, "subject": name, "baseline": "the subject's mean voxel activity",
                 "how": "integrated gradients of the predicted embedding's agreement with the seen image's"}
        ijk = context.get("voxel_ijk")
        if ijk is not None and len(ijk) == n_vox:
            extra.update({k: context[k] for k in ("voxel_ijk", "mask_affine", "mask_shape")})
        found.append(Explanation("integrated-gradients", (total / len(rows))[None], ("agreement with the seen image",),
                                 (Axis("voxel", tuple(range(n_vox))),), decoder.name, extra))
    return found


# -- what the randomisation check needs -----------------------------------------------------------


def trained_module(decoder):
    """The torch module holding a deep decoder's trained weights (randomised by `checks`)."""
    for attribute in ("pipeline_", "net_", "network_"):
        module = getattr(decoder, attribute, None)
        if module is not None:
            return module
    raise ExplainError(f"{decoder.name} holds no trained torch module")
