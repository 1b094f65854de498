"""The ``stimulus-pairs`` kind (voxel vectors with the images shown); its reader is
`data.stimuli` (imported on first use). Never detected: name it with ``kind:``."""
from __future__ import annotations

from .kind import SourceKind

_M = "data.stimuli"

KIND = SourceKind(
    "stimulus-pairs", "voxel vectors paired with the images shown (.mat/.npz, one file per subject; "
    "name it: kind: stimulus-pairs)", f"{_M}:is_stimulus_file", f"{_M}:load_stimulus_pairs",
    f"{_M}:describe_stimulus_pairs", None, f"{_M}:StimulusPairsOptions", priority=-10,
    extensions=("*.mat", "*.npz"), modality="fmri", produces="volumes")
