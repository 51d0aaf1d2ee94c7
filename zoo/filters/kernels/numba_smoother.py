"""Numba CPU kernel for the compressor's attack/release smoother (Yu et al., DAFx 2024, Eq. 21).

The kernel works on plain NumPy arrays and knows nothing of torch:

    alpha(n) = at    if g(n) < y(n-1)   (attack, mask(n) = True)
             = rt    otherwise          (release)
    y(n)     = alpha(n) g(n) + (1 - alpha(n)) y(n-1),     y(-1) = zi

Shapes: g, y, mask (N, T); zi, at, rt (N,). Parallel over N (``prange``), sequential in time, and
compiled with ``cache=True`` so a second process loads the machine code from ``__pycache__``.
The recorded mask is all the backward pass needs to treat the smoother as a first-order
time-varying all-pole filter (Algorithm 1). When a graph of the backward is needed (double
backward), the backward reuses the all-pole layer's reverse recursion
(`zoo.filters.autograd.AllpoleReverseFunction`); otherwise `attack_release_backward` runs all of
Algorithm 1 in one reverse sweep.
"""

from __future__ import annotations

from numba import njit, prange

from ..dispatch import NUMBA_PARALLEL as _PARALLEL


@njit(**_PARALLEL)
def attack_release_forward(g, zi, at, rt, y, mask):  # pragma: no cover - compiled
    n_batch, n_time = g.shape
    for b in prange(n_batch):
        prev = zi[b]
        at_b = at[b]
        rt_b = rt[b]
        for n in range(n_time):
            target = g[b, n]
            attack = target < prev
            coef = at_b if attack else rt_b
            prev = prev + coef * (target - prev)
            y[b, n] = prev
            mask[b, n] = attack


@njit(**_PARALLEL)
def attack_release_backward(grad_y, g, zi, at, rt, y, mask, grad_g, grad_zi, grad_at, grad_rt):  # pragma: no cover
    """Algorithm 1 in one reverse sweep per row.

    u(n) = dL/dy(n) + (1 - alpha(n+1)) u(n+1)   (Eq. 7 with a_1 = alpha - 1; u(T) = 0)
    dL/dg(n) = alpha(n) u(n);  dL/dalpha(n) = u(n) (g(n) - y(n-1)), summed into at / rt by the mask;
    dL/dzi = (1 - alpha(0)) u(0).
    """
    n_batch, n_time = g.shape
    for b in prange(n_batch):
        at_b = at[b]
        rt_b = rt[b]
        u = grad_y[b, 0] * 0
        keep = u  # 1 - alpha(n+1); zero beyond the end
        sum_at = u
        sum_rt = u
        for n in range(n_time - 1, -1, -1):
            u = grad_y[b, n] + keep * u
            coef = at_b if mask[b, n] else rt_b
            grad_g[b, n] = coef * u
            prev = y[b, n - 1] if n > 0 else zi[b]
            term = u * (g[b, n] - prev)
            if mask[b, n]:
                sum_at += term
            else:
                sum_rt += term
            keep = 1 - coef
        grad_at[b] = sum_at
        grad_rt[b] = sum_rt
        grad_zi[b] = keep * u
