"""The DKF's neural f(x): a small MLP trained through `NeuralDecoder.train_network`, run in NumPy online.

Training uses `decoders.training.Trainer` (device choice, cancellation, NaN checks, epoch
events). After every epoch the network's decoded trajectory on the held-out stretch is sent
as a "trajectory" reconstruction event, so the GUI can show the fit improving. The trained
weights are plain arrays; `NumpyMLP` evaluates them without torch, so a saved DKF steps
online at NumPy speed.
"""
from __future__ import annotations

import numpy as np

from ..events import EpochEnd, TrainingContext, TrainingEvent, TrajectoryReconstruction


def build_mean_network(params, n_features: int, n_targets: int):
    import torch
    from torch import nn

    torch.manual_seed(params.seed)
    layers, width = [], n_features
    for _ in range(params.layers):
        layers += [nn.Linear(width, params.hidden), nn.ReLU(), nn.Dropout(params.dropout)]
        width = params.hidden
    layers.append(nn.Linear(width, n_targets))
    return nn.Sequential(*layers)


def mse_loss(net, batch):
    from torch import nn

    return nn.functional.mse_loss(net(batch[0]), batch[1])


def train_mean_network(decoder, X, y, fit_idx, val_idx, context: TrainingContext, y_offset) -> dict:
    """Train the decoder's f: features -> (centred) targets on ``fit_idx``; report on ``val_idx``.

    Returns the weights as a dict of float arrays (see `NumpyMLP`).
    """
    import torch
    from torch import nn

    x_mean, x_scale = X[fit_idx].mean(0), X[fit_idx].std(0) + 1e-8
    y_scale = y[fit_idx].std(0) + 1e-12
    Xs = ((X - x_mean) / x_scale).astype(np.float32)
    ys = (y / y_scale).astype(np.float32)
    model = decoder.build_network(X.shape[1], y.shape[1])

    stretch = val_idx[:400]  # a (mostly contiguous) held-out stretch to draw each epoch
    truth = y[stretch] + y_offset

    def decoded_stretch(net) -> np.ndarray:
        was_training = net.training
        net.eval()
        with torch.no_grad():
            inputs = torch.as_tensor(Xs[stretch], device=next(net.parameters()).device)
            out = net(inputs).cpu().numpy().astype(float) * y_scale + y_offset
        net.train(was_training)
        return out

    def forward(event: TrainingEvent) -> None:
        if context.on_event is not None:
            context.on_event(event)
        if isinstance(event, EpochEnd):
            context.emit(TrajectoryReconstruction(truth=truth, decoded=decoded_stretch(model),
                                                  target_names=[f"y{i}" for i in range(y.shape[1])]))

    relay = TrainingContext(on_event=forward, cancel_flag=context.cancel_flag,
                            device=context.device, fold=context.fold)
    settings = decoder.training_settings()
    decoder.train_network(model, decoder.loss(), (Xs[fit_idx], ys[fit_idx]), (Xs[val_idx], ys[val_idx]),
                          context=relay, checkpoint=settings.checkpoint)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    weights = {"x_mean": x_mean, "x_scale": x_scale, "y_scale": y_scale}
    for i, lin in enumerate(linears):
        weights[f"w{i}"] = lin.weight.detach().cpu().numpy().astype(float)
        weights[f"b{i}"] = lin.bias.detach().cpu().numpy().astype(float)
    return weights


class NumpyMLP:
    """Evaluate the trained MLP (Linear-ReLU stacks) with NumPy; dropout is off at inference."""

    def __init__(self, weights: dict[str, np.ndarray]):
        self.x_mean = weights["x_mean"]
        self.x_scale = weights["x_scale"]
        self.y_scale = weights["y_scale"]
        n = len([k for k in weights if k.startswith("w")])
        self.layers = [(np.ascontiguousarray(weights[f"w{i}"].T), weights[f"b{i}"]) for i in range(n)]

    def predict(self, X: np.ndarray) -> np.ndarray:
        h = (np.atleast_2d(X) - self.x_mean) / self.x_scale
        for i, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        return h * self.y_scale

    def predict_one(self, x: np.ndarray) -> np.ndarray:
        return self.predict(x[None])[0]
