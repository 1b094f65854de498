"""`neurodeck online` for classification bundles: a stream (or a replay) in, decisions out."""
from __future__ import annotations

import sys

import numpy as np

from .live import live_session


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
