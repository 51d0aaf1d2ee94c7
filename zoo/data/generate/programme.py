"""Programme material for the compressor: drum hits, noise bursts, and the loud/quiet music mix."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .._checks import check_duration, check_float, check_sample_rate, check_seed
from ._common import (
    _add_at,
    _check_range,
    _db_to_amp,
    _fft_filter,
    _finish,
    _log_uniform,
    _num_samples,
    _peak_normalise,
)
from .bass import bass_line
from .phaser import plucked_phrase


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
