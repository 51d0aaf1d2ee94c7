"""Numba CPU kernel of the Schur-Cohn stability test (step-down recursion), behind ``validate=True``.

For each coefficient vector a (a row of an (N, M) array, a0 = 1 omitted) it runs the step-down
(reverse Levinson) recursion with :math:`k_m = a^{(m)}_m`:

.. math:: a^{(m-1)}_i = \\frac{a^{(m)}_i - k_m \\overline{a^{(m)}_{m-i}}}{1 - |k_m|^2}

and marks the row unstable unless :math:`|k_m| < 1` for every m (every root of
:math:`z^M + a_1 z^{M-1} + \\dots + a_M` strictly inside the unit circle). NaN is unstable.

Why the loops look the way they do: the test costs O(M^2) flops per row against the filter's
O(M), so it must run near the core's arithmetic peak. A block of rows is copied transposed into a
float64 (complex128) scratch of (M, BLOCK) that stays in L1/L2, and every step of the recursion
is an inner loop over the BLOCK rows: contiguous, branch-free, vectorised by LLVM. Updating the
pair (i, m - i) in one pass reads each coefficient once per order. Blocks run in parallel
(``prange``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..dispatch import NUMBA_PARALLEL as _PARALLEL


#: rows per block: an (M, BLOCK) float64 scratch is 64 KiB at M = 64
BLOCK = 128


@njit(**_PARALLEL)
def step_down_unstable_real(a, unstable):  # pragma: no cover - compiled
    """unstable[n] = True where row n of the real (N, M) array ``a`` has a pole at radius >= 1."""
    n_rows, order = a.shape
    n_blocks = (n_rows + BLOCK - 1) // BLOCK
    for blk in prange(n_blocks):
        start = blk * BLOCK
        width = min(BLOCK, n_rows - start)
        work = np.empty((order, BLOCK), dtype=np.float64)
        k = np.empty(BLOCK, dtype=np.float64)
        inv = np.empty(BLOCK, dtype=np.float64)
        bad = np.zeros(BLOCK, dtype=np.bool_)
        for j in range(width):
            for i in range(order):
                work[i, j] = a[start + j, i]
        for m in range(order, 0, -1):
            for j in range(width):
                kj = work[m - 1, j]
                mag2 = kj * kj
                ok = mag2 < 1.0  # False for NaN too
                bad[j] = bad[j] | (not ok)
                k[j] = kj if ok else 0.0  # an unstable row stays finite (and marked) from here on
                inv[j] = 1.0 / (1.0 - mag2) if ok else 1.0
            last = m - 2  # the new polynomial has coefficients 0 .. m - 2
            for i in range((m - 1) // 2):
                lo = work[i]
                hi = work[last - i]
                for j in range(width):
                    x = lo[j]
                    y = hi[j]
                    lo[j] = (x - k[j] * y) * inv[j]
                    hi[j] = (y - k[j] * x) * inv[j]
            if (m - 1) % 2 == 1:
                mid = work[(m - 1) // 2]
                for j in range(width):
                    mid[j] = (mid[j] - k[j] * mid[j]) * inv[j]
        for j in range(width):
            unstable[start + j] = bad[j]


@njit(**_PARALLEL)
def step_down_unstable_complex(a, unstable):  # pragma: no cover - compiled
    """As `step_down_unstable_real` for a complex (N, M) array (the conjugate-reverse form)."""
    n_rows, order = a.shape
    n_blocks = (n_rows + BLOCK - 1) // BLOCK
    for blk in prange(n_blocks):
        start = blk * BLOCK
        width = min(BLOCK, n_rows - start)
        work = np.empty((order, BLOCK), dtype=np.complex128)
        k = np.empty(BLOCK, dtype=np.complex128)
        inv = np.empty(BLOCK, dtype=np.float64)
        bad = np.zeros(BLOCK, dtype=np.bool_)
        for j in range(width):
            for i in range(order):
                work[i, j] = a[start + j, i]
        for m in range(order, 0, -1):
            for j in range(width):
                kj = work[m - 1, j]
                mag2 = kj.real * kj.real + kj.imag * kj.imag
                ok = mag2 < 1.0
                bad[j] = bad[j] | (not ok)
                k[j] = kj if ok else 0.0
                inv[j] = 1.0 / (1.0 - mag2) if ok else 1.0
            last = m - 2
            for i in range((m - 1) // 2):
                lo = work[i]
                hi = work[last - i]
                for j in range(width):
                    x = lo[j]
                    y = hi[j]
                    lo[j] = (x - k[j] * y.conjugate()) * inv[j]
                    hi[j] = (y - k[j] * x.conjugate()) * inv[j]
            if (m - 1) % 2 == 1:
                mid = work[(m - 1) // 2]
                for j in range(width):
                    x = mid[j]
                    mid[j] = (x - k[j] * x.conjugate()) * inv[j]
        for j in range(width):
            unstable[start + j] = bad[j]
