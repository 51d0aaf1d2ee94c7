"""K cascaded first-order all-passes as polynomials in z^-1 (`allpass_polynomials`, frozen time) and
as the exact time-varying fraction (`allpass_cascade_exact`); used by the phaser and by the composed
path of `zoo.filters.allpass_feedback_loop`."""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["allpass_polynomials", "allpass_cascade_exact", "check_stages"]


# ----------------------------------------------------------------------------------------------
# Coefficients
# ----------------------------------------------------------------------------------------------


def allpass_polynomials(p: Tensor, num_stages: int = 4) -> tuple[Tensor, Tensor]:
    r"""Frozen-time polynomials of K cascaded first-order all-passes: A(z) = N(z) / D(z).

    N(z) = (p - z^-1)^K = \sum_j C(K, j) p^{K-j} (-1)^j z^{-j}, D(z) = (1 - p z^-1)^K (the flip of N).

    Args:
        p: all-pass coefficient, any shape (...), |p| < 1 for stability.
        num_stages: K >= 1. Default 4.

    Returns:
        (den, num), each (..., K+1), ``den[..., 0] = 1``.
    """
    check_stages(num_stages)
    k = num_stages
    # Powers as repeated products, not `p ** j`: elementwise products round the same way whatever
    # the vectorisation, so a block of a stream gets the same bits as one pass (`Phaser.process_block`).
    powers = [torch.ones_like(p), p]
    for _ in range(2, k + 1):
        powers.append(powers[-1] * p)
    num = torch.stack([math.comb(k, j) * (-1) ** j * powers[k - j] for j in range(k + 1)], dim=-1)
    den = torch.stack([math.comb(k, j) * (-1) ** j * powers[j] for j in range(k + 1)], dim=-1)
    return den, num


def _shift(c: Tensor, lag: int) -> Tensor:
    """c[n - lag] along the last dim; before the start, repeat c[0] (those values only ever
    multiply signal samples before n = 0, which are zero, or set a free left scale)."""
    if lag == 0:
        return c
    n_time = c.shape[-1]
    lag_in = min(lag, n_time)
    head = c[..., :1].expand(*c.shape[:-1], lag_in)
    return torch.cat([head, c[..., : n_time - lag_in]], dim=-1)


def allpass_cascade_exact(p: Tensor, num_stages: int = 4) -> tuple[Tensor, Tensor]:
    r"""Exact time-varying left fraction of K cascaded first-order all-passes: A = D^{-1} N.

    Write S for the unit delay and let a time-varying polynomial act as
    (P x)[n] = \sum_i P_i[n] x[n-i]. One stage (Eq. 10) is D_1 y = N_1 x with D_1 = 1 - p[n] S and
    N_1 = p[n] - S. Because (S c)[n] = c[n-1] S, products do not commute
    ((P Q)_{i+j}[n] += P_i[n] Q_j[n-i]), so A = (D_1^{-1} N_1)^K is *not* (D_1^K)^{-1} N_1^K unless p
    is constant. We compose the stages exactly (Ore's left fraction): given A_k = Q^{-1} R of order
    k, the next stage gives Q^{-1} R D_1^{-1} N_1; find a monic first-order L = 1 + l S and M of
    order k with L R = M D_1, so that R D_1^{-1} = L^{-1} M and

    .. math:: A_{k+1} = (L Q)^{-1} (M N_1).

    Matching the coefficients of S^i, i = 0..k+1, gives m_i = \alpha_i + \beta_i l with
    \alpha_i = R_i[n] + \alpha_{i-1} p[n-i+1], \beta_i = R_{i-1}[n-1] + \beta_{i-1} p[n-i+1]
    (\alpha_{-1} = \beta_{-1} = 0), and the last coefficient fixes
    l = -p[n-k] \alpha_k / (R_k[n-1] + p[n-k] \beta_k). For constant p the denominator is
    \pm (1 - p^2)^k != 0, L = D_1 and M = N_1^k, so the result reduces to D_1^K and N_1^K (the
    frozen polynomials of `allpass_polynomials`). D stays monic and N_0[n] = p[n]^K.

    The coefficients at sample n depend on p[n], ..., p[n-K]. They are computed in (at least)
    float64, since for p near 1 the result involves cancellations of order (1 - p^2)^K.
    Conditioning: for LFO-like p the coefficients stay of the size of the frozen ones (<= 2^K) and
    the phaser matches a float64 sample loop to ~1e-12; under extreme modulation (p[n] i.i.d. in
    (-0.95, 0.95)) the coefficients grow (to ~200 for K = 4, ~2000 for K = 6) and K = 6 loses digits
    (~1e-7 relative), since l's denominator can come close to 0 (there the order-K input-output
    recursion degenerates; the state-space form of ``"td_exact"``, `AllpassLoopFunction`, does not:
    this fraction is now only used for its double backward and for analysis).

    With this exact fraction the delay-free feedback loop u = x + g2 A u becomes
    (D - g2 N) u = D x, and A (1 - g2 A)^{-1} = (D - g2 N)^{-1} N (both exact for time-varying p).

    Args:
        p: all-pass coefficient per sample, (..., T), |p| < 1.
        num_stages: K >= 1. Default 4.

    Returns:
        (den, num), each (..., T, K+1) in the promoted dtype of p and float64; ``den[..., 0] = 1``.
    """
    check_stages(num_stages)
    work = p.to(torch.promote_types(p.dtype, torch.float64))
    one = torch.ones_like(work)
    p_lag = [_shift(work, j) for j in range(num_stages + 1)]  # p_lag[j][n] = p[n - j]
    den = [one, -work]
    num = [work, -one]
    for k in range(1, num_stages):
        num_lag = [_shift(c, 1) for c in num]  # R_i[n - 1]
        alpha, beta = [], []
        for i in range(k + 1):
            if i == 0:
                alpha.append(num[0])
                beta.append(torch.zeros_like(work))
            else:
                alpha.append(num[i] + alpha[i - 1] * p_lag[i - 1])
                beta.append(num_lag[i - 1] + beta[i - 1] * p_lag[i - 1])
        ell = -p_lag[k] * alpha[k] / (num_lag[k] + p_lag[k] * beta[k])
        m = [a_i + b_i * ell for a_i, b_i in zip(alpha, beta)]
        den_lag = [_shift(c, 1) for c in den]
        den = [den[0]] + [(den[i] if i <= k else 0.0) + ell * den_lag[i - 1] for i in range(1, k + 2)]
        num = [m[0] * p_lag[0]] + [
            (m[i] * p_lag[i] if i <= k else 0.0) - m[i - 1] for i in range(1, k + 2)
        ]
    return torch.stack(den, dim=-1), torch.stack(num, dim=-1)


def check_stages(num_stages: int) -> None:
    if not isinstance(num_stages, int) or isinstance(num_stages, bool) or num_stages < 1:
        raise ValueError(f"Unexpected value for `num_stages`: expected an integer >= 1, found {num_stages!r}")
