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
* for the common orders (M = 1-8, 12, 16) the forward and fused-backward loops of time-varying
  filters are unrolled in the generated module `numba_unrolled` (see `generate_unrolled`), so the
  past values rotate through registers and the indices are unsigned (no wraparound code); the
  loops here are the generic fallback for any other order and for short signals;
* every kernel has a ``_serial`` twin (same row jobs, no thread pool), used for small batches where
  waking the pool costs more than it saves (one or two rows: there is nothing to share).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..dispatch import NUMBA_PARALLEL as _PARALLEL, NUMBA_SERIAL as _SERIAL


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
def _forward_tv_job(x, a, zi, y, p):  # pragma: no cover - compiled
    """Rows 2p and 2p + 1 (or the last row alone)."""
    b0 = 2 * p
    _forward_tv_head(x, a, zi, y, b0)
    if b0 + 1 < x.shape[0]:
        _forward_tv_head(x, a, zi, y, b0 + 1)
        order = a.shape[2]
        if x.shape[1] <= order:
            return
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
def _coef_grad_sample(y, zi, u, grad_a, b, n):  # pragma: no cover - compiled
    """grad_a[b, n, i-1] = -conj(y[n-i]) u[n], with y[-1-k] = zi[k]."""
    un = u[b, n]
    for i in range(1, grad_a.shape[2] + 1):
        k = n - i
        prev = y[b, k] if k >= 0 else zi[b, -1 - k]
        grad_a[b, n, i - 1] = -np.conj(prev) * un


@njit(**_SERIAL)
def _coef_grad_edges(a, y, zi, u, grad_a, grad_zi, b):  # pragma: no cover - compiled
    """grad_a for n < M and n >= T - M (where zi is involved or u was computed by the tail loop),
    and grad_zi: zi[k] = y[-1-k] feeds y[i-1-k] through a_i for every i > k."""
    n_time = u.shape[1]
    order = a.shape[2]
    head = min(order, n_time)
    for n in range(head):
        _coef_grad_sample(y, zi, u, grad_a, b, n)
    for n in range(max(head, n_time - order), n_time):
        _coef_grad_sample(y, zi, u, grad_a, b, n)
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
def _backward_tv_job(g, a, y, zi, u, grad_a, grad_zi, p):  # pragma: no cover - compiled
    b0 = 2 * p
    _reverse_tv_tail(g, a, u, b0)
    if b0 + 1 < g.shape[0]:
        _reverse_tv_tail(g, a, u, b0 + 1)
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
    """The reverse recursion of row b, then its coefficient and state gradients (sums over n)."""
    n_time = g.shape[1]
    order = a.shape[1]
    _reverse_ti_row(g, a, u, b)
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
