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
(Eq. 8), -conj(y[n-i]) * u[n], and the initial-state gradient in the same pass.

The sum is accumulated from the oldest lag to the newest so that the loop-carried dependency is a
single multiply-add on y[n-1]: the other M-1 products of a step overlap with the previous step.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_OPTS = dict(parallel=True, cache=True, nogil=True, fastmath=False, error_model="numpy")


@njit(**_OPTS)
def allpole_forward_tv(x, a, zi, y):  # pragma: no cover - compiled
    n_batch, n_time = x.shape
    order = a.shape[2]
    head = min(order, n_time)
    for b in prange(n_batch):
        for n in range(head):
            acc = x[b, n]
            for i in range(order, 0, -1):
                k = n - i
                prev = y[b, k] if k >= 0 else zi[b, -1 - k]
                acc -= a[b, n, i - 1] * prev
            y[b, n] = acc
        for n in range(head, n_time):
            acc = x[b, n]
            for i in range(order, 0, -1):
                acc -= a[b, n, i - 1] * y[b, n - i]
            y[b, n] = acc


@njit(**_OPTS)
def allpole_forward_ti(x, a, zi, y):  # pragma: no cover - compiled
    n_batch, n_time = x.shape
    order = a.shape[1]
    head = min(order, n_time)
    for b in prange(n_batch):
        for n in range(head):
            acc = x[b, n]
            for i in range(order, 0, -1):
                k = n - i
                prev = y[b, k] if k >= 0 else zi[b, -1 - k]
                acc -= a[b, i - 1] * prev
            y[b, n] = acc
        for n in range(head, n_time):
            acc = x[b, n]
            for i in range(order, 0, -1):
                acc -= a[b, i - 1] * y[b, n - i]
            y[b, n] = acc


@njit(**_OPTS)
def allpole_reverse_tv(g, a, u):  # pragma: no cover - compiled
    n_batch, n_time = g.shape
    order = a.shape[2]
    tail = max(n_time - order, 0)
    for b in prange(n_batch):
        for n in range(n_time - 1, tail - 1, -1):
            acc = g[b, n]
            for i in range(order, 0, -1):
                m = n + i
                if m < n_time:
                    acc -= np.conj(a[b, m, i - 1]) * u[b, m]
            u[b, n] = acc
        for n in range(tail - 1, -1, -1):
            acc = g[b, n]
            for i in range(order, 0, -1):
                acc -= np.conj(a[b, n + i, i - 1]) * u[b, n + i]
            u[b, n] = acc


@njit(**_OPTS)
def allpole_reverse_ti(g, a, u):  # pragma: no cover - compiled
    n_batch, n_time = g.shape
    order = a.shape[1]
    tail = max(n_time - order, 0)
    for b in prange(n_batch):
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


@njit(**_OPTS)
def allpole_backward_tv(g, a, y, zi, u, grad_a, grad_zi):  # pragma: no cover - compiled
    """Fused backward: u = reverse(g, a), grad_a[n, i-1] = -conj(y[n-i]) u[n], grad_zi."""
    n_batch, n_time = g.shape
    order = a.shape[2]
    tail = max(n_time - order, 0)
    head = min(order, n_time)
    for b in prange(n_batch):
        for n in range(n_time - 1, tail - 1, -1):
            acc = g[b, n]
            for i in range(order, 0, -1):
                m = n + i
                if m < n_time:
                    acc -= np.conj(a[b, m, i - 1]) * u[b, m]
            u[b, n] = acc
        for n in range(tail - 1, -1, -1):
            acc = g[b, n]
            for i in range(order, 0, -1):
                acc -= np.conj(a[b, n + i, i - 1]) * u[b, n + i]
            u[b, n] = acc
        # Eq. 8, in a second sweep that streams forward through memory.
        for n in range(head):
            un = u[b, n]
            for i in range(1, order + 1):
                k = n - i
                prev = y[b, k] if k >= 0 else zi[b, -1 - k]
                grad_a[b, n, i - 1] = -np.conj(prev) * un
        for n in range(head, n_time):
            un = u[b, n]
            for i in range(1, order + 1):
                grad_a[b, n, i - 1] = -np.conj(y[b, n - i]) * un
        # zi[k] = y[-1-k] feeds y[i-1-k] through a_i for every i > k.
        for k in range(order):
            acc = grad_zi[b, k] * 0
            for i in range(k + 1, order + 1):
                n = i - 1 - k
                if n < n_time:
                    acc += np.conj(a[b, n, i - 1]) * u[b, n]
            grad_zi[b, k] = -acc


@njit(**_OPTS)
def allpole_backward_ti(g, a, y, zi, u, grad_a, grad_zi):  # pragma: no cover - compiled
    """Fused backward for time-invariant a: grad_a[i-1] = -sum_n conj(y[n-i]) u[n]."""
    n_batch, n_time = g.shape
    order = a.shape[1]
    tail = max(n_time - order, 0)
    head = min(order, n_time)
    for b in prange(n_batch):
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
            acc = grad_a[b, i - 1] * 0
            for n in range(min(i, n_time)):
                acc += np.conj(zi[b, i - n - 1]) * u[b, n]
            for n in range(i, n_time):
                acc += np.conj(y[b, n - i]) * u[b, n]
            grad_a[b, i - 1] = -acc
        for k in range(order):
            acc = grad_zi[b, k] * 0
            for i in range(k + 1, order + 1):
                n = i - 1 - k
                if n < n_time:
                    acc += np.conj(a[b, i - 1]) * u[b, n]
            grad_zi[b, k] = -acc
