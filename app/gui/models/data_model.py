"""`DataModel`: the chosen source, its recordings and the dataset settings the Data view edits."""
from __future__ import annotations

from typing import Any

from data.browse import BrowsedSource as SourceContent
from data.browse import open_for_browsing as open_source
from data.browse import recording_events as events_of
from data.browse import summarize_recordings as summarize
from data.errors import InputError

from .helpers import Observable

__all__ = ["DataModel", "SourceContent", "estimate_trial_counts", "events_of", "open_source",
           "suggested_spec", "summarize"]


def suggested_spec(source: str) -> dict:
    """Dataset settings of a shipped example experiment on the same source, if there is one
    (so a demo opens with the window and band it is meant to be used with)."""
    import yaml

    import resources

    for path in resources.experiments():
        try:
            dataset = (yaml.safe_load(path.read_text()) or {}).get("dataset") or {}
        except (OSError, yaml.YAMLError):
            continue
        if _same_source(dataset.get("source"), source) and not dataset.get("data_path"):
            return {k: v for k, v in dataset.items() if k != "source"}
    return {}


def _same_source(named, source: str) -> bool:
    """True when an experiment's ``dataset.source`` names ``source`` (paths compared resolved)."""
    from pathlib import Path

    from data.sources import names_a_path

    if not isinstance(named, str):
        return False
    if named == source:
        return True
    return names_a_path(named) and names_a_path(source) and Path(named).resolve() == Path(source).resolve()


def estimate_trial_counts(recordings: list, events: dict[str, str] | None,
                          window: tuple[float, float]) -> dict[str, int]:
    """Trials per class the spec would give before amplitude rejection: events that are
    mapped to a class and whose window lies inside the recording."""
    counts: dict[str, int] = {}
    tmin, tmax = window
    for rec in recordings:
        duration = rec.raw.n_times / rec.raw.info["sfreq"]
        for onset, desc in events_of(rec):
            label = desc if events is None else events.get(desc)
            if not label:
                continue
            if onset + tmin >= 0 and onset + tmax <= duration:
                counts[label] = counts.get(label, 0) + 1
            else:
                counts.setdefault(label, 0)
    return dict(sorted(counts.items()))


class DataModel(Observable):
    """The chosen source, its recordings and the `DatasetSpec` the data view edits.

    Changes: "source", "spec", "trials", "bads".
    """

    def __init__(self) -> None:
        super().__init__()
        self.content: SourceContent | None = None
        self.spec = None  # data.spec.DatasetSpec once a source is chosen
        self.bads: set[str] = set()
        self.trials = None  # DecodingSet of the current spec, once loaded
        self.trial_counts: dict[str, int] = {}

    @property
    def source(self) -> str | None:
        return self.content.source if self.content else None

    @property
    def recordings(self) -> list:
        return self.content.recordings if self.content else []

    def set_content(self, content: SourceContent) -> None:
        from data.spec import DatasetSpec

        self.content = content
        chosen = {"kind": content.kind} if getattr(content, "kind", None) else {}
        try:
            self.spec = DatasetSpec(source=content.source, data_path=content.data_path,
                                    **{**suggested_spec(content.source), **chosen})
        except ValueError:
            self.spec = DatasetSpec(source=content.source, data_path=content.data_path, **chosen)
        self.bads = set(content.summary.get("bads", []))
        self.trials = None
        self._recount()
        self.notify("source")

    def event_names(self) -> list[str]:
        return list(self.content.summary.get("events", {})) if self.content else []

    def update_spec(self, **changes: Any) -> None:
        """Change dataset settings (``window``, ``events``, ``preprocessing`` keys such as
        ``band``, ``notch``, ``resample`` ...). Raises `InputError` naming a bad setting."""
        from pydantic import ValidationError

        from data.spec import DatasetSpec, Preprocessing

        if self.spec is None:
            raise InputError("no data chosen yet: open a file or pick a demo first.")
        current = self.spec.model_dump()
        pre_keys = set(Preprocessing.model_fields)
        for key, value in changes.items():
            if key in pre_keys:
                current["preprocessing"][key] = value
            else:
                current[key] = value
        try:
            self.spec = DatasetSpec.model_validate(current)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise InputError(f"dataset setting '{where}': {err['msg']}.") from None
        self.trials = None
        self._recount()
        self.notify("spec")

    def toggle_bad(self, channel: str) -> None:
        self.bads.symmetric_difference_update({channel})
        self.trials = None
        self.notify("bads", channel=channel)

    def run_spec(self):
        """The spec to train on: the edited one, with bad channels left out of ``picks``."""
        if self.spec is None:
            raise InputError("no data chosen yet: open a file or pick a demo first.")
        if not self.bads or not self.recordings:
            return self.spec
        raw = self.recordings[0].raw
        picks = self.spec.preprocessing.picks
        if isinstance(picks, str):
            data_types = {"eeg", "meg", "mag", "grad", "seeg", "ecog", "dbs"}
            wanted = [n for n, t in zip(raw.ch_names, raw.get_channel_types())
                      if picks in (t, n) or picks == "data" and t in data_types]
        else:
            wanted = list(picks)
        keep = [name for name in wanted if name not in self.bads]
        spec = self.spec.model_copy(deep=True)
        spec.preprocessing.picks = keep
        return spec

    def set_trials(self, trials) -> None:
        self.trials = trials
        self.trial_counts = {name: int((trials.y == i).sum()) for i, name in enumerate(trials.class_names)} \
            if trials is not None and trials.kind == "trials" and trials.y is not None else self.trial_counts
        self.notify("trials")

    def _recount(self) -> None:
        if self.spec is not None and self.recordings:
            wanted = {str(s) for s in self.spec.subjects} if self.spec.subjects else None
            recordings = [r for r in self.recordings if wanted is None or str(r.subject) in wanted]
            self.trial_counts = estimate_trial_counts(recordings, self.spec.events, tuple(self.spec.window))
        else:
            self.trial_counts = {}
