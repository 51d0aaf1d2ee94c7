"""The closed-form gradients of the all-pole recursion that both the autograd Functions
(`zoo.filters.autograd`) and the CUDA backward op (`zoo.filters._ops`) use (Eqs. 7-8 of the paper).

y[n] = x[n] - sum_i a_i[n] y[n-i], with y[-1-k] = zi[k]; u = A^{-H} g is the time-reversed
recursion run on the output gradient g. Shapes: u, y (N, T); a (N, T, M) or (N, M); zi (N, M).
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["lagged_outputs", "coefficient_grad", "initial_state_grad"]


def lagged_outputs(y: Tensor, zi: Tensor, order: int) -> Tensor:
    """Stack past outputs: out[..., n, i-1] = y[n-i], with y[-1-k] = zi[..., k].

    Args:
        y: (N, T). zi: (N, M). order: M.

    Returns:
        (N, T, M).
    """
    n_time = y.shape[-1]
    ext = torch.cat([zi.flip(-1), y], dim=-1)  # ext[..., M + n] = y[n]
    return torch.stack([ext[..., order - i : order - i + n_time] for i in range(1, order + 1)], dim=-1)


def coefficient_grad(u: Tensor, y: Tensor, zi: Tensor, time_varying: bool) -> Tensor:
    """dL/da_i[n] = -conj(y[n-i]) u[n] (Eq. 8), summed over n for time-invariant a."""
    order = zi.shape[-1]
    grad = -lagged_outputs(y, zi, order).conj() * u.unsqueeze(-1)
    return grad if time_varying else grad.sum(-2)


def initial_state_grad(u: Tensor, a: Tensor) -> Tensor:
    """dL/dzi_k = -sum_{i=k+1..M} conj(a_i[i-1-k]) u[i-1-k]: zi_k = y[-1-k] feeds y[i-1-k] via a_i."""
    order = a.shape[-1]
    head = min(order, u.shape[-1])
    if a.dim() == 3:
        coef = a[:, :head, :]  # coef[n, j] = a_{j+1}[n]
    else:
        coef = a.unsqueeze(1).expand(a.shape[0], head, order)
    weighted = coef.conj() * u[:, :head].unsqueeze(-1)  # weighted[n, j]; for zi_k, j = n + k
    out = [-torch.diagonal(weighted, offset=k, dim1=-2, dim2=-1).sum(-1) for k in range(order)]
    return torch.stack(out, dim=-1)
