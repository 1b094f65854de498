"""BrainMAE (Yang et al. 2024): region-aware masked autoencoder of fMRI ROI time series.
``brainmae-pretrain`` pretrains the encoder without labels; ``brainmae`` fine-tunes it."""
from .masking import baseline_fills, mask_segments, masked_r2, segment_windows
from .network import BrainMAENet

__all__ = ["BrainMAENet", "segment_windows", "mask_segments", "masked_r2", "baseline_fills"]
