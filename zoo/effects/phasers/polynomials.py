"""The phaser's frequency response with frozen coefficients (`phaser_response`); the all-pass
polynomials it is built from live in `zoo.filters.allpass_polynomials`."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ...filters.allpass_polynomials import allpass_cascade_exact, allpass_polynomials  # noqa: F401
from ...filters.allpass_polynomials import check_stages as _check_stages  # noqa: F401


def phaser_response(
    p: Tensor,
    g1: Tensor | float,
    g2: Tensor | float,
    biquad_b: Tensor,
    biquad_a: Tensor,
    n_fft: int,
    *,
    num_stages: int = 4,
) -> Tensor:
    r"""Frozen-time frequency response on the rfft grid: H = BQ (g1 + A / (1 - g2 A)).

    A(e^{jw}) = ((p - e^{-jw}) / (1 - p e^{-jw}))^K, BQ = (b0 + b1 e^{-jw} + b2 e^{-2jw}) /
    (1 + a1 e^{-jw} + a2 e^{-2jw}), w_k = 2 pi k / n_fft, k = 0 .. n_fft // 2.

    Args:
        p: all-pass coefficients, (..., F).
        g1: through-path gain, broadcastable to (...,).
        g2: feedback gain in [0, 1), broadcastable to (...,).
        biquad_b: (..., 3). biquad_a: (..., 2) without a0 = 1.
        n_fft: FFT length.
        num_stages: K. Default 4.

    Returns:
        complex (..., F, n_fft // 2 + 1).
    """
    real = p.dtype
    cplx = torch.complex128 if real == torch.float64 else torch.complex64
    omega = torch.arange(n_fft // 2 + 1, device=p.device, dtype=real) * (2.0 * math.pi / n_fft)
    z = torch.polar(torch.ones_like(omega), -omega).to(cplx)  # e^{-jw}
    pc = p.unsqueeze(-1).to(cplx)
    ap = ((pc - z) / (1.0 - pc * z)) ** num_stages
    g1 = torch.as_tensor(g1, dtype=real, device=p.device)
    g2 = torch.as_tensor(g2, dtype=real, device=p.device)
    g1 = g1.reshape(*g1.shape, 1, 1)
    g2 = g2.reshape(*g2.shape, 1, 1)
    b = biquad_b.to(cplx).unsqueeze(-2)  # (..., 1, 3)
    a = biquad_a.to(cplx).unsqueeze(-2)
    bq = (b[..., 0:1] + b[..., 1:2] * z + b[..., 2:3] * z * z) / (1.0 + a[..., 0:1] * z + a[..., 1:2] * z * z)
    return bq * (g1 + ap / (1.0 - g2 * ap))
