"""Which decoders can decode which signal, asked before an online session starts.

An online classification session cuts windows of a signal (an LSL stream, a BrainFlow
board, a recording replayed as a stream) and hands them to a trials classifier. A bundle
fits a signal when it takes trials (not feature bins, volumes or images), has classes, was
trained on the signal's modality, and every channel it was trained on is in the signal.
`problem` says what does not fit (None when all does), `check` raises it, and
`latest_compatible_run` picks the newest run of a workspace that fits: the Online view's
"Go online with latest run".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from data.errors import ChannelMismatchError, InputError

# data kinds and what they hold, for messages
KIND_TEXT = {"continuous": "feature bins (one decoder step per bin)", "volumes": "fMRI volumes",
             "images": "images"}
MODALITY_TEXT = {"fmri-roi": "fMRI ROI series", "fmri": "fMRI voxels", "eeg": "EEG", "meg": "MEG",
                 "ieeg": "intracranial EEG", "spikes": "spike counts", "features": "feature bins"}
STREAM_MODALITIES = {"eeg": "eeg", "meg": "meg", "ieeg": "ieeg", "ecog": "ieeg", "seeg": "ieeg"}


class IncompatibleDecoderError(InputError):
    """The decoder cannot decode this signal (named in the message)."""


@dataclass(frozen=True)
class SignalFacts:
    """What a decoder must know about a signal before decoding it.

    Attributes
    ----------
    label : str
        The signal in words ("the recording S001R04.edf (replayed as an LSL stream)").
    ch_names : list of str
        Its channels.
    sfreq : float
        Its sampling rate (Hz).
    modality : str or None
        eeg, meg, ieeg, fmri-roi ... as `data.DecodingSet.modality` names them; None when
        unknown (a stream that does not say).
    """

    label: str
    ch_names: list[str] = field(default_factory=list)
    sfreq: float = 0.0
    modality: str | None = None


def recording_facts(path: str | Path) -> SignalFacts:
    """The facts of the first recording at ``path`` (its header only: nothing is loaded)."""
    from data.epochs import _modality
    from data.errors import DataError
    from data.sources import open_for_browsing

    recordings = open_for_browsing(str(path), preload=False)
    if not recordings:
        raise DataError("holds no recording to replay.", str(path))
    rec = recordings[0]
    modality = _modality(rec.raw.get_channel_types()) if rec.raw is not None else rec.modality
    return SignalFacts(f"the recording {Path(str(path)).name} (replayed as an LSL stream)",
                       list(rec.ch_names), float(rec.sfreq), modality)


def stream_facts(name: str, timeout: float = 2.0) -> SignalFacts:
    """The facts of the LSL stream ``name`` (its channels from the stream's description)."""
    from mne_lsl.lsl import StreamInlet

    from .lsl_log import configure
    from .stream import StreamNotFoundError, _resolve

    configure()
    info = _resolve(name, timeout)
    if info is None:
        raise StreamNotFoundError(f"no LSL stream named '{name}' answered within {timeout:g} s.")
    inlet = StreamInlet(info)
    try:
        inlet.open_stream(timeout=timeout)
        full = inlet.get_sinfo(timeout=timeout)
        names = full.get_channel_names() or [f"ch{i}" for i in range(full.n_channels)]
    finally:
        inlet.close_stream()
    return SignalFacts(f"the LSL stream '{name}'", list(names), float(full.sfreq),
                       STREAM_MODALITIES.get(str(full.stype).lower()))


def source_facts(source) -> SignalFacts:
    """The facts of an open input (`StreamInput`, `BrainFlowInput`)."""
    label = getattr(source, "label", None) or f"the LSL stream '{source.name}'"
    return SignalFacts(label, list(source.ch_names), float(source.sfreq),
                       STREAM_MODALITIES.get(str(getattr(source, "modality", "")).lower()))


def problem(manifest: dict, facts: SignalFacts, *, adapt: bool = False) -> str | None:
    """Why the bundle with ``manifest`` cannot decode the signal of ``facts`` (None: it can)."""
    spec = manifest.get("input") or {}
    decoder = manifest.get("decoder") or "the decoder"
    kind = spec.get("kind", "trials")
    if kind != "trials":
        return (f"{decoder} decodes {KIND_TEXT.get(kind, kind + ' data')}, not windows of a signal; "
                "online it runs with `neurodeck online BUNDLE --replay FILE` on such data"
                if kind == "continuous" else
                f"{decoder} decodes {KIND_TEXT.get(kind, kind + ' data')}, not windows of a signal.")
    if not spec.get("class_names"):
        return f"{decoder} predicts values, not classes; online sessions decide between classes."
    trained_on = spec.get("modality")
    if trained_on and facts.modality and trained_on != facts.modality:
        return (f"{decoder} was trained on {MODALITY_TEXT.get(trained_on, trained_on)}; "
                f"{facts.label} is {MODALITY_TEXT.get(facts.modality, facts.modality)}.")
    missing = [c for c in spec.get("ch_names") or [] if c not in facts.ch_names]
    if missing:
        return (f"{facts.label} lacks {len(missing)} channel(s) {decoder} was trained on: "
                f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}.")
    pre = spec.get("preprocessing") or {}
    if not adapt and (pre.get("align", "none") != "none" or pre.get("standardize") == "subject"):
        return (f"{decoder} was trained with per-subject alignment or standardisation, which needs "
                "a whole session of trials; decode with adaptive re-centring (--adapt).")
    return None


def check(manifest: dict, facts: SignalFacts, bundle: str | Path, *, adapt: bool = False) -> None:
    """Raise `IncompatibleDecoderError` (or `ChannelMismatchError` for missing channels)
    naming the bundle when it cannot decode ``facts``'s signal."""
    reason = problem(manifest, facts, adapt=adapt)
    if reason is None:
        return
    error = ChannelMismatchError if " lacks " in reason else IncompatibleDecoderError
    raise error(reason, str(bundle), hint="Choose a run trained on this kind of signal and channels.")


def latest_compatible_run(runs_dir: str | Path, facts: SignalFacts, *, adapt: bool = False):
    """The newest run under ``runs_dir`` whose bundle can decode ``facts``'s signal.

    Returns
    -------
    (RunInfo or None, list of (RunInfo, str))
        The run (None when none fits) and the newer runs passed over, each with the reason.
    """
    from decoders.bundle import read_manifest

    from ..workspace import list_runs

    passed = []
    for info in list_runs(runs_dir):
        model = Path(info.path) / "model"
        if not model.is_dir():
            continue
        try:
            manifest = read_manifest(model)
        except InputError as exc:
            passed.append((info, f"its bundle cannot be read ({exc})"))
            continue
        reason = problem(manifest, facts, adapt=adapt)
        if reason is None:
            return info, passed
        passed.append((info, reason))
    return None, passed
