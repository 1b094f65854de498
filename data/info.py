"""`describe(source)`: what a recording or dataset holds, as a plain dict.

Used by ``neurodeck info`` and by the GUI's data summary. Recordings are opened without
loading their samples where the format allows it.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from .events import annotation_counts, natural_key, stim_counts


def describe(source: str, *, data_path: str | None = None, subjects=None, sessions=None,
             runs=None, kind: str | None = None, **options: Any) -> dict[str, Any]:
    """Channels by type, sampling rate, duration, events with counts, subjects/sessions/runs;
    for sources that build a data set directly (tables, set demos), the set's summary.
    The source's kind (`data.sources`) decides how it is read; ``options`` are the kind's
    (validated) dataset options."""
    from . import sources

    return sources.describe(source, kind=kind, data_path=data_path, subjects=subjects,
                            sessions=sessions, runs=runs, **options)


def describe_recordings(source: str, *, data_path: str | None = None, subjects=None,
                        sessions=None, runs=None, **_ignored) -> dict[str, Any]:
    """`describe` of a source made of recordings (files opened without their samples)."""
    from .readers import open_source

    recordings = open_source(source, data_path=data_path, subjects=subjects, sessions=sessions,
                             runs=runs, preload=False)
    rows = [_describe_raw(r) for r in recordings]
    channels: dict[str, list[str]] = {}
    for r in recordings:
        for ch, t in zip(r.raw.ch_names, r.raw.get_channel_types()):
            if ch not in channels.setdefault(t, []):
                channels[t].append(ch)
    events: Counter = Counter()
    stim: Counter = Counter()
    for row in rows:
        events.update(row["annotations"])
        stim.update(row["stim_events"])
    order = lambda c: dict(sorted(c.items(), key=lambda kv: natural_key(kv[0])))  # noqa: E731
    return {
        "source": source,
        "kind": "recordings",
        "n_recordings": len(rows),
        "channels": channels,
        "channel_counts": {t: len(v) for t, v in channels.items()},
        "sfreq": sorted({row["sfreq"] for row in rows}),
        "duration_s": round(sum(row["duration_s"] for row in rows), 3),
        "events": order(events),
        "stim_events": order(stim),
        "subjects": _distinct(row["subject"] for row in rows),
        "sessions": _distinct(row["session"] for row in rows),
        "runs": _distinct(row["run"] for row in rows),
        "recordings": rows,
    }


def _describe_raw(rec) -> dict[str, Any]:
    raw = rec.raw
    sfreq = float(raw.info["sfreq"])
    return {
        "path": rec.path, "subject": rec.subject, "session": rec.session, "run": rec.run,
        "sfreq": sfreq, "n_channels": len(raw.ch_names),
        "channel_counts": dict(Counter(raw.get_channel_types())),
        "bads": list(raw.info["bads"]),
        "n_samples": int(raw.n_times), "duration_s": round(raw.n_times / sfreq, 3),
        "annotations": annotation_counts(raw), "stim_events": stim_counts(raw),
        "description": raw.info.get("description") or "",
    }


def describe_set(source, data_path=None, subjects=None) -> dict[str, Any]:
    """`describe` of a source that builds a `DecodingSet` directly."""
    return _describe_set(source, data_path, subjects)


def _describe_set(source, data_path, subjects) -> dict[str, Any]:
    from .loading import load_dataset
    from .spec import DatasetSpec

    data = load_dataset(DatasetSpec(source=source, data_path=data_path, subjects=subjects,
                                    cache=False))
    out = {"source": source, **data.summary()}
    out["data_kind"] = out.pop("kind")
    out["kind"] = "set"
    out["sessions"] = _distinct(data.session)
    out["runs"] = _distinct(data.run)
    if data.ch_names:
        out["channels"] = {"features": list(data.ch_names)}
    return out


def _distinct(values) -> list[str]:
    return sorted(dict.fromkeys(str(v) for v in values), key=natural_key)


# kind-specific keys printed when present (fMRI kinds: nifti, roi-series)
_EXTRA_LINES = (("n_images", "Images"), ("image_shape", "Image shape"), ("voxel_size_mm", "Voxel size (mm)"),
                ("volumes", "Volumes per image"), ("tr", "TR (s)"), ("features", "Features from"),
                ("n_features", "Features"), ("n_rois", "ROIs"), ("time_points", "Time points"), ("sites", "Sites"), ("classes_by_site", "Classes by site"), ("samples", "Samples"),
                ("warnings", "Warnings"))


def format_description(info: dict[str, Any]) -> str:
    """Human-readable text of `describe`'s dict (what ``neurodeck info`` prints)."""
    lines = [f"Source: {info['source']}"]
    if info["kind"] == "set":
        lines.append(f"Data set: {info['data_kind']} ({info.get('modality')}), "
                     f"{info['n_samples']} samples, shape {info['shape']}")
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
