"""Latency and polarity between dry and wet: the peak of their cross-correlation.

The lag L maximises |r(L)|, r(L) = sum_n dry[n] wet[n + L] / (||dry|| ||wet||) (FFT, up to
``max_lag_s``). A wet that is a delayed, scaled copy plus processing has a sharp peak there; a
fully wet all-pass chain (a phaser at 100 % mix) spreads its energy over many lags, so latency and
polarity are only corrected when the normalised peak is clear (``min_peak``, 0.5 by default), and
the latency only when the correlation at lag 0 is under half the peak (a true delay, not the
spread of an all-pass).

The correlation is NumPy's FFT product (``scipy.signal.correlate`` would serve, but SciPy is a
test-only dependency here).
"""

from __future__ import annotations

import numpy as np

__all__ = ["cross_correlation_lag", "shift"]


def cross_correlation_lag(dry: np.ndarray, wet: np.ndarray, sample_rate: float, *, max_lag_s: float = 0.5,
                          window_s: float = 30.0) -> tuple[int, float, float]:
    """(lag in samples, normalised correlation at that lag and at lag 0, signed) of wet relative to
    dry (mono, (T,))."""
    n = min(len(dry), len(wet), int(window_s * sample_rate))
    d, w = dry[:n].astype(np.float64), wet[:n].astype(np.float64)
    max_lag = min(int(max_lag_s * sample_rate), n - 1)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    spec = np.fft.rfft(w, size) * np.conj(np.fft.rfft(d, size))
    r = np.fft.irfft(spec, size)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    values = np.concatenate([r[: max_lag + 1], r[size - max_lag:]])
    norm = np.sqrt(np.dot(d, d) * np.dot(w, w)) + 1e-30
    best = int(np.argmax(np.abs(values)))
    return int(lags[best]), float(values[best] / norm), float(values[0] / norm)


def shift(wet: np.ndarray, lag: int) -> np.ndarray:
    """Advance ``wet`` (..., T) by ``lag`` samples (delay it for a negative lag), zero-padded."""
    out = np.zeros_like(wet)
    if lag > 0:
        out[..., : wet.shape[-1] - lag] = wet[..., lag:]
    elif lag < 0:
        out[..., -lag:] = wet[..., : wet.shape[-1] + lag]
    else:
        out[...] = wet
    return out
