"""The Data view's summary as a few readable lines: a source's summary (`data.info.describe`
keys) and, once a set is loaded, what the set itself says (class counts, voxels per subject,
split sizes, targets). Plain text in an HTML table; no dict or list is ever shown raw."""
from __future__ import annotations

from html import escape
from typing import Any

MAX_LISTED = 12   # subjects, sessions ... listed before "…"

KIND_NAMES = {"trials": "trials: labelled samples", "continuous": "continuous: one sample per time bin",
              "volumes": "volumes: voxel vectors with the stimuli shown"}


def readable(value: Any) -> str:
    """A value as people write it: ``{'a': 1}`` as ``a 1 · …``, lists comma separated."""
    if isinstance(value, dict):
        return " · ".join(f"{k} {readable(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        shown = ", ".join(readable(v) for v in value[:MAX_LISTED])
        return shown + (f" … ({len(value)} in all)" if len(value) > MAX_LISTED else "")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _listed(values: list) -> str:
    return f"{len(values)}: " + readable(list(values)) if len(values) <= MAX_LISTED else \
        f"{len(values)}: " + ", ".join(map(str, values[:MAX_LISTED])) + " …"


def source_rows(summary: dict) -> list[tuple[str, str]]:
    """Rows for a source's summary (recordings or a set)."""
    rows = []
    channels = summary.get("channel_counts") or {}
    if channels:
        rows.append(("channels", ", ".join(f"{n} {kind}" for kind, n in channels.items())))
    sfreq = summary.get("sfreq")
    if sfreq:
        rows.append(("sampling rate", ", ".join(f"{s:g} Hz" for s in (sfreq if isinstance(sfreq, list) else [sfreq]))))
    if summary.get("duration_s"):
        minutes = summary["duration_s"] / 60
        rows.append(("duration", f"{minutes:.1f} min in {summary.get('n_recordings', 1)} recording(s)"))
    events = summary.get("events") or {}
    if events:
        rows.append(("events", ", ".join(f"{k} ×{v}" for k, v in events.items())))
    if summary.get("kind") == "set":
        if summary.get("modality"):
            rows.append(("modality", str(summary["modality"])))
        if summary.get("data_kind"):
            rows.append(("set", KIND_NAMES.get(summary["data_kind"], str(summary["data_kind"]))))
        if summary.get("shape"):
            rows.append(("shape", " × ".join(map(str, summary["shape"]))))
    for key in ("subjects", "sessions", "runs"):
        values = summary.get(key)
        if values:
            rows.append((key, _listed(list(values))))
    if summary.get("classes"):
        rows.append(("classes", readable(summary["classes"])))
    if summary.get("targets"):
        rows.append(("targets", readable(summary["targets"])))
    if summary.get("tr"):
        rows.append(("TR", readable(summary["tr"]) + " s"))
    if summary.get("description"):
        rows.append(("description", str(summary["description"])))
    if not rows:
        rows = [(k, readable(v)) for k, v in summary.items() if k != "source"][:10]
    return rows


def set_rows(data) -> list[tuple[str, str]]:
    """Rows a loaded `DecodingSet` adds: samples, class counts, voxels per subject, splits."""
    import numpy as np

    from data.fmri.views import has_stimulus_images, split_sizes, voxels_per_subject

    rows = [("samples", str(len(data))), ("set", KIND_NAMES.get(data.kind, data.kind))]
    if data.kind == "trials" and data.y is not None and data.class_names:
        counts = np.bincount(np.asarray(data.y).astype(int), minlength=len(data.class_names))
        rows.append(("classes", " · ".join(f"{name} {int(n)}" for name, n in zip(data.class_names, counts))))
    if data.modality == "fmri":   # NIfTI or stimulus-pair voxels
        voxels = voxels_per_subject(data)   # subject names may be numbers: "1: 530", not "1 530"
        rows.append(("voxels per subject" if len(voxels) > 1 else "voxels",
                     " · ".join(f"{name}: {n}" for name, n in voxels.items()) if len(voxels) > 1
                     else str(next(iter(voxels.values()), 0))))
    if has_stimulus_images(data):
        rows.append(("samples per split", readable(split_sizes(data))))
        rows.append(("stimulus", " × ".join(map(str, np.shape(data.stimuli)[1:])) + " images"))
    if data.kind == "continuous":
        rows.append(("features", str(int(np.prod(np.shape(data.X)[1:])))))
        if data.target_names:
            rows.append(("targets", readable(list(data.target_names))))
    if data.paradigm:
        rows.append(("paradigm", data.paradigm))
    return rows


def summary_html(summary: dict, data=None) -> str:
    """The summary as an HTML table; a loaded set's own rows replace the source's guesses."""
    if not summary and data is None:
        return ""
    rows = dict(source_rows(summary or {}))
    if data is not None:
        for key in ("classes", "targets"):
            rows.pop(key, None)
        rows.update(set_rows(data))
    cells = "".join(f"<tr><td style='padding-right:10px'><b>{escape(k)}</b></td><td>{escape(v)}</td></tr>"
                    for k, v in rows.items())
    return f"<table>{cells}</table>"
