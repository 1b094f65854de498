"""Argparse ``type=`` checkers for numeric command-line options: a value out of range is
refused by argparse itself (exit 2, "argument --speed: ..."), before any work starts."""
from __future__ import annotations

import argparse
import math
from typing import Callable


def number(kind: type = float, *, above: float | None = None, at_least: float | None = None,
           at_most: float | None = None) -> Callable[[str], float | int]:
    """A checker of one finite number of ``kind`` (int or float) in a range.

    Parameters
    ----------
    kind
        ``int`` or ``float``.
    above
        The value must be strictly more than this.
    at_least, at_most
        Inclusive bounds.

    Returns
    -------
    callable
        Argparse ``type=``: the converted value, or ``argparse.ArgumentTypeError`` naming the range.
    """
    parts = ([f"more than {above:g}"] if above is not None else []) + \
            ([f"at least {at_least:g}"] if at_least is not None else []) + \
            ([f"at most {at_most:g}"] if at_most is not None else [])
    wanted = f"{'an integer' if kind is int else 'a finite number'}" + (f" {' and '.join(parts)}" if parts else "")

    def check(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not {wanted}") from None
        if (not math.isfinite(value) or above is not None and not value > above
                or at_least is not None and value < at_least or at_most is not None and value > at_most):
            raise argparse.ArgumentTypeError(f"{text} is not {wanted}")
        return value

    check.__name__ = kind.__name__   # argparse names the type in some messages
    return check
