"""MindBridge-style cross-subject image reconstruction (Wang et al., CVPR 2024), small and local."""
from .codec import AutoencoderCodec, ImageCodec
from .decoder import MindBridge

__all__ = ["AutoencoderCodec", "ImageCodec", "MindBridge"]
