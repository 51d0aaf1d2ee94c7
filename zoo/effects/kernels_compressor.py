"""Numba CPU kernel for the compressor's attack/release smoother (Yu et al., DAFx 2024, Eq. 21).

The kernel works on plain NumPy arrays and knows nothing of torch:

    alpha(n) = at    if g(n) < y(n-1)   (attack, mask(n) = True)
             = rt    otherwise          (release)
    y(n)     = alpha(n) g(n) + (1 - alpha(n)) y(n-1),     y(-1) = zi

Shapes: g, y, mask (N, T); zi, at, rt (N,). Parallel over N (``prange``), sequential in time, and
compiled with ``cache=True`` so a second process loads the machine code from ``__pycache__``.
The recorded mask is all the backward pass needs to treat the smoother as a first-order
time-varying all-pole filter (Algorithm 1), so the backward pass has no kernel of its own: it
reuses the all-pole layer's reverse recursion (`zoo.filters.autograd.AllpoleReverseFunction`).
"""

from __future__ import annotations

from numba import njit, prange

_OPTS = dict(parallel=True, cache=True, nogil=True, fastmath=False, error_model="numpy")


@njit(**_OPTS)
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
