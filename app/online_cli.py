"""`neurodeck online` for classification bundles: a stream (or a replay) in, decisions out."""
from __future__ import annotations

import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import numpy as np


def start_replay(path: str, *, speed: float = 1.0, wait_s: float = 10.0, **open_kwargs):
    """Open ``path`` with NeuroDeck's readers and play it as an LSL stream (with markers)."""
    from .online_replay import ReplayPlayer, open_recording

    raw = open_recording(path, **open_kwargs)
    player = ReplayPlayer(raw, name=f"neurodeck-replay-{uuid.uuid4().hex[:8]}", speed=speed,
                          wait_s=wait_s)
    return player.start()


def session_settings(args_like: dict, manifest: dict, bundle: str, session) -> dict:
    from .online_session import bundle_hash

    return {**args_like, "bundle": str(Path(bundle).absolute()), "bundle_sha256": bundle_hash(bundle),
            "decoder": manifest.get("decoder"), "class_names": session.class_names,
            "stream": session.source.name, "markers": session.source.marker_name,
            "sfreq": session.source.sfreq, "channels_used": session.prep.ch_names,
            "channels_ignored": session.prep.ignored, "margin_samples": session.prep.margin,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S")}


def live_session(bundle, *, stream: str | None = None, replay: str | None = None,
                 markers: str | None = None, mode: str = "events", step_ms: float = 250.0,
                 speed: float = 1.0, out: str | None = None, outlet: str | None = None,
                 duration: float | None = None, reconnect_s: float = 10.0, should_stop=None,
                 signal_every: float | None = None, decoder=None, manifest=None,
                 board: str | None = None, adapt: bool = False):
    """A whole online session as a generator of events (decision, marker, status, signal):
    the replay (if any), the inlets, the decoder, the session log and the decision outlet are
    set up first and closed when it ends. The first event is ``{"kind": "session"}``."""
    from decoders.bundle import load_bundle

    from .commands.export import resolve_bundle
    from .online_session import ClassificationSession, SessionLog
    from .online_stream import DecisionOutlet, StreamInput
    from .output_paths import check_output

    if out:
        check_output(out, "--out", folder=True)
    bundle = resolve_bundle(str(bundle))
    if decoder is None:
        decoder, manifest = load_bundle(bundle)
    with ExitStack() as stack:
        player = None
        if replay:
            player = start_replay(replay, speed=speed)
            stack.callback(player.stop)
            stream, markers = player.name, player.marker_name
        if board:
            from .online_brainflow import BrainFlowInput

            source = BrainFlowInput(board)
            stream = source.name.replace(":", "-")
        elif not stream:
            from data.errors import InputError

            raise InputError("give a stream name, a recording to replay or a BrainFlow board.")
        else:
            source = StreamInput(stream, markers=markers)
        stack.callback(source.close)
        session = ClassificationSession(None, source, mode=mode, step_ms=step_ms,
                                        reconnect_s=reconnect_s, decoder=decoder, manifest=manifest,
                                        adapt=adapt)
        log = None
        if out:
            settings = session_settings({"mode": mode, "step_ms": step_ms, "replay": replay,
                                         "speed": speed, "adapt": adapt, "board": board}, manifest, bundle, session)
            log = SessionLog(out, settings, session.class_names)
            stack.callback(log.close)
        pub = DecisionOutlet(outlet or f"neurodeck-decisions-{stream}",
                             ["class"] + [f"p_{c}" for c in session.class_names])
        stack.callback(pub.close)
        yield {"kind": "session", "session": session, "outlet": pub.name}

        def stop() -> bool:
            if should_stop is not None and should_stop():
                return True
            return player is not None and not player.running and session.idle_s > 1.0

        for event in session.iter_events(duration=duration, stop=stop, signal_every=signal_every):
            if log is not None and event["kind"] in ("decision", "marker", "status"):
                log.write(event)
            if event["kind"] == "decision":
                pub.push([event["class_index"], *(event["proba"] or [])], event["sample_time"])
            yield event


def run_classification(args, decoder, manifest) -> int:
    duration = None if args.replay and args.duration == 60.0 else args.duration
    latencies, n, session = [], 0, None
    print("time\tpred\ttrue\tlatency_ms", flush=True)
    for event in live_session(args.bundle, stream=args.stream, replay=args.replay, markers=args.markers,
                              mode=args.mode, step_ms=args.step, speed=args.speed, out=args.out,
                              outlet=args.outlet, duration=duration, reconnect_s=args.reconnect,
                              decoder=decoder, manifest=manifest, board=args.board,
                              adapt=args.adapt):
        if event["kind"] == "session":
            session = event["session"]
        elif event["kind"] == "decision":
            latencies.append(event["latency_ms"])
            n += 1
            if args.every and n % args.every == 0:
                print(f"{event['sample_time']:.3f}\t{event['pred']}\t{event['true'] or ''}\t"
                      f"{event['latency_ms']:.2f}", flush=not sys.stdout.isatty())
        elif event["kind"] == "status":
            print(f"stream {event['status']}" + (f": {event['message']}" if event.get("message") else "")
                  + (f" ({event['reason']})" if event.get("reason") else ""), file=sys.stderr)
    lat = np.array(latencies)
    summary = f"{manifest.get('decoder')}: {n} decisions"
    if n:
        summary += f", latency median {np.median(lat):.2f} ms, p99 {np.percentile(lat, 99):.2f} ms"
    truth = session.confusion.sum() if session is not None else 0
    if truth:
        summary += f", accuracy {np.trace(session.confusion) / truth:.4f} on {truth} cued trials"
    print(summary, file=sys.stderr)
    return 0
