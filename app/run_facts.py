"""What a run's metrics.json says beyond its scores: what the saved (final) model was trained
on, measured against the protocol that evaluated it, and a fingerprint of the data, so two
runs compared side by side can be told apart when their data differ."""
from __future__ import annotations

import hashlib
from typing import Any

import numpy as np


def final_model_facts(config, data) -> dict[str, Any]:
    """What the final model of a run is trained on, and whether that matches its protocol.

    The final model is fitted once on every sample (one bundle, one model). A protocol whose
    folds train within one subject (or session) evaluated per-subject models, so a final model
    pooled over several subjects is not the model the folds scored: this says so plainly.

    Parameters
    ----------
    config : app.experiment.ExperimentConfig
        The validated experiment (its evaluation section names the protocol and options).
    data : data.DecodingSet
        The samples the final model is fitted on.

    Returns
    -------
    dict
        ``trained_on`` (a sentence), ``n_samples``, ``subjects``, ``pooled_subjects`` (bool),
        ``matches_protocol`` (bool) and ``note`` (empty when it matches).
    """
    from decoders.protocols import protocol as get_protocol

    subjects = [str(s) for s in data.subjects]
    chosen = get_protocol(config.evaluation.protocol)
    options = chosen.options(config.evaluation.model_dump(exclude={"protocol"}))
    per_subject_folds = chosen.trains_on_one_subject(options)
    pooled = len(subjects) > 1
    shown = ", ".join(subjects[:6]) + (f" and {len(subjects) - 6} more" if len(subjects) > 6 else "")
    trained_on = (f"all {len(data)} samples pooled over {len(subjects)} subjects ({shown})" if pooled
                  else f"all {len(data)} samples" + (f" of subject {shown}" if subjects else ""))
    matches = not (per_subject_folds and pooled)
    note = "" if matches else (
        f"The {config.evaluation.protocol} folds trained and tested within each subject, so their scores are "
        f"those of per-subject models; this saved model pools every subject's samples and was not evaluated "
        f"as such. For one subject's model, run the experiment with dataset.subjects set to that subject.")
    return {"trained_on": trained_on, "n_samples": int(len(data)), "subjects": subjects,
            "pooled_subjects": pooled, "matches_protocol": matches, "note": note}


def data_fingerprint(data) -> str:
    """A 16-hex-digit digest of the samples, their labels or targets and their subjects.

    The same dataset settings on the same files give the same fingerprint; any difference in
    the samples (another subject, window, filter, class) gives another.
    """
    digest = hashlib.blake2b(digest_size=8)
    for part in (data.X, data.y, data.subject):
        if part is None:
            digest.update(b"-")
            continue
        array = np.asarray(part)
        if array.dtype.kind in "fc":
            array = array.astype(np.float32)
        elif array.dtype.kind in "OUS":
            array = np.array([str(v) for v in array.ravel()], dtype=str)
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()
