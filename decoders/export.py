"""Export torch decoders to ONNX (checked against onnxruntime) and TorchScript.

Both take the decoder's ``module()``: raw trials (batch, n_channels, n_times) at the
recording's rate in, class probabilities out, with alignment, standardisation and
resampling built in. The batch axis is dynamic.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data.atomic import atomic_path
from data.errors import InputError


@dataclass
class ExportReport:
    path: Path
    max_abs_diff: float | None = None   # exported vs torch outputs on the example input


def _module(decoder):
    if not getattr(decoder, "uses_torch", False) or not hasattr(decoder, "module"):
        what = "has no single-tensor network to export" if getattr(decoder, "uses_torch", False) else "is not a torch decoder"
        raise InputError(f"{decoder.name} {what}; export it as a bundle instead.")
    return decoder.module()


def export_onnx(decoder, path: str | Path, example_input: np.ndarray, *, atol: float = 1e-4,
                opset: int = 17) -> ExportReport:
    """Write ``decoder`` as ONNX and check onnxruntime reproduces torch on ``example_input``.

    Parameters
    ----------
    decoder : NeuralDecoder
        A fitted torch decoder with a single-tensor network (``module()``).
    path : str or Path
        The ``.onnx`` file to write.
    example_input : ndarray
        One trial ``(channels, times)`` or a batch of them, as the decoder's ``predict`` takes.
    atol : float
        The largest difference allowed between onnxruntime's and torch's outputs.
    opset : int
        The ONNX opset.

    Returns
    -------
    ExportReport
        The file and the largest difference found.

    Raises
    ------
    data.errors.InputError
        The decoder is not a torch decoder with a single-tensor network.
    RuntimeError
        The outputs differ by more than ``atol`` (the file is not left behind).
    """
    import onnxruntime as ort
    import torch

    path = Path(path)
    module = _module(decoder)
    x = torch.as_tensor(np.asarray(example_input, dtype=np.float32))
    if x.ndim == 2:
        x = x[None]
    with torch.inference_mode():
        expected = module(x).numpy()
    with atomic_path(path) as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # the TorchScript-based exporter's deprecation notice
            torch.onnx.export(module, (x,), str(tmp), input_names=["trials"], output_names=["probabilities"],
                              dynamic_axes={"trials": {0: "batch"}, "probabilities": {0: "batch"}},
                              opset_version=opset, dynamo=False)
        session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        got = session.run(None, {"trials": x.numpy()})[0]
        diff = float(np.abs(got - expected).max())
        if not diff <= atol:
            raise RuntimeError(f"ONNX export of {decoder.name}: onnxruntime differs from torch by {diff:.3g} (> {atol}).")
    return ExportReport(path, diff)


def export_torchscript(decoder, path: str | Path, example_input: np.ndarray | None = None) -> ExportReport:
    """Write ``decoder`` as TorchScript (``torch.jit.script``; load with ``torch.jit.load``).

    Parameters
    ----------
    decoder : NeuralDecoder
        A fitted torch decoder with a single-tensor network (``module()``).
    path : str or Path
        The file to write.
    example_input : ndarray, optional
        Trials to compare the scripted module with the original on.

    Returns
    -------
    ExportReport
        The file and, with ``example_input``, the largest difference found.

    Raises
    ------
    data.errors.InputError
        The decoder is not a torch decoder with a single-tensor network.
    """
    import torch

    path = Path(path)
    module = _module(decoder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch marks TorchScript deprecated
        scripted = torch.jit.script(module)
    diff = None
    if example_input is not None:
        x = torch.as_tensor(np.asarray(example_input, dtype=np.float32))
        with torch.inference_mode():
            diff = float((scripted(x) - module(x)).abs().max())
    with atomic_path(path) as tmp:
        scripted.save(str(tmp))
    return ExportReport(path, diff)
