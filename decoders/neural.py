"""`NeuralDecoder`: the base of every torch decoder. Its ``Params`` hold the training
settings once (`decoders.training_settings.with_training_settings`); a subclass
contributes its network (``build_network``), its loss (``loss``) and its presets, and
trains through ``train_network``, which resolves the device and runs the shared engine.
"""
from __future__ import annotations

from typing import Any, ClassVar

from .base import Decoder
from .events import TrainingContext
from .training_settings import TrainingSettings, training_settings_of


class NeuralDecoder(Decoder):
    """Base of the torch decoders: its ``Params`` include the shared training settings.

    A subclass implements `build_network` and `loss`, calls `train_network` from ``fit``,
    and gives presets; the device, the optimizer and schedule, early stopping, checkpoints,
    events and cancellation come from here (docs/extending-decoders.md walks through one).
    """

    uses_torch: ClassVar[bool] = True

    # --- what a neural decoder contributes ----------------------------------------------
    def build_network(self, *args: Any, **kwargs: Any):
        """The torch module to train (shapes come from the data seen in ``fit``)."""
        raise NotImplementedError

    def loss(self, *args: Any, **kwargs: Any):
        """``loss_fn(model, batch) -> loss | (loss, {name: value})`` for the engine."""
        raise NotImplementedError

    # --- what the base does for all of them -------------------------------------------
    def training_settings(self) -> TrainingSettings:
        """The training part of the (validated) parameters.

        Raises
        ------
        ParameterError
            A parameter is out of range.
        """
        return training_settings_of(self.validated_params())

    def training_device(self, context: TrainingContext | None = None):
        """The one place a neural decoder's device is chosen: the ``device`` setting, or
        with ``auto`` the context's (the experiment's) device, then cuda / mps / cpu.

        Returns
        -------
        torch.device

        Raises
        ------
        ParameterError
            The device asked for is not available here.
        """
        from .training import resolve_device

        setting = self.training_settings().device
        return resolve_device(setting if context is None or setting != "auto" else context.device)

    def train_network(self, network, loss_fn, train, val=None, *, context: TrainingContext | None = None,
                      val_loss_fn=None, device=None, checkpoint: str | None = None, **overrides: Any):
        """Train ``network`` on the shared engine with this decoder's settings.

        Parameters
        ----------
        network : torch.nn.Module
            What `build_network` returned.
        loss_fn : callable
            ``loss_fn(model, batch) -> loss | (loss, {name: value})``.
        train, val : tuple of ndarray or tensors, optional
            Training (and validation) arrays; a batch is one slice of each.
        context : TrainingContext, optional
            Where epoch and progress events go; cancellation is checked before every batch.
        val_loss_fn : callable, optional
            The validation loss, when it differs from ``loss_fn``.
        device : torch.device, optional
            Overrides `training_device`.
        checkpoint : str, optional
            A checkpoint file to resume from and write to.
        **overrides
            `TrainConfig` fields for this call only (e.g. fine-tuning epochs).

        Returns
        -------
        TrainResult
            The engine's history and the epochs run.

        Raises
        ------
        decoders.events.Cancelled
            The context's cancel flag was set.
        decoders.training.TrainingDiverged
            The loss became NaN or Inf.
        """
        from .training import Trainer

        settings = self.training_settings()
        if val is None:
            overrides.setdefault("early_stopping", None)
        trainer = Trainer(network, loss_fn, settings.train_config(**overrides), val_loss_fn=val_loss_fn,
                          device=device if device is not None else self.training_device(context),
                          context=context, checkpoint=checkpoint)
        return trainer.fit(train, val)
