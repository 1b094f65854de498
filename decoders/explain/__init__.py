"""Explanations of fitted decoders: activation patterns and attributions (see `base`)."""
from .base import Axis, Explanation, ExplainError, explain, explainable, explainer, explainer_for

__all__ = ["Axis", "Explanation", "ExplainError", "explain", "explainable", "explainer", "explainer_for"]
