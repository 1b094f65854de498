"""`demo:motor-imagery`: simulated EEG of left vs right hand motor imagery.

Each subject has a spherical head (four shells fitted to the 10-20 electrode positions) and
its own source geometry: one source in each sensorimotor cortex (hand area, under C3 / C4)
carrying mu (8-13 Hz) and beta (18-26 Hz) rhythms, one occipital alpha source that ignores
the task, and many random cortical sources of 1/f (pink) background activity. Imagining a
hand lowers mu and beta power in the opposite hemisphere (event-related desynchronisation,
ERD; a little on the same side too), followed by a short beta rebound. Sensor-space eye
blinks (frontal), 50 Hz line noise and white amplifier noise are added on top. Potentials
are reference-free (relative to infinity); re-reference with ``preprocessing.reference``.

Positions, orientations, rhythm frequencies, ERD depth, signal-to-noise ratio and blink
rate differ between subjects (one "aptitude" sets both mu SNR and ERD depth); everything is drawn from ``spec.seed`` and the subject /
session / run names, so a subject's data do not depend on which other subjects are asked
for. Nothing is downloaded or cached on disk.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import DataError
from ..recording import Recording

SFREQ = 160.0  # as EEGBCI, so settings transfer between the demo and real data
CHANNELS = (
    "Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8",
    "FC5", "FC3", "FC1", "FCz", "FC2", "FC4", "FC6",
    "T7", "C5", "C3", "C1", "Cz", "C2", "C4", "C6", "T8",
    "CP5", "CP3", "CP1", "CPz", "CP2", "CP4", "CP6",
    "P3", "Pz", "P4", "O1", "Oz", "O2",
)
CLASSES = ("left", "right")
DEFAULT_SUBJECTS = ("1", "2", "3", "4")
TRIALS_PER_CLASS = 40  # per run
IMAGERY_S = 4.0
REST_S = (2.0, 3.0)
N_BACKGROUND_SOURCES = 120
BACKGROUND_UV = 12.0  # mean channel RMS of the 1/f background
WHITE_NOISE_UV = 1.0
LINE_NOISE_UV = 0.8
LINE_FREQ = 50.0
CORTEX_DEPTH = 0.025  # m below the scalp: scalp, skull and CSF over the gyral crowns


@dataclass(frozen=True)
class SubjectParams:
    """What makes one simulated subject differ from another."""

    motor_pos: np.ndarray  # (2, 3) left, right hemisphere source, head coordinates (m)
    motor_ori: np.ndarray  # (2, 3) unit orientations
    alpha_pos: np.ndarray  # (3,) occipital alpha source
    alpha_ori: np.ndarray
    background_pos: np.ndarray  # (N_BACKGROUND_SOURCES, 3)
    background_ori: np.ndarray
    mu_freq: float  # Hz
    beta_freq: float
    alpha_freq: float
    beta_ratio: float  # beta amplitude relative to mu
    erd_power: float  # mu power during contralateral imagery, as a fraction of rest
    ipsi_share: float  # fraction of the ERD depth also seen on the same side
    snr: float  # rest mu+beta power / background 8-30 Hz power at the source's peak channel
    alpha_snr: float
    blink_rate: float  # blinks per minute
    blink_uv: float


def simulate_recordings(spec) -> list[Recording]:
    """Simulate one `Recording` per subject, session and run named in ``spec``.

    Parameters
    ----------
    spec : data.spec.DatasetSpec
        Uses ``seed``, ``subjects`` (default "1".."4"), ``sessions`` and ``runs`` (default "1").

    Returns
    -------
    list of Recording
        ``raw`` is an `mne.io.RawArray` (EEG in volts, 160 Hz, 10-20 montage) annotated
        "left" / "right" at each 4 s imagery period (40 of each per run, random order).
    """
    subjects = _names(spec.subjects, DEFAULT_SUBJECTS, "subjects")
    sessions = _names(spec.sessions, ("1",), "sessions")
    runs = _names(spec.runs, ("1",), "runs")
    info = _info()
    recordings = []
    for subject in subjects:
        params = subject_params(spec.seed, subject)
        gain = _leadfield(info, params)
        for session in sessions:
            for run in runs:
                rng = np.random.default_rng([_seed(spec.seed), _key(subject), _key(session), _key(run), 1])
                raw = _simulate_run(info, params, gain, rng)
                raw.info["subject_info"] = {"his_id": f"sim-{subject}"}
                recordings.append(Recording(raw=raw, subject=subject, session=session, run=run, path=""))
    return recordings


def subject_params(seed: int, subject: str) -> SubjectParams:
    """Draw one subject's geometry and physiology from the seed and the subject's name."""
    rng = np.random.default_rng([_seed(seed), _key(str(subject)), 0])
    origin, radius = _sphere_fit()
    positions = _electrode_positions()
    inner = 0.9 * radius  # inner-skull shell of the sphere model

    motor_pos, motor_ori = [], []
    for electrode in ("C3", "C4"):
        toward = positions[electrode] - origin
        toward /= np.linalg.norm(toward)
        pos = origin + toward * (radius - CORTEX_DEPTH) + rng.normal(0.0, 0.006, 3)
        motor_pos.append(_inside(pos, origin, inner - 0.008))
        motor_ori.append(_tilted(toward, np.deg2rad(rng.uniform(10, 35)), rng))
    occipital = positions["Oz"] - origin
    occipital /= np.linalg.norm(occipital)
    alpha_pos = _inside(origin + occipital * (radius - CORTEX_DEPTH) + rng.normal(0, 0.006, 3), origin, inner - 0.008)

    # Cortical background: random points in a shell over the upper head, orientations
    # radial with random folding tilts.
    directions = rng.normal(size=(N_BACKGROUND_SOURCES, 3))
    directions[:, 2] = np.abs(directions[:, 2]) - 0.3
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    distance = radius - rng.uniform(CORTEX_DEPTH, 2.5 * CORTEX_DEPTH, N_BACKGROUND_SOURCES)
    background_pos = origin + directions * distance[:, None]
    background_ori = np.array([_tilted(d, rng.uniform(0, np.pi / 2), rng) for d in directions])

    # Subjects with a strong resting mu rhythm also tend to show a deep ERD (the basis of
    # mu-power predictors of BCI performance), so one "aptitude" drives both.
    aptitude = rng.uniform()
    erd_power = 0.6 - 0.2 * aptitude + rng.uniform(-0.03, 0.03)
    snr = 1.5 * (5.0 / 1.5) ** aptitude * np.exp(rng.normal(0.0, 0.1))

    return SubjectParams(
        motor_pos=np.array(motor_pos), motor_ori=np.array(motor_ori),
        alpha_pos=alpha_pos, alpha_ori=_tilted(occipital, rng.uniform(0, 0.5), rng),
        background_pos=background_pos, background_ori=background_ori,
        mu_freq=rng.uniform(9.0, 12.0), beta_freq=rng.uniform(18.0, 26.0),
        alpha_freq=rng.uniform(8.5, 11.5), beta_ratio=rng.uniform(0.4, 0.7),
        erd_power=float(erd_power), ipsi_share=rng.uniform(0.05, 0.25),
        snr=float(snr), alpha_snr=rng.uniform(0.5, 2.0),
        blink_rate=rng.uniform(8, 25), blink_uv=rng.uniform(80, 200),
    )


# -- geometry ------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _montage():
    import mne

    builtin = mne.channels.get_builtin_montages()
    # MNE 1.13 renamed the standard 10-20 montage to colin27_1020 (same positions).
    return mne.channels.make_standard_montage("colin27_1020" if "colin27_1020" in builtin else "standard_1020")


@lru_cache(maxsize=1)
def _electrode_positions() -> dict[str, np.ndarray]:
    """All montage electrodes in MNE's head frame (the frame of ``info`` and the forward)."""
    import mne

    info = mne.create_info(_montage().ch_names, SFREQ, "eeg")
    info.set_montage(_montage())
    return {ch["ch_name"]: ch["loc"][:3].copy() for ch in info["chs"]}


@lru_cache(maxsize=1)
def _sphere_fit() -> tuple[np.ndarray, float]:
    """Head origin and radius: least-squares sphere through all 94 electrodes of the montage.

    (A plain algebraic fit: ``mne.bem.fit_sphere_to_headshape`` on electrodes alone puts the
    origin too high for this montage, leaving the central electrodes deep inside the sphere.)
    """
    points = np.array(list(_electrode_positions().values()))
    design = np.column_stack([2 * points, np.ones(len(points))])
    solution = np.linalg.lstsq(design, np.sum(points ** 2, axis=1), rcond=None)[0]
    origin = solution[:3]
    return origin, float(np.sqrt(solution[3] + origin @ origin))


def _info():
    import mne

    info = mne.create_info(list(CHANNELS), SFREQ, "eeg")
    info.set_montage(_montage())
    with info._unlock():
        info["line_freq"] = LINE_FREQ
    return info


def _leadfield(info, params: SubjectParams) -> np.ndarray:
    """Fixed-orientation gain (n_channels, 3 + N_BACKGROUND_SOURCES), volts per A*m.

    Columns: left motor, right motor, occipital alpha, then the background sources.
    """
    import mne

    rr = np.vstack([params.motor_pos, params.alpha_pos[None], params.background_pos])
    nn = np.vstack([params.motor_ori, params.alpha_ori[None], params.background_ori])
    sphere = _sphere_model()
    src = mne.setup_volume_source_space(pos=dict(rr=rr, nn=nn), sphere=sphere, mindist=0.0, verbose=False)
    if src[0]["nuse"] != len(rr):
        raise RuntimeError("simulated source fell outside the head model")
    fwd = mne.make_forward_solution(info, trans=None, src=src, bem=sphere, meg=False, eeg=True,
                                    verbose=False)
    free = fwd["sol"]["data"].reshape(len(info["ch_names"]), len(rr), 3)
    return np.einsum("csk,sk->cs", free, nn)


@lru_cache(maxsize=1)
def _sphere_model():
    import mne

    origin, radius = _sphere_fit()
    return mne.make_sphere_model(r0=origin, head_radius=radius, verbose=False)


def _inside(pos: np.ndarray, origin: np.ndarray, max_radius: float) -> np.ndarray:
    offset = pos - origin
    norm = np.linalg.norm(offset)
    return pos if norm <= max_radius else origin + offset * (max_radius / norm)


def _tilted(axis: np.ndarray, angle: float, rng) -> np.ndarray:
    """A unit vector at ``angle`` radians from ``axis``, in a random direction."""
    axis = axis / np.linalg.norm(axis)
    other = rng.normal(size=3)
    other -= other @ axis * axis
    other /= np.linalg.norm(other)
    return np.cos(angle) * axis + np.sin(angle) * other


# -- signals -------------------------------------------------------------------------------

def _simulate_run(info, params: SubjectParams, gain: np.ndarray, rng):
    """One run: 40 left + 40 right trials in random order, as an annotated RawArray (volts)."""
    import mne

    labels = rng.permutation(np.repeat([0, 1], TRIALS_PER_CLASS))
    onsets = 3.0 + np.concatenate([[0.0], np.cumsum(IMAGERY_S + rng.uniform(*REST_S, len(labels) - 1))])
    n_times = int(round((onsets[-1] + IMAGERY_S + 3.0) * SFREQ))
    times = np.arange(n_times) / SFREQ

    # The sum of many independent pink sources through the leadfield is Gaussian with
    # spatial covariance G G^T: draw it as sqrt(G G^T) times one pink signal per channel,
    # the same distribution at a fraction of the cost.
    background = _matrix_sqrt(gain[:, 3:] @ gain[:, 3:].T) @ _pink_noise(rng, len(CHANNELS), n_times)
    background *= BACKGROUND_UV * 1e-6 / np.sqrt(np.mean(background ** 2))
    band_power = _band_power(background, 8.0, 30.0)

    # Slow common fluctuation of rhythm strength (arousal, attention).
    state = np.exp(0.2 * _standardized(_smooth_noise(rng, n_times, 0.05)))
    signal = background
    for side in (0, 1):  # 0 = left hemisphere (C3), 1 = right (C4)
        contra = onsets[labels == 1 - side]  # left hemisphere desynchronises for the right hand
        ipsi = onsets[labels == side]
        task = _imagery_envelope(n_times, contra) + params.ipsi_share * _imagery_envelope(n_times, ipsi)
        mu_gain = np.sqrt(1.0 - (1.0 - params.erd_power) * task)
        beta_erd = 1.0 - 0.8 * (1.0 - params.erd_power) * task
        rebound = 1.0 + 0.6 * _rebound_envelope(n_times, contra)
        rhythm = (mu_gain * _band_noise(rng, n_times, params.mu_freq, 1.5)
                  + params.beta_ratio * np.sqrt(beta_erd * rebound) * _band_noise(rng, n_times, params.beta_freq, 2.5))
        peak = np.argmax(np.abs(gain[:, side]))
        rest_power = (1.0 + params.beta_ratio ** 2) * gain[peak, side] ** 2
        amplitude = np.sqrt(params.snr * band_power[peak] / rest_power)
        signal = signal + np.outer(gain[:, side], amplitude * state * rhythm)

    peak = np.argmax(np.abs(gain[:, 2]))
    alpha_state = np.exp(0.25 * _standardized(_smooth_noise(rng, n_times, 0.1)))
    amplitude = np.sqrt(params.alpha_snr * band_power[peak]) / abs(gain[peak, 2])
    signal = signal + np.outer(gain[:, 2], amplitude * alpha_state * _band_noise(rng, n_times, params.alpha_freq, 0.8))

    signal = signal + _blinks(rng, params, n_times)
    line_gain = rng.uniform(0.5, 1.5, (len(CHANNELS), 1))
    signal = signal + LINE_NOISE_UV * 1e-6 * line_gain * np.sin(2 * np.pi * LINE_FREQ * times + rng.uniform(0, 2 * np.pi))
    signal = signal + WHITE_NOISE_UV * 1e-6 * rng.standard_normal(signal.shape)

    raw = mne.io.RawArray(signal, info.copy(), verbose=False)
    raw.set_annotations(mne.Annotations(onsets, IMAGERY_S, [CLASSES[label] for label in labels]))
    return raw


def _matrix_sqrt(cov: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(cov)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def _shaped_noise(rng, shape: tuple[int, ...], spectral_shape) -> np.ndarray:
    """White noise filtered in the frequency domain by ``spectral_shape(freqs)`` (amplitude)."""
    from scipy.fft import irfft, next_fast_len, rfft

    n_times = shape[-1]
    n_fft = next_fast_len(n_times, real=True)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / SFREQ)
    spectrum = rfft(rng.standard_normal((*shape[:-1], n_fft)), axis=-1) * spectral_shape(freqs)
    return irfft(spectrum, n_fft, axis=-1)[..., :n_times]


def _pink_noise(rng, n_signals: int, n_times: int) -> np.ndarray:
    """Unit-variance noise with 1/f power above 0.5 Hz."""
    pink = _shaped_noise(rng, (n_signals, n_times),
                         lambda f: np.where(f >= 0.5, 1.0 / np.sqrt(np.maximum(f, 0.5)), 0.0))
    return _standardized(pink)


def _band_noise(rng, n_times: int, freq: float, width: float) -> np.ndarray:
    """Unit-variance narrow-band noise (Gaussian spectral peak): a waxing and waning rhythm."""
    return _standardized(_shaped_noise(rng, (n_times,), lambda f: np.exp(-0.5 * ((f - freq) / width) ** 2)))


def _smooth_noise(rng, n_times: int, cutoff: float) -> np.ndarray:
    return _shaped_noise(rng, (n_times,), lambda f: (f <= cutoff).astype(float))


def _standardized(x: np.ndarray) -> np.ndarray:
    return x / x.std(axis=-1, keepdims=True)


def _band_power(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """Per-channel variance of ``x`` between ``low`` and ``high`` Hz (Welch, 2 s segments)."""
    from scipy.signal import welch

    freqs, psd = welch(x, SFREQ, nperseg=int(2 * SFREQ), axis=-1)
    inside = (freqs >= low) & (freqs <= high)
    return psd[:, inside].sum(axis=1) * (freqs[1] - freqs[0])


def _ramp(x: np.ndarray) -> np.ndarray:
    """Raised-cosine step: 0 for x <= 0, 1 for x >= 1."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(x, 0.0, 1.0))


def _imagery_envelope(n_times: int, onsets: np.ndarray) -> np.ndarray:
    """1 during imagery: ERD builds up 0.2-0.9 s after the cue, recovers 4.0-4.6 s."""
    t = np.arange(int((IMAGERY_S + 1.0) * SFREQ)) / SFREQ
    shape = _ramp((t - 0.2) / 0.7) * (1.0 - _ramp((t - IMAGERY_S) / 0.6))
    return _place(shape, onsets, n_times)


def _rebound_envelope(n_times: int, onsets: np.ndarray) -> np.ndarray:
    """Post-imagery beta rebound, peaking about 1 s after the imagery ends."""
    t = np.arange(int((IMAGERY_S + 2.5) * SFREQ)) / SFREQ
    shape = np.exp(-0.5 * ((t - IMAGERY_S - 1.0) / 0.4) ** 2)
    return _place(shape, onsets, n_times)


def _place(shape: np.ndarray, onsets: np.ndarray, n_times: int) -> np.ndarray:
    """Sum of copies of ``shape`` starting at each onset (seconds)."""
    trace = np.zeros(n_times)
    for start in np.round(onsets * SFREQ).astype(int):
        stop = min(start + len(shape), n_times)
        trace[start:stop] += shape[:stop - start]
    return trace


def _blinks(rng, params: SubjectParams, n_times: int) -> np.ndarray:
    """Eye blinks: ~0.3 s pulses, largest at Fp1/Fp2 and fading with distance from the eyes."""
    positions = _electrode_positions()
    coords = np.array([positions[name] for name in CHANNELS])
    eyes = (positions["Fp1"] + positions["Fp2"]) / 2 + np.array([0.0, 0.02, -0.025])
    topography = np.exp(-np.linalg.norm(coords - eyes, axis=1) / 0.03)
    topography /= topography.max()

    duration_s = n_times / SFREQ
    n_blinks = rng.poisson(params.blink_rate * duration_s / 60.0)
    trace = np.zeros(n_times)
    width = int(0.4 * SFREQ)
    shape = np.sin(np.pi * np.arange(width) / width) ** 2
    for start in rng.integers(0, n_times - width, n_blinks):
        trace[start:start + width] += rng.uniform(0.6, 1.2) * shape
    return np.outer(topography, params.blink_uv * 1e-6 * trace)


# -- names ---------------------------------------------------------------------------------

def _names(values, default, setting: str) -> list[str]:
    if values is None:
        return list(default)
    names = [str(v) for v in values]
    if not names:
        raise DataError(f"demo:motor-imagery: '{setting}' is empty; name at least one or leave it out "
                        f"(default {', '.join(default)}).")
    return names


def _key(name: str) -> int:
    """A stable integer for a subject / session / run name (seeds the generator)."""
    if name.isdigit() and str(int(name)) == name:
        return int(name)
    return zlib.crc32(name.encode()) + 10 ** 12


def _seed(seed: int) -> int:
    return int(seed) % 2 ** 64  # numpy seeds must be non-negative
