"""`neurodeck online` for classification bundles: a stream (or a replay) in, decisions out."""
from __future__ import annotations

import sys

import numpy as np

from .live import live_session


def run_classification(args, decoder, manifest) -> int:
    duration = None if args.replay and args.duration == 60.0 else args.duration
    latencies, n, session, speller = [], 0, None, None
    print("time\tpred\ttrue\tlatency_ms", flush=True)
    for event in live_session(args.bundle, stream=args.stream, replay=args.replay, markers=args.markers,
                              mode=args.mode, step_ms=args.step, speed=args.speed, out=args.out,
                              outlet=args.outlet, duration=duration, reconnect_s=args.reconnect,
                              decoder=decoder, manifest=manifest, board=args.board,
                              adapt=args.adapt, stop_threshold=getattr(args, "stop_threshold", None)):
        if event["kind"] == "session":
            session, speller = event["session"], event.get("speller")
        elif event["kind"] == "letter":
            print(f"letter {event['index'] + 1}\t{event['letter']}\t{event['true'] or ''}\t"
                  f"{event['flashes']} flashes\t{_ms(event['latency_ms'])}", flush=not sys.stdout.isatty())
        elif event["kind"] == "decision":
            latencies.append(event["latency_ms"])
            n += 1
            if args.every and n % args.every == 0:
                print(f"{event['sample_time']:.3f}\t{event['pred']}\t{event['true'] or ''}\t"
                      f"{event['latency_ms']:.2f}", flush=not sys.stdout.isatty())
        elif event["kind"] == "status":
            print(status_line(event), file=sys.stderr)
    lat = np.array(latencies)
    summary = f"{manifest.get('decoder')}: {n} decisions"
    if n:
        summary += f", latency median {np.median(lat):.2f} ms, p99 {np.percentile(lat, 99):.2f} ms"
    cued = int(session.confusion.sum()) if session is not None else 0
    if cued:
        accuracy = np.trace(session.confusion) / cued
        seen = trials_seen_in_training(manifest, args.replay) if args.replay else None
        if seen is not None and seen[0]:
            from ..commands.predict import seen_in_training_warning

            print(f"warning: {seen_in_training_warning(*seen)}", file=sys.stderr)
            if seen[0] == seen[1]:
                summary += f", accuracy on trials seen in training {accuracy:.4f} ({cued} cued trials)"
            else:
                summary += (f", accuracy {accuracy:.4f} on {cued} cued trials ({seen[0]} of the "
                            f"replay's {seen[1]} trials seen in training)")
        else:
            summary += f", accuracy {accuracy:.4f} on {cued} cued trials"
    print(summary, file=sys.stderr)
    if speller is not None:
        print(speller_summary(speller), flush=True)
    return 0


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def speller_summary(speller) -> str:
    """The spelled text, against the text to spell when the file gives it, and flashes per letter."""
    letters = speller.letters
    text = f"spelled: {speller.text}"
    target = speller.layout.text_to_spell
    if target:
        right = sum(a == b for a, b in zip(speller.text, target))
        text += f" (text to spell: {target}, {right} of {len(target)} letters right)"
    if letters:
        text += f", {np.mean([e['flashes'] for e in letters]):.1f} flashes per letter"
    return text


def status_line(event: dict) -> str:
    """A status event as a line: the end of a replay says so (it is no error)."""
    if event.get("reason") == "replay ended":
        return "replay ended"
    return (f"stream {event['status']}" + (f": {event['message']}" if event.get("message") else "")
            + (f" ({event['reason']})" if event.get("reason") else ""))


def trials_seen_in_training(manifest: dict, replay: str) -> tuple[int, int] | None:
    """(trials of ``replay`` the bundle was trained on, trials of ``replay``), its trials cut
    as `neurodeck predict` cuts them; None when the bundle keeps no training digests or the
    replay cannot be cut into the bundle's trials."""
    from data.errors import InputError
    from data.fingerprint import seen_mask

    from ..commands.predict import load_for_bundle

    spec = manifest.get("input") or {}
    if not spec.get("training_digests"):
        return None
    try:
        data = load_for_bundle(spec, replay)
    except InputError:
        return None
    seen = seen_mask(data.X, spec["training_digests"])
    return int(seen.sum()), len(seen)


def run_continuous(args, decoder, manifest) -> int:
    """`neurodeck online` for continuous bundles: one decision per bin of a stream (or of a
    replayed file of bins, played as a stream) through the live session; prints the outputs,
    the decoder step's cost and the latency, and the metrics when the replay has targets."""
    from .live import live_session

    duration = None if args.replay and args.duration == 60.0 else args.duration
    speed = 1.0 if args.realtime else args.speed
    csv_file = open(args.output, "w", encoding="utf-8") if args.output else None
    outputs, truth, steps, latencies, session = [], [], [], [], None
    try:
        for event in live_session(args.bundle, stream=args.stream, replay=args.replay, speed=speed,
                                  out=args.out, outlet=args.outlet, duration=duration,
                                  reconnect_s=args.reconnect, decoder=decoder, manifest=manifest,
                                  bins=(args.start, args.stop)):
            if event["kind"] == "session":
                session = event["session"]
                names = session.value_names
                print("bin\t" + "\t".join(names), flush=True)
                if csv_file is not None:   # each output is written and flushed as it comes
                    csv_file.write(",".join(names) + "\n")
            elif event["kind"] == "decision":
                t, y = len(outputs), event["values"]
                outputs.append(y)
                steps.append(event["step_us"])
                latencies.append(event["latency_ms"])
                if event.get("truth_values") is not None:
                    truth.append(event["truth_values"])
                if csv_file is not None:
                    csv_file.write(",".join(f"{v:.18e}" for v in y) + "\n")
                    csv_file.flush()
                if args.every and t % args.every == 0:
                    print(f"{t}\t" + "\t".join(f"{v:.5g}" for v in y), flush=not sys.stdout.isatty())
                if args.max_steps is not None and len(outputs) >= args.max_steps:
                    break
            elif event["kind"] == "status":
                print(status_line(event), file=sys.stderr)
    finally:
        if csv_file is not None:
            csv_file.close()
    steps_us, lat = np.array(steps), np.array(latencies)
    line = f"{decoder.name}: {len(outputs)} steps"
    if len(outputs):
        line += (f", step cost median {np.median(steps_us):.1f} µs, p99 {np.percentile(steps_us, 99):.1f} µs, "
                 f"latency median {np.median(lat):.2f} ms, p99 {np.percentile(lat, 99):.2f} ms")
    print(line)
    if truth and len(truth) == len(outputs) and len(outputs) > 2:
        from decoders.metrics import regression

        metrics = regression(np.array(truth), np.array(outputs), session.value_names if session else None)
        for key in ("nrmse", "angle_error", "r2", "correlation"):
            if key in metrics:
                print(f"  {key:<12} {metrics[key]:.4f}")
    return 0
