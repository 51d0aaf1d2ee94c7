"""Phaser material: chirp trains, plucked phrases, and the two back to back (the Small Stone layout).

These mirror the recordings of the Small Stone phaser (Carson et al., DAFx 2023; Sec. 4.1 of
Yu et al., DAFx 2024): sine sweeps to train on, a guitar-like phrase to test on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .._checks import check_choice, check_duration, check_float, check_int, check_sample_rate, check_seed
from ._common import (
    SCALES,
    _add_at,
    _check_range,
    _db_to_amp,
    _fade,
    _finish,
    _num_samples,
    _peak_normalise,
    midi_to_hz,
)


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
