"""`preflight`: everything a run checks before its first fold, and nothing it trains or writes
(``neurodeck run EXPERIMENT --check``). The file is validated, the data loaded (the trial
cache may be filled), the decoder built with the parameters the data supplies, the device
resolved and the protocol's folds cut, so a bad value anywhere is an input error at once."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .experiment import (ExperimentConfig, _absolute_paths, _check_input_kind, _decoder_params, _device_name,
                         validate_config)


@dataclass
class Preflight:
    """What a run of the experiment would do: the data's summary, the decoder, the folds."""

    decoder: str
    protocol: str
    device: str
    data: dict[str, Any]
    n_folds: int
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> str:
        lines = [f"{self.decoder} | {self.protocol} | {self.n_folds} folds | device {self.device}",
                 f"  data: {self.data.get('n_samples', '?')} samples, shape {self.data.get('shape')}"]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def preflight(config: ExperimentConfig | dict) -> Preflight:
    """Check ``config`` as far as a run does before training; raises the run's input errors.

    Parameters
    ----------
    config
        An `ExperimentConfig` or a dict with the same sections.

    Returns
    -------
    Preflight
        The decoder, protocol, device, data summary, number of folds and setup warnings.
    """
    from data.loading import load_dataset
    from decoders import registry
    from decoders.protocols.registry import make_splits

    from .setup_warnings import setup_warnings

    config = validate_config(config if isinstance(config, ExperimentConfig) else dict(config))
    config = _absolute_paths(config, None)
    data = load_dataset(config.dataset)
    cls = registry.get(config.decoder.name)
    _check_input_kind(cls, data, config)
    params = _decoder_params(cls, config, data)
    registry.create(config.decoder.name, params)
    warnings = list(setup_warnings(cls, params, data, config.evaluation))
    device = _device_name(cls, config.training.device)
    if device == "cpu" and config.training.device not in ("auto", "cpu"):
        warnings.append(f"training.device '{config.training.device}' is not used: {config.decoder.name} "
                        "runs on the CPU.")
    options = config.evaluation.model_dump(exclude={"protocol"}, exclude_unset=True)
    splits = make_splits(data, config.evaluation.protocol, seed=config.training.seed, **options)
    return Preflight(config.decoder.name, config.evaluation.protocol, device,
                     dict(data.summary()), len(splits), warnings)
