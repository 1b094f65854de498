"""Plain-Python models behind the GUI (no Qt): what is loaded, which decoder with which
parameters, what the current training run reported. Views subscribe; tests drive these
directly.

data_model.py      DataModel (source, recordings, dataset settings)
decoder_model.py   DecoderModel, FieldInfo, describe_params
training_model.py  TrainingModel, read_history
helpers.py         Observable, fold_key, format_eta, list_devices
"""
from .data_model import (DataModel, SourceContent, estimate_trial_counts, events_of, open_source,
                         suggested_spec, summarize)
from .decoder_model import DecoderModel, FieldInfo, describe_params
from .helpers import Listener, Observable, fold_key, format_eta, list_devices
from .training_model import TrainingModel, read_history

__all__ = ["DataModel", "DecoderModel", "FieldInfo", "Listener", "Observable", "SourceContent",
           "TrainingModel", "describe_params", "estimate_trial_counts", "events_of", "fold_key",
           "format_eta", "list_devices", "open_source", "read_history", "suggested_spec",
           "summarize"]
