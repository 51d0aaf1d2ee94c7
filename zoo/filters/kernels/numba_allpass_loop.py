r"""Numba CPU kernels for the phaser's all-pass chain with delay-free feedback, in state-space form.

The kernels work on plain NumPy arrays and know nothing of torch. Per row, with x the input, p the
all-pass coefficient per sample and g = g2 the feedback gain (Yu et al., DAFx 2024, Eq. 10 and
Sec. 4.1):

.. math::

    y_k[n] = p[n] (y_{k-1}[n] + y_k[n-1]) - y_{k-1}[n-1],  \quad k = 1..K,
    \qquad y_0[n] = u[n] = x[n] + g\, y_K[n].

State: s[n] = (y_0[n], y_1[n], ..., y_K[n]), the K + 1 stage inputs/outputs; s[-1] = zi.

Per sample the K + 1 unknowns y = s[n] solve the (K+1) x (K+1) linear system M y = r with

.. math::

    (M y)_0 = y_0 - g\, y_K,      \qquad r_0 = x[n],
    (M y)_k = y_k - p[n] y_{k-1}, \qquad r_k = c_k = p[n] s_k[n-1] - s_{k-1}[n-1].

Forward elimination: y_K = p^K u + C with C = \sum_k p^{K-k} c_k (the chain run on the stored
state), so u = (x + g C) / (1 - g p^K), then y_k = p y_{k-1} + c_k. With |g| <= 1 and |p| < 1 the
pivot 1 - g p^K is > 0, whatever the modulation: nothing like the composed order-K recursion,
whose leading coefficient can pass near 0 when p jumps.

Adjoint (the backward kernel), for a loss L with \bar s[n] = dL/ds[n] (including dL/dy_K[n] on
component K and the propagation from step n + 1): solve M^T \mu = \bar s[n], i.e.

.. math::

    \nu_K = \bar s_K, \ \nu_k = \bar s_k + p \nu_{k+1};\quad
    \mu_0 = \nu_0 / (1 - g p^K);\quad \mu_k = \nu_k + g \mu_0 p^{K-k},

then, from dL/d\theta = \mu^T (\partial r/\partial\theta - (\partial M/\partial\theta) y),

.. math::

    \partial L/\partial x[n] = \mu_0, \quad
    \partial L/\partial g \mathrel{+}= \mu_0 y_K[n], \quad
    \partial L/\partial p[n] = \sum_{k=1}^K \mu_k (y_{k-1}[n] + y_k[n-1]),

    \bar s_k[n-1] \mathrel{+}= p[n] \mu_k [k \ge 1] - \mu_{k+1} [k < K].

The backward needs s[n-1] and s[n] at every n. Rather than storing (N, T, K+1) states, the forward
saves the state every `CHUNK` samples (``ckpt``, (N, ceil(T / CHUNK) + 1, K+1), the last entry is
the final state zf), and the backward re-runs each chunk forward from its checkpoint (the same
operations, so the same bits) into a (CHUNK + 1, K+1) buffer before sweeping it in reverse: one
extra forward pass, O(CHUNK K) memory per row.

The tangent kernel (forward-mode AD) differentiates M y = r: M \dot y = \dot r - \dot M y, i.e. the
same solve with r_0 = \dot x + \dot g y_K and r_k = \dot p (y_{k-1}[n] + y_k[n-1]) + p \dot s_k[n-1]
- \dot s_{k-1}[n-1].

Shapes: x, p, y, grad_x, grad_p (N, T); g2, grad_g2 (N,); zi, zf, grad_zi (N, K+1).
Parallel over rows (``prange``; a ``_serial`` twin of each kernel skips the thread pool for one or
two rows), sequential in time, compiled lazily per dtype (float32, float64) with ``cache=True``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..dispatch import NUMBA_PARALLEL as _PARALLEL, NUMBA_SERIAL as _SERIAL


#: samples between two saved states: the backward re-runs at most this many steps per checkpoint.
CHUNK = 512


def num_checkpoints(n_time: int) -> int:
    """ceil(T / CHUNK) + 1 saved states: before samples 0, CHUNK, 2 CHUNK, ..., and after the last."""
    return -(-n_time // CHUNK) + 1


@njit(**_SERIAL)
def _solve(c, s_new, pn, r0, g, one):  # pragma: no cover - compiled
    """Solve M y = r for one sample: r_0 = r0, r_k = c[k] (k = 1..K); writes y into s_new.

    ``one`` is 1 in the arrays' dtype (an int literal would promote float32 arithmetic to float64).
    """
    order = s_new.shape[0] - 1
    chain = one - one  # C = sum_k p^{K-k} c_k: the chain's response to the stored state alone
    gain = one  # p^K: the chain's response to u[n]
    for k in range(1, order + 1):
        chain = pn * chain + c[k]
        gain = gain * pn
    prev = (r0 + g * chain) / (one - g * gain)  # u[n]: the delay-free loop, solved exactly
    s_new[0] = prev
    for k in range(1, order + 1):
        prev = pn * prev + c[k]
        s_new[k] = prev


@njit(**_SERIAL)
def _step(s_old, s_new, c, pn, xn, g, one):  # pragma: no cover - compiled
    """One sample: s_new = s[n] from s_old = s[n-1]; c is scratch (K+1)."""
    for k in range(1, s_old.shape[0]):
        c[k] = pn * s_old[k] - s_old[k - 1]
    _solve(c, s_new, pn, xn, g, one)


# ------------------------------------------------------------------------------------------- forward
@njit(**_SERIAL)
def _forward_row(x, p, g2, zi, y, ckpt, b):  # pragma: no cover - compiled
    n_time = x.shape[1]
    width = zi.shape[1]
    s_old = np.empty(width, dtype=x.dtype)
    s_new = np.empty(width, dtype=x.dtype)
    c = np.empty(width, dtype=x.dtype)
    one = np.ones(1, dtype=x.dtype)[0]
    for k in range(width):
        s_old[k] = zi[b, k]
    g = g2[b]
    for n in range(n_time):
        if n % CHUNK == 0:
            for k in range(width):
                ckpt[b, n // CHUNK, k] = s_old[k]
        _step(s_old, s_new, c, p[b, n], x[b, n], g, one)
        y[b, n] = s_new[width - 1]
        s_old, s_new = s_new, s_old
    for k in range(width):
        ckpt[b, ckpt.shape[1] - 1, k] = s_old[k]


@njit(**_PARALLEL)
def allpass_loop_forward(x, p, g2, zi, y, ckpt):  # pragma: no cover - compiled
    """y[b, n] = y_K[n]; ckpt[b, j] = s[j CHUNK - 1] (zi for j = 0), ckpt[b, -1] = s[T-1] (zf)."""
    for b in prange(x.shape[0]):
        _forward_row(x, p, g2, zi, y, ckpt, b)


@njit(**_SERIAL)
def allpass_loop_forward_serial(x, p, g2, zi, y, ckpt):  # pragma: no cover - compiled
    for b in range(x.shape[0]):
        _forward_row(x, p, g2, zi, y, ckpt, b)


# ------------------------------------------------------------------------------------------ backward
@njit(**_SERIAL)
def _backward_row(grad_y, grad_zf, x, p, g2, ckpt, grad_x, grad_p, grad_g2, grad_zi, b):  # pragma: no cover
    n_time = x.shape[1]
    width = ckpt.shape[2]
    order = width - 1
    buf = np.empty((CHUNK + 1, width), dtype=x.dtype)  # buf[i] = s[start + i - 1]
    c = np.empty(width, dtype=x.dtype)
    lam = np.empty(width, dtype=x.dtype)  # dL/ds[n], then mu
    one = np.ones(1, dtype=x.dtype)[0]
    zero = one - one
    for k in range(width):
        lam[k] = grad_zf[b, k]
    g = g2[b]
    sum_g = zero
    for j in range(ckpt.shape[1] - 2, -1, -1):
        start = j * CHUNK
        stop = min(n_time, start + CHUNK)
        for k in range(width):
            buf[0, k] = ckpt[b, j, k]
        for i in range(stop - start):  # re-run the chunk: the same operations as the forward
            _step(buf[i], buf[i + 1], c, p[b, start + i], x[b, start + i], g, one)
        for i in range(stop - start - 1, -1, -1):
            n = start + i
            pn = p[b, n]
            lam[order] += grad_y[b, n]
            # M^T mu = lam: nu_k = lam_k + p nu_{k+1}, then the loop's pivot, then mu_k = nu_k + g mu_0 p^{K-k}.
            gain = one
            for k in range(order - 1, -1, -1):
                lam[k] = lam[k] + pn * lam[k + 1]
                gain = gain * pn
            mu0 = lam[0] / (one - g * gain)
            lam[0] = mu0
            feed = g * mu0
            for k in range(order, 0, -1):
                lam[k] = lam[k] + feed
                feed = feed * pn
            grad_x[b, n] = mu0
            sum_g += mu0 * buf[i + 1, order]
            acc = zero
            for k in range(1, width):
                acc += lam[k] * (buf[i + 1, k - 1] + buf[i, k])
            grad_p[b, n] = acc
            # dL/ds[n-1] = (dr/ds)^T mu: r_k = p s_k - s_{k-1}.
            lam[0] = -lam[1]  # K >= 1
            for k in range(1, order):
                lam[k] = pn * lam[k] - lam[k + 1]
            lam[order] = pn * lam[order]
    grad_g2[b] = sum_g
    for k in range(width):
        grad_zi[b, k] = lam[k]


@njit(**_PARALLEL)
def allpass_loop_backward(grad_y, grad_zf, x, p, g2, ckpt, grad_x, grad_p, grad_g2, grad_zi):  # pragma: no cover
    """The adjoint of `allpass_loop_forward` (see the module docstring), one reverse sweep per row."""
    for b in prange(x.shape[0]):
        _backward_row(grad_y, grad_zf, x, p, g2, ckpt, grad_x, grad_p, grad_g2, grad_zi, b)


@njit(**_SERIAL)
def allpass_loop_backward_serial(grad_y, grad_zf, x, p, g2, ckpt, grad_x, grad_p, grad_g2, grad_zi):  # pragma: no cover
    for b in range(x.shape[0]):
        _backward_row(grad_y, grad_zf, x, p, g2, ckpt, grad_x, grad_p, grad_g2, grad_zi, b)


# ------------------------------------------------------------------------------------------- tangent
@njit(**_SERIAL)
def _tangent_row(x, p, g2, zi, dx, dp, dg2, dzi, dy, dzf, b):  # pragma: no cover - compiled
    n_time = x.shape[1]
    width = zi.shape[1]
    order = width - 1
    s_old = np.empty(width, dtype=x.dtype)
    s_new = np.empty(width, dtype=x.dtype)
    t_old = np.empty(width, dtype=x.dtype)
    t_new = np.empty(width, dtype=x.dtype)
    c = np.empty(width, dtype=x.dtype)
    one = np.ones(1, dtype=x.dtype)[0]
    for k in range(width):
        s_old[k] = zi[b, k]
        t_old[k] = dzi[b, k]
    g = g2[b]
    dg = dg2[b]
    for n in range(n_time):
        pn = p[b, n]
        dpn = dp[b, n]
        _step(s_old, s_new, c, pn, x[b, n], g, one)
        for k in range(1, width):  # r_k of the tangent system: the stored tangent state and the p sources
            c[k] = pn * t_old[k] - t_old[k - 1] + dpn * (s_new[k - 1] + s_old[k])
        _solve(c, t_new, pn, dx[b, n] + dg * s_new[order], g, one)
        dy[b, n] = t_new[order]
        s_old, s_new = s_new, s_old
        t_old, t_new = t_new, t_old
    for k in range(width):
        dzf[b, k] = t_old[k]


@njit(**_PARALLEL)
def allpass_loop_tangent(x, p, g2, zi, dx, dp, dg2, dzi, dy, dzf):  # pragma: no cover - compiled
    """Forward-mode derivative of `allpass_loop_forward`: (dy, dzf) for tangents (dx, dp, dg2, dzi)."""
    for b in prange(x.shape[0]):
        _tangent_row(x, p, g2, zi, dx, dp, dg2, dzi, dy, dzf, b)


@njit(**_SERIAL)
def allpass_loop_tangent_serial(x, p, g2, zi, dx, dp, dg2, dzi, dy, dzf):  # pragma: no cover - compiled
    for b in range(x.shape[0]):
        _tangent_row(x, p, g2, zi, dx, dp, dg2, dzi, dy, dzf, b)
