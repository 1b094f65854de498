"""Online decoding: a fitted decoder fed live (an LSL stream, a BrainFlow board) or replayed data.

- `continuous`: continuous decoders (Kalman, Wiener, ...) stepped one time bin at a time
  (`OnlineSession`, with `ReplaySource` and `LSLSource`);
- `session`: classification bundles on windows of a stream (`ClassificationSession`,
  `SessionLog`); `windows`: the windows' preprocessing, causal and as trained;
- `stream`: LSL inlets and the decision outlet; `brainflow`: a BrainFlow board as an input;
- `replay`: a recording played as an LSL stream with its markers; `record`: a calibration
  recording saved from a stream;
- `live`: a whole classification session as one generator (the GUI's Online view and the
  CLI run it); `cli`: `neurodeck online` for classification bundles.

Importing this package loads numpy only; mne-lsl, mne and the decoders load with the module
that needs them.
"""
from .continuous import LSLSource, OnlineReport, OnlineSession, ReplaySource, Sample, StreamStalledError

__all__ = ["LSLSource", "OnlineReport", "OnlineSession", "ReplaySource", "Sample", "StreamStalledError"]
