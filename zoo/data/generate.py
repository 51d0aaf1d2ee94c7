"""Deterministic dry material, generated from a seed: no audio files are shipped.

Every generator takes ``(sample_rate, duration_s, seed)`` first, draws all of its randomness from
``numpy.random.default_rng(seed)``, and returns a mono float32 array of shape ``(T,)`` with
``T = round(duration_s * sample_rate)`` and values in [-1, 1]. The same arguments always give the
same samples, at any sample rate (frequencies that would pass Nyquist are scaled down to fit).

The material mirrors what the paper's real-effect datasets were recorded with:

- :func:`chirp_train`: trains of exponential sine sweeps, the training signal of the Small Stone
  phaser recordings (Carson et al., DAFx 2023; Sec. 4.1 of Yu et al., DAFx 2024).
- :func:`plucked_phrase`: a guitar-like phrase (Karplus-Strong plucks), the test material of the
  same recordings.
- :func:`chirp_then_pluck`: the two above back to back, like the Small Stone recording.
- :func:`bass_line`, :func:`drum_hits`, :func:`noise_bursts`, :func:`music_mix`: programme material
  with loud and quiet passages for the compressor (Sec. 4.3).
- :func:`acid_notes`, :func:`acid_source`, :func:`oscillator`: TB-303-style single notes for the
  subtractive synth (Sec. 4.2); the filtered target is rendered by :mod:`zoo.data.render`.

Only numpy is used here (no scipy, no pedalboard), so the module is cheap to import.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np

from ._checks import check_choice, check_duration, check_float, check_int, check_sample_rate, check_seed

__all__ = [
    "NoteEvent",
    "BassLine",
    "AcidNote",
    "SCALES",
    "MATERIALS",
    "midi_to_hz",
    "chirp_train",
    "plucked_phrase",
    "chirp_then_pluck",
    "bass_line",
    "drum_hits",
    "noise_bursts",
    "music_mix",
    "oscillator",
    "acid_notes",
    "acid_source",
    "generate_material",
]

#: Scale intervals (semitones above the root) used by the melodic generators.
SCALES: dict[str, tuple[int, ...]] = {
    "minor_pentatonic": (0, 3, 5, 7, 10),
    "major_pentatonic": (0, 2, 4, 7, 9),
    "natural_minor": (0, 2, 3, 5, 7, 8, 10),
    "major": (0, 2, 4, 5, 7, 9, 11),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
}


# ------------------------------------------------------------------------------------------------
# Small helpers
# ------------------------------------------------------------------------------------------------


def midi_to_hz(midi_pitch: float) -> float:
    """Equal-tempered frequency of a MIDI pitch: f = 440 * 2^((p - 69) / 12) Hz.

    Args:
        midi_pitch: MIDI pitch p (69 is A4).

    Returns:
        Frequency (Hz).
    """
    return 440.0 * 2.0 ** ((float(midi_pitch) - 69.0) / 12.0)


def _db_to_amp(db: float | np.ndarray) -> float | np.ndarray:
    return 10.0 ** (np.asarray(db, dtype=np.float64) / 20.0)


def _num_samples(sample_rate: int, duration_s: float) -> int:
    return max(1, int(round(duration_s * sample_rate)))


def _check_range(
    value: Any, name: str, *, minimum: float | None = None, maximum: float | None = None
) -> tuple[float, float]:
    """A (low, high) pair with low <= high, used for the random ranges of the generators."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
        raise TypeError(f"Unexpected value for `{name}`: expected a (low, high) pair, found {value!r}")
    low = check_float(value[0], f"{name}[0]", minimum=minimum, maximum=maximum)
    high = check_float(value[1], f"{name}[1]", minimum=minimum, maximum=maximum)
    if high < low:
        raise ValueError(f"Unexpected value for `{name}`: expected low <= high, found ({low:g}, {high:g})")
    return low, high


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def _fade(x: np.ndarray, fade_samples: int) -> np.ndarray:
    """Raised-cosine fade in and out (in place), so segments start and end without clicks."""
    n = min(int(fade_samples), x.shape[-1] // 2)
    if n > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)
        x[..., :n] *= ramp
        x[..., -n:] *= ramp[::-1]
    return x


def _fft_filter(x: np.ndarray, sample_rate: int, gain: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Zero-phase filtering by a magnitude response ``gain(f_hz)`` (dry material only, not causal)."""
    n = x.shape[-1]
    spectrum = np.fft.rfft(x, n=n)
    freqs_hz = np.fft.rfftfreq(n, d=1.0 / sample_rate)
    return np.fft.irfft(spectrum * gain(freqs_hz), n=n)


def _peak_normalise(x: np.ndarray, peak: float) -> np.ndarray:
    top = float(np.max(np.abs(x))) if x.size else 0.0
    return x * (peak / top) if top > 0 else x


def _finish(x: np.ndarray) -> np.ndarray:
    """float32 in [-1, 1]; the clip only guards rounding, the generators already stay inside."""
    return np.clip(np.asarray(x, dtype=np.float64), -1.0, 1.0).astype(np.float32)


def _add_at(out: np.ndarray, start: int, sig: np.ndarray) -> None:
    """out[start:start+len(sig)] += sig, cropped to out."""
    if start >= out.shape[-1] or start + sig.shape[-1] <= 0:
        return
    lo = max(start, 0)
    hi = min(start + sig.shape[-1], out.shape[-1])
    out[lo:hi] += sig[lo - start : hi - start]


def _polyblep(t: np.ndarray, dt: np.ndarray | float) -> np.ndarray:
    """PolyBLEP residual for a unit step at phase 0 (Välimäki & Huovilainen, 2007)."""
    dt = np.broadcast_to(np.asarray(dt, dtype=np.float64), t.shape)
    out = np.zeros_like(t)
    lo = t < dt
    x = t[lo] / dt[lo]
    out[lo] = x + x - x * x - 1.0
    hi = t > 1.0 - dt
    x = (t[hi] - 1.0) / dt[hi]
    out[hi] = x * x + x + x + 1.0
    return out


# ------------------------------------------------------------------------------------------------
# Phaser material
# ------------------------------------------------------------------------------------------------


def chirp_train(
    sample_rate: int,
    duration_s: float,
    seed: int = 0,
    *,
    f_start_hz: float = 20.0,
    f_stop_hz: float | None = None,
    sweep_s: Sequence[float] = (0.5, 3.0),
    gap_s: Sequence[float] = (0.05, 0.3),
    level_db: Sequence[float] = (-18.0, -1.0),
) -> np.ndarray:
    """A train of exponential (log) sine sweeps with random lengths, gaps and levels.

    Each sweep k runs from f1 = ``f_start_hz`` to f2 = ``f_stop_hz`` over T_k seconds with the
    exponential-sweep phase (Farina, 2000)

        phi(t) = 2 pi f1 L (exp(t / L) - 1),   L = T_k / ln(f2 / f1),

    so every octave gets the same time. Sweeps have 5 ms raised-cosine fades and are separated by
    silent gaps; the last sweep is cut short to fit ``duration_s``. This is the kind of signal the
    Small Stone phaser was recorded with (Carson et al., DAFx 2023).

    Args:
        sample_rate: Sample rate (Hz), a positive integer.
        duration_s: Length of the output (s), > 0.
        seed: Seed of the random generator (lengths, gaps, levels). Default 0.
        f_start_hz: Start frequency of each sweep (Hz), in (0, f_stop_hz). Default 20.
        f_stop_hz: Stop frequency (Hz), at most Nyquist. Default ``None``: 0.9 * Nyquist.
        sweep_s: (low, high) range of sweep lengths (s), drawn uniformly. Default (0.5, 3).
        gap_s: (low, high) range of the silences between sweeps (s). Default (0.05, 0.3).
        level_db: (low, high) range of sweep peak levels (dBFS, <= 0). Default (-18, -1).

    Shape:
        Output: ``(T,)`` with ``T = round(duration_s * sample_rate)``.

    Returns:
        float32 array in [-1, 1].

    Raises:
        TypeError, ValueError: for an argument of the wrong type or out of range.
    """
    sample_rate = check_sample_rate(sample_rate)
    duration_s = check_duration(duration_s)
    seed = check_seed(seed)
    nyquist_hz = sample_rate / 2.0
    f_stop_hz = (
        0.9 * nyquist_hz
        if f_stop_hz is None
        else check_float(f_stop_hz, "f_stop_hz", minimum=0.0, maximum=nyquist_hz, min_inclusive=False)
    )
    f_start_hz = check_float(
        f_start_hz, "f_start_hz", minimum=0.0, maximum=f_stop_hz, min_inclusive=False, max_inclusive=False
    )
    sweep_lo, sweep_hi = _check_range(sweep_s, "sweep_s", minimum=1e-3)
    gap_lo, gap_hi = _check_range(gap_s, "gap_s", minimum=0.0)
    level_lo, level_hi = _check_range(level_db, "level_db", maximum=0.0)

    rng = np.random.default_rng(seed)
    n_total = _num_samples(sample_rate, duration_s)
    out = np.zeros(n_total, dtype=np.float64)
    fade = int(round(0.005 * sample_rate))
    pos = 0
    while pos < n_total:
        full = max(1, int(round(rng.uniform(sweep_lo, sweep_hi) * sample_rate)))
        gap = int(round(rng.uniform(gap_lo, gap_hi) * sample_rate))
        amp = float(_db_to_amp(rng.uniform(level_lo, level_hi)))
        # A sweep cut short by the end of the signal keeps its drawn length's law, so it is the
        # first part of a normal sweep (all sweep rates stay inside `sweep_s`).
        length = min(full, n_total - pos)
        if length >= max(4, 4 * fade):
            t = np.arange(length) / sample_rate
            rate = (full / sample_rate) / math.log(f_stop_hz / f_start_hz)
            phase = 2.0 * math.pi * f_start_hz * rate * np.expm1(t / rate)
            out[pos : pos + length] = _fade(amp * np.sin(phase), fade)
        pos += length + max(gap, 1)
    return _finish(out)


def _pluck(
    f0_hz: float,
    num_samples: int,
    sample_rate: int,
    rng: np.random.Generator,
    *,
    brightness: float,
    decay_s: float,
    pluck_position: float,
) -> np.ndarray:
    """One Karplus-Strong pluck (Karplus & Strong, 1983; Jaffe & Smith, 1983).

    y(n) = x(n) + rho (c0 y(n-M) + c1 y(n-M-1) + c2 y(n-M-2)), where [c0, c1, c2] =
    [(1-f)/2, 1/2, f/2] is the two-point average convolved with a linear-interpolation fractional
    delay, so the loop delay M + 1/2 + f equals the period sample_rate / f0 exactly (at DC). Since
    every lag is >= M, blocks of M samples only read earlier blocks and are computed vectorised.
    """
    period = sample_rate / f0_hz
    m = int(math.floor(period - 0.5))
    if m < 1:
        raise ValueError(f"Unexpected value for `f0_hz`: expected at most {sample_rate / 1.5:g} Hz, found {f0_hz:g}")
    frac = period - 0.5 - m
    c0, c1, c2 = 0.5 * (1.0 - frac), 0.5, 0.5 * frac
    # Loop gain per period so that the fundamental decays by 60 dB in decay_s.
    rho = 10.0 ** (-3.0 / (f0_hz * decay_s))

    # Excitation: one period of noise, darker for soft plucks, comb-filtered by the pluck position.
    exc = rng.uniform(-1.0, 1.0, m)
    smooth_len = max(1, int(round((1.0 - brightness) * 0.25 * m)) + 1)
    if smooth_len > 1:
        exc = brightness * exc + (1.0 - brightness) * np.convolve(exc, np.ones(smooth_len) / smooth_len, mode="same")
    delay = max(1, int(round(pluck_position * m)))
    exc = exc - np.concatenate([np.zeros(delay), exc[:-delay]])[:m]
    exc -= exc.mean()

    hist = m + 2
    buf = np.zeros(hist + num_samples, dtype=np.float64)
    buf[hist : hist + min(m, num_samples)] = exc[: min(m, num_samples)]
    for start in range(0, num_samples, m):
        k = min(m, num_samples - start)
        i = hist + start
        feedback = (
            c0 * buf[i - m : i - m + k] + c1 * buf[i - m - 1 : i - m - 1 + k] + c2 * buf[i - m - 2 : i - m - 2 + k]
        )
        buf[i : i + k] += rho * feedback
    return buf[hist:]


def _body_ir(sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Impulse response of a small 'guitar body': a few damped low modes (air and top plate)."""
    length = int(round(0.15 * sample_rate))
    t = np.arange(length) / sample_rate
    ir = np.zeros(length)
    for base_hz, tau_s in ((100.0, 0.05), (205.0, 0.035), (390.0, 0.02), (560.0, 0.012)):
        f_hz = min(base_hz * rng.uniform(0.9, 1.1), 0.45 * sample_rate)
        ir += rng.uniform(0.5, 1.0) * np.exp(-t / tau_s) * np.sin(2.0 * np.pi * f_hz * t)
    return ir / np.sqrt(np.sum(ir**2))


def _convolve_fft(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    n = x.shape[-1] + h.shape[-1] - 1
    n_fft = 1 << (n - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(x, n_fft) * np.fft.rfft(h, n_fft), n_fft)[: x.shape[-1]]


def _scale_pitches(scale: str, low_midi: int, high_midi: int, root_midi: int) -> np.ndarray:
    intervals = SCALES[scale]
    pitches = [p for p in range(low_midi, high_midi + 1) if (p - root_midi) % 12 in intervals]
    return np.asarray(pitches, dtype=np.int64)


def plucked_phrase(
    sample_rate: int,
    duration_s: float,
    seed: int = 0,
    *,
    tempo_bpm: float | None = None,
    scale: str = "minor_pentatonic",
    root_midi: int | None = None,
    body: float = 0.3,
    peak_db: float = -1.0,
) -> np.ndarray:
    """A guitar-like phrase: Karplus-Strong plucks on scale notes with a touch of body resonance.

    Notes fall on an eighth-note grid with random lengths (1-4 eighths), rests, occasional
    dyads, +-10 ms timing jitter and random velocity; velocity sets both the level and the
    brightness of the pluck. Each pluck rings for its length plus a short, damped release. The
    phrase is convolved with a few damped low modes (a small 'body') and mixed at ``body``.

    Args:
        sample_rate: Sample rate (Hz), a positive integer.
        duration_s: Length of the output (s), > 0.
        seed: Seed of the random generator. Default 0.
        tempo_bpm: Tempo (beats per minute). Default ``None``: drawn from [80, 120].
        scale: Key of :data:`SCALES`. Default ``"minor_pentatonic"``.
        root_midi: Root of the scale (MIDI pitch). Default ``None``: drawn from E2..A2 (40..45).
        body: Level of the body resonance relative to the strings, in [0, 1]. Default 0.3.
        peak_db: Peak level of the output (dBFS, <= 0). Default -1.

    Shape:
        Output: ``(T,)`` with ``T = round(duration_s * sample_rate)``.

    Returns:
        float32 array in [-1, 1].

    Raises:
        TypeError, ValueError: for an argument of the wrong type or out of range.
    """
    sample_rate = check_sample_rate(sample_rate)
    duration_s = check_duration(duration_s)
    seed = check_seed(seed)
    check_choice(scale, "scale", list(SCALES))
    body = check_float(body, "body", minimum=0.0, maximum=1.0)
    peak = float(_db_to_amp(check_float(peak_db, "peak_db", maximum=0.0)))
    rng = np.random.default_rng(seed)
    tempo_bpm = rng.uniform(80.0, 120.0) if tempo_bpm is None else check_float(tempo_bpm, "tempo_bpm", minimum=1.0)
    root_midi = int(rng.integers(40, 46)) if root_midi is None else check_int(root_midi, "root_midi", minimum=0)

    n_total = _num_samples(sample_rate, duration_s)
    out = np.zeros(n_total, dtype=np.float64)
    eighth_s = 30.0 / tempo_bpm
    # Stay below ~Nyquist/3 so the loop delay keeps >= 3 samples at low sample rates.
    top_midi = min(root_midi + 31, int(math.floor(69 + 12 * math.log2(sample_rate / 3.0 / 440.0))))
    pitches = _scale_pitches(scale, root_midi, top_midi, root_midi)
    if pitches.size == 0:
        raise ValueError(
            f"Unexpected value for `root_midi`: expected a pitch below sample_rate / 3 = {sample_rate / 3:g} Hz "
            f"(MIDI {top_midi}) for plucks at {sample_rate} Hz, found {root_midi}"
        )
    idx = int(rng.integers(0, pitches.size))
    t_s = 0.0
    while t_s < duration_s:
        n_eighths = int(rng.integers(1, 5))
        if rng.random() < 0.15:  # rest
            t_s += n_eighths * eighth_s
            continue
        # A melodic random walk over the scale, with the odd leap.
        step = int(rng.choice([-2, -1, -1, 0, 1, 1, 2, rng.integers(-5, 6)]))
        idx = int(np.clip(idx + step, 0, pitches.size - 1))
        chord = [idx]
        if rng.random() < 0.2:
            chord.append(int(np.clip(idx + 2, 0, pitches.size - 1)))
        velocity = rng.uniform(0.3, 1.0)
        length_s = n_eighths * eighth_s
        for j, pidx in enumerate(chord):
            onset_s = t_s + rng.normal(0.0, 0.004) + 0.012 * j  # a strum spreads the dyad
            start = max(0, int(round(onset_s * sample_rate)))
            n = int(round((length_s + 0.15) * sample_rate))
            f0_hz = midi_to_hz(int(pitches[pidx]))
            sig = _pluck(
                f0_hz,
                n,
                sample_rate,
                rng,
                brightness=0.3 + 0.7 * velocity,
                decay_s=rng.uniform(1.0, 3.0),
                pluck_position=rng.uniform(0.1, 0.3),
            )
            # Damp the string at the end of the note (the player mutes it).
            release = int(round(0.15 * sample_rate))
            sig[-release:] *= np.linspace(1.0, 0.0, release) ** 2
            sig[: min(16, n)] *= np.linspace(0.0, 1.0, min(16, n))
            _add_at(out, start, velocity * sig / max(np.max(np.abs(sig)), 1e-12))
        t_s += length_s
    if body > 0:
        out = out + body * _convolve_fft(out, _body_ir(sample_rate, rng))
    return _finish(_peak_normalise(out, peak))


def chirp_then_pluck(
    sample_rate: int,
    duration_s: float,
    seed: int = 0,
    *,
    chirp_s: float | None = None,
) -> np.ndarray:
    """A chirp train followed by a plucked phrase, laid out like the Small Stone recording.

    The paper trains on a segment of the chirps and tests on that segment plus the guitar that
    follows it, so the LFO phase stays aligned (Sec. 4.1). Use ``split_ranges_s`` of the
    datasets to reproduce that protocol on this material.

    Args:
        sample_rate: Sample rate (Hz), a positive integer.
        duration_s: Length of the output (s), > 0.
        seed: Seed of the random generator. Default 0.
        chirp_s: Length of the chirp part (s), in (0, duration_s]. Default ``None``: 3/4 of
            ``duration_s``.

    Shape:
        Output: ``(T,)`` with ``T = round(duration_s * sample_rate)``.

    Returns:
        float32 array in [-1, 1].

    Raises:
        TypeError, ValueError: for an argument of the wrong type or out of range.
    """
    sample_rate = check_sample_rate(sample_rate)
    duration_s = check_duration(duration_s)
    seed = check_seed(seed)
    chirp_s = (
        0.75 * duration_s
        if chirp_s is None
        else check_float(chirp_s, "chirp_s", minimum=0.0, maximum=duration_s, min_inclusive=False)
    )
    n_total = _num_samples(sample_rate, duration_s)
    n_chirp = min(_num_samples(sample_rate, chirp_s), n_total)
    seeds = np.random.SeedSequence(seed).generate_state(2)
    out = np.zeros(n_total, dtype=np.float32)
    out[:n_chirp] = chirp_train(sample_rate, n_chirp / sample_rate, int(seeds[0]))[:n_chirp]
    if n_total > n_chirp:
        rest = plucked_phrase(sample_rate, (n_total - n_chirp) / sample_rate, int(seeds[1]))
        out[n_chirp:] = rest[: n_total - n_chirp]
    return out


# ------------------------------------------------------------------------------------------------
# Compressor material
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteEvent:
    """One note of a generated line.

    Attributes:
        onset_samples: First sample of the note (samples from the start of the signal).
        length_samples: Gate length (samples).
        f0_hz: Fundamental frequency (Hz).
        velocity: Velocity in (0, 1]; accented notes are louder.
        midi_pitch: MIDI pitch of the note.
    """

    onset_samples: int
    length_samples: int
    f0_hz: float
    velocity: float
    midi_pitch: int


class BassLine(NamedTuple):
    """Result of :func:`bass_line`: the audio ``(T,)`` and its note events, in time order."""

    audio: np.ndarray
    events: list[NoteEvent]


def oscillator(
    f0_hz: float | np.ndarray,
    num_samples: int,
    sample_rate: int,
    *,
    saw_mix: float = 1.0,
    phase: float = 0.0,
) -> np.ndarray:
    """Band-limited saw/square mix, o = a saw + (1 - a) square, with PolyBLEP anti-aliasing.

    The phase is theta(n) = 2 pi sum_{k<n} f0(k) / sample_rate + ``phase`` (for a constant f0,
    theta(n) = 2 pi n f0 / F_s + phi, as in Sec. 4.2 of the paper). The naive saw 2t - 1 and
    square sign(1/2 - t) are corrected with PolyBLEP residuals (Välimäki & Huovilainen, 2007).

    Args:
        f0_hz: Fundamental frequency (Hz), a scalar or a per-sample array of length
            ``num_samples``, in (0, Nyquist).
        num_samples: Number of samples, >= 1.
        sample_rate: Sample rate (Hz).
        saw_mix: Mix a in [0, 1]: 1 is a saw, 0 a square. Default 1.
        phase: Initial phase phi (rad). Default 0.

    Shape:
        Output: ``(num_samples,)``.

    Returns:
        float32 array in [-1, 1].

    Raises:
        TypeError, ValueError: for an argument of the wrong type or out of range.
    """
    num_samples = check_int(num_samples, "num_samples", minimum=1)
    sample_rate = check_sample_rate(sample_rate)
    saw_mix = check_float(saw_mix, "saw_mix", minimum=0.0, maximum=1.0)
    phase = check_float(phase, "phase")
    f0 = np.asarray(f0_hz, dtype=np.float64)
    if f0.ndim == 0:
        check_float(float(f0), "f0_hz", minimum=0.0, maximum=sample_rate / 2, min_inclusive=False, max_inclusive=False)
        dt = np.full(num_samples, float(f0) / sample_rate)
        t = np.mod(np.arange(num_samples) * dt[0] + phase / (2.0 * math.pi), 1.0)
    else:
        if f0.shape != (num_samples,):
            raise ValueError(f"Unexpected shape for `f0_hz`: expected () or ({num_samples},), found {tuple(f0.shape)}")
        if not np.all((f0 > 0) & (f0 < sample_rate / 2)):
            raise ValueError(f"Unexpected value for `f0_hz`: expected values in (0, {sample_rate / 2:g}) Hz")
        dt = f0 / sample_rate
        t = np.mod(np.concatenate([[0.0], np.cumsum(dt[:-1])]) + phase / (2.0 * math.pi), 1.0)
    saw = 2.0 * t - 1.0 - _polyblep(t, dt)
    square = np.where(t < 0.5, 1.0, -1.0) + _polyblep(t, dt) - _polyblep(np.mod(t + 0.5, 1.0), dt)
    out = saw_mix * saw + (1.0 - saw_mix) * square
    # PolyBLEP overshoots a hair past +-1 at the edges.
    return _finish(out)


def bass_line(
    sample_rate: int,
    duration_s: float,
    seed: int = 0,
    *,
    tempo_bpm: float | None = None,
    waveform: str = "saw",
    scale: str = "minor_pentatonic",
    root_midi: int | None = None,
    rest_probability: float = 0.2,
    peak_db: float = -1.0,
) -> BassLine:
    """A TB-303-style bass line: saw or square notes with decaying envelopes on a 16th grid.

    Each 16th step is a rest (``rest_probability``) or a note from the scale in a two-octave
    range above ``root_midi`` (an octave jump now and then). Notes have a random gate (50-100 % of
    the step, or a tie over 2 steps), an exponential amplitude decay, 2 ms ramps at both ends, and
    an accent (velocity 1) one time in four, else velocity in [0.5, 0.8]. The audio is dry: no
    filter is applied, that is the job of the effect under test.

    Args:
        sample_rate: Sample rate (Hz), a positive integer.
        duration_s: Length of the output (s), > 0.
        seed: Seed of the random generator. Default 0.
        tempo_bpm: Tempo (beats per minute). Default ``None``: drawn from [110, 140].
        waveform: ``"saw"``, ``"square"`` or ``"random"`` (a coin flip per note). Default ``"saw"``.
        scale: Key of :data:`SCALES`. Default ``"minor_pentatonic"``.
        root_midi: Root (MIDI pitch). Default ``None``: drawn from C2..G2 (36..43).
        rest_probability: Probability that a step is silent, in [0, 1). Default 0.2.
        peak_db: Peak level of the output (dBFS, <= 0). Default -1.

    Shape:
        audio: ``(T,)`` with ``T = round(duration_s * sample_rate)``.

    Returns:
        :class:`BassLine` ``(audio, events)``: float32 audio in [-1, 1] and the list of
        :class:`NoteEvent` (onset sample, gate length in samples, f0 (Hz), velocity, MIDI pitch).

    Raises:
        TypeError, ValueError: for an argument of the wrong type or out of range.
    """
    sample_rate = check_sample_rate(sample_rate)
    duration_s = check_duration(duration_s)
    seed = check_seed(seed)
    check_choice(waveform, "waveform", ["saw", "square", "random"])
    check_choice(scale, "scale", list(SCALES))
    rest_probability = check_float(rest_probability, "rest_probability", minimum=0.0, maximum=1.0, max_inclusive=False)
    peak = float(_db_to_amp(check_float(peak_db, "peak_db", maximum=0.0)))
    rng = np.random.default_rng(seed)
    tempo_bpm = rng.uniform(110.0, 140.0) if tempo_bpm is None else check_float(tempo_bpm, "tempo_bpm", minimum=1.0)
    root_midi = int(rng.integers(36, 44)) if root_midi is None else check_int(root_midi, "root_midi", minimum=0)

    n_total = _num_samples(sample_rate, duration_s)
    out = np.zeros(n_total, dtype=np.float64)
    step_s = 15.0 / tempo_bpm
    max_midi = int(math.floor(69 + 12 * math.log2(0.45 * sample_rate / 440.0)))
    pitches = _scale_pitches(scale, root_midi, min(root_midi + 24, max_midi), root_midi)
    if pitches.size == 0:
        raise ValueError(f"Unexpected value for `root_midi`: expected a pitch below Nyquist, found {root_midi}")
    ramp = max(1, int(round(0.002 * sample_rate)))
    events: list[NoteEvent] = []
    step = 0
    while True:
        onset = int(round(step * step_s * sample_rate))
        if onset >= n_total:
            break
        steps = 2 if rng.random() < 0.15 else 1
        if rng.random() < rest_probability:
            step += steps
            continue
        pitch = int(pitches[int(rng.integers(0, pitches.size))])
        if rng.random() < 0.15 and pitch + 12 <= max_midi:
            pitch += 12
        accent = rng.random() < 0.25
        velocity = 1.0 if accent else float(rng.uniform(0.5, 0.8))
        gate = steps * step_s * (1.0 if steps > 1 else rng.uniform(0.5, 1.0))
        length = max(2 * ramp + 1, int(round(gate * sample_rate)))
        f0_hz = midi_to_hz(pitch)
        saw_mix = {"saw": 1.0, "square": 0.0}.get(waveform, float(rng.random() < 0.5))
        osc = oscillator(f0_hz, length, sample_rate, saw_mix=saw_mix, phase=rng.uniform(0, 2 * math.pi)).astype(
            np.float64
        )
        tau_s = rng.uniform(0.1, 0.4) * (0.6 if accent else 1.0)
        env = np.exp(-np.arange(length) / (tau_s * sample_rate))
        env[:ramp] *= np.linspace(0.0, 1.0, ramp)
        env[-ramp:] *= np.linspace(1.0, 0.0, ramp)
        _add_at(out, onset, velocity * env * osc)
        events.append(NoteEvent(onset, min(length, n_total - onset), f0_hz, velocity, pitch))
        step += steps
    return BassLine(_finish(_peak_normalise(out, peak)), events)


def _kick(sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    n = int(round(0.5 * sample_rate))
    t = np.arange(n) / sample_rate
    f_start = min(rng.uniform(120.0, 180.0), 0.45 * sample_rate)
    f_end = min(rng.uniform(40.0, 60.0), f_start)
    freq = f_end + (f_start - f_end) * np.exp(-t / rng.uniform(0.02, 0.05))
    phase = 2.0 * np.pi * np.cumsum(freq) / sample_rate
    body = np.sin(phase) * np.exp(-t / rng.uniform(0.12, 0.3))
    click_n = max(1, int(round(0.003 * sample_rate)))
    body[:click_n] += 0.3 * rng.uniform(-1, 1, click_n) * np.linspace(1, 0, click_n)
    return body


def _snare(sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    n = int(round(0.3 * sample_rate))
    t = np.arange(n) / sample_rate
    tone_hz = min(rng.uniform(170.0, 230.0), 0.45 * sample_rate)
    tone = np.sin(2 * np.pi * tone_hz * t) * np.exp(-t / 0.06)
    lo_hz, hi_hz = min(1000.0, 0.2 * sample_rate), min(9000.0, 0.45 * sample_rate)
    noise = _fft_filter(rng.standard_normal(n), sample_rate, lambda f: ((f > lo_hz) & (f < hi_hz)).astype(float))
    noise /= max(np.max(np.abs(noise)), 1e-12)
    return 0.5 * tone + 0.8 * noise * np.exp(-t / rng.uniform(0.08, 0.18))


def _hat(sample_rate: int, rng: np.random.Generator, *, open_hat: bool) -> np.ndarray:
    decay_s = rng.uniform(0.15, 0.3) if open_hat else rng.uniform(0.02, 0.06)
    n = int(round(5 * decay_s * sample_rate))
    t = np.arange(n) / sample_rate
    cut_hz = min(7000.0, 0.6 * sample_rate / 2)
    noise = _fft_filter(rng.standard_normal(n), sample_rate, lambda f: (f > cut_hz).astype(float))
    noise /= max(np.max(np.abs(noise)), 1e-12)
    return noise * np.exp(-t / decay_s)


def drum_hits(
    sample_rate: int,
    duration_s: float,
    seed: int = 0,
    *,
    tempo_bpm: float | None = None,
    swing: float | None = None,
    peak_db: float = -1.0,
) -> np.ndarray:
    """Synthesised kick, snare and hi-hat hits on a randomised 16-step groove.

    - Kick: a sine whose pitch falls exponentially from 120-180 Hz to 40-60 Hz, with a 3 ms click.
    - Snare: a 170-230 Hz tone plus band-passed (1-9 kHz) noise, both decaying exponentially.
    - Hat: high-passed (> 7 kHz, or 0.6 Nyquist at low rates) noise, closed (20-60 ms) or open.

    One bar pattern is drawn per 4 bars (kick on 1 and 3 plus random extras, snare on 2 and 4
    plus ghost notes, hats on 8ths or 16ths); every hit gets a random velocity, +-3 ms of timing
    jitter, and off-beat 16ths are delayed by ``swing``.

    Args:
        sample_rate: Sample rate (Hz), a positive integer.
        duration_s: Length of the output (s), > 0.
        seed: Seed of the random generator. Default 0.
        tempo_bpm: Tempo (beats per minute). Default ``None``: drawn from [90, 140].
        swing: Delay of off-beat 16ths as a fraction of a 16th, in [0, 0.5]. Default ``None``:
            drawn from [0, 0.3].
        peak_db: Peak level of the output (dBFS, <= 0). Default -1.

    Shape:
        Output: ``(T,)`` with ``T = round(duration_s * sample_rate)``.

    Returns:
        float32 array in [-1, 1].

    Raises:
        TypeError, ValueError: for an argument of the wrong type or out of range.
    """
    sample_rate = check_sample_rate(sample_rate)
    duration_s = check_duration(duration_s)
    seed = check_seed(seed)
    peak = float(_db_to_amp(check_float(peak_db, "peak_db", maximum=0.0)))
    rng = np.random.default_rng(seed)
    tempo_bpm = rng.uniform(90.0, 140.0) if tempo_bpm is None else check_float(tempo_bpm, "tempo_bpm", minimum=1.0)
    swing = rng.uniform(0.0, 0.3) if swing is None else check_float(swing, "swing", minimum=0.0, maximum=0.5)
    n_total = _num_samples(sample_rate, duration_s)
    out = np.zeros(n_total, dtype=np.float64)
    step_s = 15.0 / tempo_bpm
    n_steps = int(math.ceil(duration_s / step_s))
    pattern: dict[str, np.ndarray] = {}
    for step in range(n_steps):
        pos = step % 16
        if step % 64 == 0:  # a new one-bar pattern every 4 bars
            kick = np.zeros(16)
            kick[[0, 8]] = 1.0
            kick[rng.random(16) < 0.15] = 0.7
            snare = np.zeros(16)
            snare[[4, 12]] = 1.0
            snare[(rng.random(16) < 0.1) & (snare == 0)] = 0.25
            hats = np.zeros(16)
            hats[:: 1 if rng.random() < 0.5 else 2] = 0.6
            hats[::4] = 0.9
            pattern = {"kick": kick, "snare": snare, "hat": hats, "open": rng.random(16) < 0.08}
        onset_s = (step + (swing if pos % 2 else 0.0)) * step_s + rng.normal(0.0, 0.003)
        onset = max(0, int(round(onset_s * sample_rate)))
        if pattern["kick"][pos] > 0:
            _add_at(out, onset, pattern["kick"][pos] * rng.uniform(0.8, 1.0) * _kick(sample_rate, rng))
        if pattern["snare"][pos] > 0:
            _add_at(out, onset, pattern["snare"][pos] * rng.uniform(0.8, 1.0) * _snare(sample_rate, rng))
        if pattern["hat"][pos] > 0:
            hat = _hat(sample_rate, rng, open_hat=bool(pattern["open"][pos]))
            _add_at(out, onset, 0.4 * pattern["hat"][pos] * rng.uniform(0.6, 1.0) * hat)
    return _finish(_peak_normalise(out, peak))


def noise_bursts(
    sample_rate: int,
    duration_s: float,
    seed: int = 0,
    *,
    burst_s: Sequence[float] = (0.01, 1.0),
    gap_s: Sequence[float] = (0.02, 0.5),
    level_db: Sequence[float] = (-40.0, -3.0),
) -> np.ndarray:
    """Enveloped noise bursts of random length, level and colour, separated by silences.

    Each burst is white, pink (1/f power) or brown (1/f^2 power, above 20 Hz) noise with a
    linear attack (1-50 ms) and an exponential-shaped release (5-200 ms), normalised to a peak
    level drawn in dBFS. Burst lengths are log-uniform in ``burst_s``; gaps uniform in ``gap_s``.

    Args:
        sample_rate: Sample rate (Hz), a positive integer.
        duration_s: Length of the output (s), > 0.
        seed: Seed of the random generator. Default 0.
        burst_s: (low, high) burst lengths (s), > 0. Default (0.01, 1).
        gap_s: (low, high) gaps between bursts (s). Default (0.02, 0.5).
        level_db: (low, high) burst peak levels (dBFS, <= 0). Default (-40, -3).

    Shape:
        Output: ``(T,)`` with ``T = round(duration_s * sample_rate)``.

    Returns:
        float32 array in [-1, 1].

    Raises:
        TypeError, ValueError: for an argument of the wrong type or out of range.
    """
    sample_rate = check_sample_rate(sample_rate)
    duration_s = check_duration(duration_s)
    seed = check_seed(seed)
    burst_lo, burst_hi = _check_range(burst_s, "burst_s", minimum=1e-4)
    gap_lo, gap_hi = _check_range(gap_s, "gap_s", minimum=0.0)
    level_lo, level_hi = _check_range(level_db, "level_db", maximum=0.0)
    rng = np.random.default_rng(seed)
    n_total = _num_samples(sample_rate, duration_s)
    out = np.zeros(n_total, dtype=np.float64)
    pos = int(round(rng.uniform(gap_lo, gap_hi) * sample_rate))
    while pos < n_total:
        n = max(4, int(round(_log_uniform(rng, burst_lo, burst_hi) * sample_rate)))
        colour = rng.choice(["white", "pink", "brown"])
        noise = rng.standard_normal(n)
        if colour != "white":
            power = 1.0 if colour == "pink" else 2.0
            noise = _fft_filter(noise, sample_rate, lambda f, p=power: np.maximum(f, 20.0) ** (-p / 2.0))
        attack = max(1, min(n // 2, int(round(rng.uniform(0.001, 0.05) * sample_rate))))
        release = max(1, min(n - attack, int(round(rng.uniform(0.005, 0.2) * sample_rate))))
        env = np.ones(n)
        env[:attack] = np.linspace(0.0, 1.0, attack)
        env[n - release :] = np.linspace(1.0, 0.0, release) ** 2
        burst = _peak_normalise(noise * env, float(_db_to_amp(rng.uniform(level_lo, level_hi))))
        _add_at(out, pos, burst)
        pos += n + max(1, int(round(rng.uniform(gap_lo, gap_hi) * sample_rate)))
    return _finish(out)


def music_mix(
    sample_rate: int,
    duration_s: float,
    seed: int = 0,
    *,
    tempo_bpm: float | None = None,
    section_s: Sequence[float] = (1.0, 4.0),
    loud_db: Sequence[float] = (-6.0, 0.0),
    quiet_db: Sequence[float] = (-36.0, -18.0),
) -> np.ndarray:
    """Programme material with level dynamics: drums, bass, plucks and noise, in loud and quiet sections.

    The stems (:func:`drum_hits`, :func:`bass_line` darkened by a gentle low-pass,
    :func:`plucked_phrase`, sparse :func:`noise_bursts`) share one tempo and are mixed, then
    normalised to -0.2 dBFS. The mix is cut into sections whose lengths are drawn from
    ``section_s``; sections alternate between loud (gain from ``loud_db``) and quiet (gain from
    ``quiet_db``) and are joined by 50 ms ramps (linear in dB), so a compressor sees both
    transients above threshold and quiet passages where it releases.

    Args:
        sample_rate: Sample rate (Hz), a positive integer.
        duration_s: Length of the output (s), > 0.
        seed: Seed of the random generator. Default 0.
        tempo_bpm: Shared tempo (beats per minute). Default ``None``: drawn from [90, 135].
        section_s: (low, high) section lengths (s). Default (1, 4).
        loud_db: (low, high) gains of loud sections (dB, <= 0). Default (-6, 0).
        quiet_db: (low, high) gains of quiet sections (dB, <= 0). Default (-36, -18).

    Shape:
        Output: ``(T,)`` with ``T = round(duration_s * sample_rate)``.

    Returns:
        float32 array in [-1, 1].

    Raises:
        TypeError, ValueError: for an argument of the wrong type or out of range.
    """
    sample_rate = check_sample_rate(sample_rate)
    duration_s = check_duration(duration_s)
    seed = check_seed(seed)
    sec_lo, sec_hi = _check_range(section_s, "section_s", minimum=1e-3)
    loud_lo, loud_hi = _check_range(loud_db, "loud_db", maximum=0.0)
    quiet_lo, quiet_hi = _check_range(quiet_db, "quiet_db", maximum=0.0)
    rng = np.random.default_rng(seed)
    tempo_bpm = rng.uniform(90.0, 135.0) if tempo_bpm is None else check_float(tempo_bpm, "tempo_bpm", minimum=1.0)
    stem_seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(4)]
    n_total = _num_samples(sample_rate, duration_s)
    duration_s = n_total / sample_rate

    drums = drum_hits(sample_rate, duration_s, stem_seeds[0], tempo_bpm=tempo_bpm).astype(np.float64)
    bass = bass_line(sample_rate, duration_s, stem_seeds[1], tempo_bpm=tempo_bpm).audio.astype(np.float64)
    bass = _fft_filter(bass, sample_rate, lambda f: 1.0 / np.sqrt(1.0 + (f / 800.0) ** 4))
    pluck = plucked_phrase(sample_rate, duration_s, stem_seeds[2], tempo_bpm=tempo_bpm).astype(np.float64)
    noise = noise_bursts(sample_rate, duration_s, stem_seeds[3], gap_s=(0.5, 3.0), level_db=(-30.0, -10.0)).astype(
        np.float64
    )
    mix = 0.5 * drums + 0.35 * _peak_normalise(bass, 1.0) + 0.3 * pluck + 0.15 * noise
    mix = _peak_normalise(mix, float(_db_to_amp(-0.2)))

    # Section gains: breakpoints (time, dB) joined by short ramps, linear in dB.
    ramp_s = 0.05
    times, gains_db = [0.0], []
    loud = bool(rng.random() < 0.5)
    t_s = 0.0
    while t_s < duration_s:
        gains_db.append(rng.uniform(loud_lo, loud_hi) if loud else rng.uniform(quiet_lo, quiet_hi))
        t_s += rng.uniform(sec_lo, sec_hi)
        times.append(t_s)
        loud = not loud
    knots_t, knots_db = [], []
    for i, g in enumerate(gains_db):
        knots_t += [times[i] + (ramp_s if i > 0 else 0.0), times[i + 1]]
        knots_db += [g, g]
    t_axis = np.arange(n_total) / sample_rate
    gain = _db_to_amp(np.interp(t_axis, knots_t, knots_db))
    return _finish(mix * gain)


# ------------------------------------------------------------------------------------------------
# Synth material
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AcidNote:
    """Parameters of one TB-303-style note (the 'dry' side of the synth dataset).

    The source follows Sec. 4.2 of the paper: s(n) = ``osc_gain`` e(n) o(n) with
    e(n) = ((N_on - n) / N_on)^``env_exponent`` for n < N_on (else 0) and o the saw/square mix of
    :func:`oscillator`. The filter fields drive :func:`zoo.data.render.render_acid_note`:
    cutoff(n) = ``cutoff_hz`` + ``env_mod_hz`` exp(-n / ``filter_decay_ms``), a 24 dB/oct ladder
    low-pass with ``resonance`` and ``drive``, then tanh(``dist_gain`` x).

    Attributes:
        f0_hz: Fundamental frequency (Hz).
        note_on_samples: Gate length N_on (samples), <= ``num_samples``.
        num_samples: Length of the note's audio (samples).
        midi_pitch: MIDI pitch of ``f0_hz``.
        velocity: 1 for an accented note, else in [0.5, 0.8].
        saw_mix: alpha_osc in [0, 1] (1: saw, 0: square).
        env_exponent: alpha_env in [0.1, 6].
        osc_gain: g_osc in [0.01, 1].
        phase: Initial oscillator phase (rad).
        cutoff_hz: Resting cutoff of the filter (Hz).
        env_mod_hz: Peak cutoff added by the filter envelope (Hz).
        filter_decay_ms: Time constant of the filter envelope (ms).
        resonance: Ladder resonance in [0, 1).
        drive: Ladder drive, >= 1.
        dist_gain: g_dist of the output tanh in [0.01, 4].
    """

    f0_hz: float
    note_on_samples: int
    num_samples: int
    midi_pitch: int
    velocity: float
    saw_mix: float
    env_exponent: float
    osc_gain: float
    phase: float
    cutoff_hz: float
    env_mod_hz: float
    filter_decay_ms: float
    resonance: float
    drive: float
    dist_gain: float

    def to_dict(self) -> dict[str, float | int]:
        """The fields as plain Python scalars (for JSON, caching and dataset items)."""
        return {k: (int(v) if isinstance(v, (int, np.integer)) else float(v)) for k, v in asdict(self).items()}


def acid_notes(
    sample_rate: int,
    num_notes: int,
    seed: int = 0,
    *,
    note_samples: int | None = None,
    waveform: str = "random",
    midi_range: Sequence[int] = (36, 60),
    accent_probability: float = 0.25,
) -> list[AcidNote]:
    """Random TB-303-style single notes: the parameters only; render them with :mod:`zoo.data.render`.

    Each note draws its pitch from ``midi_range``, a gate N_on of 25-100 % of ``note_samples``,
    alpha_env in [0.5, 4], g_osc in [0.3, 1], a random phase, and filter settings in the 303's
    range: resting cutoff 150-1500 Hz and envelope depth 500-6000 Hz (both log-uniform), decay
    50-800 ms, resonance 0-0.9, drive 1-2, g_dist 0.5-3. Accented notes get more envelope depth,
    a shorter decay and a higher gain. Cutoffs are capped at 0.45 * ``sample_rate``.

    Args:
        sample_rate: Sample rate (Hz), a positive integer.
        num_notes: Number of notes, >= 1.
        seed: Seed of the random generator. Default 0.
        note_samples: Length of each note (samples). Default ``None``: a 16th note at 120 BPM,
            round(0.125 * sample_rate), i.e. the paper's 6000 samples at 48 kHz.
        waveform: ``"saw"`` (alpha_osc = 1), ``"square"`` (0), ``"random"`` (a coin flip per note,
            as on the 303's switch) or ``"mix"`` (alpha_osc uniform in [0, 1]). Default ``"random"``.
        midi_range: Inclusive (low, high) MIDI pitch range. Default (36, 60).
        accent_probability: Probability of an accented note, in [0, 1]. Default 0.25.

    Returns:
        A list of ``num_notes`` :class:`AcidNote`.

    Raises:
        TypeError, ValueError: for an argument of the wrong type or out of range.
    """
    sample_rate = check_sample_rate(sample_rate)
    num_notes = check_int(num_notes, "num_notes", minimum=1)
    seed = check_seed(seed)
    note_samples = (
        int(round(0.125 * sample_rate)) if note_samples is None else check_int(note_samples, "note_samples", minimum=2)
    )
    check_choice(waveform, "waveform", ["saw", "square", "random", "mix"])
    low, high = _check_range(midi_range, "midi_range", minimum=0, maximum=127)
    if midi_to_hz(high) >= 0.45 * sample_rate:
        raise ValueError(
            f"Unexpected value for `midi_range`: expected pitches below {0.45 * sample_rate:g} Hz, found up to {midi_to_hz(high):g} Hz"
        )
    accent_probability = check_float(accent_probability, "accent_probability", minimum=0.0, maximum=1.0)
    rng = np.random.default_rng(seed)
    max_cut_hz = 0.45 * sample_rate
    notes = []
    for _ in range(num_notes):
        pitch = int(rng.integers(int(low), int(high) + 1))
        accent = bool(rng.random() < accent_probability)
        if waveform == "mix":
            saw_mix = float(rng.uniform(0.0, 1.0))
        elif waveform == "random":
            saw_mix = float(rng.random() < 0.5)
        else:
            saw_mix = 1.0 if waveform == "saw" else 0.0
        cutoff_hz = min(_log_uniform(rng, 150.0, 1500.0), max_cut_hz)
        env_mod_hz = _log_uniform(rng, 500.0, 6000.0) * (1.5 if accent else 1.0)
        notes.append(
            AcidNote(
                f0_hz=midi_to_hz(pitch),
                note_on_samples=int(round(rng.uniform(0.25, 1.0) * note_samples)),
                num_samples=note_samples,
                midi_pitch=pitch,
                velocity=1.0 if accent else float(rng.uniform(0.5, 0.8)),
                saw_mix=saw_mix,
                env_exponent=float(rng.uniform(0.5, 4.0)),
                osc_gain=float(rng.uniform(0.3, 1.0)),
                phase=float(rng.uniform(-math.pi, math.pi)),
                cutoff_hz=float(cutoff_hz),
                env_mod_hz=float(min(env_mod_hz, max_cut_hz - cutoff_hz)),
                filter_decay_ms=_log_uniform(rng, 50.0, 800.0) * (0.5 if accent else 1.0),
                resonance=float(rng.uniform(0.0, 0.9)),
                drive=float(rng.uniform(1.0, 2.0)),
                dist_gain=float(rng.uniform(0.5, 3.0)),
            )
        )
    return notes


def acid_source(note: AcidNote, sample_rate: int) -> np.ndarray:
    """The unfiltered source of a note, s(n) = g_osc e(n) o(n) (Sec. 4.2 of the paper).

    e(n) = ((N_on - n) / N_on)^alpha_env while the note is on (n < N_on), then 0; o is
    :func:`oscillator` at ``note.f0_hz`` with ``note.saw_mix`` and ``note.phase``.

    Args:
        note: The note's parameters.
        sample_rate: Sample rate (Hz).

    Shape:
        Output: ``(note.num_samples,)``.

    Returns:
        float32 array in [-1, 1].

    Raises:
        TypeError: if ``note`` is not an :class:`AcidNote`.
    """
    if not isinstance(note, AcidNote):
        raise TypeError(f"Unexpected type for `note`: expected AcidNote, found {type(note).__name__}")
    sample_rate = check_sample_rate(sample_rate)
    n = np.arange(note.num_samples, dtype=np.float64)
    n_on = max(int(note.note_on_samples), 1)
    env = np.where(n < n_on, np.clip((n_on - n) / n_on, 0.0, 1.0) ** note.env_exponent, 0.0)
    osc = oscillator(note.f0_hz, note.num_samples, sample_rate, saw_mix=note.saw_mix, phase=note.phase)
    return _finish(note.osc_gain * env * osc)


# ------------------------------------------------------------------------------------------------
# Registry
# ------------------------------------------------------------------------------------------------


def _bass_audio(sample_rate: int, duration_s: float, seed: int = 0, **kwargs: Any) -> np.ndarray:
    return bass_line(sample_rate, duration_s, seed, **kwargs).audio


#: Generators addressable by name, each ``fn(sample_rate, duration_s, seed, **kwargs) -> (T,)``.
MATERIALS: dict[str, Callable[..., np.ndarray]] = {
    "chirp_train": chirp_train,
    "plucked_phrase": plucked_phrase,
    "chirp_then_pluck": chirp_then_pluck,
    "bass_line": _bass_audio,
    "drum_hits": drum_hits,
    "noise_bursts": noise_bursts,
    "music_mix": music_mix,
}


def generate_material(name: str, sample_rate: int, duration_s: float, seed: int = 0, **kwargs: Any) -> np.ndarray:
    """Generate dry material by name (a key of :data:`MATERIALS`).

    Args:
        name: Generator name, e.g. ``"chirp_train"`` or ``"music_mix"``.
        sample_rate: Sample rate (Hz).
        duration_s: Length (s).
        seed: Seed. Default 0.
        **kwargs: Keyword options of the generator.

    Shape:
        Output: ``(T,)`` with ``T = round(duration_s * sample_rate)``.

    Returns:
        float32 array in [-1, 1].

    Raises:
        ValueError: for an unknown ``name``.
        TypeError: for an option the generator does not take.
    """
    check_choice(name, "material", list(MATERIALS))
    fn = MATERIALS[name]
    try:
        return fn(sample_rate, duration_s, seed, **kwargs)
    except TypeError as err:
        if "unexpected keyword argument" in str(err):
            raise TypeError(f"Unexpected option for material {name!r}: {err}") from err
        raise
