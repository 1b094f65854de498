"""`neurodeck online BUNDLE --replay FILE | --stream NAME`: decode a stream or a replay online.

Every bundle runs the same live session (`app.online.live.live_session`): classification
bundles decode windows of an LSL stream, event-locked to its markers or sliding; continuous
bundles (kalman, dkf, wiener) decode one bin per sample of a stream of features (a replayed
file of bins is played as one). Each writes a session folder (--out: settings.json, log.csv
with the latency of every decision) and an LSL outlet of decisions. liblsl's own log is quiet
unless --verbose.
"""
from __future__ import annotations

import sys

from .option_types import number

MAX_SECONDS = 7 * 24 * 3600.0   # --duration: a week of decoding at most


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "online", help="decode a stream, a board or a replayed recording online with a saved decoder",
        description="Decode data as they arrive with a decoder bundle (or a run folder). "
                    "Classification bundles (csp-lda, eeg-simpleconv, ... trained on trials) "
                    "decode windows of a signal: an LSL stream (--stream), a BrainFlow board "
                    "(--board) or a recording replayed as a stream with its events as markers "
                    "(--replay FILE), event-locked to the markers or sliding; they print each "
                    "decision and its latency, write a session folder (--out) and an LSL outlet of "
                    "decisions, and report the accuracy on cued trials (flagging trials the decoder "
                    "was trained on). Continuous bundles (kalman, dkf, wiener) step one feature bin "
                    "at a time from an LSL stream of bins or a file or folder of bins replayed as "
                    "one (--speed times its rate), print the decoded output, the cost of each step "
                    "(microseconds) and the latency (ms), and, for a replayed file with targets, "
                    "nRMSE, angle error, R^2 and correlation; they write the same session folder "
                    "and outlet. A classification decoder that does not fit the signal "
                    "(another modality, missing channels) is refused before the session starts.")
    p.add_argument("bundle", metavar="BUNDLE", help="decoder bundle folder or .zip, or a run folder (its model/)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--replay", metavar="FILE", help="classification: a recording (EDF, FIF, ...) replayed as an LSL "
                                                     "stream with its events as markers; continuous: a "
                                                     "file or folder of feature bins")
    src.add_argument("--stream", metavar="NAME", help="name of an LSL stream (bins, or a signal)")
    src.add_argument("--board", metavar="BOARD", help="classification bundles: a BrainFlow board "
                                                      "(synthetic, cyton, ... or an id; sliding mode)")
    p.add_argument("--start", type=number(int, at_least=0), default=0, help="continuous replay: first bin (default 0)")
    p.add_argument("--stop", type=number(int, at_least=1), help="continuous replay: bin to stop before (default: the end)")
    p.add_argument("--realtime", action="store_true", help="continuous replay: play the bins at the data's rate (--speed 1, the default)")
    p.add_argument("--duration", type=number(above=0, at_most=MAX_SECONDS), default=60.0, help="stream: seconds to decode (default 60)")
    p.add_argument("--max-steps", type=number(int, at_least=1), help="continuous: stop after this many bins")
    p.add_argument("--every", type=number(int, at_least=0), default=1, metavar="N", help="print every N-th output (0: none)")
    p.add_argument("--output", metavar="CSV", help="also write the decoded outputs to this CSV file")
    p.add_argument("--verbose", action="store_true",
                   help="show liblsl's own log (connections, streams ending) on standard error")
    g = p.add_argument_group("session (every bundle; --markers, --mode, --step, --adapt: windows of a signal)")
    g.add_argument("--markers", metavar="NAME", help="marker stream (default: STREAM-annotations if on)")
    g.add_argument("--mode", choices=("events", "sliding"), default="events",
                   help="decide on the window after each marker (events, default) or every --step")
    g.add_argument("--step", type=number(above=0, at_most=60_000), default=250.0, metavar="MS", help="sliding: step in ms (default 250)")
    g.add_argument("--speed", type=number(above=0, at_most=1000), default=1.0, help="replay: times faster than real time (default 1)")
    g.add_argument("--out", metavar="SESSION_DIR", help="session folder (settings.json, log.csv)")
    g.add_argument("--outlet", metavar="NAME", help="name of the LSL outlet of decisions "
                                                    "(default: neurodeck-decisions-<stream>)")
    g.add_argument("--adapt", action="store_true",
                   help="adaptive re-centring: Euclidean alignment on the windows decoded so far "
                        "(bundles trained with preprocessing.align)")
    g.add_argument("--reconnect", type=number(at_least=0, at_most=3600), default=10.0, metavar="S",
                   help="stream lost: wait this long for it to come back, then stop (default 10)")
    g.add_argument("--stop-threshold", type=number(above=0, at_most=1), metavar="P",
                   help="speller bundles: dynamic stopping, decide a letter as soon as its posterior "
                        "reaches P (e.g. 0.99), after at least one full repetition")
    p.set_defaults(func=run)


def run(args) -> int:
    from data.errors import InputError

    from ..online.lsl_log import configure

    configure(verbose=args.verbose)   # before liblsl's first use: its log is read once

    if args.output:
        from ..output_paths import check_output

        check_output(args.output, "--output")
    from decoders.bundle import load_bundle

    from .export import resolve_bundle

    decoder, manifest = load_bundle(resolve_bundle(args.bundle))
    # The decoder's own input kind decides the path (a bundle's input spec may be empty).
    windows = getattr(decoder, "input_kind", "trials") != "continuous"
    if args.board and not windows:
        raise InputError("--board decodes classification bundles only.")
    if windows:
        if args.replay:
            from data.sources import detect

            if detect(args.replay).produces == "continuous":   # the kind's declared output
                raise InputError(
                    f"{args.replay} holds feature bins; {decoder.name} decodes windows of a signal "
                    "recording, it has no per-bin step. Replay a recording (EDF, FIF, ...) for it, "
                    "or use a continuous decoder (kalman, dkf, wiener) on feature bins.")
        from ..online.cli import run_classification

        return run_classification(args, decoder, manifest)
    from ..online.cli import run_continuous

    return run_continuous(args, decoder, manifest)
