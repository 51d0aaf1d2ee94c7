r"""The all-pass primitives composed from plain tensor ops: the path of `zoo.filters.allpass` on any
device other than the CPU (CUDA included), under functorch transforms, and with
``use_backend("torch")``.

The chain of K first-order all-passes with its feedback loop is a linear time-varying state-space
system with S = K + 1 states, s[n] = A[n] s[n-1] + B[n] x[n]. `chain_maps` builds [A[n] | B[n]] for
every sample with O(K) vectorised operators, and `zoo.filters.state_space.ltv_scan` runs the
recursion as a chunked scan. Exact (the same recursion, reassociated); autograd differentiates
through the tensor ops (any order), and `torch.jit.script` compiles both (`zoo.export`).
"""

from __future__ import annotations

from typing import List, Tuple

import torch
from torch import Tensor

from .state_space import ltv_scan

__all__ = ["chain_maps", "allpass_chain_composed"]


def chain_maps(coef: Tensor, g2: Tensor, form: int, delay: int) -> Tensor:
    r"""Per-sample affine maps of the all-pass chain with feedback: G[n] = [A[n] | B[n]], (T, S, S + 1).

    s[n] = A[n] s[n-1] + B[n] x[n] with S = K + 1 states: DF1 (u[n], y_1[n], ..., y_K[n]); TPT
    (y_K[n], s_1, ..., s_K). The map is found by running one sample of the chain (as
    `zoo.filters.kernels.numba_allpass_chain.chain_forward`) on the S unit states and the unit input at once,
    vectorised over the T samples.

    Args:
        coef: (T, K): p_k[n] (DF1) or G_k[n] (TPT).
        g2: feedback gain, 0-d.
        form: 0 DF1, 1 TPT.
        delay: 0 delay-free loop, 1 through a one-sample delay.
    """
    n_time = coef.shape[0]
    k_stages = coef.shape[1]
    size = k_stages + 1
    basis = torch.eye(size + 1, dtype=coef.dtype, device=coef.device)  # rows: the unit states, then x
    lower = basis[:k_stages]  # e_k: stage k's input state (DF1: y_{k-1}[n-1])
    upper = basis[1:size]  # e_{k+1}: stage k's own state
    x_unit = basis[size]
    c = coef.unsqueeze(-1)  # (T, K, 1)
    # each stage is affine in its input at every sample: out_k = a_k in_k + b_k, b_k linear in the state
    if form == 0:
        a = coef
        b = c * upper - lower  # p y_k[n-1] - y_{k-1}[n-1]
    else:
        a = 2.0 * coef - 1.0
        b = 2.0 * (1.0 - c) * upper  # 2 s_k (1 - G)
    if delay == 1:
        u = (x_unit + g2 * basis[k_stages if form == 0 else 0]).expand(n_time, size + 1)
    else:
        # y_K = P u + C with P = prod a_k, C = sum_k (prod_{j > k} a_j) b_k; u = (x + g2 C) / (1 - g2 P)
        big_c = b[:, 0]
        for k in range(1, k_stages):
            big_c = torch.addcmul(b[:, k], a[:, k : k + 1], big_c)
        big_p = a.prod(1, keepdim=True)
        u = (x_unit + g2 * big_c) / (1.0 - g2 * big_p)
    outs: List[Tensor] = []
    t = u
    for k in range(k_stages):
        t = torch.addcmul(b[:, k], a[:, k : k + 1], t)
        outs.append(t)
    ys = torch.stack(outs, 1)  # (T, K, S + 1): y_1 .. y_K
    if form == 0:
        return torch.cat([u.unsqueeze(1), ys], 1)
    inputs = torch.cat([u.unsqueeze(1), ys[:, : k_stages - 1]], 1)
    integrators = upper + 2.0 * c * (inputs - upper)  # s_k + 2 G (in_k - s_k)
    return torch.cat([ys[:, k_stages - 1 :], integrators], 1)


def allpass_chain_composed(x: Tensor, coef: Tensor, g2: Tensor, zi: Tensor, form: int, delay: int) -> Tuple[Tensor, Tensor]:
    """`zoo.filters.allpass_chain` composed from tensor ops: one chunked scan per row.

    Args:
        x: (N, T). coef: (N, T, K). g2: (N,). zi: (N, K+1), the layout of `allpass_chain`.
        form: 0 DF1, 1 TPT. delay: 0 or 1 (samples of feedback delay).

    Returns:
        (y_K (N, T), zf (N, K+1)).
    """
    n_rows, n_time = x.shape[0], x.shape[1]
    k_stages = coef.shape[2]
    size = k_stages + 1
    out_index = k_stages if form == 0 else 0  # where y_K sits in the state
    ys: List[Tensor] = []
    zfs: List[Tensor] = []
    for row in range(n_rows):
        if n_time == 0:
            ys.append(x[row])
            zfs.append(zi[row])
            continue
        maps = chain_maps(coef[row], g2[row], form, delay)  # (T, S, S + 1)
        drive = (maps[:, :, size] * x[row].unsqueeze(-1)).unsqueeze(0)  # (1, T, S)
        states = ltv_scan(maps[:, :, :size], drive, zi[row].unsqueeze(0))[0]  # (T, S)
        ys.append(states[:, out_index])
        zfs.append(states[n_time - 1])
    return torch.stack(ys, 0), torch.stack(zfs, 0)
