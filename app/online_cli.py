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


def run_classification(args, decoder, manifest) -> int:
    from .online_session import ClassificationSession, SessionLog
    from .online_stream import DecisionOutlet, StreamInput
    from .output_paths import check_output

    if args.out:
        check_output(args.out, "--out", folder=True)
    with ExitStack() as stack:
        player = None
        if args.replay:
            player = start_replay(args.replay, speed=args.speed)
            stack.callback(player.stop)
            name, markers = player.name, player.marker_name
        else:
            name, markers = args.stream, args.markers
        source = StreamInput(name, markers=markers)
        stack.callback(source.close)
        session = ClassificationSession(None, source, mode=args.mode, step_ms=args.step,
                                        reconnect_s=args.reconnect, decoder=decoder, manifest=manifest)
        log = None
        if args.out:
            settings = session_settings({"mode": args.mode, "step_ms": args.step, "replay": args.replay,
                                         "speed": args.speed}, manifest, args.bundle, session)
            log = SessionLog(args.out, settings, session.class_names)
            stack.callback(log.close)
        outlet = DecisionOutlet(args.outlet or f"neurodeck-decisions-{name}",
                                ["class"] + [f"p_{c}" for c in session.class_names])
        stack.callback(outlet.close)
        stop = (lambda: not player.running and session.idle_s > 1.0) if player is not None else None
        duration = None if args.replay and args.duration == 60.0 else args.duration
        latencies, n = [], 0
        print("time\tpred\ttrue\tlatency_ms", flush=True)
        for event in session.iter_events(duration=duration, stop=stop):
            if log is not None and event["kind"] != "marker_sample":
                log.write(event)
            if event["kind"] == "decision":
                outlet.push([event["class_index"], *(event["proba"] or [])], event["sample_time"])
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
    truth = session.confusion.sum()
    if truth:
        summary += f", accuracy {np.trace(session.confusion) / truth:.4f} on {truth} cued trials"
    print(summary, file=sys.stderr)
    return 0
