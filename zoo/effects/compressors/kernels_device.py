"""Numba kernel for the feedback compressor of `zoo.effects.compressors` (the detector listens to the
output): plain NumPy arrays, no torch.

Per row (channels linked), with y the output and level detection on y[n-1]:

* peak detector: e[n] = mean_c |y_c[n-1]|; RMS detector: e[n] = mean_c y_c[n-1]^2;
* ``smoothing = 0`` (level): env[n] = e + a (env[n-1] - e), a = attack coefficient when e > env[n-1]
  else release (as 1 - alpha of `attack_release_smoother`); gain = static curve of env;
* ``smoothing = 1`` (gain): gain from e, then the attack/release smoother of Eq. 21 on the gain;
* y_c[n] = x_c[n] gain[n] 10^(makeup/20).

`device_forward` also runs the feed-forward compressors (detection on x[n]) for the lean streaming
path (`zoo.effects.lean_stream`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ...filters.dispatch import NUMBA_SERIAL as _SERIAL

__all__ = ["device_forward", "feedback_forward"]


@njit(**_SERIAL)
def _static_db(level_db, threshold_db, ratio, knee_db):
    over = level_db - threshold_db
    slope = 1.0 / ratio - 1.0
    if knee_db > 0.0 and 2.0 * abs(over) <= knee_db:
        return slope * (over + knee_db / 2.0) ** 2 / (2.0 * knee_db)
    if over > 0.0:
        return slope * over
    return 0.0


@njit(**_SERIAL)
def device_forward(x, threshold_db, ratio, attack_coef, release_coef, makeup_db, knee_db, peak, smoothing, feedback,
                   state, gain_out, y_out, eps):
    """The device compressor sample by sample, feed-forward (detector on x[n]) or feedback (on y[n-1]).

    x (N, C, T); parameters (N,); state (N, C + 2): [env, g_hat, y_1[-1], ..., y_C[-1]] (updated in
    place; in level mode g_hat holds the last gain, as the composed path's state does); gain_out
    (N, T): the applied gain without make-up; y_out (N, C, T): the output.
    """
    n_rows, n_ch, n_time = x.shape
    for r in range(n_rows):
        makeup = 10.0 ** (makeup_db[r] / 20.0)
        env = state[r, 0]
        g_hat = state[r, 1]
        for n in range(n_time):
            e = 0.0
            for c in range(n_ch):
                v = state[r, 2 + c] if feedback else x[r, c, n]
                e += abs(v) if peak else v * v
            e /= n_ch
            if smoothing == 0:
                a = attack_coef[r] if e > env else release_coef[r]
                env = env + a * (e - env)
                level = max(env, eps)
                level_db = 20.0 * math.log10(level) if peak else 10.0 * math.log10(level)
                g = 10.0 ** (_static_db(level_db, threshold_db[r], ratio[r], knee_db) / 20.0)
                g_hat = g
            else:
                level = max(e, eps)
                level_db = 20.0 * math.log10(level) if peak else 10.0 * math.log10(level)
                g_in = 10.0 ** (_static_db(level_db, threshold_db[r], ratio[r], knee_db) / 20.0)
                a = attack_coef[r] if g_in < g_hat else release_coef[r]
                g_hat = g_hat + a * (g_in - g_hat)
                g = g_hat
            gain_out[r, n] = g
            for c in range(n_ch):
                y = x[r, c, n] * g * makeup
                y_out[r, c, n] = y
                state[r, 2 + c] = y
        state[r, 0] = env
        state[r, 1] = g_hat


@njit(**_SERIAL)
def feedback_forward(x, threshold_db, ratio, attack_coef, release_coef, makeup_db, knee_db, peak, smoothing,
                     state, gain_out, eps):
    """`device_forward` with feedback, without the output: the gain (N, T) and the state (updated)."""
    y = np.empty_like(x)
    device_forward(x, threshold_db, ratio, attack_coef, release_coef, makeup_db, knee_db, peak, smoothing, True,
                   state, gain_out, y, eps)
