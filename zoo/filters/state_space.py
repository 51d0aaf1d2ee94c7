r"""Linear time-varying state-space recursions in plain tensor ops: any device, autograd, TorchScript.

.. math:: s[n] = A[n]\, s[n-1] + u[n], \qquad s[-1] = s_0

with a state of S values. Every function here is TorchScript code (no zoo import, no custom op), so
`torch.jit.script` copies it into an exported file (`zoo.export`), and plain differentiable tensor ops,
so it is the composed device path of the all-pass primitives (`zoo.filters.allpass`) and of the
attack/release smoother (`zoo.filters.smoother`). It is the chunked scan of
`zoo.filters.kernels.torch_scan` (``allpole_torch``) generalised from the companion matrix of an
all-pole filter to any S x S transition matrix (the phaser's all-pass chain with its feedback loop,
a biquad, a one-pole), and organised for short real-time blocks:

1. **Chunk maps.** Split the T steps into K chunks of L. One loop of L steps runs, in every chunk at
   once, the prefix map of the chunk: P_t = A[t] P_{t-1} (from the identity) and the state reached
   from zero, w_t = A[t] w_{t-1} + u[t]. One batched matmul a step over (K, S, S + R) (R rows of
   input share the matrices, e.g. the channels of one phaser).
2. **Carry.** Chunk k starts from c_k = P^{(k-1)}_{L-1} c_{k-1} + w^{(k-1)}_{L-1}, c_0 = s_0: the
   chunks' end maps are composed with a Hillis-Steele scan (log2 K rounds of one batched matmul).
3. **States.** s at step t of chunk k is P_t c_k + w_t, one batched product for all steps.

This is exact (the same recursion, reassociated): the difference from a sample loop is rounding.
About L + 4 log2(T / L) + 10 tensor operators a block (not per sample); `chunk_length` picks L ~ sqrt(T).
"""

import math
from typing import List

import torch
from torch import Tensor

__all__ = ["chunk_length", "ltv_scan", "one_pole_scan"]


def chunk_length(n_time: int) -> int:
    """L: the smallest power of two with 2 L^2 >= T (at most T): the L sequential steps of pass 1
    against the log2(T / L) rounds of the carry, measured best among powers of two at T = 512."""
    chunk = 1
    while 2 * chunk * chunk < n_time and chunk < n_time:
        chunk *= 2
    return max(1, min(chunk, n_time))


def ltv_scan(a: Tensor, u: Tensor, s0: Tensor) -> Tensor:
    r"""All states of s[n] = A[n] s[n-1] + u[n] (chunked scan, module docstring).

    Args:
        a: transition matrices, (T, S, S), shared by every row.
        u: drive, (R, T, S), one row per independent signal (e.g. per channel).
        s0: initial state s[-1], (R, S).

    Shape:
        returns (R, T, S): s[n] for n = 0 .. T-1 (the last one is the final state).
    """
    n_rows = u.shape[0]
    n_time = u.shape[1]
    size = u.shape[2]
    if n_time == 0:
        return u
    chunk = chunk_length(n_time)
    n_chunks = (n_time + chunk - 1) // chunk
    pad = n_chunks * chunk - n_time
    if pad > 0:  # zero steps past the end: they only feed states nobody reads
        a = torch.cat([a, torch.zeros(pad, size, size, dtype=a.dtype, device=a.device)], 0)
        u = torch.cat([u, torch.zeros(n_rows, pad, size, dtype=u.dtype, device=u.device)], 1)
    a_steps = a.reshape(n_chunks, chunk, size, size).transpose(0, 1).contiguous().unbind(0)  # L x (K, S, S)
    # drive laid out (L, K, S, S + R): step t of every chunk; zeros under the map columns, the R rows
    # as the last columns, so that one baddbmm a step updates maps and offsets together
    u_steps = u.reshape(n_rows, n_chunks, chunk, size).permute(2, 1, 3, 0)
    u_steps = torch.cat([torch.zeros(chunk, n_chunks, size, size, dtype=u.dtype, device=u.device), u_steps], 3)
    u_list = u_steps.unbind(0)
    eye = torch.eye(size, dtype=a.dtype, device=a.device).unsqueeze(0).expand(n_chunks, size, size)
    # keeps the offset columns of a map (x [A | w] -> [0 | w]) when composing maps
    offset_mask = torch.cat([torch.zeros(size, size, dtype=a.dtype, device=a.device),
                             torch.ones(size, n_rows, dtype=a.dtype, device=a.device)], 1)
    maps = torch.cat([eye, torch.zeros(n_chunks, size, n_rows, dtype=a.dtype, device=a.device)], 2)
    prefix: List[Tensor] = []
    for t in range(chunk):
        maps = torch.baddbmm(u_list[t], a_steps[t], maps)
        prefix.append(maps)
    every = torch.stack(prefix, 1)  # (K, L, S, S + R)
    # carry: every chunk's end map composed with all maps before it (Hillis-Steele, log2 K rounds of
    # one batched product), then the start state of every chunk, (K, S, R)
    total = every[:, chunk - 1]  # (K, S, S + R): [Phi_k | w_k]
    shift = 1
    while shift < n_chunks:
        head = torch.cat([eye[:shift], torch.zeros(shift, size, n_rows, dtype=a.dtype, device=a.device)], 2)
        earlier = torch.cat([head, total[: n_chunks - shift]], 0)
        total = torch.baddbmm(total * offset_mask, total[:, :, :size].contiguous(), earlier)
        shift *= 2
    ends = torch.baddbmm(total[:, :, size:], total[:, :, :size], s0.t().unsqueeze(0).expand(n_chunks, size, n_rows))
    start = torch.cat([s0.t().unsqueeze(0), ends[: n_chunks - 1]], 0)  # (K, S, R)
    # states: P_t c_k + w_t for every (chunk, step)
    phi = every[..., :size].reshape(n_chunks, chunk * size, size)
    states = torch.bmm(phi, start).reshape(n_chunks, chunk, size, n_rows) + every[..., size:]
    return states.permute(3, 0, 1, 2).reshape(n_rows, n_chunks * chunk, size)[:, :n_time]


def _decay_matrix(log_prefix: Tensor) -> Tensor:
    """M[..., t, j] = exp(lp[t] - lp[j]) for j <= t, else 0: the products of the poles j+1 .. t."""
    n = log_prefix.shape[-1]
    diff = log_prefix.unsqueeze(-1) - log_prefix.unsqueeze(-2)
    upper = torch.ones(n, n, dtype=torch.bool, device=log_prefix.device).triu(1)
    return torch.exp(diff.masked_fill(upper, -math.inf))


def one_pole_scan(pole: Tensor, drive: Tensor, y0: Tensor) -> Tensor:
    r"""y[n] = pole[n] y[n-1] + drive[n] for one signal, poles >= 0 (a first-order recursion).

    With poles >= 0 the products of poles are exponentials of sums of logs, so the recursion is
    two matrix products and no loop: in chunks of L samples, y[t] = P_t c + sum_{j <= t} (P_t / P_j)
    d[j] with P_t / P_j = exp(lp_t - lp_j) (lp the running sum of ln pole, exponents <= 0: no
    overflow), and the chunk starts c follow the same formula one level up. Computed in float64
    (a pole of 0 is taken as 1e-300, a relative change below float64 resolution).

    Args:
        pole: (T,), >= 0. drive: (T,). y0: y[-1], a 0-d or (1,) tensor.

    Returns:
        y, (T,), in the dtype of ``drive``.
    """
    n_time = drive.shape[0]
    if n_time == 0:
        return drive
    out_dtype = drive.dtype
    pole = pole.to(torch.float64)
    drive = drive.to(torch.float64)
    start = y0.to(torch.float64).reshape(1)
    chunk = chunk_length(n_time)
    n_chunks = (n_time + chunk - 1) // chunk
    pad = n_chunks * chunk - n_time
    if pad > 0:
        pole = torch.cat([pole, torch.ones(pad, dtype=torch.float64, device=pole.device)])
        drive = torch.cat([drive, torch.zeros(pad, dtype=torch.float64, device=drive.device)])
    lp = torch.log(torch.clamp(pole, min=1e-300)).reshape(n_chunks, chunk).cumsum(1)  # (K, L)
    from_zero = torch.bmm(_decay_matrix(lp), drive.reshape(n_chunks, chunk, 1)).squeeze(-1)  # (K, L)
    # chunk k ends at exp(lp[k, -1]) c_k + from_zero[k, -1]: the same recursion over the chunks
    lp_chunks = lp[:, chunk - 1].cumsum(0)  # (K,)
    ends = torch.mv(_decay_matrix(lp_chunks), from_zero[:, chunk - 1]) + torch.exp(lp_chunks) * start
    starts = torch.cat([start, ends[: n_chunks - 1]])
    y = torch.exp(lp) * starts.unsqueeze(-1) + from_zero
    return y.reshape(n_chunks * chunk)[:n_time].to(out_dtype)
