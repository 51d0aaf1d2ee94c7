r"""Numba CPU kernels for the whole TD synth voice in one sweep per row, forward and backward.

The kernels work on plain NumPy arrays and know nothing of torch. Per row b (sample n, 0 <= n < T),
with the row's globals ``prm[b]`` = (alpha_osc, alpha_env, g_osc, g_dist, phi, Q) (columns as
`PARAMS`) and conditioning ``cond[b]`` = (f0 (Hz), N_on (samples)):

    c(n)     = (1 - f) ctrl[m] + f ctrl[m + 1],  m = n // hop, f = (n - m hop) / hop     (controls)
    (b, a)(n) = LP:    RBJ low-pass of f_c(n) = 100 * 80^sigmoid(c(n)) Hz and Q
                Coeff: b = c_0..2, a = rho * triangle(c_3, c_4), rho = (0.999, 0.999^2)
    theta(n) = 2 pi ((n f0 / F_s) mod 1) + phi,  sq = tanh(k sin theta),  saw = sq (1 + cos theta) / 2
    s(n)     = g_osc e(n) (alpha_osc saw + (1 - alpha_osc) sq),  e(n) = ((N_on - n) / N_on)^alpha_env
    v(n)     = sum_k b_k(n) s(n - k) - sum_i a_i(n) v(n - i)          (zeros act before the poles)
    y(n)     = tanh(g_dist v(n))

exactly as the composed torch path of `zoo.effects.synth.functional` (`controls_at_audio_rate`,
`lp_coefficients` / `coeff_coefficients`, `synth_source`, `zoo.filters.lfilter`, tanh); frames
past the last one repeat it. Each stage runs in the arrays' dtype (float32 stays float32).

The transcendental per-sample maps that do not depend on the recursion run before the sweep, as
vectorised in-place torch ops (`zoo.effects.synth.functional`; scalar libm calls in the sweep would
cost more than the rest of the voice), on ``maps`` (K, N, T) that `prepare` fills with their
arguments: maps[0] = log of the envelope's base (0 once the note is off), maps[1] = e (valid while
n < N_on), then LP: maps[2..4] = sigmoid(c), f_c (Hz), sin(w0 / 2); Coeff: maps[2..3] = tanh c_3,
tanh c_4, with c_0..2 in ``coefs`` (N, T, 3). `synth_forward` takes them and writes the biquad's
output v (N, T) (y = tanh(g_dist v) is one vectorised op after it) and ``aux`` (N, T, `N_AUX`), what
the reverse sweep needs per sample (columns as `AUX`). The oscillator's sin / cos theta are exact
every `_REFRESH` samples and rotated in float64 between.

`synth_backward` is the adjoint, one reverse sweep per row: tanh, then the all-pole's time-reversed
recursion u(n) = dL/dv(n) - a_1(n+1) u(n+1) - a_2(n+2) u(n+2) with dL/da_i(n) = -u(n) v(n-i), the
FIR's (dL/db_k(n) = u(n) s(n-k), dL/ds(n) = sum_k b_k(n+k) u(n+k)), the source's, the coefficient
maps', and the interpolation's (scattered onto frames m, m + 1). Per-row and per-frame gradients are
accumulated in float64 (``grad_ctrl`` (N, F, P), ``grad_prm`` (N, 6)).

Shapes: ctrl (N, F, P) with P = 1 (LP) or 5 (Coeff); prm (N, 6); cond (N, 2); y, grad_y (N, T).
Kernels are parallel over N (``prange``) with a ``_serial`` twin for one or two rows, sequential in
time, compiled with ``cache=True``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ...filters.dispatch import NUMBA_PARALLEL as _PARALLEL, NUMBA_SERIAL as _SERIAL


#: the columns of ``prm`` / ``grad_prm``
PARAMS = ("osc_mix", "env_exponent", "osc_gain", "dist_gain", "phase_rad", "q")
#: the columns of ``aux``: the square, sin / cos theta, the source s, the coefficients; for LP, where
#: b0 = b2 = b1 / 2, columns 4 and 6 hold sin w0 and 1 / a0 instead of b0 and b2
AUX = ("square", "sin_theta", "cos_theta", "s", "b0", "b1", "b2", "a1", "a2")
N_AUX = len(AUX)

_TWO_PI = 2.0 * math.pi
_SHARP = 0.5 * math.pi * 12000.0
#: log(f_hi / f_lo) of the "LP" cutoff range [100, 8000] Hz
LOG_CUTOFF_SPAN = math.log(8000.0 / 100.0)
_RHO = 0.999
#: the oscillator's sin / cos are computed exactly every _REFRESH samples and rotated in float64 between
_REFRESH = 32


@njit(**_SERIAL)
def _tanh(x, sat):  # pragma: no cover - compiled
    # tanh rounds to +-1 past ``sat`` (float32: 9.1, float64: 19.1): skip the call there
    if x >= sat:
        return x * 0 + 1
    if x <= -sat:
        return x * 0 - 1
    return math.tanh(x)


@njit(**_SERIAL)
def _frame_index(n, hop, n_frames, n_padded):  # pragma: no cover - compiled
    m = min(n // hop, n_padded - 1)
    m_next = min(m + 1, n_padded - 1)
    return m, min(m, n_frames - 1), min(m_next, n_frames - 1)


# ------------------------------------------------------------------------------------ preparation
@njit(**_SERIAL)
def _prepare_row(ctrl, cond, hop, n_padded, lp, maps, coefs, b):  # pragma: no cover - compiled
    t = maps.dtype.type
    n_frames = ctrl.shape[1]
    n_on = max(cond[b, 1], t(1.0))
    for m in range(min(n_padded, (maps.shape[2] + hop - 1) // hop)):
        i0 = min(m, n_frames - 1)
        i1 = min(m + 1, n_padded - 1, n_frames - 1)
        for n in range(m * hop, min((m + 1) * hop, maps.shape[2])):
            frac = t(n - m * hop) / t(hop)
            nf = t(n)
            maps[0, b, n] = (n_on - nf) / n_on if nf < n_on else t(1.0)
            if lp:
                lo = ctrl[b, i0, 0]
                maps[2, b, n] = lo + frac * (ctrl[b, i1, 0] - lo)
            else:
                for p in range(3):
                    lo = ctrl[b, i0, p]
                    coefs[b, n, p] = lo + frac * (ctrl[b, i1, p] - lo)
                lo = ctrl[b, i0, 3]
                maps[2, b, n] = lo + frac * (ctrl[b, i1, 3] - lo)
                lo = ctrl[b, i0, 4]
                maps[3, b, n] = lo + frac * (ctrl[b, i1, 4] - lo)


@njit(**_PARALLEL)
def prepare(ctrl, cond, hop, n_padded, lp, maps, coefs):  # pragma: no cover - compiled
    """Write the envelope's base (1 once the note is off) to maps[0] and the interpolated controls: LP c to
    maps[2]; Coeff c_0..2 to coefs (N, T, 3), c_3, c_4 to maps[2], maps[3]."""
    for b in prange(maps.shape[1]):
        _prepare_row(ctrl, cond, hop, n_padded, lp, maps, coefs, b)


@njit(**_SERIAL)
def prepare_serial(ctrl, cond, hop, n_padded, lp, maps, coefs):  # pragma: no cover - compiled
    for b in range(maps.shape[1]):
        _prepare_row(ctrl, cond, hop, n_padded, lp, maps, coefs, b)


# ------------------------------------------------------------------------------------------ forward
@njit(**_SERIAL)
def _forward_row(maps, coefs, prm, cond, sample_rate, lp, v_out, aux, b):  # pragma: no cover
    t = v_out.dtype.type
    n_time = v_out.shape[1]
    mix, g_osc, phi, q = prm[b, 0], prm[b, 2], prm[b, 4], prm[b, 5]
    f0 = cond[b, 0]
    n_on = max(cond[b, 1], t(1.0))  # as the envelope clamps it
    f0c = max(f0, t(20.0))
    k = t(_SHARP) / (f0c * math.log10(f0c))
    inc = f0 / t(sample_rate)
    one, half, two = t(1.0), t(0.5), t(2.0)
    inv_two_q = one / (two * q)
    delta = _TWO_PI * float(inc)
    sin_d = math.sin(delta)
    cos_d = math.cos(delta)
    sin_r = cos_r = 0.0
    fresh = True
    sat = t(9.1) if v_out.itemsize == 4 else t(19.1)
    s1 = s2 = v1 = v2 = t(0.0)
    for n in range(n_time):
        # biquad coefficients
        if lp:
            # maps[4] = sin(w0 / 2) (w0 <= pi / 3): sin w0 = 2 s sqrt(1 - s^2), 1 - cos w0 = 2 s^2
            sh = maps[4, b, n]
            one_m_cw = two * sh * sh
            cw = one - one_m_cw
            sw = two * sh * math.sqrt(one - sh * sh)
            alpha = sw * inv_two_q
            inv_a0 = one / (one + alpha)
            b1 = one_m_cw * inv_a0
            b0 = half * b1
            b2 = b0
            a1 = -two * cw * inv_a0
            a2 = (one - alpha) * inv_a0
            aux_b0 = sw  # b0 = b2 = b1 / 2: keep what the backward needs instead
            aux_b2 = inv_a0
        else:
            b0 = coefs[b, n, 0]
            b1 = coefs[b, n, 1]
            b2 = coefs[b, n, 2]
            a1r = two * maps[2, b, n]
            ab = abs(a1r)
            a1 = a1r * t(_RHO)
            a2 = (half * ((two - ab) * maps[3, b, n] + ab)) * t(_RHO * _RHO)
            aux_b0 = b0
            aux_b2 = b2
        # source; zero once the envelope is (the composed path's gradients there are 0 * finite, too)
        e = maps[1, b, n]
        if t(n) < n_on and e != 0:
            if fresh or n % _REFRESH == 0:  # theta as the composed path computes it, then rotate
                cyc = t(n) * inc
                cyc = cyc - np.floor(cyc)
                theta = float(t(_TWO_PI) * cyc + phi)
                sin_r = math.sin(theta)
                cos_r = math.cos(theta)
                fresh = False
            else:
                sin_r, cos_r = sin_r * cos_d + cos_r * sin_d, cos_r * cos_d - sin_r * sin_d
            st = t(sin_r)
            ct = t(cos_r)
            sq = _tanh(k * st, sat)
            saw = sq * half * (one + ct)
            s = g_osc * e * (mix * saw + (one - mix) * sq)
        else:
            fresh = True
            sq = st = ct = s = t(0.0)
        # time-varying biquad: FIR, then all-pole
        v = b0 * s + b1 * s1 + b2 * s2
        v = v - a1 * v1 - a2 * v2
        v_out[b, n] = v
        aux[b, n, 0] = sq
        aux[b, n, 1] = st
        aux[b, n, 2] = ct
        aux[b, n, 3] = s
        aux[b, n, 4] = aux_b0
        aux[b, n, 5] = b1
        aux[b, n, 6] = aux_b2
        aux[b, n, 7] = a1
        aux[b, n, 8] = a2
        s2, s1 = s1, s
        v2, v1 = v1, v


@njit(**_PARALLEL)
def synth_forward(maps, coefs, prm, cond, sample_rate, lp, v, aux):  # pragma: no cover - compiled
    """The sweep up to the biquad's output v (N, T); y = tanh(g_dist v) is left to a vectorised op."""
    for b in prange(v.shape[0]):
        _forward_row(maps, coefs, prm, cond, sample_rate, lp, v, aux, b)


@njit(**_SERIAL)
def synth_forward_serial(maps, coefs, prm, cond, sample_rate, lp, v, aux):  # pragma: no cover
    for b in range(v.shape[0]):
        _forward_row(maps, coefs, prm, cond, sample_rate, lp, v, aux, b)


# ----------------------------------------------------------------------------------------- backward
@njit(**_SERIAL)
def _backward_row(grad_y, maps, prm, cond, hop, n_padded, sample_rate, lp, y, v_all, aux,
                  grad_ctrl, grad_prm, b):  # pragma: no cover - compiled
    t = y.dtype.type
    n_time = y.shape[1]
    n_frames = grad_ctrl.shape[1]
    mix, g_osc, g_dist, q = float(prm[b, 0]), float(prm[b, 2]), float(prm[b, 3]), float(prm[b, 5])
    n_on = max(cond[b, 1], t(1.0))  # as the envelope clamps it
    f0c = max(cond[b, 0], t(20.0))
    k = float(t(_SHARP) / (f0c * math.log10(f0c)))  # as the forward computed it
    rho2 = float(t(_RHO * _RHO))
    inv_q = 1.0 / q
    g_mix = g_env = g_gosc = g_gdist = g_phi = g_q = 0.0
    u1 = u2 = 0.0  # u(n+1), u(n+2)
    for n in range(n_time - 1, -1, -1):
        yn = float(y[b, n])
        gpre = float(grad_y[b, n]) * (1.0 - yn * yn)
        g_gdist += gpre * float(v_all[b, n])
        # all-pole adjoint: u(n) = dL/dv(n) - a1(n+1) u(n+1) - a2(n+2) u(n+2);
        # FIR adjoint: dL/ds(n) = b0(n) u(n) + b1(n+1) u(n+1) + b2(n+2) u(n+2)
        u = gpre * g_dist
        gs = 0.0
        if n + 1 < n_time:
            u -= float(aux[b, n + 1, 7]) * u1
            gs += float(aux[b, n + 1, 5]) * u1
        if n + 2 < n_time:
            u -= float(aux[b, n + 2, 8]) * u2
            gs += (0.5 * float(aux[b, n + 2, 5]) if lp else float(aux[b, n + 2, 6])) * u2
        gs += (0.5 * float(aux[b, n, 5]) if lp else float(aux[b, n, 4])) * u
        if n >= 1:
            v_1 = float(v_all[b, n - 1])
            s_1 = float(aux[b, n - 1, 3])
        else:
            v_1 = s_1 = 0.0
        if n >= 2:
            v_2 = float(v_all[b, n - 2])
            s_2 = float(aux[b, n - 2, 3])
        else:
            v_2 = s_2 = 0.0
        ga1 = -u * v_1
        ga2 = -u * v_2
        gb0 = u * float(aux[b, n, 3])
        gb1 = u * s_1
        gb2 = u * s_2
        u2, u1 = u1, u
        # source adjoint
        e = float(maps[1, b, n])
        if t(n) < n_on and e != 0.0:
            sq = float(aux[b, n, 0])
            st = float(aux[b, n, 1])
            ct = float(aux[b, n, 2])
            saw = sq * 0.5 * (1.0 + ct)
            osc = mix * saw + (1.0 - mix) * sq
            g_gosc += gs * e * osc
            g_env += gs * g_osc * osc * e * float(maps[0, b, n])
            g_o = gs * g_osc * e
            g_mix += g_o * (saw - sq)
            g_saw = g_o * mix
            g_sq = g_o * (1.0 - mix) + g_saw * 0.5 * (1.0 + ct)
            g_phi += g_sq * (1.0 - sq * sq) * k * ct - g_saw * sq * 0.5 * st
        # coefficient maps, then the interpolation's adjoint onto frames m and m + 1
        m, i0, i1 = _frame_index(n, hop, n_frames, n_padded)
        frac = float(t(n - m * hop) / t(hop))
        w_lo = 1.0 - frac
        if lp:
            sig = float(maps[2, b, n])
            cutoff = float(maps[3, b, n])
            sh = float(maps[4, b, n])
            sw = float(aux[b, n, 4])
            inv_a0 = float(aux[b, n, 6])
            cw = 1.0 - 2.0 * sh * sh
            alpha = 0.5 * sw * inv_q
            g_bb = 0.5 * gb0 + gb1 + 0.5 * gb2
            g_cw = -(g_bb + 2.0 * ga1) * inv_a0
            g_a0 = -(g_bb * float(aux[b, n, 5]) + ga1 * float(aux[b, n, 7]) + ga2 * float(aux[b, n, 8])) * inv_a0
            g_alpha = g_a0 - ga2 * inv_a0
            g_q -= g_alpha * alpha * inv_q
            g_w0 = 0.5 * g_alpha * inv_q * cw - g_cw * sw
            gc = g_w0 * (_TWO_PI / sample_rate) * cutoff * LOG_CUTOFF_SPAN * sig * (1.0 - sig)
            grad_ctrl[b, i0, 0] += gc * w_lo
            grad_ctrl[b, i1, 0] += gc * frac
        else:
            t3 = float(maps[2, b, n])
            t4 = float(maps[3, b, n])
            a1r = 2.0 * t3
            ab = abs(a1r)
            ga1r = float(t(_RHO)) * ga1
            ga2r = rho2 * ga2
            g_ab = ga2r * 0.5 * (1.0 - t4)
            if a1r > 0.0:
                ga1r += g_ab
            elif a1r < 0.0:
                ga1r -= g_ab
            gc3 = 2.0 * ga1r * (1.0 - t3 * t3)
            gc4 = ga2r * 0.5 * (2.0 - ab) * (1.0 - t4 * t4)
            grad_ctrl[b, i0, 0] += gb0 * w_lo
            grad_ctrl[b, i1, 0] += gb0 * frac
            grad_ctrl[b, i0, 1] += gb1 * w_lo
            grad_ctrl[b, i1, 1] += gb1 * frac
            grad_ctrl[b, i0, 2] += gb2 * w_lo
            grad_ctrl[b, i1, 2] += gb2 * frac
            grad_ctrl[b, i0, 3] += gc3 * w_lo
            grad_ctrl[b, i1, 3] += gc3 * frac
            grad_ctrl[b, i0, 4] += gc4 * w_lo
            grad_ctrl[b, i1, 4] += gc4 * frac
    grad_prm[b, 0] = g_mix
    grad_prm[b, 1] = g_env
    grad_prm[b, 2] = g_gosc
    grad_prm[b, 3] = g_gdist
    grad_prm[b, 4] = g_phi
    grad_prm[b, 5] = g_q


@njit(**_PARALLEL)
def synth_backward(grad_y, maps, prm, cond, hop, n_padded, sample_rate, lp, y, v_all, aux,
                   grad_ctrl, grad_prm):  # pragma: no cover - compiled
    for b in prange(y.shape[0]):
        _backward_row(grad_y, maps, prm, cond, hop, n_padded, sample_rate, lp, y, v_all, aux,
                      grad_ctrl, grad_prm, b)


@njit(**_SERIAL)
def synth_backward_serial(grad_y, maps, prm, cond, hop, n_padded, sample_rate, lp, y,
                          v_all, aux, grad_ctrl, grad_prm):  # pragma: no cover - compiled
    for b in range(y.shape[0]):
        _backward_row(grad_y, maps, prm, cond, hop, n_padded, sample_rate, lp, y, v_all, aux,
                      grad_ctrl, grad_prm, b)
