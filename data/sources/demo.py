"""Built-in simulated data (``demo:NAME``, `data.demos`): a demo yields raw recordings,
which go through the trial pipeline like files do, or builds a `DecodingSet` directly."""
from __future__ import annotations

from ..readers import wanted
from .kind import SourceKind, scheme_argument


def detect(source: str) -> bool:
    return str(source).strip().lower().startswith("demo:")


def _demo(source: str):
    from .. import demos

    return demos.get(scheme_argument(source))


def choices() -> list[tuple[str, str]]:
    """(``demo:NAME``, description) of every demo."""
    from .. import demos

    return [(f"demo:{demo.name}", demo.description) for demo in demos.available()]


def _spec_for(source: str, data_path=None, subjects=None, sessions=None, runs=None, **fields):
    from ..spec import DatasetSpec

    return DatasetSpec(source=source, data_path=None if data_path is None else str(data_path),
                       subjects=subjects, sessions=sessions, runs=runs, **fields)


def open_recordings(source: str, *, data_path=None, subjects=None, sessions=None, runs=None,
                    spec=None, **_unused) -> list:
    """A recording demo's simulated recordings (from ``spec``'s seed, default 0); none for a
    demo that builds its set directly."""
    demo = _demo(source)
    if demo.kind != "raw":
        return []
    if spec is None:
        spec = _spec_for(source, data_path, subjects, sessions, runs)
    return [r for r in demo.build(spec)
            if wanted(r.subject, subjects) and wanted(r.session, sessions) and wanted(r.run, runs)]


def load(spec):
    """A set demo's `DecodingSet`, or a recording demo's trials (`data.epochs.load_trials`)."""
    demo = _demo(spec.source)
    if demo.kind == "set":
        return demo.build(spec)
    from ..epochs import load_trials

    return load_trials(spec, _open_for_spec, _fingerprints)


def _open_for_spec(spec) -> list:
    return open_recordings(spec.source, data_path=spec.data_path, subjects=spec.subjects,
                           sessions=spec.sessions, runs=spec.runs, spec=spec)


def _fingerprints(spec) -> list:
    """The simulating module's file: editing the simulation invalidates cached trials."""
    import importlib.util

    from ..cache import file_fingerprint

    origin = importlib.util.find_spec(_demo(spec.source).builder.split(":")[0])
    return file_fingerprint([origin.origin]) if origin and origin.origin else []


def describe(source: str, *, data_path=None, subjects=None, sessions=None, runs=None,
             **_unused) -> dict:
    """A set demo's set summary, or a recording demo's recordings summary."""
    from ..summaries import summarize_recordings, summarize_set

    if _demo(source).kind == "set":
        return summarize_set(source, load(_spec_for(source, data_path, subjects, cache=False)))
    return summarize_recordings(source, open_recordings(source, data_path=data_path, subjects=subjects,
                                                        sessions=sessions, runs=runs))


KIND = SourceKind(
    "demo", "simulated data set or recordings: demo:NAME", detect, load, describe, open_recordings,
    priority=100, scheme="demo", argument="Demo name", choices=choices)
