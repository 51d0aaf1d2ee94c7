"""TB-303-style single notes for the subtractive synth: their parameters and the unfiltered source.

The filtered target is rendered by :mod:`zoo.data.render` (Sec. 4.2 of the paper).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .._checks import check_choice, check_float, check_int, check_sample_rate, check_seed
from ._common import _check_range, _finish, _log_uniform, midi_to_hz
from .bass import oscillator


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
