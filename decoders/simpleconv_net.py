"""EEG-SimpleConv's torch modules (El Ouahidi et al. 2024), kept apart from the decoder logic.

`SimpleConvNet` is the published architecture; `SincResample` is a torch-native windowed-sinc
resampler (the same polyphase design as torchaudio's default ``Resample``, which the reference
uses inside its model) so we need no torchaudio; `InputStage` holds what turns raw trials into
the network's input (Euclidean alignment matrix, per-channel standardisation, resampling);
`SimpleConvPipeline` chains both for inference and export.
"""
from __future__ import annotations

import math

import torch
from torch import nn


def _sinc_kernel(orig: int, new: int, lowpass_filter_width: int = 6, rolloff: float = 0.99):
    """Polyphase Hann-windowed sinc kernel (new, 1, taps) and the padding width."""
    base = min(orig, new) * rolloff
    width = math.ceil(lowpass_filter_width * orig / base)
    idx = torch.arange(-width, width + orig, dtype=torch.float64)[None, None] / orig
    t = torch.arange(0, -new, -1, dtype=torch.float64)[:, None, None] / new + idx
    t = (t * base).clamp(-lowpass_filter_width, lowpass_filter_width)
    window = torch.cos(t * math.pi / lowpass_filter_width / 2) ** 2
    t = t * math.pi
    sinc = torch.where(t == 0, torch.ones_like(t), torch.sin(t) / torch.where(t == 0, torch.ones_like(t), t))
    return (sinc * window * base / orig).float(), width


class SincResample(nn.Module):
    """Resample the last axis from ``orig_hz`` to ``new_hz`` with a windowed-sinc filter.

    Rates are rounded to whole Hz (as torchaudio does); equal rates give the identity.
    One strided ``conv1d``, so it runs on any device and exports to ONNX / TorchScript.
    """

    def __init__(self, orig_hz: float, new_hz: float):
        super().__init__()
        orig, new = int(round(orig_hz)), int(round(new_hz))
        if orig <= 0 or new <= 0:
            raise ValueError("sampling rates must be positive")
        g = math.gcd(orig, new)
        self.orig, self.new = orig // g, new // g
        kernel, self.width = _sinc_kernel(self.orig, self.new)
        self.register_buffer("kernel", kernel, persistent=False)

    def output_length(self, n_times: int) -> int:
        return math.ceil(self.new * n_times / self.orig)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.orig == self.new:
            return x
        lead: list[int] = list(x.shape[:-1])
        n_times = x.shape[-1]
        flat = nn.functional.pad(x.reshape(-1, 1, n_times), (self.width, self.width + self.orig))
        out = nn.functional.conv1d(flat, self.kernel, stride=self.orig)   # (N, new, steps)
        out = out.transpose(1, 2).reshape(flat.shape[0], -1)[:, :self.output_length(n_times)]
        return out.reshape(lead + [out.shape[-1]])


class SimpleConvNet(nn.Module):
    """The published network: a conv stem, ``n_blocks`` conv blocks, global average pooling,
    a class head and an optional subject head (for subject-wise regularisation).

    Input (batch, n_chans, n_times) at the resampled rate; output class logits.
    """

    def __init__(self, n_chans: int, n_classes: int, filters: int = 85, n_blocks: int = 1,
                 kernel_size: int = 15, n_subjects: int = 0):
        super().__init__()
        pad = kernel_size // 2
        self.stem = nn.Sequential(nn.Conv1d(n_chans, filters, kernel_size, padding=pad, bias=False),
                                  nn.BatchNorm1d(filters), nn.ReLU())
        blocks, width = [], filters
        for i in range(n_blocks):
            out = width if i == 0 else int(1.414 * width)
            blocks.append(nn.Sequential(
                nn.Conv1d(width, out, kernel_size, padding=pad, bias=False), nn.BatchNorm1d(out),
                nn.MaxPool1d(2), nn.ReLU(),
                nn.Conv1d(out, out, kernel_size, padding=pad, bias=False), nn.BatchNorm1d(out), nn.ReLU()))
            width = out
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(width, n_classes)
        self.subject_head = nn.Linear(width, n_subjects) if n_subjects else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(x)).mean(dim=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def forward_with_subject(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.features(x)
        return self.head(z), self.subject_head(z)


class BandPass(nn.Module):
    """Zero-phase FIR band-pass along the last axis (taps from MNE's default FIR design),
    one depthwise ``conv1d`` with reflected edges, so it exports with the model."""

    def __init__(self, taps):
        super().__init__()
        self.register_buffer("taps", torch.as_tensor(taps, dtype=torch.float32).reshape(1, 1, -1), persistent=False)
        self.pad = self.taps.shape[-1] // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead: list[int] = list(x.shape[:-1])
        flat = x.reshape(-1, 1, x.shape[-1])
        mode = "reflect" if x.shape[-1] > self.pad else "constant"
        out = nn.functional.conv1d(nn.functional.pad(flat, (self.pad, self.pad), mode=mode), self.taps)
        return out.reshape(lead + [out.shape[-1]])


class InputStage(nn.Module):
    """Raw trials -> network input: ``align @ x``, optional band-pass, per-channel z-score, resampling.

    Alignment (over channels) and the band-pass (over time) commute, so alignment matrices
    computed from band-passed trials apply to raw ones here."""

    def __init__(self, n_chans: int, sfreq: float | None, resample_hz: float | None, band_taps=None):
        super().__init__()
        self.register_buffer("align", torch.eye(n_chans))
        self.register_buffer("mean", torch.zeros(n_chans, 1))
        self.register_buffer("std", torch.ones(n_chans, 1))
        self.bandpass = BandPass(band_taps) if band_taps is not None else nn.Identity()
        self.resample = SincResample(sfreq, resample_hz) if sfreq and resample_hz else nn.Identity()

    def forward(self, x: torch.Tensor, align: torch.Tensor | None = None) -> torch.Tensor:
        x = self.bandpass(torch.matmul(self.align if align is None else align, x))
        return self.normalise(x)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """z-score and resample trials that are already aligned and band-passed."""
        return self.resample((x - self.mean) / self.std)


class SimpleConvPipeline(nn.Module):
    """`InputStage` then `SimpleConvNet`; outputs class probabilities (for export and online use)."""

    def __init__(self, stage: InputStage, net: SimpleConvNet):
        super().__init__()
        self.stage, self.net = stage, net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(self.stage(x)), dim=1)
