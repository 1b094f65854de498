"""Datasets made of several sub-sources (`DatasetSpec.sources`): each part is loaded with the
spec's settings and the parts are stacked on their common channels and the union of classes
(per-sample TRs are kept when every part has them; parts with TRs may differ in TR)."""
from __future__ import annotations

import numpy as np

from ..decoding_set import DecodingSet
from ..errors import DataError


def load_parts(spec, load_one) -> DecodingSet:
    parts = []
    for sub in spec.sources:
        part_spec = spec.model_copy(update={"sources": None, **sub.model_dump(exclude_unset=True)})
        parts.append(load_one(part_spec))
    return stack(parts, [sub.source for sub in spec.sources], spec.channel_mismatch, spec.source)


def stack(parts: list[DecodingSet], names: list[str], policy: str, label: str) -> DecodingSet:
    from ..channels import common_channels

    kinds = {p.kind for p in parts}
    if len(kinds) != 1:
        raise DataError(f"the sources hold different kinds of data ({', '.join(sorted(kinds))}).",
                        label)
    common, _ = common_channels([p.ch_names for p in parts], names, policy)
    tr = None if any(p.tr is None for p in parts) else np.concatenate([p.tr for p in parts])
    sfreq = parts[0].sfreq
    if tr is not None:   # fMRI: each sample keeps its TR, so the parts' TRs may differ
        sfreq = 1.0 / tr[0] if len(set(tr.tolist())) == 1 else None
    elif {p.sfreq for p in parts} != {parts[0].sfreq}:
        raise DataError("the sources have different sampling rates after preprocessing.", label,
                        hint="Set preprocessing.resample to one rate for all of them.")
    classes = list(dict.fromkeys(c for p in parts for c in p.class_names))
    X, y = [], []
    for p in parts:
        idx = [p.ch_names.index(c) for c in common]
        X.append(p.X[:, idx] if p.X.ndim == 3 or p.kind == "trials" else p.X)
        if p.kind == "trials":
            y.append(np.array([classes.index(p.class_names[v]) for v in p.y], dtype=np.int64))
        else:
            y.append(p.y)
    first = parts[0]
    types = [first.ch_types[first.ch_names.index(c)] for c in common] if first.ch_types else []
    return DecodingSet(
        X=np.concatenate(X), y=None if y[0] is None else np.concatenate(y), kind=first.kind,
        modality=first.modality, subject=np.concatenate([p.subject for p in parts]),
        session=np.concatenate([p.session for p in parts]),
        run=np.concatenate([p.run for p in parts]), sfreq=sfreq, ch_names=list(common),
        ch_types=types, class_names=classes if first.kind == "trials" else first.class_names,
        target_names=first.target_names, times=first.times,
        tr=tr,
        provenance={"source": label, "parts": [p.provenance for p in parts],
                    "steps": [{"name": "combine_sources", "params": {"sources": names}}]})
