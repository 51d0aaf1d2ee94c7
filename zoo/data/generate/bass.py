"""Bass lines: note events, the band-limited saw/square oscillator, and sequenced bass phrases."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .._checks import check_choice, check_duration, check_float, check_int, check_sample_rate, check_seed
from ._common import (
    SCALES,
    _add_at,
    _db_to_amp,
    _finish,
    _num_samples,
    _peak_normalise,
    _polyblep,
    midi_to_hz,
)
from .phaser import _scale_pitches


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
