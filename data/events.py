"""Events of a recording: from its annotations, or from its stim (trigger) channel.

Everything downstream works on annotations, which survive channel picking and
resampling; stim-channel events are turned into annotations named by their code
(``"1"``, ``"32"``, ...) when they are the events asked for.
"""
from __future__ import annotations

import re
from collections import Counter

from .errors import NoEventsError, TooFewClassesError, UnknownEventError

IGNORED_PREFIXES = ("bad", "edge")  # MNE's markers of bad segments and recording edges


def is_event_name(description: str) -> bool:
    """Annotations that mark bad segments or edges are not events."""
    return not str(description).lower().startswith(IGNORED_PREFIXES)


def annotation_counts(raw) -> dict[str, int]:
    """Event annotations and how many of each (bad/edge markers left out)."""
    counts = Counter(d for d in raw.annotations.description if is_event_name(d))
    return dict(sorted(counts.items(), key=lambda kv: natural_key(kv[0])))


def stim_events(raw):
    """Events found on the stim channel(s): an (n, 3) array; empty if there is none."""
    import mne
    import numpy as np

    if len(mne.pick_types(raw.info, stim=True, exclude=[])) == 0:
        return np.zeros((0, 3), dtype=int)
    try:
        return mne.find_events(raw, shortest_event=1, consecutive=True, verbose="error")
    except Exception:  # noqa: BLE001 - a stim channel MNE cannot parse holds no usable events
        return np.zeros((0, 3), dtype=int)


def stim_counts(raw) -> dict[str, int]:
    counts = Counter(str(int(code)) for code in stim_events(raw)[:, 2])
    return dict(sorted(counts.items(), key=lambda kv: natural_key(kv[0])))


def prepare_events(raw, wanted: set[str] | None, path: str) -> dict[str, int]:
    """Make the events that will be used available as annotations; return their counts.

    With ``wanted`` None, the recording's event annotations are used, or its stim-channel
    events when it has no event annotations. With ``wanted`` names, stim-channel codes are
    added for any name found there but not among the annotations.
    Raises `NoEventsError` (naming ``path``) when the recording has no events at all.
    """
    counts = annotation_counts(raw)
    missing = set() if wanted is None else wanted - set(counts)
    if (wanted is None and not counts) or missing:
        events = stim_events(raw)
        codes = [str(int(c)) for c in events[:, 2]]
        use = [i for i, c in enumerate(codes) if (wanted is None or c in missing)]
        if use:
            _add_annotations(raw, events[use], [codes[i] for i in use])
            counts = annotation_counts(raw)
    if not counts:
        raise NoEventsError("no events found: the recording has neither event annotations nor "
                            "a stim channel with triggers.", path,
                            hint="Trials need events; check the file or use a continuous loader.")
    return counts


def _add_annotations(raw, events, names) -> None:
    import mne

    onsets = (events[:, 0] - raw.first_samp) / raw.info["sfreq"]
    raw.set_annotations(raw.annotations + mne.Annotations(
        onsets, [0.0] * len(onsets), names, orig_time=raw.annotations.orig_time))


def class_mapping(events: dict[str, str] | None, available: dict[str, int],
                  source: str) -> tuple[dict[str, int], list[str]]:
    """Event name -> class index, and the class names in order.

    ``events`` None: every distinct event name is a class (natural sort order).
    ``available`` holds the event names found in the recordings and their counts.
    """
    if events is None:
        class_names = sorted(available, key=natural_key)
        mapping = {name: i for i, name in enumerate(class_names)}
    else:
        absent = [name for name in events if name not in available]
        if absent:
            listing = ", ".join(f"{k} ({v})" for k, v in available.items()) or "none"
            raise UnknownEventError(
                f"event(s) {', '.join(map(repr, absent))} not found in the recordings.", source,
                hint=f"Events present (count): {listing}.")
        class_names = list(dict.fromkeys(events.values()))
        mapping = {name: class_names.index(cls) for name, cls in events.items()}
    if len(class_names) < 2:
        raise TooFewClassesError(
            f"decoding needs at least two classes, but the events give {len(class_names)} "
            f"({', '.join(class_names) or 'none'}).", source,
            hint="Map at least two event names to different classes in `events`.")
    return mapping, class_names


def natural_key(text: str):
    """Sort '2' before '10' and names alphabetically."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t.lower())
            for t in re.split(r"(\d+)", str(text)) if t]
