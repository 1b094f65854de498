"""`describe(source)`: what a recording or dataset holds, as a plain dict.

Used by ``neurodeck info`` and by the GUI's data summary. Recordings are opened without
loading their samples where the format allows it.
"""
from __future__ import annotations

from typing import Any


def describe(source: str, *, data_path: str | None = None, subjects=None, sessions=None,
             runs=None, kind: str | None = None, **options: Any) -> dict[str, Any]:
    """What ``source`` holds, as a plain dict.

    Channels by type, sampling rate, duration, events with counts, subjects / sessions /
    runs; for sources that build a data set directly (tables, set demos), the set's summary.

    Parameters
    ----------
    source : str
        A file, folder or ``scheme:ARGUMENT`` name.
    data_path, subjects, sessions, runs
        As in `DatasetSpec`.
    kind : str, optional
        Read ``source`` as this source kind (default: detected).
    **options
        The kind's (validated) dataset options.

    Returns
    -------
    dict
        See `data.summaries`; ``source_kind`` names the kind that read it.
    """
    from . import sources

    return sources.describe(source, kind=kind, data_path=data_path, subjects=subjects,
                            sessions=sessions, runs=runs, **options)


# kind-specific keys printed when present (fMRI kinds: nifti, roi-series)
_EXTRA_LINES = (("n_images", "Images"), ("image_shape", "Image shape"), ("voxel_size_mm", "Voxel size (mm)"),
                ("volumes", "Volumes per image"), ("tr", "TR (s)"), ("features", "Features from"),
                ("n_features", "Features"), ("n_rois", "ROIs"), ("time_points", "Time points"), ("sites", "Sites"), ("classes_by_site", "Classes by site"), ("samples", "Samples"),
                ("warnings", "Warnings"))


def format_description(info: dict[str, Any]) -> str:
    """Human-readable text of `describe`'s dict (what ``neurodeck info`` prints)."""
    lines = [f"Source: {info['source']}"]
    if info.get("kind") != "recordings":   # a set ("set" with its data_kind, or a kind's own name for it)
        # a plugin kind's describe may leave out what it cannot say cheaply (e.g. the shape)
        shape = f", shape {info['shape']}" if info.get("shape") is not None else ""
        data_kind = info.get("data_kind", info.get("kind", "unknown"))
        lines.append(f"Data set: {data_kind} ({info.get('modality')}), "
                     f"{info.get('n_samples', '?')} samples{shape}")
        if info.get("sfreq"):
            lines.append(f"Sampling rate: {info['sfreq']:g} Hz")
        if info.get("classes"):
            lines.append("Classes: " + ", ".join(f"{k} ({v})" for k, v in info["classes"].items()))
        if info.get("targets"):
            lines.append("Targets: " + ", ".join(info["targets"]))
    else:
        lines.append(f"Recordings: {info['n_recordings']}")
        lines.append("Channels: " + ", ".join(f"{n} {t}" for t, n in info["channel_counts"].items()))
        for t, names in info["channels"].items():
            shown = ", ".join(names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "")
            lines.append(f"  {t}: {shown}")
        lines.append("Sampling rate: " + ", ".join(f"{s:g} Hz" for s in info["sfreq"]))
        lines.append(f"Duration: {info['duration_s']:g} s in all")
        lines.append("Events (annotations): " + (", ".join(
            f"{k} ({v})" for k, v in info["events"].items()) or "none"))
        if info["stim_events"]:
            lines.append("Events (stim channel codes): " + ", ".join(
                f"{k} ({v})" for k, v in info["stim_events"].items()))
    for key, label in _EXTRA_LINES:
        if info.get(key) not in (None, [], {}):
            value = info[key]
            if isinstance(value, dict):   # e.g. sites: counts, tr: TR of each site
                text = ", ".join(f"{k} ({', '.join(f'{c} {n}' for c, n in v.items()) if isinstance(v, dict) else v})"
                                 for k, v in value.items())
            elif key in ("warnings", "volumes"):
                text = "; ".join(map(str, value))
            elif key == "tr" and isinstance(value, list):   # a set's distinct TRs
                text = ", ".join(f"{v:g}" for v in value)
            else:
                text = str(value)
            lines.append(f"{label}: {text}")
    for key in ("subjects", "sessions", "runs"):
        values = info.get(key) or []
        shown = ", ".join(values[:20]) + (f", ... ({len(values)} in all)" if len(values) > 20 else "")
        lines.append(f"{key.capitalize()}: {shown}")
    return "\n".join(lines)
