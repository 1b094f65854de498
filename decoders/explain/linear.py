"""Activation patterns of the linear decoders (Haufe et al. 2014).

A linear decoder's weights say how to *extract* a signal; they are not where the signal is
(a weight can be large on a channel that only cancels noise). The activation pattern is:

    A = Cov(x) W Cov(s)^-1,   s = W^T x   (Haufe et al. 2014, eq. 6)

computed here as ``Xc^T Sc pinv(Sc^T Sc)`` (no features x features matrix is formed). For
each decoder the pattern is taken in the space its linear stage reads (CSP log-powers,
tangent vectors, Fisher-z correlations, standardised voxels) and then mapped back to what a
person recognises:

- CSP / filter-bank CSP / xDAWN: spatial patterns of the filters, ``Cov(x) W^T (W Cov(x) W^T)^-1``
  (equal to MNE's ``CSP.patterns_`` when every filter is kept), plus the LDA pattern over the
  components and a per-class channel map (components' squared, normalised patterns weighted
  by the LDA pattern: where band power goes up (+) or down (-) for the class).
- ERP LDA: the pattern over channels x time bins.
- Tangent-space models: the pattern over tangent vectors, unvectorised to a symmetric matrix
  ``S`` and mapped to a covariance change at the reference ``P``: ``P^1/2 S P^1/2`` (the first-order
  change of the covariance along ``S``), a channel x channel (or ROI x ROI) matrix; plus its
  per-channel sum of absolute values.
- xDAWN + tangent space: also the covariance of the epochs with the decision score
  (channel x time), the generalisation of the pattern to a non-linear score.
- Functional connectivity: the pattern over ROI pairs.
- Voxel and ridge models: a map over the (standardised) voxels per class or per pixel.

Binary classifiers have one score (the second class against the first), so one map named
``"<second> vs <first>"``; multi-class models one map per class.
"""
from __future__ import annotations

import numpy as np

from .base import Axis, ExplainError, Explanation, explainer

# -- the pattern -------------------------------------------------------------------------------


def haufe_pattern(features: np.ndarray, weights: np.ndarray, per_output: bool = False) -> np.ndarray:
    """Activation patterns of linear scores ``s = features @ weights.T``.

    Parameters
    ----------
    features : ndarray, shape (n_samples, n_features)
        What the linear stage reads.
    weights : ndarray, shape (n_outputs, n_features)
        Its weights.
    per_output : bool
        Normalise each output by its own variance (Haufe's formula for one output, applied to
        each) instead of the inverse of the outputs' covariance. For many correlated outputs
        (pixels of an image) whose covariance has a lower rank than their number.

    Returns
    -------
    ndarray, shape (n_outputs, n_features)
    """
    F = np.asarray(features, np.float64)
    W = np.atleast_2d(np.asarray(weights, np.float64))
    if F.ndim != 2 or F.shape[1] != W.shape[1]:
        raise ExplainError(f"pattern: features of shape {F.shape} do not match weights of shape {W.shape}")
    if len(F) < 2:
        raise ExplainError("pattern: at least two samples are needed to estimate a covariance")
    Fc = F - F.mean(axis=0)
    S = Fc @ W.T
    cross = Fc.T @ S                         # (n_features, n_outputs) = (n-1) Cov(x) W
    if per_output:
        var = (S * S).sum(axis=0)
        pattern = cross / np.where(var > 0, var, 1.0)
    else:
        pattern = cross @ np.linalg.pinv(S.T @ S)
    return pattern.T


def filter_patterns(filters: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """Spatial patterns of spatial filters: ``(W C W^T)^-1 W C``, shape (n_filters, n_channels)."""
    W = np.asarray(filters, np.float64)
    WC = W @ covariance
    return np.linalg.pinv(WC @ W.T) @ WC


def mean_covariance(X: np.ndarray) -> np.ndarray:
    """Mean over trials of the channel covariance of (n_trials, n_channels, n_times) trials."""
    Xc = X - X.mean(axis=2, keepdims=True)
    return np.einsum("nct,ndt->cd", Xc, Xc) / (X.shape[0] * X.shape[2])


def score_outputs(decoder, context: dict) -> tuple[str, ...]:
    """Names of the linear stage's outputs: ``"b vs a"`` for a binary model, class names otherwise."""
    classes = [_class_name(c, context) for c in decoder.clf_.classes]
    if decoder.clf_.coef.shape[0] == 1:
        return (f"{classes[1]} vs {classes[0]}",)
    return tuple(classes)


def _class_name(code, context: dict) -> str:
    names = context.get("class_names") or []
    try:
        return str(names[int(code)])
    except (ValueError, TypeError, IndexError):
        return str(code)


def _channels(n: int, context: dict, kind: str = "channel") -> tuple:
    key = "roi_names" if kind == "roi" else "ch_names"
    names = context.get(key) or (context.get("ch_names") if kind == "roi" else None)
    if names is None:
        return tuple(f"{kind}{i + 1}" for i in range(n))
    if len(names) != n:
        raise ExplainError(f"context gives {len(names)} {kind} names for data with {n} {kind}s")
    return tuple(str(c) for c in names)


def _trials(decoder, X) -> np.ndarray:
    X = decoder._check(X, fitted=True)   # the decoder's own shape and finiteness checks
    if len(X) < 2:
        raise ExplainError(f"{decoder.name}: explaining needs at least two trials; got {len(X)}")
    return X


def _components(n: int) -> tuple[str, ...]:
    return tuple(f"component {i + 1}" for i in range(n))


# -- CSP ---------------------------------------------------------------------------------------


def _class_channel_maps(spatial: np.ndarray, lda_pattern: np.ndarray) -> np.ndarray:
    """Per output, Σ_k lda_k · pattern_k² / ‖pattern_k‖²: (n_outputs, n_channels), signed."""
    power = spatial ** 2
    power /= power.sum(axis=-1, keepdims=True)
    return lda_pattern @ power


@explainer("csp-lda")
def explain_csp(decoder, X, y, context) -> list[Explanation]:
    """CSP spatial patterns, the LDA pattern over components, a channel map per output."""
    X = _trials(decoder, X)
    channels = Axis("channel", _channels(X.shape[1], context))
    spatial = filter_patterns(decoder.filters_, mean_covariance(X))
    lda = haufe_pattern(decoder._features(X), decoder.clf_.coef)
    outputs = score_outputs(decoder, context)
    components = _components(len(spatial))
    return [
        Explanation("csp-pattern", spatial, components, (channels,), decoder.name, {"signed": True}),
        Explanation("haufe-pattern", lda, outputs, (Axis("component", components),), decoder.name,
                    {"signed": True, "features": "CSP log-power"}),
        Explanation("csp-class-pattern", _class_channel_maps(spatial, lda), outputs, (channels,), decoder.name,
                    {"signed": True, "meaning": "band-power change with the score (+ up, - down)"}),
    ]


@explainer("fbcsp-lda")
def explain_fbcsp(decoder, X, y, context) -> list[Explanation]:
    """Per band: CSP spatial patterns; the LDA pattern over band x component; channel maps per band."""
    X = _trials(decoder, X)
    bands = [tuple(map(float, b)) for b in decoder.validated_params().bands]
    spatial = np.stack([filter_patterns(W, mean_covariance(Xb))
                        for W, Xb in zip(decoder.filters_, decoder._band_passed(X))])   # (band, comp, ch)
    n_bands, n_comp, n_ch = spatial.shape
    lda = haufe_pattern(decoder._features(X), decoder.clf_.coef).reshape(-1, n_bands, n_comp)
    outputs = score_outputs(decoder, context)
    channels = Axis("channel", _channels(n_ch, context))
    freq = Axis("frequency", tuple((lo + hi) / 2 for lo, hi in bands))
    components = _components(n_comp)
    class_maps = np.stack([_class_channel_maps(spatial[b], lda[:, b]) for b in range(n_bands)], axis=1)
    extra = {"signed": True, "bands": bands}
    return [
        Explanation("csp-pattern", spatial.transpose(1, 0, 2), components, (freq, channels), decoder.name, extra),
        Explanation("haufe-pattern", lda, outputs, (freq, Axis("component", components)), decoder.name,
                    {**extra, "features": "CSP log-power per band"}),
        Explanation("csp-class-pattern", class_maps, outputs, (freq, channels), decoder.name,
                    {**extra, "meaning": "band-power change with the score (+ up, - down)"}),
    ]


# -- ERP ---------------------------------------------------------------------------------------


def _times(n_samples: int, context: dict) -> np.ndarray:
    times = context.get("times")
    if times is not None:
        times = np.asarray(times, float)
        if len(times) != n_samples:
            raise ExplainError(f"context gives {len(times)} times for epochs of {n_samples} samples")
        return times
    if context.get("sfreq"):
        return np.arange(n_samples) / float(context["sfreq"])
    raise ExplainError("channel x time maps need the epoch's times or sfreq in the context")


@explainer("erp-lda")
def explain_erp_lda(decoder, X, y, context) -> list[Explanation]:
    """The LDA pattern over channels x time bins."""
    X = _trials(decoder, X)
    bins = decoder.validated_params().bin_samples
    features = decoder._features(X)
    n_bins = features.shape[1] // X.shape[1]
    pattern = haufe_pattern(features, decoder.clf_.coef).reshape(-1, X.shape[1], n_bins)
    times = _times(X.shape[2], context)[: n_bins * bins].reshape(n_bins, bins).mean(axis=1)
    axes = (Axis("channel", _channels(X.shape[1], context)), Axis("time", tuple(times.tolist())))
    return [Explanation("haufe-pattern", pattern, score_outputs(decoder, context), axes, decoder.name,
                        {"signed": True, "bin_samples": bins})]


def score_covariance(X: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Cov(x, s) Cov(s)^-1 over trials: (n_outputs, *X.shape[1:]); Haufe's pattern for any score."""
    flat = X.reshape(len(X), -1)
    Sc = scores - scores.mean(axis=0)
    cross = (flat - flat.mean(axis=0)).T @ Sc
    return (cross @ np.linalg.pinv(Sc.T @ Sc)).T.reshape(-1, *X.shape[1:])


@explainer("xdawn-ts-lr")
def explain_xdawn(decoder, X, y, context) -> list[Explanation]:
    """xDAWN spatial patterns; the tangent-space pattern mapped to channel pairs (its block of
    the filtered epochs) and per channel (its block of epoch x class prototypes, where the
    ERP is); the epochs' covariance with the decision score (channel x time)."""
    X = _trials(decoder, X)
    channels = Axis("channel", _channels(X.shape[1], context))
    # pyRiemann fits nfilter filters per class, each set apart: patterns per set, as its Xdawn.patterns_
    covariance = mean_covariance(X)
    per_class = np.split(decoder.filters_, len(decoder.clf_.classes))
    spatial = np.concatenate([filter_patterns(W, covariance) for W in per_class])   # (k, ch)
    outputs = score_outputs(decoder, context)
    virtual = _tangent_matrices(decoder, decoder._features(X), decoder.reference_)   # (out, 2k, 2k)
    k = len(spatial)
    # virtual channels: k class prototypes, then the k xDAWN-filtered epoch signals
    pairs = np.einsum("kc,okl,ld->ocd", spatial, virtual[:, k:, k:], spatial)
    with_prototypes = np.abs(virtual[:, :k, k:] @ spatial).sum(axis=1)          # (out, ch)
    scores = decoder.clf_.coef @ decoder._features(X).T
    time_pattern = score_covariance(X, scores.T)
    times = Axis("time", tuple(_times(X.shape[2], context).tolist()))
    return [
        Explanation("xdawn-pattern", spatial, tuple(f"{_class_name(c, context)} {i + 1}" for c in decoder.clf_.classes
                                                    for i in range(k // len(per_class))),
                    (channels,), decoder.name, {"signed": True}),
        Explanation("tangent-pattern", pairs, outputs, (channels, channels), decoder.name,
                    {"signed": True, "meaning": "covariance change of the xDAWN-filtered epochs, in channels"}),
        Explanation("tangent-pattern-channels", with_prototypes, outputs, (channels,), decoder.name,
                    {"signed": False, "meaning": "per channel, the pattern's covariance change between the epoch "
                                                 "and the class prototypes (the ERP part), summed in absolute value"}),
        Explanation("score-covariance", time_pattern, outputs, (channels, times), decoder.name, {"signed": True}),
    ]


# -- tangent space -----------------------------------------------------------------------------


def _unupper(vectors: np.ndarray) -> np.ndarray:
    try:
        from pyriemann.geometry.tangentspace import unupper
    except ImportError:  # pyRiemann < 0.12
        from pyriemann.utils.tangentspace import unupper
    return unupper(vectors)


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def _tangent_matrices(decoder, tangent: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The pattern over tangent vectors as covariance changes at the reference: (out, n, n)."""
    pattern = haufe_pattern(tangent, decoder.clf_.coef)
    root = _sqrtm(reference)
    return np.stack([root @ _unupper(a) @ root for a in pattern])


@explainer("tangent-space-lr")
def explain_tangent(decoder, X, y, context) -> list[Explanation]:
    """The tangent-space pattern as a channel x channel covariance change, and per channel."""
    X = _trials(decoder, X)
    channels = Axis("channel", _channels(X.shape[1], context))
    pairs = _tangent_matrices(decoder, decoder._features(X), decoder.reference_)
    outputs = score_outputs(decoder, context)
    return [
        Explanation("tangent-pattern", pairs, outputs, (channels, channels), decoder.name,
                    {"signed": True, "meaning": "covariance change with the score"}),
        Explanation("tangent-pattern-channels", np.abs(pairs).sum(axis=2), outputs, (channels,), decoder.name,
                    {"signed": False}),
    ]


# -- connectivity ------------------------------------------------------------------------------


def _roi_pairs(rois: tuple) -> tuple[np.ndarray, tuple[str, ...]]:
    iu = np.triu_indices(len(rois), k=1)
    return iu, tuple(f"{rois[i]}-{rois[j]}" for i, j in zip(*iu))


def _series_check(decoder, X) -> np.ndarray:
    X = np.asarray(X, np.float64)
    if X.ndim != 3 or X.shape[1] != decoder.n_rois_:
        raise ExplainError(f"{decoder.name} was trained on {decoder.n_rois_} ROIs; the data have shape {X.shape}")
    if len(X) < 2:
        raise ExplainError(f"{decoder.name}: explaining needs at least two samples; got {len(X)}")
    return X


def _pair_explanations(decoder, matrices: np.ndarray, context: dict, method: str) -> list[Explanation]:
    rois = _channels(matrices.shape[1], context, "roi")
    iu, pair_names = _roi_pairs(rois)
    outputs = score_outputs(decoder, context)
    roi_axis = Axis("roi", rois)
    extra = {"signed": True}
    if context.get("networks"):
        extra["networks"] = context["networks"]
    return [
        Explanation(method, np.stack([m[iu] for m in matrices]), outputs, (Axis("roi_pair", pair_names),),
                    decoder.name, extra),
        Explanation(f"{method}-matrix", matrices, outputs, (roi_axis, roi_axis), decoder.name, extra),
    ]


@explainer("fc-lr")
def explain_fc(decoder, X, y, context) -> list[Explanation]:
    """The pattern over ROI pairs (Fisher-z correlations), as a list and as a matrix."""
    X = _series_check(decoder, X)
    pattern = haufe_pattern(decoder._features(X), decoder.clf_.coef)
    n = decoder.n_rois_
    iu = np.triu_indices(n, k=1)
    matrices = np.zeros((len(pattern), n, n))
    for m, p in zip(matrices, pattern):
        m[iu] = p
        m += m.T
    return _pair_explanations(decoder, matrices, context, "haufe-pattern")


@explainer("tangent-fc-lr")
def explain_tangent_fc(decoder, X, y, context) -> list[Explanation]:
    """The tangent-space pattern as a ROI x ROI covariance change (and its ROI pairs)."""
    X = _series_check(decoder, X)
    matrices = _tangent_matrices(decoder, decoder._features(X), decoder.reference_)
    return _pair_explanations(decoder, matrices, context, "tangent-pattern")


# -- voxels ------------------------------------------------------------------------------------


def _voxel_extra(context: dict, n_voxels: int) -> dict:
    extra = {"signed": True, "units": "per standardised voxel"}
    for key in ("mask_affine", "mask_shape", "voxel_ijk"):
        if context.get(key) is not None:
            extra[key] = context[key]
    if "voxel_ijk" in extra and len(extra["voxel_ijk"]) != n_voxels:
        raise ExplainError(f"context gives {len(extra['voxel_ijk'])} voxel positions for {n_voxels} voxels")
    return extra


@explainer("voxel-lr")
def explain_voxel(decoder, X, y, context) -> list[Explanation]:
    """A pattern per output over every voxel (selected or not: how each co-varies with the score)."""
    X = decoder._matrix(X)
    if X.shape[1] != decoder.n_voxels_:
        raise ExplainError(f"voxel-lr was trained on {decoder.n_voxels_} voxels; the data have {X.shape[1]}")
    Z = (X - decoder.mean_) / decoder.scale_
    weights = np.zeros((decoder.clf_.coef.shape[0], X.shape[1]))
    weights[:, decoder.selected_] = decoder.clf_.coef
    pattern = haufe_pattern(Z, weights)
    voxels = Axis("voxel", tuple(range(X.shape[1])))
    return [Explanation("haufe-pattern", pattern, score_outputs(decoder, context), (voxels,), decoder.name,
                        _voxel_extra(context, X.shape[1]))]


@explainer("ridge-images")
def explain_ridge_images(decoder, X, y, context) -> list[Explanation]:
    """Per subject, a pattern over its voxels for each output (pixel, or embedding unit).

    Each output is normalised by its own variance: the pixels of an image are many and
    correlated, so their covariance is singular. ``context["subject"]`` gives each sample's
    subject (default: the decoder's only subject).
    """
    X = np.asarray(X, np.float64)
    if X.ndim != 2:
        raise ExplainError(f"ridge-images: volumes must be (n_samples, n_voxels); got shape {X.shape}")
    decoder._require_fitted("models_")
    subjects = context.get("subject")
    if subjects is None:
        if len(decoder.models_) != 1:
            raise ExplainError(f"ridge-images has {len(decoder.models_)} subjects; context['subject'] must say whose "
                               "each sample is")
        subjects = np.full(len(X), next(iter(decoder.models_)))
    subjects = np.asarray(subjects).astype(str)
    out = []
    for s in dict.fromkeys(subjects.tolist()):
        if s not in decoder.models_:
            raise ExplainError(f"ridge-images: subject '{s}' was not trained; known: {list(decoder.models_)}")
        mean, std, coef, _, alpha = decoder.models_[s]
        block = X[subjects == s][:, : len(mean)]
        Z = (block - mean) / std
        pattern = haufe_pattern(Z, coef, per_output=True)
        if decoder.codec_ is None:
            h, w = decoder.image_shape_
            outputs = tuple(f"pixel {r},{c}" for r in range(h) for c in range(w))
        else:
            outputs = tuple(f"embedding {i + 1}" for i in range(len(coef)))
        extra = _voxel_extra(context, len(mean)) if len(decoder.models_) == 1 else {"signed": True}
        # pattern x output variance = Cov(voxel, output): comparable across outputs (a voxel's
        # view over the pixels) where the pattern itself grows for pixels that rarely vary
        extra.update(subject=s, alpha=alpha, image_shape=list(decoder.image_shape_),
                     output_variance=(Z @ coef.T).var(axis=0).tolist(),
                     target="pixels" if decoder.codec_ is None else "embedding")
        out.append(Explanation("haufe-pattern", pattern, outputs, (Axis("voxel", tuple(range(len(mean)))),),
                               decoder.name, extra))
    return out
