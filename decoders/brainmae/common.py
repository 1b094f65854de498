"""What the BrainMAE decoders share: the network and window parameters, per-subject TRs,
the masked-reconstruction loss and the network's bundle state."""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from data.errors import InputError

from ..base import DecoderParams, TensorSpec, state_int
from ..neural import NeuralDecoder

# The parameters that fix the network's shape and the meaning of its input: a fine-tuning
# run takes them from the pretrained encoder it names.
ARCHITECTURE = ("n_segments", "seg_seconds", "seg_points", "dim", "depth", "heads", "dropout", "variant")


class BrainMAENetworkParams(DecoderParams):
    """Windows, network and masking of BrainMAE (training settings follow)."""

    n_segments: int = Field(4, ge=2, description="Segments per window (a token spans the window).")
    seg_seconds: float = Field(15.0, gt=0, description="Segment duration in seconds (tau); converted to time points with each subject's TR.")
    seg_points: int = Field(8, ge=2, description="Samples a segment is resampled to, so that subjects with different TRs give tokens of one size.")
    default_tr: float = Field(2.0, gt=0, description="TR in seconds assumed for data that carry none.")
    stride_segments: int | None = Field(None, ge=1, description="Window step in segments (null: half a window).")
    dim: int = Field(64, ge=8, description="Token width.")
    depth: int = Field(2, ge=1, description="Encoder blocks.")
    heads: int = Field(4, ge=1, description="Attention heads (dim must be a multiple).")
    dropout: float = Field(0.1, ge=0, lt=1, description="Dropout in the encoder.")
    attention_dropout: float | None = Field(None, ge=0, lt=1, description="Dropout of the attention weights (null: dropout). Drawing its mask is about a quarter of a region-aware training step on CPU.")
    windows_per_subject: int | None = Field(None, ge=1, description="Training: random windows of each subject per epoch, drawn afresh each epoch from the seed (null: every window every epoch).")
    variant: Literal["static-graph", "region-aware", "self-attention"] = Field(
        "region-aware", description="Encoder blocks: static-graph (attention from ROI embeddings only), "
        "region-aware (signal attention biased by embedding similarity), self-attention (no graph prior); "
        "self-loops removed in the first two.")
    mask_ratio: float = Field(0.5, gt=0, lt=1, description="Fraction of ROI segments hidden in pretraining.")
    masked_weight: float = Field(0.75, ge=0, le=1, description="Loss weight of the masked segments; the visible ones get 1 - this (paper: 0.75 / 0.25).")
    seed: int = 0


class BrainMAEBase(NeuralDecoder):
    """Windows from ROI series with per-subject TRs, and the network's state."""

    input_kind = "trials"
    modalities = ("fmri-roi",)
    length_free = True   # windows of fixed seconds cut from each subject's series (too short: refused by name)

    def _trs(self, X, tr) -> np.ndarray:
        p = self.validated_params()
        if tr is None:
            return np.full(len(X), p.default_tr)
        tr = np.asarray(tr, dtype=float)
        if tr.shape != (len(X),) or not np.all(np.isfinite(tr) & (tr > 0)):
            raise InputError(f"{self.name}: tr must hold one positive TR (s) per subject.")
        return tr

    def _windows(self, X, tr, arch: dict[str, Any] | None = None):
        from .masking import segment_windows

        p = self.validated_params()
        a = arch or p.model_dump()
        if np.asarray(X).ndim != 3:
            raise InputError(f"{self.name}: ROI series must be (subjects, rois, time), not {np.shape(X)}.")
        try:
            return segment_windows(X, self._trs(X, tr), n_segments=a["n_segments"], seg_seconds=a["seg_seconds"],
                                   seg_points=a["seg_points"], stride_segments=p.stride_segments)
        except ValueError as exc:
            raise InputError(f"{self.name}: {exc}") from exc

    def _check_heads(self, arch: dict[str, Any]) -> None:
        from ..base import ParameterError

        if arch["dim"] % arch["heads"]:
            raise ParameterError(f"{self.name}: dim ({arch['dim']}) must be a multiple of heads ({arch['heads']}).")

    def build_network(self, n_rois: int, arch: dict[str, Any]):
        from .network import BrainMAENet

        self._check_heads(arch)
        attention_dropout = self.validated_params().attention_dropout
        return BrainMAENet(n_rois, arch["n_segments"], arch["seg_points"], dim=arch["dim"], depth=arch["depth"],
                           heads=arch["heads"], dropout=arch["dropout"], variant=arch["variant"],
                           attention_dropout=attention_dropout)

    def architecture(self) -> dict[str, Any]:
        p = self.validated_params()
        return {k: getattr(p, k) for k in ARCHITECTURE}

    def _net_state(self) -> dict[str, np.ndarray]:
        return {f"net.{k}": v.detach().cpu().numpy() for k, v in self.net_.state_dict().items()}

    def _load_net(self, arrays: dict[str, np.ndarray]) -> None:
        import torch

        state = {k[len("net."):]: torch.as_tensor(v) for k, v in arrays.items() if k.startswith("net.")}
        self.net_.load_state_dict(state)
        self.net_.eval()

    def _expected_net(self, net) -> dict[str, TensorSpec]:
        return {f"net.{k}": TensorSpec(tuple(v.shape) or (1,), (v.detach().cpu().numpy().dtype.str,))
                for k, v in net.state_dict().items()}

    def _arch_from(self, extra: dict[str, Any]) -> dict[str, Any]:
        """The architecture stored in a bundle's state, validated like parameters."""
        arch = extra.get("architecture") if isinstance(extra, dict) else None
        if not isinstance(arch, dict) or set(arch) != set(ARCHITECTURE):
            raise InputError(f"state.architecture must name {', '.join(ARCHITECTURE)}.")
        valid = BrainMAENetworkParams(**arch)
        return {k: getattr(valid, k) for k in ARCHITECTURE}

    def _n_rois(self, extra) -> int:
        return state_int(extra, "n_rois", minimum=2)


def masked_loss(mask_ratio: float, masked_weight: float, seed: int):
    """``loss_fn(net, batch)`` for the engine: batches ``(W,)`` get fresh random segment masks,
    ``(W, mask)`` (validation) fixed ones; loss = w x masked MSE + (1 - w) x visible MSE.
    Reports ``masked_mse`` and ``masked_r2`` (the batch's masked values)."""
    import torch

    generator = torch.Generator().manual_seed(seed)

    def loss_fn(net, batch):
        W = batch[0]
        if len(batch) > 1:
            mask = batch[1]
        else:
            mask = (torch.rand(W.shape[:3], generator=generator) < mask_ratio).to(W.device)
        err = ((net.reconstruct(W, mask) - W) ** 2).mean(-1)
        masked = err[mask].mean() if mask.any() else err.new_zeros(())
        visible = err[~mask].mean() if (~mask).any() else err.new_zeros(())
        loss = masked_weight * masked + (1 - masked_weight) * visible
        true = W[mask]
        r2 = 1 - masked / true.var().clamp_min(1e-8) if true.numel() > 1 else masked * 0
        return loss, {"masked_mse": masked.detach(), "masked_r2": r2.detach()}

    return loss_fn
