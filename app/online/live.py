"""A live session as one generator, for every bundle (classification windows, continuous
bins, the speller): the replay (if any), the inlets, the decoder (warmed up), the session log
and the decision outlet set up, events out, everything closed at the end. The GUI's Online
view and `neurodeck online` both run it."""
from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path

from .replay import start_bins_replay, start_replay


def session_settings(args_like: dict, manifest: dict, bundle: str, session) -> dict:
    from .session import bundle_hash

    settings = {**args_like, "bundle": str(Path(bundle).absolute()), "bundle_sha256": bundle_hash(bundle),
                "decoder": manifest.get("decoder"), "session": type(session).__name__,
                "class_names": session.class_names, "stream": session.source.name,
                "markers": session.source.marker_name, "sfreq": session.source.sfreq,
                "warm_up_ms": None if session.warm_up_s is None else round(session.warm_up_s * 1e3, 3),
                "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if hasattr(session, "prep"):
        settings.update({"channels_used": session.prep.ch_names, "channels_ignored": session.prep.ignored,
                         "margin_samples": session.prep.margin})
    else:
        settings.update({"channels_used": session.ch_names, "channels_ignored": session.ignored_channels,
                         "value_names": session.value_names, "lags": session.lags})
    return settings


def live_session(bundle, *, stream: str | None = None, replay: str | None = None,
                 markers: str | None = None, mode: str = "events", step_ms: float = 250.0,
                 speed: float = 1.0, out: str | None = None, outlet: str | None = None,
                 duration: float | None = None, reconnect_s: float = 10.0, should_stop=None,
                 signal_every: float | None = None, decoder=None, manifest=None,
                 board: str | None = None, adapt: bool = False, stop_threshold: float | None = None,
                 bins: tuple[int, int | None] = (0, None)):
    """A whole online session as a generator of events (decision, marker, status, signal):
    the replay (if any), the inlets, the decoder, the session log and the decision outlet are
    set up first and closed when it ends. The first event is ``{"kind": "session"}``.

    Every bundle takes this path: a classification bundle decides on windows of a signal
    (`app.online.session.ClassificationSession`), a continuous one (kalman, dkf, wiener) on
    each bin of a stream of features (`app.online.bins.BinSession`; ``replay`` is then a file
    or folder of bins, played from bin ``bins[0]`` to before ``bins[1]``). The session warms
    up before the replay sends its first sample (a live stream's first samples wait in the
    inlet meanwhile). Each decision is pushed on the outlet, then timed: ``decision_time``,
    ``latency_ms`` (from the newest sample's arrival) and ``stamp_latency_ms`` (from its LSL
    timestamp) in the event and the log are taken after the push.

    A decoder that cannot decode the signal (another modality or kind of data, channels
    missing) is refused before anything starts (`app.online.compatibility`). The end of a
    replay stops the session with the status reason "replay ended".

    A speller bundle (ERP epochs, paradigm speller) replaying a BCI2000 speller recording also
    yields ``{"kind": "letter"}`` events (`app.online.speller`), logged with the decisions; with
    ``stop_threshold`` a letter is decided as soon as its posterior reaches it (dynamic stopping)."""
    from mne_lsl.lsl import local_clock
    from threadpoolctl import threadpool_limits

    from decoders.bundle import load_bundle

    from ..commands.export import resolve_bundle
    from .compatibility import check, recording_facts, source_facts
    from .session import ClassificationSession, SessionLog
    from .stream import DecisionOutlet, StreamInput
    from ..output_paths import check_output

    if out:
        check_output(out, "--out", folder=True)
    bundle = resolve_bundle(str(bundle))
    if decoder is None:
        decoder, manifest = load_bundle(bundle)
    continuous = getattr(decoder, "input_kind", "trials") == "continuous"
    if continuous and board:
        from data.errors import InputError

        raise InputError("--board decodes classification bundles only.")
    if replay and not continuous:
        check(manifest, recording_facts(replay), bundle, adapt=adapt)
    spells = ((manifest.get("input") or {}).get("options") or {}).get("paradigm") == "speller"
    if stop_threshold is not None and not (spells and replay):
        from data.errors import InputError

        raise InputError("--stop-threshold is for speller bundles (trained with paradigm: speller) "
                         "replaying a BCI2000 speller recording (--replay FILE), whose matrix it needs.")
    with ExitStack() as stack:
        player = None
        if replay and continuous:
            player = start_bins_replay(replay, (manifest.get("input") or {}).get("continuous"),
                                       start=bins[0], stop=bins[1], speed=speed, hold=True,
                                       n_targets=getattr(decoder, "n_targets_", None))
        elif replay:
            player = start_replay(replay, speed=speed, hold=True)
        if player is not None:
            stack.callback(player.stop)
            stack.callback(player.release)   # a refused session must not leave the player waiting
            stream, markers = player.name, player.marker_name
        if board:
            from .brainflow import BrainFlowInput

            source = BrainFlowInput(board)
            stream = source.name.replace(":", "-")
        elif not stream:
            from data.errors import InputError

            raise InputError("give a stream name, a recording to replay or a BrainFlow board.")
        else:
            no_markers = player is not None and player.marker_name is None
            source = StreamInput(stream, markers=markers, **({"marker_timeout": 0} if no_markers else {}))
        stack.callback(source.close)
        if continuous:
            from .bins import BinSession

            session = BinSession(source, decoder, manifest, reconnect_s=reconnect_s)
        else:
            if not replay:
                check(manifest, source_facts(source), bundle, adapt=adapt)
            session = ClassificationSession(None, source, mode=mode, step_ms=step_ms,
                                            reconnect_s=reconnect_s, decoder=decoder, manifest=manifest,
                                            adapt=adapt)
        with threadpool_limits(1):   # as the session loop runs (`StreamSession.iter_events`)
            session.warm_up()
        log = None
        if out:
            settings = session_settings({"mode": session.mode, "step_ms": step_ms, "replay": replay,
                                         "speed": speed, "adapt": adapt, "board": board}, manifest, bundle, session)
            log = SessionLog(out, settings, session.class_names,
                             value_names=getattr(session, "value_names", None))
            stack.callback(log.close)
        speller = None
        if spells and replay:   # the matrix is in the file; a live stream gets flash decisions only
            from .speller import SpellerTracker, speller_layout

            speller = SpellerTracker(speller_layout(replay), session.class_names, threshold=stop_threshold)
        channels = (["class"] + [f"p_{c}" for c in session.class_names]) if not continuous else session.value_names
        pub = DecisionOutlet(outlet or f"neurodeck-decisions-{stream}", channels)
        stack.callback(pub.close)
        yield {"kind": "session", "session": session, "outlet": pub.name, "speller": speller}
        if player is not None:
            player.release()

        replay_ended = []

        def stop() -> bool:
            if should_stop is not None and should_stop():
                return True
            if player is not None and not player.running and session.idle_s > 1.0:
                replay_ended.append(True)
                return True
            return False

        for event in session.iter_events(duration=duration, stop=stop, signal_every=signal_every):
            if replay_ended and event["kind"] == "status" and event["status"] == "stopped":
                event = {**event, "reason": "replay ended"}
            if event["kind"] == "decision":
                if continuous:
                    pub.push(event["values"], event["sample_time"])
                else:
                    pub.push([event["class_index"], *(event["proba"] or [])], event["sample_time"])
                now = local_clock()     # the decision is on the outlet: time it here, for every bundle
                event["decision_time"] = now
                event["latency_ms"] = (now - event["received_time"]) * 1e3
                event["stamp_latency_ms"] = (now - event["sample_time"]) * 1e3
            if log is not None and event["kind"] in ("decision", "marker", "status"):
                log.write(event)
            yield event
            if speller is not None and event["kind"] == "decision":
                yield from _letters(speller.add(event), log)
        if speller is not None:
            yield from _letters(speller.finish(), log)


def _letters(events: list[dict], log):
    for event in events:
        if log is not None:
            log.write(event)
        yield event
