"""Slow, obviously-correct reference loops: the oracle for tests and the naive baseline for benchmarks.

Nothing here is fast. Every loop follows the defining difference equation sample by sample.
"""

from __future__ import annotations

import torch
from torch import Tensor


def allpole_loop(x: Tensor, a: Tensor, zi: Tensor | None = None) -> Tensor:
    """Time-varying all-pole filter by a Python loop over time, differentiable by plain autograd.

    y[n] = x[n] - sum_{i=1..M} a_i[n] y[n-i]   (Eq. 1), with y[-1-k] = zi[..., k].

    Args:
        x: input, shape (N, T).
        a: coefficients without a0 = 1, shape (N, T, M) (time-varying) or (N, M) (time-invariant).
        zi: past outputs, shape (N, M), zi[:, 0] = y[-1]. Default zeros.

    Returns:
        y, shape (N, T). Builds a graph of T nodes under autograd: only for small sizes.
    """
    n_batch, n_time = x.shape
    order = a.shape[-1]
    if a.dim() == 2:
        a = a.unsqueeze(1).expand(n_batch, n_time, order)
    if zi is None:
        zi = x.new_zeros(n_batch, order)
    past = [zi[:, k] for k in range(order)]  # past[0] = y[n-1]
    outputs = []
    for n in range(n_time):
        acc = x[:, n]
        for i in range(order):
            acc = acc - a[:, n, i] * past[i]
        outputs.append(acc)
        past = [acc] + past[:-1]
    if not outputs:
        return x.clone()
    return torch.stack(outputs, dim=-1)


def fir_loop(x: Tensor, b: Tensor, zi: Tensor | None = None) -> Tensor:
    """Time-varying FIR v[n] = sum_{k=0..K-1} b_k[n] x[n-k], with x[-1-k] = zi[..., k].

    Args:
        x: (N, T). b: (N, T, K) or (N, K). zi: (N, K-1) past inputs, zi[:, 0] = x[-1].
    """
    n_batch, n_time = x.shape
    taps = b.shape[-1]
    if b.dim() == 2:
        b = b.unsqueeze(1).expand(n_batch, n_time, taps)
    if zi is None:
        zi = x.new_zeros(n_batch, taps - 1)
    ext = torch.cat([zi.flip(-1), x], dim=-1)  # ext[j + taps - 1] = x[j]
    out = []
    for n in range(n_time):
        acc = torch.zeros_like(x[:, 0])
        for k in range(taps):
            acc = acc + b[:, n, k] * ext[:, n + taps - 1 - k]
        out.append(acc)
    if not out:
        return x.clone()
    return torch.stack(out, dim=-1)
