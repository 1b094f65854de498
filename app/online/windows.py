"""Turn a stretch of raw samples into a classification decoder's input, as its bundle says.

`WindowPreparer` applies the bundle's recorded preprocessing (channels by name, reference,
notch, band-pass, resampling, window, baseline, per-trial standardisation) to a segment of
raw samples that holds the window plus a margin on each side. It calls the very functions the
offline loader uses (`data.preprocess.preprocess_raw`) on the segment, so, with a margin at
least as long as the zero-phase filter, the window equals the one `neurodeck predict` cuts
from the whole filtered recording. The cost: a decision waits ``margin`` samples after the
window's last sample (the filter looks that far ahead).

A bundle trained on ERP epochs (`data.sources.erp`) is decimated as they were: every
``decim``-th sample of the filtered window (its ``erp_epochs`` step), not resampled.

`sliding_windows_offline` is the offline reference for sliding-window decoding: the whole
recording filtered once, windows cut at the same sample positions the online engine uses.
"""
from __future__ import annotations

import numpy as np

from data.errors import ChannelMismatchError, InputError


class WindowPreparer:
    """Per-window preprocessing of a trials bundle, for a stream with ``ch_names`` at ``sfreq``."""

    def __init__(self, spec: dict, ch_names: list[str], sfreq: float, *, source: str = "the stream",
                 adapt: bool = False):
        from data.spec import Preprocessing

        if spec.get("kind", "trials") != "trials":
            raise InputError(f"this decoder takes {spec.get('kind')} data, not windows of a signal.")
        self.spec, self.sfreq, self.source = spec, float(sfreq), source
        self.pre = Preprocessing(**(spec.get("preprocessing") or {}))
        # adaptive re-centring: Euclidean alignment with the mean covariance of the windows
        # decoded so far (unlabelled), updated with each window
        self.adapt = adapt and self.pre.align != "none"
        self._cov_sum, self._n_seen = None, 0
        if (self.pre.align != "none" and not adapt) or self.pre.standardize == "subject":
            raise InputError("the decoder was trained with per-subject alignment or standardisation "
                             f"(align={self.pre.align}, standardize={self.pre.standardize}), which "
                             "needs a whole session of trials; decode window by window with adaptive "
                             "re-centring (--adapt), which aligns on the windows seen so far.")
        expected = list(spec.get("ch_names") or [])
        missing = [c for c in expected if c not in ch_names]
        if missing:
            raise ChannelMismatchError(
                f"lacks {len(missing)} channel(s) the decoder was trained on: {', '.join(missing[:10])}"
                f"{' ...' if len(missing) > 10 else ''}.", source)
        self.ch_names = expected or list(ch_names)
        self.picks = np.array([list(ch_names).index(c) for c in self.ch_names])
        self.ignored = [c for c in ch_names if c not in self.ch_names]
        types = spec.get("ch_types") or ["eeg"] * len(self.ch_names)
        self.ch_types = list(types)
        self.out_sfreq = float(spec.get("sfreq") or sfreq)
        start, stop = (spec.get("window") or (0.0, 3.0))
        self.decim = erp_decimation(spec)
        if self.decim > 1:
            # ERP epochs (data.sources.erp): every decim-th sample of the filtered window, no resampling
            if abs(self.sfreq / self.decim - self.out_sfreq) > 1e-6:
                raise InputError(f"{source} runs at {self.sfreq:g} Hz; the decoder was trained on epochs "
                                 f"decimated by {self.decim} to {self.out_sfreq:g} Hz, which needs "
                                 f"{self.out_sfreq * self.decim:g} Hz.")
            self.out_sfreq, self.resample = self.sfreq, False
            self.length = int(round((stop - start) * self.sfreq))
            self.n_times = len(range(0, self.length, self.decim))
            self.tmin = round(start * self.sfreq) / self.sfreq
            self.offset = int(round(start * self.sfreq))
            self.margin = self._margin()
            self._plan()
            return
        self.resample = abs(self.out_sfreq - self.sfreq) > 1e-6
        self.n_times = int(round((stop - start) * self.out_sfreq))
        self.tmin = round(start * self.out_sfreq) / self.out_sfreq
        self.offset = int(round(self.tmin * self.sfreq))          # event -> window start, input samples
        self.length = int(np.ceil(self.n_times * self.sfreq / self.out_sfreq))
        self.margin = self._margin()
        self._plan()

    def _plan(self) -> None:
        """What is the same for every window, computed once: the unit scale, the baseline
        mask and, where the preprocessing allows it, the band-pass filter's taps.

        The direct path (``self.taps``) covers a recording reference (or an average reference
        over EEG channels) and a band-pass, without notch or resampling: the window is the
        zero-phase FIR convolution MNE's ``raw.filter`` computes (the same ``create_filter``
        taps, their spectrum computed once), kept at the window's samples only. Other
        preprocessing goes through MNE on each segment (`prepare_with_mne`).
        """
        from data.preprocess import unit_of

        self.scale = np.array([unit_of(t)[1] for t in self.ch_types], dtype=np.float64)[None, :, None]
        self.baseline_mask = None
        baseline = self.spec.get("baseline")
        if baseline is not None:
            times = self.tmin + np.arange(self.n_times) * self.decim / self.out_sfreq
            b0 = times[0] if baseline[0] is None else baseline[0]
            b1 = times[-1] if baseline[1] is None else baseline[1]
            self.baseline_mask = (times >= b0 - 1e-9) & (times <= b1 + 1e-9)
        self.taps = None
        self.average_reference = self.pre.reference == "average"
        direct = (self.pre.notch is None and not self.resample
                  and (self.pre.reference is None
                       or (self.average_reference and all(t == "eeg" for t in self.ch_types))))
        band = self.pre.band
        if not direct:
            return
        if band is None or all(edge is None for edge in band):
            self.taps = np.ones(1)
        else:
            import mne

            from data.preprocess import bandpass

            bandpass(mne.io.RawArray(np.zeros((1, 2)), mne.create_info(1, self.sfreq, "eeg"),
                                     verbose="error"), band, self.source)   # refuses a band above Nyquist
            self.taps = mne.filter.create_filter(None, self.sfreq, band[0], band[1], verbose="error")
        if len(self.taps) % 2 == 0 or len(self.taps) // 2 > self.margin:
            self.taps = None     # not a centred zero-phase filter within the margin: MNE per window
        else:
            from scipy.fft import next_fast_len, rfft

            self._n_fft = next_fast_len(self.length + 2 * (len(self.taps) - 1), real=True)
            self._taps_spectrum = rfft(self.taps, self._n_fft)

    def _margin(self) -> int:
        """Samples of context each side of a window: the band-pass or notch filter's length."""
        import mne

        n = 0
        if self.pre.band is not None and any(e is not None for e in self.pre.band):
            low, high = self.pre.band
            n = len(mne.filter.create_filter(None, self.sfreq, low, high, verbose="error"))
        if self.pre.notch is not None:
            n = max(n, int(round(6.6 * self.sfreq)))    # MNE's notch uses filter_length='auto' (long)
        if self.resample:
            n = max(n, int(round(self.sfreq)))
        return n

    @property
    def span(self) -> int:
        """Input samples one decision needs: margin, window, margin."""
        return self.length + 2 * self.margin

    def prepare(self, segment: np.ndarray) -> np.ndarray:
        """``segment`` (n_stream_channels, span) in SI units -> (1, n_channels, n_times) float32."""
        if self.taps is None:
            return self.prepare_with_mne(segment)
        from scipy.fft import irfft, rfft

        half = len(self.taps) // 2
        first = self.margin - half
        x = np.asarray(segment, dtype=np.float64)[self.picks, first:first + self.length + 2 * half]
        if self.average_reference:
            x = x - x.mean(axis=0, keepdims=True)
        # linear convolution by FFT; its 'valid' part (full overlap) is the window
        full = irfft(rfft(x, self._n_fft, axis=1) * self._taps_spectrum, self._n_fft, axis=1)
        window = full[:, 2 * half:2 * half + self.length:self.decim]
        return self._finish(window[None], None)

    def prepare_with_mne(self, segment: np.ndarray) -> np.ndarray:
        """`prepare` through MNE: a Raw of the segment, `data.preprocess.preprocess_raw` on it."""
        import mne

        from data.preprocess import preprocess_raw, unit_of

        info = mne.create_info(self.ch_names, self.sfreq, self.ch_types)
        raw = mne.io.RawArray(np.asarray(segment, dtype=np.float64)[self.picks], info, verbose="error")
        pre = self.pre.model_copy(update={"resample": self.out_sfreq if self.resample else None})
        preprocess_raw(raw, pre, self.source)
        start = int(round(self.margin * raw.info["sfreq"] / self.sfreq))
        if self.decim > 1:
            X = raw.get_data()[:, start:start + self.length:self.decim][None]
        else:
            X = raw.get_data()[:, start:start + self.n_times][None]
        return self._finish(X, unit_of)

    def _finish(self, X: np.ndarray, unit_of=None) -> np.ndarray:
        if self.baseline_mask is not None:
            X = X - X[..., self.baseline_mask].mean(axis=-1, keepdims=True)
        X = (X * self.scale).astype(np.float32)
        if self.adapt:
            X = self._recentre(X)
        if self.pre.standardize == "trial":
            from data.preprocess import standardize

            X = standardize(X, np.zeros(len(X), str), "trial")
        return X


    def _recentre(self, X: np.ndarray) -> np.ndarray:
        """Fold each window into the running mean covariance, then whiten it by R^(-1/2)."""
        out = np.empty_like(X)
        for i, trial in enumerate(np.asarray(X, dtype=np.float64)):
            cov = trial @ trial.T
            self._cov_sum = cov if self._cov_sum is None else self._cov_sum + cov
            self._n_seen += 1
            R = self._cov_sum / (self._n_seen * trial.shape[1])
            evals, evecs = np.linalg.eigh(R)
            evals = np.clip(evals, evals.max() * 1e-10, None)
            out[i] = ((evecs / np.sqrt(evals)) @ evecs.T) @ trial
        return out


def erp_decimation(spec: dict) -> int:
    """The decimation factor of a bundle trained on ERP epochs (its ``erp_epochs`` step), else 1."""
    for step in spec.get("steps") or []:
        if isinstance(step, dict) and step.get("name") == "erp_epochs":
            return int((step.get("params") or {}).get("decim") or 1)
    return 1


def sliding_windows_offline(raw, preparer: WindowPreparer, starts: np.ndarray) -> np.ndarray:
    """Offline reference: filter the whole ``raw`` once, cut windows starting at ``starts``."""
    from data.preprocess import preprocess_raw, unit_of

    raw = raw.copy().load_data(verbose="error").pick(preparer.ch_names)
    raw.reorder_channels(preparer.ch_names)
    pre = preparer.pre.model_copy(update={"resample": preparer.out_sfreq if preparer.resample else None})
    preprocess_raw(raw, pre, preparer.source)
    data = raw.get_data()
    ratio = raw.info["sfreq"] / preparer.sfreq
    if preparer.decim > 1:
        X = np.stack([data[:, s:s + preparer.length:preparer.decim] for s in starts])
        return preparer._finish(X, unit_of)
    X = np.stack([data[:, int(round(s * ratio)):int(round(s * ratio)) + preparer.n_times] for s in starts])
    return preparer._finish(X, unit_of)
