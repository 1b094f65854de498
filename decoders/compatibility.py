"""What fits the data in front of the user: which decoders and protocols can run on it, why
the others cannot, and a sensible default pair (issue 20).

Every fact comes from the pieces' own declarations: a decoder class's ``input_kind``,
``task``, ``modalities`` and ``paradigms`` (`decoders.base.Decoder`), a protocol's
``requires`` and ``check`` (`decoders.protocols`). Nothing here keeps a list of decoder
names; the only preferences are by kind of data (which protocol a field uses by default),
in `PROTOCOL_PREFERENCES`.

The functions take a `DecodingSet`, or `DataFacts` when only a summary is known (the GUI
before the trials are cut). Qt-free and torch-free (reading a fact imports that decoder's
module; `decoders.available(load=True)` imports them all once).

Examples
--------
>>> from data.loading import load_dataset                      # doctest: +SKIP
>>> data = load_dataset({"source": "demo:resting-state"})      # doctest: +SKIP
>>> [str(r) for r in compatibility("csp-lda", data)]           # doctest: +SKIP
["csp-lda reads eeg/meg/ieeg recordings; this data is fmri-roi. ..."]
>>> suggest(data).decoder, suggest(data).protocol             # doctest: +SKIP
('fc-lr', 'leave-one-site-out')
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from data.decoding_set import DecodingSet
from data.errors import InputError

from .base import Task

# Modalities a recording is known to be of. A decoder declaring modalities refuses data of
# another known modality; data of a modality nobody declares (a generic table) is allowed,
# ranked after the decoders that name it.
CHANNEL_MODALITIES = {"eeg": "eeg", "mag": "meg", "grad": "meg", "meg": "meg", "seeg": "ieeg",
                      "ecog": "ieeg", "dbs": "ieeg"}
KNOWN_MODALITIES = {*CHANNEL_MODALITIES.values(), "fmri", "fmri-roi", "spikes"}

# The protocol a field uses by default for each kind of data, best first, each with its
# options; the first one whose ``check`` passes is suggested (then any other that passes).
PROTOCOL_PREFERENCES: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "continuous": [("blocked-kfold", {}), ("holdout", {})],
    "volumes": [("holdout", {})],
    "fmri-roi": [("leave-one-site-out", {}), ("repeated-kfold", {}), ("kfold", {"within": "all"})],
    "fmri": [("cross-session", {"split_by": "run"}), ("cross-session", {}), ("kfold", {}),
             ("kfold", {"within": "subject"}), ("kfold", {"within": "all"})],
    "erp": [("calibration", {}), ("kfold", {}), ("kfold", {"within": "subject"}), ("loso", {})],
    "trials": [("kfold", {}), ("kfold", {"within": "subject"}), ("loso", {}), ("kfold", {"within": "all"})],
}
ERP_PARADIGMS = ("erp", "speller")


@dataclass(frozen=True)
class DataFacts:
    """What the compatibility rules read of a data set.

    Parameters
    ----------
    kind : str
        `DecodingSet.kind`: "trials", "continuous" or "volumes".
    modality : str or None
        "eeg", "meg", "ieeg", "fmri", "fmri-roi", "spikes" ... (None: unknown).
    paradigm : str or None
        "motor-imagery", "erp", "speller" ... (None: unknown).
    targets : str or None
        "classes" (labels), "continuous" (float targets) or None (no labels).
    stimuli : bool
        Whether each sample has a stimulus (image reconstruction).
    n_channels : int or None
        Channels, ROIs, features or voxels per sample.
    subjects, sites : tuple of str
        Distinct subjects, and distinct sessions (the sites of ROI series).
    """

    kind: str
    modality: str | None = None
    paradigm: str | None = None
    targets: str | None = None
    stimuli: bool = False
    n_channels: int | None = None
    subjects: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()

    @classmethod
    def of(cls, data: "DecodingSet | DataFacts") -> "DataFacts":
        """The facts of a `DecodingSet` (a `DataFacts` is returned as it is)."""
        if isinstance(data, DataFacts):
            return data
        targets = None
        if data.y is not None:
            continuous = np.asarray(data.y).dtype.kind == "f" and not data.class_names
            targets = "continuous" if continuous or data.kind == "continuous" else "classes"
        return cls(kind=data.kind, modality=data.modality, paradigm=data.paradigm, targets=targets,
                   stimuli=data.stimuli is not None and data.kind == "volumes",
                   n_channels=int(data.X.shape[1]) if data.X.ndim > 1 else None,
                   subjects=tuple(data.subjects), sites=tuple(dict.fromkeys(data.session.tolist())))

    @classmethod
    def from_summary(cls, summary: dict[str, Any], paradigm: str | None = None) -> "DataFacts":
        """Facts from a source's summary (`data.browse`): recordings not yet cut into trials
        (``channel_counts``, ``events``) or a set's description (``data_kind``, ``modality``)."""
        if summary.get("kind") == "recordings":
            types = [CHANNEL_MODALITIES[t] for t in summary.get("channel_counts", {}) if t in CHANNEL_MODALITIES]
            n = sum(v for t, v in summary.get("channel_counts", {}).items() if t in CHANNEL_MODALITIES)
            return cls(kind="trials", modality=types[0] if types else None, paradigm=paradigm,
                       targets="classes" if summary.get("events") else None, n_channels=n or None,
                       subjects=tuple(map(str, summary.get("subjects", []))),
                       sites=tuple(map(str, summary.get("sessions", []))))
        shape = summary.get("shape") or []
        kind = summary.get("data_kind") or summary.get("kind") or "trials"
        targets = "classes" if summary.get("classes") else ("continuous" if summary.get("targets") else None)
        return cls(kind=kind, modality=summary.get("modality"), paradigm=paradigm or summary.get("paradigm"),
                   targets=targets, stimuli=kind == "volumes",
                   n_channels=int(shape[1]) if len(shape) > 1 else None,
                   subjects=tuple(map(str, summary.get("subjects", []) if isinstance(summary.get("subjects"), list) else [])),
                   sites=tuple(map(str, summary.get("sessions", []))))

    def describe(self) -> str:
        """A few words: "fmri-roi trials with classes"."""
        what = f"{self.modality or 'unknown-modality'} {self.kind}"
        if self.paradigm:
            what += f" ({self.paradigm})"
        return what + {"classes": " with class labels", "continuous": " with continuous targets",
                       None: " without labels"}[self.targets]


@dataclass(frozen=True)
class Reason:
    """Why a decoder or protocol does not fit the data.

    Parameters
    ----------
    text : str
        What does not fit, naming the setting ("decoder 'csp-lda' reads ...").
    hint : str, optional
        What to choose instead.
    blocking : bool
        True: it cannot run on this data (refused, greyed out in the GUI). False: it can
        run but is meant for other data (listed after the ones that fit).
    """

    text: str
    hint: str | None = None
    blocking: bool = True

    def __str__(self) -> str:
        return f"{self.text} {self.hint}" if self.hint else self.text


@dataclass
class Suggestion:
    """A default decoder and protocol for some data, and why."""

    decoder: str | None
    protocol: str | None
    options: dict[str, Any] = field(default_factory=dict)
    why: str = ""


# ----------------------------------------------------------------------- decoders
def _decoder_class(decoder):
    from . import registry

    if isinstance(decoder, str):
        return registry.get(decoder)
    if isinstance(decoder, registry.Entry):
        return decoder.load()
    return decoder


def compatibility(decoder, data: "DecodingSet | DataFacts") -> list[Reason]:
    """Every reason ``decoder`` does not fit ``data`` (empty: it fits).

    Parameters
    ----------
    decoder : str, Entry or type of Decoder
        A registry name, a registry entry or the class.
    data : DecodingSet or DataFacts

    Returns
    -------
    list of Reason
        Blocking reasons first (input kind, modality, labels the task needs), then
        non-blocking ones (a paradigm it is not meant for).
    """
    cls = _decoder_class(decoder)
    facts = DataFacts.of(data)
    name = cls.name
    out: list[Reason] = []
    if cls.input_kind != facts.kind:
        out.append(Reason(f"decoder '{name}' reads {cls.input_kind} data; this data is {facts.kind}."))
    modalities = tuple(getattr(cls, "modalities", ()) or ())
    if modalities and facts.modality not in modalities:
        known = facts.modality in KNOWN_MODALITIES
        out.append(Reason(f"decoder '{name}' reads {'/'.join(modalities)} recordings; this data is "
                          f"{facts.modality or 'of unknown modality'}.", blocking=known))
    task = Task(cls.task)
    if task == Task.CLASSIFICATION and facts.targets != "classes":
        out.append(Reason(f"decoder '{name}' classifies; this data has "
                          f"{'continuous targets' if facts.targets == 'continuous' else 'no class labels'}."))
    elif task == Task.REGRESSION and facts.targets != "continuous":
        out.append(Reason(f"decoder '{name}' predicts continuous targets; this data has "
                          f"{'class labels' if facts.targets == 'classes' else 'no targets'}."))
    elif task == Task.RECONSTRUCTION and not facts.stimuli:
        out.append(Reason(f"decoder '{name}' reconstructs stimuli; this data has no stimulus per sample."))
    paradigms = tuple(getattr(cls, "paradigms", ()) or ())
    if paradigms and facts.paradigm not in paradigms:
        out.append(Reason(f"decoder '{name}' is meant for {'/'.join(paradigms)} trials; this data's paradigm "
                          f"is {facts.paradigm or 'not marked as one'}.", blocking=False))
    return sorted(out, key=lambda r: not r.blocking)


def ranked_decoders(data: "DecodingSet | DataFacts", entries: list | None = None) -> list[tuple[Any, list[Reason]]]:
    """Registry entries with their reasons, the ones that fit first.

    Order: no reason, then only non-blocking reasons, then blocking ones; inside each,
    decoders whose declared paradigm or modality names the data's before those that accept
    anything, classical (fast) before neural, then registration order.
    """
    from . import registry

    facts = DataFacts.of(data)
    entries = registry.available(load=True) if entries is None else list(entries)
    scored = []
    for index, entry in enumerate(entries):
        try:
            cls = entry.load()
            reasons = compatibility(cls, facts)
        except Exception as exc:  # noqa: BLE001 - a plugin that fails to import is listed, unusable
            scored.append(((3, 1, 1, 1, index), entry, [Reason(f"decoder '{entry.name}' cannot be imported: {exc}")]))
            continue
        level = 2 if any(r.blocking for r in reasons) else (1 if reasons else 0)
        paradigm = facts.paradigm is not None and facts.paradigm in (cls.paradigms or ())
        modality = facts.modality is not None and facts.modality in (cls.modalities or ())
        scored.append(((level, not paradigm, not modality, bool(cls.uses_torch), index), entry, reasons))
    return [(entry, reasons) for _, entry, reasons in sorted(scored, key=lambda s: s[0])]


def fitting_decoders(data: "DecodingSet | DataFacts", entries: list | None = None) -> list[str]:
    """Names of the decoders with no blocking reason on ``data``, best first."""
    return [e.name for e, reasons in ranked_decoders(data, entries) if not any(r.blocking for r in reasons)]


# ---------------------------------------------------------------------- protocols
def protocol_compatibility(protocol, data: "DecodingSet | DataFacts",
                           options: dict[str, Any] | None = None, decoder=None) -> list[Reason]:
    """Every reason ``protocol`` (with ``options``) cannot run on ``data`` (empty: it can).

    With a `DecodingSet` this is the protocol's own ``check`` (its groups and classes per
    split, each problem naming what to choose instead); with `DataFacts` only its declared
    `Requirements`. With ``decoder``, a protocol that fine-tunes needs a decoder that can.
    """
    from .protocols import protocol as get_protocol

    chosen = get_protocol(protocol) if isinstance(protocol, str) else protocol
    needs = chosen.requires
    out: list[Reason] = []
    if decoder is not None and needs.fine_tune and not getattr(_decoder_class(decoder), "supports_fine_tune", False):
        out.append(Reason(f"protocol '{chosen.name}' fine-tunes, and decoder '{_decoder_class(decoder).name}' "
                          "cannot be fine-tuned.", "Choose loso or kfold."))
    if isinstance(data, DecodingSet):
        out += [Reason(p.message, p.hint) for p in chosen.check(data, options or {})]
        return out
    facts = DataFacts.of(data)
    if facts.kind not in needs.input_kinds:
        out.append(Reason(f"protocol '{chosen.name}' applies to {' or '.join(needs.input_kinds)} data; "
                          f"this data is {facts.kind}."))
    if needs.labels and facts.targets is None:
        out.append(Reason(f"protocol '{chosen.name}' evaluates against labels; this data has none."))
    groups = {"subject": facts.subjects, "site": facts.sites, "session": facts.sites}.get(needs.groups or "")
    if groups is not None and groups and len(groups) < needs.min_groups:
        out.append(Reason(f"protocol '{chosen.name}' needs at least {needs.min_groups} {needs.groups}s; "
                          f"this data has {len(groups)}."))
    return out


def ranked_protocols(data: "DecodingSet | DataFacts", options: dict[str, Any] | None = None,
                     decoder=None) -> list[tuple[Any, list[Reason]]]:
    """Registered protocols with their reasons (``options`` where a protocol reads them),
    the ones that fit first, in registration order otherwise."""
    from .protocols import available_protocols

    rows = []
    for index, chosen in enumerate(available_protocols()):
        own = {k: v for k, v in (options or {}).items() if k in chosen.Options.model_fields}
        reasons = protocol_compatibility(chosen, data, own, decoder)
        rows.append(((bool(reasons), index), chosen, reasons))
    return [(p, r) for _, p, r in sorted(rows, key=lambda row: row[0])]


# --------------------------------------------------------------------- suggestion
def data_family(facts: DataFacts) -> str:
    """The key of `PROTOCOL_PREFERENCES` that fits ``facts``."""
    if facts.kind in ("continuous", "volumes"):
        return facts.kind
    if facts.modality in ("fmri-roi", "fmri"):
        return facts.modality
    if facts.paradigm in ERP_PARADIGMS:
        return "erp"
    return "trials"


def suggest(data: "DecodingSet | DataFacts", entries: list | None = None) -> Suggestion:
    """A sensible decoder and protocol (with options) for ``data``.

    The decoder is the first of `ranked_decoders` that fits (classical before neural, the
    one declared for the data's paradigm or modality first). The protocol is the first of
    the data family's `PROTOCOL_PREFERENCES` whose check passes on ``data`` (a
    `DecodingSet`; with `DataFacts` its requirements), else any registered one that does.

    Returns
    -------
    Suggestion
        ``decoder`` or ``protocol`` is None when nothing fits.
    """
    facts = DataFacts.of(data)
    ranked = ranked_decoders(facts, entries)
    decoder = next((e.name for e, reasons in ranked if not reasons), None) or \
        next((e.name for e, reasons in ranked if not any(r.blocking for r in reasons)), None)
    family = data_family(facts)
    tried: list[str] = []
    for name, options in PROTOCOL_PREFERENCES[family]:
        try:
            if not protocol_compatibility(name, data, options, decoder):
                return Suggestion(decoder, name, dict(options), _why(facts, family, decoder, name, tried))
        except Exception:  # noqa: BLE001 - a preferred protocol that is not registered (or unusable)
            pass
        tried.append(name)
    for chosen, reasons in ranked_protocols(data, decoder=decoder):
        if not reasons:
            return Suggestion(decoder, chosen.name, {}, _why(facts, family, decoder, chosen.name, tried))
    return Suggestion(decoder, None, {}, f"no registered protocol can evaluate {facts.describe()}")


def _why(facts: DataFacts, family: str, decoder: str | None, protocol: str, tried: list[str]) -> str:
    text = f"{facts.describe()}: {decoder or 'no decoder fits'} with {protocol}"
    if tried:
        text += f" ({', '.join(dict.fromkeys(tried))} cannot run on it)"
    return text


def alternatives_hint(data: "DecodingSet | DataFacts", limit: int = 4) -> str:
    """"Choose one of: ..." naming the decoders that fit ``data`` (for refusals)."""
    names = fitting_decoders(data)[:limit]
    return f"Choose a decoder for this data: {', '.join(names)}." if names else \
        "No registered decoder reads this data."


# ------------------------------------------------------------------ an experiment
SHOWN_PROBLEMS = 3   # protocol problems quoted in full; the rest are counted


@dataclass(frozen=True)
class Problem:
    """One reason an experiment cannot run on its data: the setting concerned (as written
    in an experiment file), what is wrong, and what to choose instead."""

    setting: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        text = f"{self.setting}: {self.message}"
        return f"{text} {self.hint}" if self.hint else text


class InfeasibleExperiment(InputError):
    """The experiment cannot run on its data; the message names each setting and what to
    choose instead (CLI exit 2)."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("this experiment cannot run on its data:\n" +
                         "\n".join(f"  - {p}" for p in self.problems))


def experiment_problems(decoder, params: dict[str, Any], protocol: str, options: dict[str, Any],
                        data: DecodingSet) -> list[Problem]:
    """Every reason ``decoder`` (with ``params``) evaluated by ``protocol`` (with
    ``options``) cannot run on ``data``; empty: it can. Nothing is trained.

    Parameters
    ----------
    decoder : str, Entry or type of Decoder
    params : dict
        The decoder's parameters (for the channel checks).
    protocol : str
        A registered protocol name.
    options : dict
        Evaluation options (those another protocol reads are ignored).
    data : DecodingSet

    Returns
    -------
    list of Problem
        The decoder's (blocking `compatibility` reasons), the protocol's (its ``check``,
        the first `SHOWN_PROBLEMS` quoted, with the suggested protocol for this data) and
        the channels' (`channel_problems`).
    """
    from .protocols import protocol as get_protocol

    cls = _decoder_class(decoder)
    out: list[Problem] = []
    blocking = [r for r in compatibility(cls, data) if r.blocking]
    if blocking:
        out.append(Problem("decoder.name", " ".join(r.text for r in blocking), alternatives_hint(data)))
    own = {k: v for k, v in options.items() if k in get_protocol(protocol).Options.model_fields}
    reasons = protocol_compatibility(protocol, data, own, decoder=None if blocking else cls)
    if reasons:
        shown = "; ".join(r.text.rstrip(".") for r in reasons[:SHOWN_PROBLEMS])
        more = len(reasons) - SHOWN_PROBLEMS
        if more > 0:
            shown += f" (and {more} more like these)"
        hints = list(dict.fromkeys(r.hint for r in reasons if r.hint))
        advice = suggest(data)
        if advice.protocol and (advice.protocol != protocol or advice.options != own):
            extra = ", ".join(f"{k}: {v}" for k, v in advice.options.items())
            hints.append(f"Suggested for this data: protocol '{advice.protocol}'{f' with {extra}' if extra else ''}.")
        out.append(Problem("evaluation.protocol", f"'{protocol}' cannot evaluate this data: {shown}.",
                           " ".join(hints) or None))
    out += channel_problems(cls, data, params)
    return out


def channel_problems(decoder, data: DecodingSet, params: dict[str, Any]) -> list[Problem]:
    """The data has channels (features, ROIs, voxels) and at least as many as the decoder's
    settings ask for (``n_components`` spatial filters cannot exceed the channels)."""
    cls = _decoder_class(decoder)
    n = int(data.X.shape[1]) if data.X.ndim > 1 else 0
    if n == 0:
        return [Problem("dataset", "the data has no channels (or features) left.",
                        "Check dataset.preprocessing.picks and the channels marked bad.")]
    out = []
    for key in ("n_components", "n_filters"):
        info = cls.Params.model_fields.get(key)
        value = params.get(key, None if info is None else info.get_default(call_default_factory=True))
        if isinstance(value, int) and not isinstance(value, bool) and value > n:
            out.append(Problem(f"decoder.params.{key}", f"{value} exceeds the data's {n} channels.",
                               f"Set {key} to {n} or fewer, or keep more channels."))
    return out


def check_experiment(decoder, params: dict[str, Any], protocol: str, options: dict[str, Any],
                     data: DecodingSet) -> None:
    """Raise `InfeasibleExperiment` when `experiment_problems` finds any."""
    problems = experiment_problems(decoder, params, protocol, options, data)
    if problems:
        raise InfeasibleExperiment(problems)
