"""Summaries of what a source holds, as plain dicts: of recordings opened without their
samples, and of a `DecodingSet`. Source kinds build their ``describe`` on these;
`data.info.format_description` prints them."""
from __future__ import annotations

from collections import Counter
from typing import Any

from .events import annotation_counts, natural_key, stim_counts


def summarize_recordings(source: str, recordings: list) -> dict[str, Any]:
    """Channels by type, sampling rates, duration, events, subjects / sessions / runs and one
    row per recording (``kind: "recordings"``).

    Parameters
    ----------
    source : str
        The source the recordings came from (reported as ``source``).
    recordings : list of Recording
        MNE-backed recordings; their samples need not be loaded.

    Returns
    -------
    dict
    """
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
        "subjects": distinct(row["subject"] for row in rows),
        "sessions": distinct(row["session"] for row in rows),
        "runs": distinct(row["run"] for row in rows),
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


def summarize_set(source: str, data) -> dict[str, Any]:
    """A `DecodingSet`'s summary (``kind: "set"``, its own kind as ``data_kind``, ``shape``,
    sessions, runs and features as channels).

    Parameters
    ----------
    source : str
        The source the set was loaded from.
    data : DecodingSet

    Returns
    -------
    dict
    """
    out = {"source": source, **data.summary()}
    out["data_kind"] = out.pop("kind")
    out["kind"] = "set"
    out["sessions"] = distinct(data.session)
    out["runs"] = distinct(data.run)
    if data.ch_names:
        out["channels"] = {"features": list(data.ch_names)}
    return out


def distinct(values) -> list[str]:
    """The distinct values as strings, in natural order ('2' before '10')."""
    return sorted(dict.fromkeys(str(v) for v in values), key=natural_key)
