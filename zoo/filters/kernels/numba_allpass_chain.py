r"""Numba CPU kernels for the phaser structures of real devices: per-stage coefficients, two stage
forms, and feedback delay-free or through a one-sample delay.

Plain NumPy arrays, no torch. Per row, x the input, c[n, k] the coefficient of stage k at sample n,
g the feedback gain. Each first-order all-pass stage is affine in its input at every sample,
``out = a_k in + b_k(state)``:

* form 0, ``"df1"`` (the paper's Eq. 10, coefficient c = p):
  y_k[n] = p (y_{k-1}[n] + y_k[n-1]) - y_{k-1}[n-1], so a_k = p, b_k = p y_k[n-1] - y_{k-1}[n-1].
  State (K + 1 values): u[n-1], y_1[n-1], ..., y_K[n-1].
* form 1, ``"tpt"`` (topology-preserving transform, Zavalishin; coefficient c = G = g/(1+g),
  g = tan(pi f_b / F_s)): v = G (in - s), lp = v + s, out = 2 lp - in, s <- lp + v.
  So a_k = 2G - 1, b_k = 2 s (1 - G). State: y_K[n-1], s_1, ..., s_K.

Both have the frozen-time transfer function (p - z^-1)/(1 - p z^-1) up to sign with p = 1 - 2G;
they differ only while the coefficient moves.

Feedback: ``delay = 1``: u[n] = x[n] + g y_K[n-1] (JUCE's dsp::Phaser and most digital phasers);
``delay = 0``: u[n] = x[n] + g y_K[n], solved per sample from y_K = P u + C (P = prod a_k, C the
chain run on zero input): u = (x + g C) / (1 - g P), a pivot > 0 for |g| < 1.

Adjoint (backward): one reverse sweep over the stored states. Per sample, given the adjoints of
the outputs y_k[n] and of the new state, each stage is reversed in turn (the transposed affine
map). For the delay-free loop the adjoint lambda of u solves lambda = A0 + g P lambda, where A0 is
the adjoint of u without the loop's own contribution; so lambda = A0 / (1 - g P), and g lambda is
added to the adjoint of y_K[n] before the full reverse pass of that sample.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..dispatch import NUMBA_SERIAL as _SERIAL

__all__ = ["chain_forward", "chain_backward"]


@njit(**_SERIAL)
def chain_forward(x, c, g, zi, form, delay, y, zf, save, ps, uu, yy):
    """x (N, T); c (N, T, K); g (N,); zi (N, K+1); outputs y (N, T), zf (N, K+1); when ``save``,
    also the states before each sample ps (N, T, K+1), u (N, T) and stage outputs yy (N, T, K)."""
    n_rows, n_time, k_stages = c.shape
    state = np.empty(k_stages + 1, dtype=x.dtype)
    a = np.empty(k_stages, dtype=x.dtype)
    b = np.empty(k_stages, dtype=x.dtype)
    for r in range(n_rows):
        for j in range(k_stages + 1):
            state[j] = zi[r, j]
        for n in range(n_time):
            if save:
                for j in range(k_stages + 1):
                    ps[r, n, j] = state[j]
            for k in range(k_stages):
                ck = c[r, n, k]
                if form == 0:
                    a[k] = ck
                    b[k] = ck * state[k + 1] - state[k]
                else:
                    a[k] = 2.0 * ck - 1.0
                    b[k] = 2.0 * state[k + 1] * (1.0 - ck)
            if delay == 1:
                y_prev = state[k_stages] if form == 0 else state[0]
                u = x[r, n] + g[r] * y_prev
            else:
                big_p = 1.0
                big_c = 0.0
                for k in range(k_stages):
                    big_p *= a[k]
                    big_c = a[k] * big_c + b[k]
                u = (x[r, n] + g[r] * big_c) / (1.0 - g[r] * big_p)
            t = u
            for k in range(k_stages):
                t_in = t
                t = a[k] * t_in + b[k]
                if save:
                    yy[r, n, k] = t
                if form == 1:
                    s = state[k + 1]
                    state[k + 1] = s + 2.0 * c[r, n, k] * (t_in - s)
                else:  # b was computed from the old state, so the new outputs can replace it now
                    state[k + 1] = t
            state[0] = u if form == 0 else t
            if save:
                uu[r, n] = u
            y[r, n] = t
        for j in range(k_stages + 1):
            zf[r, j] = state[j]


@njit(**_SERIAL)
def _stage_reverse(form, k_stages, n, r, c, ps, uu, yy, g_out, g_snew, g_prev, g_c, accumulate):
    """Reverse the chain at sample n. g_out[k]: adjoint of y_k[n] (k = 0..K-1 for stages 1..K),
    g_snew: adjoint of the state after sample n (TPT's s_k in g_snew[k+1]). Returns the adjoint
    of u[n] through the chain; accumulates into g_prev (state before n) and g_c when ``accumulate``."""
    carry = 0.0
    for k in range(k_stages - 1, -1, -1):
        go = g_out[k] + carry
        ck = c[r, n, k]
        t_in = uu[r, n] if k == 0 else yy[r, n, k - 1]
        if form == 0:
            ys = ps[r, n, k + 1]
            if accumulate:
                g_c[r, n, k] += go * (t_in + ys)
                g_prev[k + 1] += go * ck
                g_prev[k] -= go
            carry = go * ck
        else:
            s = ps[r, n, k + 1]
            gsn = g_snew[k + 1]
            glp = 2.0 * go + gsn
            gv = gsn + glp
            if accumulate:
                g_prev[k + 1] += glp - gv * ck
                g_c[r, n, k] += gv * (t_in - s)
            carry = -go + gv * ck
    return carry


@njit(**_SERIAL)
def chain_backward(grad_y, grad_zf, c, g, form, delay, ps, uu, yy, grad_x, grad_c, grad_g, grad_zi):
    """The adjoint of `chain_forward` (with its saved ps, uu, yy): grad_x (N, T), grad_c (N, T, K)
    (zeroed here), grad_g (N,), grad_zi (N, K+1)."""
    n_rows, n_time, k_stages = c.shape
    g_state = np.empty(k_stages + 1, dtype=grad_y.dtype)
    g_prev = np.empty(k_stages + 1, dtype=grad_y.dtype)
    g_out = np.empty(k_stages, dtype=grad_y.dtype)
    for r in range(n_rows):
        for j in range(k_stages + 1):
            g_state[j] = grad_zf[r, j]
        gg = 0.0
        for n in range(n_time - 1, -1, -1):
            for k in range(k_stages):
                g_out[k] = 0.0
            g_out[k_stages - 1] = grad_y[r, n]
            if form == 0:
                # new state = (u[n], y_1[n], ..., y_K[n])
                g_u_state = g_state[0]
                for k in range(k_stages):
                    g_out[k] += g_state[k + 1]
            else:
                g_u_state = 0.0
                g_out[k_stages - 1] += g_state[0]
            for j in range(k_stages + 1):
                g_prev[j] = 0.0
            y_k = yy[r, n, k_stages - 1]
            if delay == 0:
                a0 = _stage_reverse(form, k_stages, n, r, c, ps, uu, yy, g_out, g_state, g_prev, grad_c, False)
                a0 += g_u_state
                big_p = 1.0
                for k in range(k_stages):
                    ck = c[r, n, k]
                    big_p *= ck if form == 0 else 2.0 * ck - 1.0
                lam = a0 / (1.0 - g[r] * big_p)
                g_out[k_stages - 1] += g[r] * lam
                _stage_reverse(form, k_stages, n, r, c, ps, uu, yy, g_out, g_state, g_prev, grad_c, True)
                grad_x[r, n] = lam
                gg += lam * y_k
            else:
                lam = _stage_reverse(form, k_stages, n, r, c, ps, uu, yy, g_out, g_state, g_prev, grad_c, True)
                lam += g_u_state
                grad_x[r, n] = lam
                if form == 0:
                    y_prev = ps[r, n, k_stages]
                    g_prev[k_stages] += lam * g[r]
                else:
                    y_prev = ps[r, n, 0]
                    g_prev[0] += lam * g[r]
                gg += lam * y_prev
            for j in range(k_stages + 1):
                g_state[j] = g_prev[j]
        grad_g[r] = gg
        for j in range(k_stages + 1):
            grad_zi[r, j] = g_state[j]
