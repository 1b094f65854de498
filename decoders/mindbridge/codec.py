"""`ImageCodec`: the stimulus embedding and the image generator behind one small interface.

MindBridge predicts CLIP embeddings and turns them into images with Versatile Diffusion.
Neither can be downloaded here, so the built-in codec is a small autoencoder fitted on the
stimulus images (optionally plus scikit-learn's digits): ``encode`` is its encoder, ``decode``
its decoder. A CLIP + diffusion pair plugs in by implementing the same four members.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn


@runtime_checkable
class ImageCodec(Protocol):
    """Images (n, H, W) in 0-1 <-> embeddings (n, dim)."""

    dim: int
    image_shape: tuple[int, int]

    def encode(self, images: np.ndarray) -> np.ndarray: ...

    def decode(self, embeddings: np.ndarray) -> np.ndarray: ...


class _AutoencoderNet(nn.Module):
    def __init__(self, n_pixels: int, dim: int, hidden: int):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(n_pixels, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.decoder = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, n_pixels))

    def forward(self, x):
        return self.decoder(self.encoder(x))


class AutoencoderCodec:
    """A small MLP autoencoder (pixels -> ``dim`` -> pixels; decoder output through a sigmoid).

    Embeddings are standardised (mean 0, sd 1 per dimension over the fitting images), so a
    predicted embedding's scale is the same for every dimension.
    """

    def __init__(self, image_shape: tuple[int, int], dim: int = 32, hidden: int = 256):
        self.image_shape, self.dim, self.hidden = tuple(image_shape), int(dim), int(hidden)
        self.net = _AutoencoderNet(self.image_shape[0] * self.image_shape[1], self.dim, self.hidden)
        self.register_stats(np.zeros(self.dim, np.float32), np.ones(self.dim, np.float32))

    def register_stats(self, mean: np.ndarray, std: np.ndarray) -> None:
        self.mean = torch.as_tensor(mean, dtype=torch.float32)
        self.std = torch.as_tensor(std, dtype=torch.float32)

    # --- torch paths (differentiable; the decoder's pixel loss goes through decode_torch) ---
    def encode_torch(self, flat: torch.Tensor) -> torch.Tensor:
        return (self.net.encoder(flat) - self.mean.to(flat.device)) / self.std.to(flat.device)

    def decode_torch(self, emb: torch.Tensor) -> torch.Tensor:
        raw = emb * self.std.to(emb.device) + self.mean.to(emb.device)
        return torch.sigmoid(self.net.decoder(raw))

    # --- the ImageCodec interface --------------------------------------------------------
    @torch.no_grad()
    def encode(self, images: np.ndarray) -> np.ndarray:
        self.net.eval()
        flat = torch.as_tensor(np.asarray(images, np.float32).reshape(len(images), -1))
        return self.encode_torch(flat).numpy()

    @torch.no_grad()
    def decode(self, embeddings: np.ndarray) -> np.ndarray:
        self.net.eval()
        out = self.decode_torch(torch.as_tensor(np.asarray(embeddings, np.float32)))
        return out.numpy().reshape(len(out), *self.image_shape)

    def fit(self, images: np.ndarray, *, epochs: int = 300, lr: float = 2e-3, seed: int = 0,
            context=None, device=None) -> "AutoencoderCodec":
        """Fit on images (n, H, W) in 0-1 with the shared training engine."""
        from ..training import TrainConfig, Trainer

        flat = np.asarray(images, np.float32).reshape(len(images), -1)

        def loss_fn(net, batch):
            (x,) = batch
            return nn.functional.mse_loss(torch.sigmoid(net(x)), x)

        config = TrainConfig(epochs=epochs, batch_size=64, lr=lr, weight_decay=1e-4, optimizer="adamw",
                             schedule="cosine", seed=seed)
        from ..events import TrainingContext

        quiet = TrainingContext(cancel_flag=context.cancel_flag) if context is not None else None
        Trainer(self.net, loss_fn, config, device=device or "cpu", context=quiet).fit((flat,))
        self.net.cpu().eval()
        with torch.no_grad():
            raw = self.net.encoder(torch.as_tensor(flat)).numpy()
        self.register_stats(raw.mean(0), raw.std(0) + 1e-6)
        return self

    # --- bundles -----------------------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        arrays = {f"codec.{k}": v.detach().cpu().numpy() for k, v in self.net.state_dict().items()}
        arrays["codec.mean"], arrays["codec.std"] = self.mean.numpy(), self.std.numpy()
        return arrays

    def config(self) -> dict:
        return {"type": "autoencoder", "image_shape": list(self.image_shape), "dim": self.dim, "hidden": self.hidden}

    @classmethod
    def from_state(cls, config: dict, arrays: dict[str, np.ndarray]) -> "AutoencoderCodec":
        codec = cls(tuple(config["image_shape"]), config["dim"], config["hidden"])
        weights = {k[len("codec."):]: torch.as_tensor(v) for k, v in arrays.items()
                   if k.startswith("codec.") and k not in ("codec.mean", "codec.std")}
        codec.net.load_state_dict(weights)
        codec.register_stats(arrays["codec.mean"], arrays["codec.std"])
        codec.net.eval()
        return codec


def codec_images(stimuli: np.ndarray, extra: str = "none") -> np.ndarray:
    """The images a codec is fitted on: the stimuli, plus scikit-learn's digits resized to the
    stimuli's size when ``extra == "sklearn-digits"``."""
    stimuli = np.asarray(stimuli, np.float32)
    if extra != "sklearn-digits":
        return stimuli
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    h, w = stimuli.shape[1:3]
    digits = load_digits().images / 16.0
    resized = np.stack([zoom(im, (h / 8, w / 8), order=1) for im in digits]).astype(np.float32)
    return np.concatenate([stimuli, np.clip(resized, 0, 1)])
