"""What an explainer reads, taken from a `DecodingSet`: the samples, labels and a context of
names (channels, ROIs, classes, times, voxel positions) shared by every explainer.

Context keys: ``ch_names``, ``sfreq``, ``times`` (s, one per sample of a trial),
``class_names``, ``roi_names`` and ``networks`` (ROI sets), ``subject`` (one per sample, for
multi-subject volume decoders), ``image_shape`` (stimulus pixels), and for NIfTI voxel sets
read through a mask ``voxel_ijk`` (voxel index triples, one per feature), ``mask_affine`` and
``mask_shape``.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .base import ExplainError

_VOXEL_NAME = re.compile(r"^v(\d+)_(\d+)_(\d+)$")   # data.fmri.nifti names masked voxels so


def explain_inputs(data, class_names: list[str] | None = None) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """``(X, y, context)`` for `decoders.explain.explain` from a decoding set.

    Parameters
    ----------
    data : data.DecodingSet
        Loaded as the decoder's training data were (same window, channels, preprocessing).
    class_names : list of str, optional
        The decoder's class names (a bundle's ``input.class_names``); default the set's.

    Returns
    -------
    X : ndarray
    y : ndarray or None
    context : dict
    """
    if len(data) < 2:
        raise ExplainError(f"explaining needs at least two samples; the data hold {len(data)}")
    context: dict = {"class_names": list(class_names or data.class_names or [])}
    if data.kind == "volumes":
        context["subject"] = np.asarray(data.subject)
        if data.stimuli is not None and np.ndim(data.stimuli) == 3:
            context["image_shape"] = list(np.shape(data.stimuli)[1:])
            context["stimuli"] = np.asarray(data.stimuli)   # the images seen (MindBridge's attributions)
        return np.asarray(data.X), data.y, context
    if data.ch_names:
        context["ch_names"] = list(data.ch_names)
    if data.sfreq:
        context["sfreq"] = float(data.sfreq)
    if data.times is not None and data.kind == "trials" and len(data.times) == np.shape(data.X)[-1]:
        context["times"] = np.asarray(data.times, float)
    if data.tr is not None:
        context["tr"] = np.asarray(data.tr, float)   # one TR per subject (BrainMAE's windows)
    if data.modality == "fmri-roi":
        context["roi_names"] = list(data.ch_names)
        if data.provenance.get("networks"):
            context["networks"] = dict(data.provenance["networks"])
    if data.modality == "fmri":
        context.update(voxel_geometry(data))
    return np.asarray(data.X), data.y, context


def voxel_geometry(data) -> dict:
    """``voxel_ijk``, ``mask_affine``, ``mask_shape`` of a NIfTI voxel set read through a mask
    (its features are named ``v<i>_<j>_<k>``); empty when the set has no such geometry."""
    ijk = [_VOXEL_NAME.match(str(name)) for name in data.ch_names]
    mask_file = data.provenance.get("features")
    if not ijk or not all(ijk) or not mask_file or not Path(mask_file).is_file():
        return {}
    import nibabel as nib

    mask = nib.load(str(mask_file))
    return {"voxel_ijk": np.array([[int(g) for g in m.groups()] for m in ijk]),
            "mask_affine": np.asarray(mask.affine, float), "mask_shape": tuple(int(s) for s in mask.shape[:3])}


def voxel_image(values: np.ndarray, explanation_extra: dict):
    """A NIfTI image of one value per voxel at the voxel positions of the set (0 elsewhere).

    Raises
    ------
    ExplainError
        When the explanation has no voxel geometry (the set was not read through a mask).
    """
    import nibabel as nib

    try:
        ijk, affine, shape = (explanation_extra[k] for k in ("voxel_ijk", "mask_affine", "mask_shape"))
    except KeyError:
        raise ExplainError("these voxel maps have no positions (the set was not read through a NIfTI mask)") from None
    values = np.asarray(values, np.float32)
    ijk = np.asarray(ijk)
    if values.ndim != 1 or len(values) != len(ijk):
        raise ExplainError(f"{np.shape(values)} values for {len(ijk)} voxel positions")
    volume = np.zeros(tuple(shape), np.float32)
    volume[tuple(ijk.T)] = values
    return nib.Nifti1Image(volume, np.asarray(affine, float))
