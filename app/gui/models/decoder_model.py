"""`DecoderModel`: the chosen decoder, its parameters, the evaluation protocol and the device;
`describe_params` turns a pydantic parameter model into the fields a form shows."""
from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data.errors import InputError

from .helpers import Observable

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


class DecoderModel(Observable):
    """The chosen decoder, its parameters, the evaluation protocol and the device, and how
    each registered decoder and protocol fits the data in front of the user
    (`decoders.compatibility`).

    Changes: "decoder", "params", "evaluation", "device", "compatibility".
    """

    def __init__(self, entries: list | None = None) -> None:
        super().__init__()
        self.entries: list = list(entries or [])  # registry entries; `load_entries` fills them
        self.name: str | None = None
        self.preset: str | None = None
        self.fields: list[FieldInfo] = []
        self.values: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self.protocol = _first_protocol()
        self.evaluation: dict[str, Any] = {}   # protocol options the user set (n_folds, within ...)
        self.seed = 0
        self.device = "auto"
        self.data = None                      # DecodingSet or DataFacts the lists are ranked for
        self.decoder_reasons: dict[str, list] = {}    # name -> [Reason]; empty list: fits
        self.decoder_order: list[str] = []            # names, the ones that fit first
        self.protocol_reasons: dict[str, list] = {}

    def load_entries(self) -> None:
        """Read the decoder registry (imports scikit-learn: call it off the GUI thread)."""
        import decoders

        self.set_entries(decoders.available(load=True))

    def set_entries(self, entries: list) -> None:
        self.entries = list(entries)
        self._rank()
        self.notify("entries")

    # ------------------------------------------------------------------ compatibility
    def set_data(self, data, follow: bool = True) -> None:
        """Rank the decoders and protocols for ``data`` (a `DecodingSet`, `DataFacts` or
        None) and, with ``follow``, pick the suggestion for it unless the current decoder and
        protocol still fit (`follow_data`)."""
        self.data = data
        self._rank()
        if follow and data is not None and self.entries:
            self.follow_data()
        self.notify("compatibility")

    def _rank(self) -> None:
        from decoders.compatibility import ranked_decoders

        if self.data is None or not self.entries:
            self.decoder_reasons = {}
            self.decoder_order = [e.name for e in self.entries]
        else:
            ranked = ranked_decoders(self.data, self.entries)
            self.decoder_reasons = {e.name: reasons for e, reasons in ranked}
            self.decoder_order = [e.name for e, _ in ranked]
        self._rank_protocols()

    def _rank_protocols(self) -> None:
        from decoders.compatibility import protocol_compatibility

        self.protocol_reasons = {}
        if self.data is None:
            return
        for chosen in self.protocols():
            own = {k: v for k, v in self.evaluation.items() if k in chosen.Options.model_fields}
            try:
                self.protocol_reasons[chosen.name] = protocol_compatibility(
                    chosen, self.data, own, self.name if self.name in self.decoder_reasons else None)
            except InputError as exc:
                from decoders.compatibility import Reason

                self.protocol_reasons[chosen.name] = [Reason(str(exc))]

    def blocking_reasons(self, name: str | None = None) -> list:
        """Why decoder ``name`` (default: the chosen one) cannot run on the data."""
        return [r for r in self.decoder_reasons.get(name or self.name or "", []) if r.blocking]

    def fits(self) -> bool:
        """Whether the chosen decoder and protocol can run on the data (as far as known)."""
        return self.name is not None and not self.blocking_reasons() and \
            not self.protocol_reasons.get(self.protocol)

    def follow_data(self) -> bool:
        """Pick `decoders.compatibility.suggest`'s decoder and protocol for the data unless
        the current choice still fits; returns whether anything changed."""
        from decoders.compatibility import suggest

        if self.data is None or self.fits():
            return False
        advice = suggest(self.data, self.entries)
        changed = False
        if advice.decoder and (self.name is None or self.blocking_reasons()):
            self.choose(advice.decoder)
            changed = True
        self._rank_protocols()
        if advice.protocol and self.protocol_reasons.get(self.protocol):
            self.evaluation = {}
            self.set_evaluation(protocol=advice.protocol, **advice.options)
            changed = True
        return changed

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
        self._rank_protocols()
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
        """The options the chosen protocol reads, from its own schema (`decoders.protocols`)."""
        from decoders.protocols import protocol

        return describe_params(protocol(self.protocol).Options)

    @staticmethod
    def protocols(input_kind: str | None = None) -> list:
        """The registered protocols (plugins included), optionally only those for an input kind."""
        from decoders.protocols import available_protocols

        return available_protocols(input_kind)

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
        self._rank_protocols()
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


def _first_protocol() -> str:
    """The registry's first protocol: the default before any data is open."""
    from decoders.protocols import protocol_names

    return protocol_names()[0]


def _plain_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _plain(values: dict) -> dict:
    return {k: _plain_value(v) for k, v in values.items()}
