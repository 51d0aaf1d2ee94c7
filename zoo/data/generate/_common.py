"""Helpers shared by the generators: scales, MIDI pitch, levels, fades, filtering, the PolyBLEP step."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._checks import check_float

#: Scale intervals (semitones above the root) used by the melodic generators.
SCALES: dict[str, tuple[int, ...]] = {
    "minor_pentatonic": (0, 3, 5, 7, 10),
    "major_pentatonic": (0, 2, 4, 7, 9),
    "natural_minor": (0, 2, 3, 5, 7, 8, 10),
    "major": (0, 2, 4, 5, 7, 9, 11),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
}


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
