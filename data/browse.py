"""Opening a source for browsing: its recordings (MNE or array) with a summary, and the
events of one recording. The GUI's data view is built on these; no Qt here."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class BrowsedSource:
    """What opening a source produced: recordings (for browsing) and a summary."""

    source: str
    recordings: list = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    data_path: str | None = None
    kind: str | None = None     # the source kind asked for (None: detected)


def open_for_browsing(source: str, data_path: str | None = None, kind: str | None = None) -> BrowsedSource:
    """Open a file, folder, BIDS root, public dataset or demo for browsing, read as source
    kind ``kind`` (None: detected). Sources that build a decoding set directly (tables, some
    demos) yield no recordings, only a summary."""
    from . import sources

    source = str(source)
    recordings = []
    if sources.is_browsable(source, kind):
        recordings = sources.open_for_browsing(source, kind, data_path=data_path)
    if not recordings:
        return BrowsedSource(source, [], sources.describe(source, kind, data_path=data_path), data_path, kind)
    return BrowsedSource(source, recordings, summarize_recordings(source, recordings), data_path, kind)


def recording_events(recording) -> list[tuple[float, str]]:
    """(time in s from the first sample, description) of a recording's events: its event
    annotations, or else its stim-channel triggers named by their code; an array
    recording's own events."""
    from .events import is_event_name, stim_events

    if recording.raw is None:
        return sorted(recording.events)
    raw = recording.raw
    out = [(float(onset) - float(raw.first_time), str(desc))
           for onset, desc in zip(raw.annotations.onset, raw.annotations.description) if is_event_name(desc)]
    if not out:
        out = [(float(s - raw.first_samp) / raw.info["sfreq"], str(int(code))) for s, _, code in stim_events(raw)]
    return sorted(out)


def _channel_types(recording) -> list[str]:
    if recording.raw is not None:
        return list(recording.raw.get_channel_types())
    return [recording.modality] * len(recording.ch_names)


def summarize_recordings(source: str, recordings: list) -> dict:
    """The summary `data.info.describe` gives, from recordings already open (the browser's)."""
    from .events import natural_key

    if not recordings:
        return {"source": source}
    channel_counts: dict[str, int] = {}
    for kind in _channel_types(recordings[0]):
        channel_counts[kind] = channel_counts.get(kind, 0) + 1
    counts: dict[str, int] = {}
    for rec in recordings:
        for _, desc in recording_events(rec):
            counts[desc] = counts.get(desc, 0) + 1
    distinct = lambda values: list(dict.fromkeys(values))  # noqa: E731
    first = recordings[0]
    return {
        "source": source,
        "kind": "recordings",
        "n_recordings": len(recordings),
        "channel_counts": channel_counts,
        "sfreq": sorted({r.sfreq for r in recordings}),
        "duration_s": round(float(sum(r.n_times / r.sfreq for r in recordings)), 3),
        "events": dict(sorted(counts.items(), key=lambda kv: natural_key(kv[0]))),
        "subjects": distinct(r.subject for r in recordings),
        "sessions": distinct(r.session for r in recordings),
        "runs": distinct(r.run for r in recordings),
        "bads": list(first.raw.info["bads"]) if first.raw is not None else [],
    }
