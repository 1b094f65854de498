"""BrainMAE (Yang et al. 2024): region-aware masked autoencoder of fMRI ROI time series."""
from .network import BrainMAENet
from .masking import segment_windows, mask_segments, masked_r2, baseline_fills

__all__ = ["BrainMAENet", "segment_windows", "mask_segments", "masked_r2", "baseline_fills"]
