"""The decoder interface: scikit-learn estimators with a typed parameter schema, a declared
task, training events and cancellation, and array-only state for bundles.
"""
from __future__ import annotations

import inspect
from enum import Enum
from typing import Any, ClassVar, NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from data.errors import InputError

from .events import TrainingContext


class Task(str, Enum):
    CLASSIFICATION = "classification"      # trials -> class
    REGRESSION = "regression"              # continuous features -> continuous targets over time
    RECONSTRUCTION = "reconstruction"      # volumes -> stimulus (e.g. image), cross-subject
    PRETRAINING = "pretraining"            # self-supervised, then fine-tuned with a task head


class DecoderParams(BaseModel):
    """Base of every decoder's parameter schema. Field descriptions become GUI tooltips."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)  # finite floats only


class ParameterError(InputError):
    """A decoder parameter is unknown or out of range."""


class TensorSpec(NamedTuple):
    """A bundle array a decoder's parameters imply: its shape (None: any length) and dtypes."""

    shape: tuple[int | None, ...]
    dtypes: tuple[str, ...] = ("<f4", "<f8")


class Decoder(BaseEstimator):
    """Base class of all decoders.

    Subclasses set the class attributes below and implement ``fit`` / ``predict`` (and
    ``predict_proba`` where it applies). Parameters live in ``Params`` (a pydantic model);
    the constructor takes exactly those keywords, stored unvalidated as scikit-learn
    requires; ``validated_params()`` validates them. ``fit`` accepts keyword-only extras that
    scikit-learn never passes: ``subject`` / ``session`` (per-sample groups), and
    ``context`` (a `TrainingContext` for events and cancellation).

    Bundles: ``get_state()`` returns ``(arrays, extra)`` where arrays are numpy arrays
    (saved as safetensors) and extra is JSON-serialisable; ``set_state`` restores a fitted
    decoder from them. Nothing is ever pickled.

    The class attributes are the decoder's facts: the registry, the GUI and the CLI read
    them from the class (never from a copy).

    Attributes
    ----------
    name : str
        The registry name (``decoder: {name: ...}`` in an experiment file).
    description : str
        One line for lists and tooltips.
    task : Task
        What it predicts (classification, regression, reconstruction, pretraining).
    input_kind : str
        What it reads: ``"trials"`` (n, channels, times), ``"continuous"`` (n, features)
        or ``"volumes"`` (n, voxels, with stimuli).
    modalities : tuple of str
        Recording modalities it accepts (``"eeg"``, ``"fmri"`` ...); empty: any.
    paradigms : tuple of str
        Trial paradigms it is meant for (``DecodingSet.paradigm``: ``"erp"``, ``"speller"``
        ...); empty: any. Data of another or an unknown paradigm is allowed but ranked lower
        (`decoders.compatibility`).
    uses_torch : bool
        Whether it trains with torch (a device and the training settings apply).
    Params : type of DecoderParams
        Its parameter schema; field descriptions become GUI tooltips.
    presets : dict
        Named parameter sets (``decoder: {preset: ...}``).
    renamed_params : dict
        Old parameter name -> new name, so older files and bundles still load.
    supports_fine_tune : bool
        Whether ``fine_tune`` is implemented (the finetune protocol needs it).
    length_free : bool
        Whether it reads trials of any number of time points (e.g. NaN-padded ROI series
        summarised per subject), so new data need not have the training data's length
        (`neurodeck predict` checks the time axis only when this is False).

    Examples
    --------
    >>> import decoders
    >>> decoder = decoders.create("csp-lda")
    >>> decoder.fit(X_train, y_train).predict(X_test)  # doctest: +SKIP
    """

    name: ClassVar[str]
    description: ClassVar[str]
    task: ClassVar[Task]
    input_kind: ClassVar[str] = "trials"      # trials | continuous | volumes
    modalities: ClassVar[tuple[str, ...]] = ()   # recording modalities it accepts (eeg, fmri, ...); empty: any
    paradigms: ClassVar[tuple[str, ...]] = ()    # trial paradigms it is meant for (erp, speller, ...); empty: any
    uses_torch: ClassVar[bool] = False
    Params: ClassVar[type[DecoderParams]] = DecoderParams
    presets: ClassVar[dict[str, dict[str, Any]]] = {}
    renamed_params: ClassVar[dict[str, str]] = {}   # old name -> new name, for older bundles
    length_free: ClassVar[bool] = False   # True: trials of any length (the time axis need not match training)

    def __init__(self, **params: Any):
        params = {self.renamed_params.get(k, k): v for k, v in params.items()}   # older files and bundles
        fields = self.Params.model_fields
        unknown = sorted(set(params) - set(fields))
        if unknown:
            raise ParameterError(f"{type(self).__name__}: unknown parameter(s) {', '.join(unknown)}.",
                                 hint=f"Known: {', '.join(sorted(fields))}.")
        for key, info in fields.items():
            setattr(self, key, params[key] if key in params else info.get_default(call_default_factory=True))

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        # A constructor whose signature lists the Params fields, so scikit-learn (clone,
        # check_estimator) sees the real parameters instead of a phantom "params".
        def __init__(self, **params: Any):
            Decoder.__init__(self, **params)

        fields = cls.Params.model_fields
        __init__.__signature__ = inspect.Signature(
            [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
            + [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=f.get_default(call_default_factory=True))
               for k, f in fields.items()])
        __init__.__doc__ = Decoder.__init__.__doc__
        __init__.__qualname__ = f"{cls.__qualname__}.__init__"
        cls.__init__ = __init__

    @classmethod
    def _get_param_names(cls) -> list[str]:
        return sorted(cls.Params.model_fields)

    @classmethod
    def from_preset(cls, preset: str, **overrides: Any) -> "Decoder":
        """A decoder with a preset's parameters, ``overrides`` applied on top.

        Raises
        ------
        ParameterError
            Unknown preset (the message lists the known ones).
        """
        if preset not in cls.presets:
            raise ParameterError(f"{cls.name}: unknown preset '{preset}'.",
                                 hint=f"Known: {', '.join(cls.presets) or 'none'}.")
        return cls(**{**cls.presets[preset], **overrides})

    def validated_params(self) -> DecoderParams:
        """The current parameters, validated against the schema.

        Returns
        -------
        DecoderParams
            An instance of ``Params``.

        Raises
        ------
        ParameterError
            A value is out of range or of the wrong type (naming the parameter).
        """
        try:
            return self.Params(**self.get_params(deep=False))
        except ValidationError as exc:
            raise ParameterError(f"{self.name}: invalid parameters: {_first_error(exc)}") from None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = self.input_kind == "continuous"
        tags.input_tags.three_d_array = self.input_kind == "trials"
        tags.requires_fit = True
        return tags

    def _require_fitted(self, attribute: str) -> None:
        """Raise scikit-learn's NotFittedError (a ValueError) with a NeuroDeck hint."""
        check_is_fitted(self, attribute, msg=f"{self.name} is not trained yet: call fit() first "
                                              "(or load a bundle).")

    # --- to implement -----------------------------------------------------------------
    def fit(self, X: np.ndarray, y: np.ndarray | None = None, *, subject=None, session=None,
            context: TrainingContext | None = None) -> "Decoder":
        """Train on ``X`` (shaped as ``input_kind`` says) and ``y`` (labels or targets).

        Parameters
        ----------
        X : ndarray
            Trials (n, channels, times), continuous samples (n, features) or volumes.
        y : ndarray, optional
            Labels or targets, one per sample (None for self-supervised pretraining).
        subject, session : ndarray, optional
            Per-sample groups (cross-subject decoders use them).
        context : TrainingContext, optional
            Where training events go, and the cancellation flag.

        Returns
        -------
        Decoder
            ``self``, fitted.
        """
        raise NotImplementedError

    def predict(self, X: np.ndarray, *, subject=None) -> np.ndarray:
        """Predict labels or targets for ``X``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            ``fit`` was not called (nor a bundle loaded).
        """
        raise NotImplementedError

    supports_fine_tune: ClassVar[bool] = False

    def fine_tune(self, X: np.ndarray, y: np.ndarray, *, subject=None,
                  context: TrainingContext | None = None) -> "Decoder":
        """Adapt a fitted decoder to new data (e.g. a new subject's calibration trials)."""
        raise NotImplementedError(f"{type(self).__name__} cannot be fine-tuned")

    def get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The fitted state as a bundle stores it.

        Returns
        -------
        arrays : dict of str to ndarray
            Numeric arrays (saved as safetensors).
        extra : dict
            JSON-serialisable values (class names, shapes ...).
        """
        raise NotImplementedError(f"{type(self).__name__} cannot be saved as a bundle")

    def set_state(self, arrays: dict[str, np.ndarray], extra: dict[str, Any]) -> "Decoder":
        """Restore a fitted decoder from what `get_state` returned; returns ``self``.

        Raises
        ------
        data.errors.InputError
            ``extra`` lacks a value or holds a wrong one (naming ``state.KEY``).
        """
        raise NotImplementedError(f"{type(self).__name__} cannot be loaded from a bundle")

    def expected_tensors(self, extra: dict[str, Any]) -> dict[str, TensorSpec] | None:
        """The arrays ``set_state`` needs, from the parameters and ``extra`` (bundles check a
        file's tensors against them before any array is used); None: not declared."""
        return None


class ClassifierDecoder(ClassifierMixin, Decoder):
    """A decoder of class labels: ``score`` is accuracy, ``is_classifier`` holds."""


class RegressorDecoder(RegressorMixin, Decoder):
    """A decoder of continuous targets: ``score`` is R^2, ``is_regressor`` holds."""


def state_int(extra: dict[str, Any], key: str, minimum: int = 1) -> int:
    """``extra[key]`` of a bundle's state as an int >= minimum, or an InputError naming state.key."""
    value = extra.get(key) if isinstance(extra, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"state.{key} must be an integer >= {minimum}, not {str(value)[:40]!r}.")
    return value


def state_list(extra: dict[str, Any], key: str, min_len: int = 0) -> list:
    """``extra[key]`` of a bundle's state as a list of >= min_len items, or an InputError naming state.key."""
    value = extra.get(key) if isinstance(extra, dict) else None
    if not isinstance(value, list) or len(value) < min_len:
        raise InputError(f"state.{key} must be a list of at least {min_len} items.")
    return value


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    return f"{loc}: {err['msg']}"
