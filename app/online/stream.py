"""LSL inputs and outputs of an online session (through mne-lsl's low-level `mne_lsl.lsl`).

`StreamInput` connects to a signal stream by name and, when there is one, to its marker
stream (string markers; a name given, or ``{name}-annotations`` as mne-lsl's player names
it). `pull()` returns the new samples with their timestamps and the new markers. The inlets
recover by themselves when a stream with the same source comes back (liblsl's ``recover``);
the session decides what a silence means.

`DecisionOutlet` publishes each decision: class index then probabilities (or the values).
"""
from __future__ import annotations

import numpy as np

from data.errors import InputError


class StreamNotFoundError(InputError):
    """No LSL stream of that name answered."""


def list_streams(timeout: float = 1.0) -> list[dict]:
    """The LSL streams on the network: name, type, channels, rate, source id."""
    from mne_lsl.lsl import resolve_streams

    from .lsl_log import configure

    configure()

    return [{"name": s.name, "type": s.stype, "n_channels": s.n_channels, "sfreq": s.sfreq,
             "source_id": s.source_id} for s in resolve_streams(timeout=timeout)]


def _resolve(name: str, timeout: float):
    from mne_lsl.lsl import resolve_streams

    from .lsl_log import configure

    configure()

    found = resolve_streams(timeout=timeout, name=name)
    return found[0] if found else None


class StreamInput:
    """A signal stream and its optional marker stream."""

    def __init__(self, name: str, *, markers: str | None = None, timeout: float = 10.0,
                 marker_timeout: float = 2.0):
        self._open(name, markers, timeout, marker_timeout)

    def _open(self, name, markers, timeout, marker_timeout) -> None:
        from mne_lsl.lsl import StreamInlet

        info = _resolve(name, timeout)
        if info is None:
            raise StreamNotFoundError(f"no LSL stream named '{name}' answered within {timeout:g} s.",
                                      hint="Check that the stream is on (e.g. `mne-lsl player FILE`) "
                                           "and on this network.")
        self.name, self._marker_timeout = name, marker_timeout
        self.inlet = StreamInlet(info, max_buffered=60, recover=False)
        self.inlet.open_stream(timeout=timeout)
        sinfo = self.inlet.get_sinfo()
        self.ch_names = list(sinfo.get_channel_names() or [f"ch{i}" for i in range(sinfo.n_channels)])
        self.sfreq = float(sinfo.sfreq)
        if self.sfreq <= 0:
            raise InputError(f"the LSL stream '{name}' has no regular sampling rate; windows need one.")
        self.marker_name = markers
        self.markers = None
        minfo = None
        if markers or marker_timeout > 0:   # marker_timeout 0: no marker stream is looked for
            minfo = _resolve(markers or f"{name}-annotations", timeout if markers else marker_timeout)
        if minfo is None and markers:
            raise StreamNotFoundError(f"no LSL marker stream named '{markers}' answered within {timeout:g} s.")
        if minfo is not None:
            if minfo.dtype != "string":
                raise InputError(f"the marker stream '{minfo.name}' does not carry string markers.")
            self.marker_name = minfo.name
            self.markers = StreamInlet(minfo, max_buffered=60, recover=False)
            self.markers.open_stream(timeout=timeout)

    def pull(self, timeout: float = 0.0):
        """(data (n, n_channels) float64 in the stream's units, timestamps, [(timestamp, marker)])."""
        try:
            data, stamps = self.inlet.pull_chunk(timeout=timeout, max_samples=4096)
        except Exception:  # noqa: BLE001 - liblsl's "stream lost": the session sees silence
            data, stamps = np.zeros((0, len(self.ch_names))), np.zeros(0)
        marks = []
        if self.markers is not None:
            try:
                values, mstamps = self.markers.pull_chunk(timeout=0.0)
            except Exception:  # noqa: BLE001 - as above
                values, mstamps = [], []
            marks = [(float(t), str(v[0] if isinstance(v, (list, tuple)) else v))
                     for v, t in zip(values, mstamps)]
        # copies: mne-lsl may hand out views of a buffer that the next pull reuses
        return np.array(data, dtype=np.float64).reshape(-1, len(self.ch_names)), \
            np.array(stamps, dtype=float), marks

    def reconnect(self, timeout: float = 0.5) -> bool:
        """Look the stream (and its markers) up again; True when it answered."""
        if _resolve(self.name, timeout) is None:
            return False
        ch_names, sfreq = self.ch_names, self.sfreq
        self.close()
        self._open(self.name, self.marker_name, timeout=10.0, marker_timeout=self._marker_timeout)
        if self.ch_names != ch_names or self.sfreq != sfreq:
            from data.errors import InputError

            raise InputError(f"the LSL stream '{self.name}' came back with other channels or rate.")
        return True

    def close(self) -> None:
        for inlet in (self.inlet, self.markers):
            if inlet is not None:
                try:
                    inlet.close_stream()
                except Exception:  # noqa: BLE001 - closing a lost stream may fail; nothing to keep
                    pass


class DecisionOutlet:
    """An LSL outlet of decisions: ``class`` then ``p_<class>`` (or the decoded values)."""

    def __init__(self, name: str, channels: list[str], source_id: str | None = None):
        from mne_lsl.lsl import StreamInfo, StreamOutlet

        from .lsl_log import configure

        configure()
        info = StreamInfo(name, "decisions", len(channels), 0.0, "float64", source_id or name)
        info.set_channel_names(channels)
        self.name, self.channels = name, channels
        self.outlet = StreamOutlet(info)

    def push(self, values, timestamp: float) -> None:
        self.outlet.push_sample(np.asarray(values, dtype=np.float64), timestamp=timestamp)

    def close(self) -> None:
        self.outlet._del()
