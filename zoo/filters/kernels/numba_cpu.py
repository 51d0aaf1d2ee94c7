"""Numba CPU kernels for the time-varying all-pole recursion and its adjoint.

All kernels work on plain NumPy arrays of shape (N, T) (signals), (N, T, M) (time-varying
coefficients) or (N, M) (time-invariant coefficients and states). They are parallel over N
(``prange``), sequential in time, and compiled with ``cache=True`` so that a second process loads
the machine code from ``__pycache__`` instead of compiling again. Each kernel compiles lazily once
per dtype signature (float32, float64, complex64, complex128).

Conventions (a omits a0 = 1):

    forward:  y[n] = x[n] - sum_{i=1..M} a[n, i-1] * y[n-i],        y[-1-k] = zi[k]
    reverse:  u[n] = g[n] - sum_{i=1..M} conj(a[n+i, i-1]) * u[n+i], a[n >= T] = 0

``reverse`` is the adjoint (transpose, conjugated) of ``forward``: the gradient with respect to x
(Eq. 7 of Yu et al., DAFx 2024). The fused backward kernels also produce the coefficient gradient
(Eq. 8), -conj(y[n-i]) * u[n], and the initial-state gradient in the same reverse sweep.

Why the loops look the way they do: a recursion is latency-bound, not throughput-bound. Each
output waits for the previous one through one multiply-add. So

* the sum runs from the oldest lag to the newest, and the newest output is kept in a register
  (``newest``), so the loop-carried chain is a single fused multiply-add (``fastmath={"contract"}``
  allows FMA contraction and nothing else: no reassociation);
* two independent rows are filtered in the same loop (``_pair`` kernels), so the two chains
  overlap in the core's pipeline: about twice the throughput of one row at a time;
* the forward and fused-backward pair loops are unrolled by hand for M = 1, 2, 4 and 8 (one-pole smoothers, biquads,
  4th-order sections), so the past outputs rotate through registers instead of memory: about 2.5x
  the generic loop's throughput at M = 4 on our 2-core x86 test machine;
* every kernel has a ``_serial`` twin (same row jobs, no thread pool), used for small batches where
  waking the pool costs more than it saves (one or two rows: there is nothing to share).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_PARALLEL = dict(parallel=True, cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")
_SERIAL = dict(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")


# ------------------------------------------------------------------------------------ forward (TV)
@njit(**_SERIAL)
def _forward_tv_head(x, a, zi, y, b):  # pragma: no cover - compiled
    """Samples n < M of row b, where past outputs come from zi."""
    n_time = x.shape[1]
    order = a.shape[2]
    for n in range(min(order, n_time)):
        acc = x[b, n]
        for i in range(order, 0, -1):
            k = n - i
            prev = y[b, k] if k >= 0 else zi[b, -1 - k]
            acc -= a[b, n, i - 1] * prev
        y[b, n] = acc


@njit(**_SERIAL)
def _forward_tv_row(x, a, y, b):  # pragma: no cover - compiled
    n_time = x.shape[1]
    order = a.shape[2]
    if n_time <= order:
        return
    newest = y[b, order - 1]
    for n in range(order, n_time):
        acc = x[b, n]
        for i in range(order, 1, -1):
            acc -= a[b, n, i - 1] * y[b, n - i]
        acc -= a[b, n, 0] * newest
        y[b, n] = acc
        newest = acc


@njit(**_SERIAL)
def _forward_tv_pair(x, a, y, b0, b1):  # pragma: no cover - compiled
    n_time = x.shape[1]
    order = a.shape[2]
    if n_time <= order:
        return
    new0 = y[b0, order - 1]
    new1 = y[b1, order - 1]
    for n in range(order, n_time):
        acc0 = x[b0, n]
        acc1 = x[b1, n]
        for i in range(order, 1, -1):
            acc0 -= a[b0, n, i - 1] * y[b0, n - i]
            acc1 -= a[b1, n, i - 1] * y[b1, n - i]
        acc0 -= a[b0, n, 0] * new0
        acc1 -= a[b1, n, 0] * new1
        y[b0, n] = acc0
        y[b1, n] = acc1
        new0 = acc0
        new1 = acc1


@njit(**_SERIAL)
def _forward_tv_pair_1(x, a, y, b0, b1):  # pragma: no cover - compiled
    """`_forward_tv_pair` unrolled for M = 1: the past output lives in a register."""
    y0 = y[b0, 0]
    y1 = y[b1, 0]
    for n in range(1, x.shape[1]):
        y0 = x[b0, n] - a[b0, n, 0] * y0
        y1 = x[b1, n] - a[b1, n, 0] * y1
        y[b0, n] = y0
        y[b1, n] = y1


@njit(**_SERIAL)
def _forward_tv_pair_2(x, a, y, b0, b1):  # pragma: no cover - compiled
    """`_forward_tv_pair` unrolled for M = 2 (biquads): past outputs rotate through registers."""
    p01, p02 = y[b0, 1], y[b0, 0]
    p11, p12 = y[b1, 1], y[b1, 0]
    for n in range(2, x.shape[1]):
        acc0 = x[b0, n] - a[b0, n, 1] * p02
        acc1 = x[b1, n] - a[b1, n, 1] * p12
        acc0 -= a[b0, n, 0] * p01
        acc1 -= a[b1, n, 0] * p11
        y[b0, n] = acc0
        y[b1, n] = acc1
        p02, p01 = p01, acc0
        p12, p11 = p11, acc1


@njit(**_SERIAL)
def _forward_tv_pair_4(x, a, y, b0, b1):  # pragma: no cover - compiled
    """`_forward_tv_pair` unrolled for M = 4."""
    p01, p02, p03, p04 = y[b0, 3], y[b0, 2], y[b0, 1], y[b0, 0]
    p11, p12, p13, p14 = y[b1, 3], y[b1, 2], y[b1, 1], y[b1, 0]
    for n in range(4, x.shape[1]):
        acc0 = x[b0, n] - a[b0, n, 3] * p04 - a[b0, n, 2] * p03 - a[b0, n, 1] * p02
        acc1 = x[b1, n] - a[b1, n, 3] * p14 - a[b1, n, 2] * p13 - a[b1, n, 1] * p12
        acc0 -= a[b0, n, 0] * p01
        acc1 -= a[b1, n, 0] * p11
        y[b0, n] = acc0
        y[b1, n] = acc1
        p04, p03, p02, p01 = p03, p02, p01, acc0
        p14, p13, p12, p11 = p13, p12, p11, acc1


@njit(**_SERIAL)
def _forward_tv_pair_8(x, a, y, b0, b1):  # pragma: no cover - compiled
    """`_forward_tv_pair` unrolled for M = 8."""
    p01, p02, p03, p04, p05, p06, p07, p08 = (
        y[b0, 7], y[b0, 6], y[b0, 5], y[b0, 4], y[b0, 3], y[b0, 2], y[b0, 1], y[b0, 0])
    p11, p12, p13, p14, p15, p16, p17, p18 = (
        y[b1, 7], y[b1, 6], y[b1, 5], y[b1, 4], y[b1, 3], y[b1, 2], y[b1, 1], y[b1, 0])
    for n in range(8, x.shape[1]):
        acc0 = (x[b0, n] - a[b0, n, 7] * p08 - a[b0, n, 6] * p07 - a[b0, n, 5] * p06 - a[b0, n, 4] * p05
                - a[b0, n, 3] * p04 - a[b0, n, 2] * p03 - a[b0, n, 1] * p02)
        acc1 = (x[b1, n] - a[b1, n, 7] * p18 - a[b1, n, 6] * p17 - a[b1, n, 5] * p16 - a[b1, n, 4] * p15
                - a[b1, n, 3] * p14 - a[b1, n, 2] * p13 - a[b1, n, 1] * p12)
        acc0 -= a[b0, n, 0] * p01
        acc1 -= a[b1, n, 0] * p11
        y[b0, n] = acc0
        y[b1, n] = acc1
        p08, p07, p06, p05, p04, p03, p02, p01 = p07, p06, p05, p04, p03, p02, p01, acc0
        p18, p17, p16, p15, p14, p13, p12, p11 = p17, p16, p15, p14, p13, p12, p11, acc1


@njit(**_SERIAL)
def _forward_tv_job(x, a, zi, y, p):  # pragma: no cover - compiled
    """Rows 2p and 2p + 1 (or the last row alone)."""
    b0 = 2 * p
    _forward_tv_head(x, a, zi, y, b0)
    if b0 + 1 < x.shape[0]:
        _forward_tv_head(x, a, zi, y, b0 + 1)
        order = a.shape[2]
        if x.shape[1] <= order:
            return
        if order == 1:
            _forward_tv_pair_1(x, a, y, b0, b0 + 1)
        elif order == 2:
            _forward_tv_pair_2(x, a, y, b0, b0 + 1)
        elif order == 4:
            _forward_tv_pair_4(x, a, y, b0, b0 + 1)
        elif order == 8:
            _forward_tv_pair_8(x, a, y, b0, b0 + 1)
        else:
            _forward_tv_pair(x, a, y, b0, b0 + 1)
    else:
        _forward_tv_row(x, a, y, b0)


@njit(**_PARALLEL)
def allpole_forward_tv(x, a, zi, y):  # pragma: no cover - compiled
    for p in prange((x.shape[0] + 1) // 2):
        _forward_tv_job(x, a, zi, y, p)


@njit(**_SERIAL)
def allpole_forward_tv_serial(x, a, zi, y):  # pragma: no cover - compiled
    for p in range((x.shape[0] + 1) // 2):
        _forward_tv_job(x, a, zi, y, p)


# ------------------------------------------------------------------------------------ forward (TI)
@njit(**_SERIAL)
def _forward_ti_row(x, a, zi, y, b):  # pragma: no cover - compiled
    n_time = x.shape[1]
    order = a.shape[1]
    head = min(order, n_time)
    for n in range(head):
        acc = x[b, n]
        for i in range(order, 0, -1):
            k = n - i
            prev = y[b, k] if k >= 0 else zi[b, -1 - k]
            acc -= a[b, i - 1] * prev
        y[b, n] = acc
    if n_time <= order:
        return
    newest = y[b, order - 1]
    for n in range(order, n_time):
        acc = x[b, n]
        for i in range(order, 1, -1):
            acc -= a[b, i - 1] * y[b, n - i]
        acc -= a[b, 0] * newest
        y[b, n] = acc
        newest = acc


@njit(**_PARALLEL)
def allpole_forward_ti(x, a, zi, y):  # pragma: no cover - compiled
    for b in prange(x.shape[0]):
        _forward_ti_row(x, a, zi, y, b)


@njit(**_SERIAL)
def allpole_forward_ti_serial(x, a, zi, y):  # pragma: no cover - compiled
    for b in range(x.shape[0]):
        _forward_ti_row(x, a, zi, y, b)


# ------------------------------------------------------------------------------------ reverse (TV)
@njit(**_SERIAL)
def _reverse_tv_tail(g, a, u, b):  # pragma: no cover - compiled
    """Samples n >= T - M of row b, where some of u[n+i] lie beyond the end (zero)."""
    n_time = g.shape[1]
    order = a.shape[2]
    for n in range(n_time - 1, max(n_time - order, 0) - 1, -1):
        acc = g[b, n]
        for i in range(order, 0, -1):
            m = n + i
            if m < n_time:
                acc -= np.conj(a[b, m, i - 1]) * u[b, m]
        u[b, n] = acc


@njit(**_SERIAL)
def _reverse_tv_row(g, a, u, b):  # pragma: no cover - compiled
    n_time = g.shape[1]
    order = a.shape[2]
    tail = n_time - order
    if tail <= 0:
        return
    newest = u[b, tail]
    for n in range(tail - 1, -1, -1):
        acc = g[b, n]
        for i in range(order, 1, -1):
            acc -= np.conj(a[b, n + i, i - 1]) * u[b, n + i]
        acc -= np.conj(a[b, n + 1, 0]) * newest
        u[b, n] = acc
        newest = acc


@njit(**_SERIAL)
def _reverse_tv_pair(g, a, u, b0, b1):  # pragma: no cover - compiled
    n_time = g.shape[1]
    order = a.shape[2]
    tail = n_time - order
    if tail <= 0:
        return
    new0 = u[b0, tail]
    new1 = u[b1, tail]
    for n in range(tail - 1, -1, -1):
        acc0 = g[b0, n]
        acc1 = g[b1, n]
        for i in range(order, 1, -1):
            acc0 -= np.conj(a[b0, n + i, i - 1]) * u[b0, n + i]
            acc1 -= np.conj(a[b1, n + i, i - 1]) * u[b1, n + i]
        acc0 -= np.conj(a[b0, n + 1, 0]) * new0
        acc1 -= np.conj(a[b1, n + 1, 0]) * new1
        u[b0, n] = acc0
        u[b1, n] = acc1
        new0 = acc0
        new1 = acc1


@njit(**_SERIAL)
def _reverse_tv_job(g, a, u, p):  # pragma: no cover - compiled
    b0 = 2 * p
    _reverse_tv_tail(g, a, u, b0)
    if b0 + 1 < g.shape[0]:
        _reverse_tv_tail(g, a, u, b0 + 1)
        _reverse_tv_pair(g, a, u, b0, b0 + 1)
    else:
        _reverse_tv_row(g, a, u, b0)


@njit(**_PARALLEL)
def allpole_reverse_tv(g, a, u):  # pragma: no cover - compiled
    for p in prange((g.shape[0] + 1) // 2):
        _reverse_tv_job(g, a, u, p)


@njit(**_SERIAL)
def allpole_reverse_tv_serial(g, a, u):  # pragma: no cover - compiled
    for p in range((g.shape[0] + 1) // 2):
        _reverse_tv_job(g, a, u, p)


# ------------------------------------------------------------------------------------ reverse (TI)
@njit(**_SERIAL)
def _reverse_ti_row(g, a, u, b):  # pragma: no cover - compiled
    n_time = g.shape[1]
    order = a.shape[1]
    tail = max(n_time - order, 0)
    for n in range(n_time - 1, tail - 1, -1):
        acc = g[b, n]
        for i in range(order, 0, -1):
            m = n + i
            if m < n_time:
                acc -= np.conj(a[b, i - 1]) * u[b, m]
        u[b, n] = acc
    if tail == 0:
        return
    newest = u[b, tail]
    for n in range(tail - 1, -1, -1):
        acc = g[b, n]
        for i in range(order, 1, -1):
            acc -= np.conj(a[b, i - 1]) * u[b, n + i]
        acc -= np.conj(a[b, 0]) * newest
        u[b, n] = acc
        newest = acc


@njit(**_PARALLEL)
def allpole_reverse_ti(g, a, u):  # pragma: no cover - compiled
    for b in prange(g.shape[0]):
        _reverse_ti_row(g, a, u, b)


@njit(**_SERIAL)
def allpole_reverse_ti_serial(g, a, u):  # pragma: no cover - compiled
    for b in range(g.shape[0]):
        _reverse_ti_row(g, a, u, b)


# ----------------------------------------------------------------------------- fused backward (TV)
@njit(**_SERIAL)
def _coef_grad_edges(a, y, zi, u, grad_a, grad_zi, b):  # pragma: no cover - compiled
    """grad_a for n < M and n >= T - M (where zi is involved or u was computed by the tail loop),
    and grad_zi: zi[k] = y[-1-k] feeds y[i-1-k] through a_i for every i > k."""
    n_time = u.shape[1]
    order = a.shape[2]
    for n in range(n_time):
        if order <= n < n_time - order:
            continue
        un = u[b, n]
        for i in range(1, order + 1):
            k = n - i
            prev = y[b, k] if k >= 0 else zi[b, -1 - k]
            grad_a[b, n, i - 1] = -np.conj(prev) * un
    for k in range(order):
        acc = u[b, 0] * 0
        for i in range(k + 1, order + 1):
            n = i - 1 - k
            if n < n_time:
                acc += np.conj(a[b, n, i - 1]) * u[b, n]
        grad_zi[b, k] = -acc


@njit(**_SERIAL)
def _backward_tv_row(g, a, y, u, grad_a, b):  # pragma: no cover - compiled
    """Reverse recursion for n < T - M fused with grad_a for M <= n < T - M."""
    n_time = g.shape[1]
    order = a.shape[2]
    tail = n_time - order
    if tail <= 0:
        return
    newest = u[b, tail]
    for n in range(tail - 1, -1, -1):
        acc = g[b, n]
        for i in range(order, 1, -1):
            acc -= np.conj(a[b, n + i, i - 1]) * u[b, n + i]
        acc -= np.conj(a[b, n + 1, 0]) * newest
        u[b, n] = acc
        newest = acc
        if n >= order:
            for i in range(1, order + 1):
                grad_a[b, n, i - 1] = -np.conj(y[b, n - i]) * acc


@njit(**_SERIAL)
def _backward_tv_pair(g, a, y, u, grad_a, b0, b1):  # pragma: no cover - compiled
    n_time = g.shape[1]
    order = a.shape[2]
    tail = n_time - order
    if tail <= 0:
        return
    new0 = u[b0, tail]
    new1 = u[b1, tail]
    for n in range(tail - 1, -1, -1):
        acc0 = g[b0, n]
        acc1 = g[b1, n]
        for i in range(order, 1, -1):
            acc0 -= np.conj(a[b0, n + i, i - 1]) * u[b0, n + i]
            acc1 -= np.conj(a[b1, n + i, i - 1]) * u[b1, n + i]
        acc0 -= np.conj(a[b0, n + 1, 0]) * new0
        acc1 -= np.conj(a[b1, n + 1, 0]) * new1
        u[b0, n] = acc0
        u[b1, n] = acc1
        new0 = acc0
        new1 = acc1
        if n >= order:
            for i in range(1, order + 1):
                grad_a[b0, n, i - 1] = -np.conj(y[b0, n - i]) * acc0
                grad_a[b1, n, i - 1] = -np.conj(y[b1, n - i]) * acc1


@njit(**_SERIAL)
def _backward_tv_pair_1(g, a, y, u, grad_a, b0, b1):  # pragma: no cover - compiled
    """`_backward_tv_pair` unrolled for M = 1."""
    tail = g.shape[1] - 1
    q0 = u[b0, tail]
    q1 = u[b1, tail]
    for n in range(tail - 1, -1, -1):
        q0 = g[b0, n] - np.conj(a[b0, n + 1, 0]) * q0
        q1 = g[b1, n] - np.conj(a[b1, n + 1, 0]) * q1
        u[b0, n] = q0
        u[b1, n] = q1
        if n >= 1:
            grad_a[b0, n, 0] = -np.conj(y[b0, n - 1]) * q0
            grad_a[b1, n, 0] = -np.conj(y[b1, n - 1]) * q1


@njit(**_SERIAL)
def _backward_tv_pair_2(g, a, y, u, grad_a, b0, b1):  # pragma: no cover - compiled
    """`_backward_tv_pair` unrolled for M = 2: u[n+1], u[n+2] rotate through registers."""
    tail = g.shape[1] - 2
    q01, q02 = u[b0, tail], u[b0, tail + 1]
    q11, q12 = u[b1, tail], u[b1, tail + 1]
    for n in range(tail - 1, -1, -1):
        acc0 = g[b0, n] - np.conj(a[b0, n + 2, 1]) * q02
        acc1 = g[b1, n] - np.conj(a[b1, n + 2, 1]) * q12
        acc0 -= np.conj(a[b0, n + 1, 0]) * q01
        acc1 -= np.conj(a[b1, n + 1, 0]) * q11
        u[b0, n] = acc0
        u[b1, n] = acc1
        q02, q01 = q01, acc0
        q12, q11 = q11, acc1
        if n >= 2:
            grad_a[b0, n, 0] = -np.conj(y[b0, n - 1]) * acc0
            grad_a[b0, n, 1] = -np.conj(y[b0, n - 2]) * acc0
            grad_a[b1, n, 0] = -np.conj(y[b1, n - 1]) * acc1
            grad_a[b1, n, 1] = -np.conj(y[b1, n - 2]) * acc1


@njit(**_SERIAL)
def _backward_tv_pair_4(g, a, y, u, grad_a, b0, b1):  # pragma: no cover - compiled
    """`_backward_tv_pair` unrolled for M = 4."""
    tail = g.shape[1] - 4
    q01, q02, q03, q04 = u[b0, tail], u[b0, tail + 1], u[b0, tail + 2], u[b0, tail + 3]
    q11, q12, q13, q14 = u[b1, tail], u[b1, tail + 1], u[b1, tail + 2], u[b1, tail + 3]
    for n in range(tail - 1, -1, -1):
        acc0 = (g[b0, n] - np.conj(a[b0, n + 4, 3]) * q04 - np.conj(a[b0, n + 3, 2]) * q03
                - np.conj(a[b0, n + 2, 1]) * q02)
        acc1 = (g[b1, n] - np.conj(a[b1, n + 4, 3]) * q14 - np.conj(a[b1, n + 3, 2]) * q13
                - np.conj(a[b1, n + 2, 1]) * q12)
        acc0 -= np.conj(a[b0, n + 1, 0]) * q01
        acc1 -= np.conj(a[b1, n + 1, 0]) * q11
        u[b0, n] = acc0
        u[b1, n] = acc1
        q04, q03, q02, q01 = q03, q02, q01, acc0
        q14, q13, q12, q11 = q13, q12, q11, acc1
        if n >= 4:
            for i in range(1, 5):
                grad_a[b0, n, i - 1] = -np.conj(y[b0, n - i]) * acc0
                grad_a[b1, n, i - 1] = -np.conj(y[b1, n - i]) * acc1


@njit(**_SERIAL)
def _backward_tv_pair_8(g, a, y, u, grad_a, b0, b1):  # pragma: no cover - compiled
    """`_backward_tv_pair` unrolled for M = 8."""
    t = g.shape[1] - 8
    q01, q02, q03, q04, q05, q06, q07, q08 = (
        u[b0, t], u[b0, t + 1], u[b0, t + 2], u[b0, t + 3], u[b0, t + 4], u[b0, t + 5], u[b0, t + 6], u[b0, t + 7])
    q11, q12, q13, q14, q15, q16, q17, q18 = (
        u[b1, t], u[b1, t + 1], u[b1, t + 2], u[b1, t + 3], u[b1, t + 4], u[b1, t + 5], u[b1, t + 6], u[b1, t + 7])
    for n in range(t - 1, -1, -1):
        acc0 = (g[b0, n] - np.conj(a[b0, n + 8, 7]) * q08 - np.conj(a[b0, n + 7, 6]) * q07
                - np.conj(a[b0, n + 6, 5]) * q06 - np.conj(a[b0, n + 5, 4]) * q05
                - np.conj(a[b0, n + 4, 3]) * q04 - np.conj(a[b0, n + 3, 2]) * q03
                - np.conj(a[b0, n + 2, 1]) * q02)
        acc1 = (g[b1, n] - np.conj(a[b1, n + 8, 7]) * q18 - np.conj(a[b1, n + 7, 6]) * q17
                - np.conj(a[b1, n + 6, 5]) * q16 - np.conj(a[b1, n + 5, 4]) * q15
                - np.conj(a[b1, n + 4, 3]) * q14 - np.conj(a[b1, n + 3, 2]) * q13
                - np.conj(a[b1, n + 2, 1]) * q12)
        acc0 -= np.conj(a[b0, n + 1, 0]) * q01
        acc1 -= np.conj(a[b1, n + 1, 0]) * q11
        u[b0, n] = acc0
        u[b1, n] = acc1
        q08, q07, q06, q05, q04, q03, q02, q01 = q07, q06, q05, q04, q03, q02, q01, acc0
        q18, q17, q16, q15, q14, q13, q12, q11 = q17, q16, q15, q14, q13, q12, q11, acc1
        if n >= 8:
            for i in range(1, 9):
                grad_a[b0, n, i - 1] = -np.conj(y[b0, n - i]) * acc0
                grad_a[b1, n, i - 1] = -np.conj(y[b1, n - i]) * acc1


@njit(**_SERIAL)
def _backward_tv_job(g, a, y, zi, u, grad_a, grad_zi, p):  # pragma: no cover - compiled
    b0 = 2 * p
    _reverse_tv_tail(g, a, u, b0)
    if b0 + 1 < g.shape[0]:
        _reverse_tv_tail(g, a, u, b0 + 1)
        order = a.shape[2]
        if g.shape[1] <= order:
            pass  # the tail loops computed everything
        elif order == 1:
            _backward_tv_pair_1(g, a, y, u, grad_a, b0, b0 + 1)
        elif order == 2:
            _backward_tv_pair_2(g, a, y, u, grad_a, b0, b0 + 1)
        elif order == 4:
            _backward_tv_pair_4(g, a, y, u, grad_a, b0, b0 + 1)
        elif order == 8:
            _backward_tv_pair_8(g, a, y, u, grad_a, b0, b0 + 1)
        else:
            _backward_tv_pair(g, a, y, u, grad_a, b0, b0 + 1)
        _coef_grad_edges(a, y, zi, u, grad_a, grad_zi, b0 + 1)
    else:
        _backward_tv_row(g, a, y, u, grad_a, b0)
    _coef_grad_edges(a, y, zi, u, grad_a, grad_zi, b0)


@njit(**_PARALLEL)
def allpole_backward_tv(g, a, y, zi, u, grad_a, grad_zi):  # pragma: no cover - compiled
    """Fused backward: u = reverse(g, a), grad_a[n, i-1] = -conj(y[n-i]) u[n] (Eq. 8), grad_zi."""
    for p in prange((g.shape[0] + 1) // 2):
        _backward_tv_job(g, a, y, zi, u, grad_a, grad_zi, p)


@njit(**_SERIAL)
def allpole_backward_tv_serial(g, a, y, zi, u, grad_a, grad_zi):  # pragma: no cover - compiled
    for p in range((g.shape[0] + 1) // 2):
        _backward_tv_job(g, a, y, zi, u, grad_a, grad_zi, p)


# ----------------------------------------------------------------------------- fused backward (TI)
@njit(**_SERIAL)
def _backward_ti_row(g, a, y, zi, u, grad_a, grad_zi, b):  # pragma: no cover - compiled
    n_time = g.shape[1]
    order = a.shape[1]
    tail = max(n_time - order, 0)
    for n in range(n_time - 1, tail - 1, -1):
        acc = g[b, n]
        for i in range(order, 0, -1):
            m = n + i
            if m < n_time:
                acc -= np.conj(a[b, i - 1]) * u[b, m]
        u[b, n] = acc
    for n in range(tail - 1, -1, -1):
        acc = g[b, n]
        for i in range(order, 0, -1):
            acc -= np.conj(a[b, i - 1]) * u[b, n + i]
        u[b, n] = acc
    for i in range(1, order + 1):
        acc = u[b, 0] * 0  # a typed zero (never read an output buffer)
        for n in range(min(i, n_time)):
            acc += np.conj(zi[b, i - n - 1]) * u[b, n]
        for n in range(i, n_time):
            acc += np.conj(y[b, n - i]) * u[b, n]
        grad_a[b, i - 1] = -acc
    for k in range(order):
        acc = u[b, 0] * 0
        for i in range(k + 1, order + 1):
            n = i - 1 - k
            if n < n_time:
                acc += np.conj(a[b, i - 1]) * u[b, n]
        grad_zi[b, k] = -acc


@njit(**_PARALLEL)
def allpole_backward_ti(g, a, y, zi, u, grad_a, grad_zi):  # pragma: no cover - compiled
    """Fused backward for time-invariant a: grad_a[i-1] = -sum_n conj(y[n-i]) u[n]."""
    for b in prange(g.shape[0]):
        _backward_ti_row(g, a, y, zi, u, grad_a, grad_zi, b)


@njit(**_SERIAL)
def allpole_backward_ti_serial(g, a, y, zi, u, grad_a, grad_zi):  # pragma: no cover - compiled
    for b in range(g.shape[0]):
        _backward_ti_row(g, a, y, zi, u, grad_a, grad_zi, b)
