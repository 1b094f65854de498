"""Online decoding: a fitted decoder fed live (an LSL stream, a BrainFlow board) or replayed data.

- `live`: a whole session as one generator, for every bundle (the GUI's Online view and
  `neurodeck online` run it): replay, inlets, warm-up, decisions, outlet, session log;
- `session`: the shared stream loop (`StreamSession`), classification bundles on windows of a
  stream (`ClassificationSession`) and the session log (`SessionLog`); `windows`: the
  windows' preprocessing, as trained; `bins`: continuous bundles (Kalman, DKF, Wiener) one
  bin per sample of a stream of features (`BinSession`);
- `stream`: LSL inlets and the decision outlet; `brainflow`: a BrainFlow board as an input;
- `replay`: a recording (or a file of feature bins) played as an LSL stream with its markers;
  `record`: a calibration recording saved from a stream;
- `continuous`: a continuous decoder stepped in process over a file or an LSL stream, timing
  each step (`OnlineSession`; a library helper, the CLI takes the live session);
  `cli`: `neurodeck online`'s printing.

Importing this package loads numpy only; mne-lsl, mne and the decoders load with the module
that needs them.
"""
from .continuous import LSLSource, OnlineReport, OnlineSession, ReplaySource, Sample, StreamStalledError

__all__ = ["LSLSource", "OnlineReport", "OnlineSession", "ReplaySource", "Sample", "StreamStalledError"]
