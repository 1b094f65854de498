"""Decoders: models, the training engine, evaluation protocols, metrics, bundles.

Never imports Qt. torch loads only with the neural decoders that need it.
"""
from .base import Decoder, DecoderParams, ParameterError, Task
from .events import Cancelled, TrainingContext, TrainingEvent, event_types
from .registry import Entry, available, create, get, register, unregister

__all__ = ["Decoder", "DecoderParams", "ParameterError", "Task", "Cancelled", "TrainingEvent",
           "event_types", "TrainingContext", "Entry", "available", "create", "get", "register", "unregister"]
