"""Channel sets across recordings or data sets: which channels they share."""
from __future__ import annotations

import warnings

from .errors import ChannelMismatchError


def common_channels(channel_sets, names, policy):
    """The channels every set holds (in the first set's order) and those dropped per name.

    Parameters
    ----------
    channel_sets : list of list of str
        The channel names of each recording or data set.
    names : list of str
        What to call each set in messages (file names, sources).
    policy : {"common", "error"}
        Different sets: keep the common channels with a warning, or refuse.

    Returns
    -------
    common : list of str
    dropped : dict
        Name -> channels of that set left out.

    Raises
    ------
    ChannelMismatchError
        When the sets differ and ``policy`` is "error", or they share no channel.
    """
    first = channel_sets[0]
    if all(set(cs) == set(first) for cs in channel_sets):
        return first, {}
    common = [ch for ch in first if all(ch in cs for cs in channel_sets)]
    dropped = {n: [c for c in cs if c not in common] for cs, n in zip(channel_sets, names)}
    dropped = {n: d for n, d in dropped.items() if d}
    listing = "; ".join(f"{n}: {', '.join(d[:10])}{' ...' if len(d) > 10 else ''}"
                        for n, d in dropped.items())
    if policy == "error" or not common:
        raise ChannelMismatchError(
            "the recordings have different channels" + ("" if common else " and none in common")
            + f" (not shared: {listing}).",
            hint="Set channel_mismatch: common to keep only shared channels, or pick channels "
                 "by name." if common else "Pick the same channels in every recording.")
    warnings.warn(f"channel sets differ across recordings; keeping the {len(common)} common "
                  f"channels and dropping {listing}.", UserWarning, stacklevel=3)
    return common, dropped
