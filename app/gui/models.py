"""Plain-Python models behind the GUI (no Qt): what is loaded, which decoder with which
parameters, what the current training run reported. Views subscribe; tests drive these
directly.
"""
from __future__ import annotations

import csv
import math
import time
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from data.errors import InputError

Listener = Callable[[str, dict], None]


class Observable:
    """Minimal subject: ``subscribe(fn)``; ``fn(change, info)`` is called on every change."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def notify(self, change: str, **info: Any) -> None:
        for listener in list(self._listeners):
            listener(change, info)


# ---------------------------------------------------------------------------------- data
# The data layer owns opening sources for browsing (data/browse.py); these names stay for
# the GUI code.
from data.browse import BrowsedSource as SourceContent  # noqa: E402
from data.browse import open_for_browsing as open_source  # noqa: E402
from data.browse import recording_events as events_of  # noqa: E402
from data.browse import summarize_recordings as summarize  # noqa: E402


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
        if dataset.get("source") == source and not dataset.get("data_path"):
            return {k: v for k, v in dataset.items() if k != "source"}
    return {}


def fold_key(value) -> int | str:
    """Folds are numbered; the final fit on all data reports fold "final"."""
    if value is None:
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)


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
        try:
            self.spec = DatasetSpec(source=content.source, data_path=content.data_path,
                                    **suggested_spec(content.source))
        except ValueError:
            self.spec = DatasetSpec(source=content.source, data_path=content.data_path)
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


# ------------------------------------------------------------------------------ decoder
@dataclass
class FieldInfo:
    """One decoder parameter as the form needs it."""

    name: str
    kind: str                 # int | float | bool | choice | text
    default: Any
    optional: bool = False
    choices: list = field(default_factory=list)
    minimum: float | None = None
    maximum: float | None = None
    exclusive_min: bool = False
    exclusive_max: bool = False
    description: str = ""


def describe_params(params_model) -> list[FieldInfo]:
    """The fields of a decoder's pydantic ``Params`` (type, default, range, description)."""
    out = []
    for name, info in params_model.model_fields.items():
        annotation = info.annotation
        optional = False
        args = typing.get_args(annotation)
        if typing.get_origin(annotation) in (typing.Union, types.UnionType):
            non_none = [a for a in args if a is not type(None)]
            optional = len(non_none) < len(args)
            annotation = non_none[0] if len(non_none) == 1 else annotation
        kind, choices = "text", []
        if typing.get_origin(annotation) is typing.Literal:
            kind, choices = "choice", list(typing.get_args(annotation))
        elif annotation is bool:
            kind = "bool"
        elif annotation is int:
            kind = "int"
        elif annotation is float:
            kind = "float"
        fi = FieldInfo(name, kind, info.get_default(call_default_factory=True), optional, choices,
                       description=info.description or "")
        for meta in info.metadata:
            for attr, target, exclusive in (("ge", "minimum", False), ("gt", "minimum", True),
                                            ("le", "maximum", False), ("lt", "maximum", True)):
                value = getattr(meta, attr, None)
                if value is not None:
                    setattr(fi, target, float(value))
                    setattr(fi, "exclusive_min" if target == "minimum" else "exclusive_max", exclusive)
        out.append(fi)
    return out


DEFAULT_PROTOCOLS = ["kfold", "loso", "cross-session", "finetune", "holdout"]


def protocol_choices() -> list[str]:
    """Evaluation protocols the experiment schema accepts (read from it, not hard-coded)."""
    try:
        from app import experiment
    except ImportError:
        return DEFAULT_PROTOCOLS
    for model in vars(experiment).values():
        fields = getattr(model, "model_fields", None)
        if isinstance(fields, dict) and "protocol" in fields:
            args = typing.get_args(fields["protocol"].annotation)
            if args:
                return [str(a) for a in args]
    return DEFAULT_PROTOCOLS


class DecoderModel(Observable):
    """The chosen decoder, its parameters, the evaluation protocol and the device.

    Changes: "decoder", "params", "evaluation", "device".
    """

    def __init__(self, entries: list | None = None) -> None:
        super().__init__()
        self.entries: list = list(entries or [])  # registry entries; `load_entries` fills them
        self.name: str | None = None
        self.preset: str | None = None
        self.fields: list[FieldInfo] = []
        self.values: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self.protocol = "kfold"
        self.evaluation: dict[str, Any] = {}   # protocol options the user set (n_folds, within ...)
        self.seed = 0
        self.device = "auto"

    def load_entries(self) -> None:
        """Read the decoder registry (imports scikit-learn: call it off the GUI thread)."""
        import decoders

        self.set_entries(decoders.available())

    def set_entries(self, entries: list) -> None:
        self.entries = list(entries)
        self.notify("entries")

    @property
    def entry(self):
        return next((e for e in self.entries if e.name == self.name), None)

    @property
    def decoder_class(self):
        import decoders

        return decoders.get(self.name) if self.name else None

    def choose(self, name: str, preset: str | None = None) -> None:
        import decoders

        cls = decoders.get(name)  # raises ParameterError for an unknown name
        self.name = name
        self.fields = describe_params(cls.Params)
        self.preset = None
        self.values = {f.name: f.default for f in self.fields}
        self.errors = {}
        if preset is None and cls.presets:
            preset = next(iter(cls.presets))
        if preset:
            self.apply_preset(preset, notify=False)
        self.notify("decoder")

    def presets(self) -> list[str]:
        cls = self.decoder_class
        return list(cls.presets) if cls else []

    def apply_preset(self, preset: str | None, notify: bool = True) -> None:
        cls = self.decoder_class
        base = {f.name: f.default for f in self.fields}
        if preset:
            if preset not in cls.presets:
                raise InputError(f"{self.name}: unknown preset '{preset}'.")
            base.update(cls.presets[preset])
        self.preset = preset
        self.values = base
        self.errors = {}
        if notify:
            self.notify("params", preset=preset)

    def set_param(self, key: str, value: Any) -> bool:
        """Set one parameter; returns False (and records ``errors[key]``) if invalid."""
        from pydantic import ValidationError

        cls = self.decoder_class
        trial = {**self.values, key: value}
        try:
            validated = cls.Params(**trial)
        except ValidationError as exc:
            mine = [e for e in exc.errors() if e["loc"] and e["loc"][0] == key] or exc.errors()
            self.errors[key] = mine[0]["msg"]
            self.notify("params", key=key, error=self.errors[key])
            return False
        self.errors.pop(key, None)
        self.values[key] = getattr(validated, key)
        self.notify("params", key=key)
        return True

    def overrides(self) -> dict[str, Any]:
        """Parameters that differ from the chosen preset (or the defaults)."""
        cls = self.decoder_class
        base = {f.name: f.default for f in self.fields}
        if self.preset:
            base.update(cls.presets[self.preset])
        return {k: v for k, v in self.values.items() if base.get(k) != v}

    def evaluation_fields(self) -> list[FieldInfo]:
        """The options the chosen protocol reads, from the experiment schema."""
        from app.experiment import PROTOCOL_OPTIONS, EvaluationConfig

        allowed = PROTOCOL_OPTIONS.get(self.protocol, set())
        return [f for f in describe_params(EvaluationConfig) if f.name in allowed]

    def evaluation_value(self, key: str) -> Any:
        if key in self.evaluation:
            return self.evaluation[key]
        return next((f.default for f in self.evaluation_fields() if f.name == key), None)

    def set_evaluation(self, protocol: str | None = None, seed: int | None = None, **options: Any) -> None:
        """Choose the protocol and set its options; raises `InputError` naming a bad one."""
        from pydantic import ValidationError

        from app.experiment import EvaluationConfig

        protocol = protocol or self.protocol
        merged = {**self.evaluation, **options}
        trial = {"protocol": protocol, **{k: v for k, v in merged.items()
                                          if k in {f.name for f in self._fields_for(protocol)}}}
        try:
            EvaluationConfig.model_validate(trial)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "evaluation"
            raise InputError(f"evaluation setting '{where}': {err['msg']}.") from None
        self.protocol, self.evaluation = protocol, merged
        if seed is not None:
            self.seed = int(seed)
        self.notify("evaluation")

    def _fields_for(self, protocol: str) -> list[FieldInfo]:
        previous, self.protocol = self.protocol, protocol
        try:
            return self.evaluation_fields()
        finally:
            self.protocol = previous

    def evaluation_config(self) -> dict[str, Any]:
        names = {f.name for f in self.evaluation_fields()}
        return {"protocol": self.protocol,
                **{k: _plain_value(v) for k, v in self.evaluation.items() if k in names}}

    def set_device(self, device: str) -> None:
        self.device = device
        self.notify("device")

    def experiment_config(self, dataset_spec, runs_dir: str | Path, name: str | None = None) -> dict:
        """The experiment (same shape as an experiment file) that the Train button runs."""
        if self.name is None:
            raise InputError("no decoder chosen yet: pick one in the Decoder view.")
        if self.errors:
            key, msg = next(iter(self.errors.items()))
            raise InputError(f"decoder parameter '{key}': {msg}.")
        params = self.overrides()
        if any(f.name == "device" for f in self.fields) and self.device != "auto":
            params["device"] = self.device  # the decoder's own device parameter follows the selector
        decoder: dict[str, Any] = {"name": self.name, "params": _plain(params)}
        if self.preset:
            decoder["preset"] = self.preset
        return {
            "name": name or f"{self.name}-gui",
            "dataset": dataset_spec.model_dump(mode="json"),
            "decoder": decoder,
            "training": {"device": self.device, "seed": self.seed},
            "evaluation": self.evaluation_config(),
            "output": {"runs_dir": str(runs_dir)},
        }


def _plain_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _plain(values: dict) -> dict:
    return {k: _plain_value(v) for k, v in values.items()}


# ----------------------------------------------------------------------------- training
class TrainingModel(Observable):
    """What the running (or last) training reported, built from `decoders.events.Event`s.

    Changes: "reset", "state", "epoch", "progress", "log", "fold_end", "reconstruction",
    "run_end".
    """

    def __init__(self) -> None:
        super().__init__()
        self.reset()

    def reset(self) -> None:
        self.state = "idle"           # idle | running | finished | failed | cancelled
        self.history: dict[int | str, list[dict]] = {}
        self.fold_metrics: dict[int | str, dict] = {}
        self.confusion: dict[int | str, list[list[float]]] = {}
        self.log: list[str] = []
        self.progress = 0.0
        self.eta_s: float | None = None
        self.progress_message = ""
        self.reconstructions: dict[str, dict] = {}
        self.summary: dict = {}
        self.run_dir: str | None = None
        self.error: str | None = None
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.class_names: list[str] = []
        self.notify("reset")

    @property
    def running(self) -> bool:
        return self.state == "running"

    def start(self, class_names: list[str] | None = None) -> None:
        self.reset()
        self.class_names = list(class_names or [])
        self.state = "running"
        self.started_at = time.monotonic()
        self.notify("state")

    def apply(self, event) -> None:
        """Fold one training event into the model."""
        kind, data = event.kind, dict(event.data)
        fold = fold_key(data.get("fold"))
        if kind == "epoch":
            self.history.setdefault(fold, []).append(data)
            self.notify("epoch", fold=fold, point=data)
        elif kind == "progress":
            self.progress = float(data.get("fraction", self.progress))
            self.eta_s = data.get("eta_s")
            self.progress_message = str(data.get("message", ""))
            self.notify("progress")
        elif kind == "log":
            self.add_log(str(data.get("message", "")))
        elif kind == "fold_end":
            self.fold_metrics[fold] = data.get("metrics", {})
            if data.get("confusion") is not None:
                self.confusion[fold] = data["confusion"]
            self.notify("fold_end", fold=fold)
        elif kind == "reconstruction":
            self.reconstructions[str(data.get("view"))] = data
            self.notify("reconstruction", view=data.get("view"))
        elif kind == "run_end":
            self.summary = data.get("summary", {})
            self.run_dir = data.get("run_dir")
            self.notify("run_end")

    def add_log(self, message: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        self.log.append(f"{stamp}  {message}")
        self.notify("log", line=self.log[-1])

    def finish(self, run_dir: str | None = None, summary: dict | None = None) -> None:
        self.state = "finished"
        self.progress = 1.0
        self.eta_s = 0.0
        self.run_dir = run_dir or self.run_dir
        self.summary = summary or self.summary
        self.finished_at = time.monotonic()
        self.notify("state")

    def fail(self, message: str) -> None:
        self.state = "failed"
        self.error = message
        self.finished_at = time.monotonic()
        self.add_log(f"failed: {message}")
        self.notify("state")

    def cancel(self) -> None:
        self.state = "cancelled"
        self.finished_at = time.monotonic()
        self.add_log("cancelled")
        self.notify("state")

    def elapsed_s(self) -> float:
        if self.started_at is None:
            return 0.0
        end = self.finished_at if self.finished_at is not None else time.monotonic()
        return end - self.started_at


# ------------------------------------------------------------------------------ results
def read_history(run_dir: str | Path) -> dict[int | str, list[dict]]:
    """Per-fold epoch rows of a run's history.csv (numbers parsed; empty cells dropped)."""
    path = Path(run_dir) / "history.csv"
    out: dict[int, list[dict]] = {}
    if not path.exists():
        return out
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            parsed = {}
            for key, value in row.items():
                if key is None or value in (None, ""):
                    continue
                try:
                    parsed[key] = float(value)
                except ValueError:
                    parsed[key] = value
            out.setdefault(fold_key(parsed.get("fold")), []).append(parsed)
    return out


def format_eta(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = max(0, int(round(seconds)))
    if seconds >= 3600:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds}s"


def list_devices() -> list[tuple[str, str]]:
    """(value, label) of every device torch can use, ``auto`` first."""
    from decoders.training import available_devices, device_label

    return [(name, device_label(name)) for name in available_devices()]
