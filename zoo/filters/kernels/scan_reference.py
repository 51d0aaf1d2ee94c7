"""The chunked scan of the Triton all-pole kernels in plain PyTorch, step for step, for any device.

It needs no Triton: it measures the method's rounding error where the interpreter is too slow, and
states the algorithm readably. It is re-exported as `triton_allpole.chunked_scan_reference`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def chunked_scan_reference(
    x: Tensor,
    a: Tensor,
    zi: Tensor | None = None,
    *,
    chunk_size: int = 64,
    reverse: bool = False,
    map_dtype: torch.dtype | None = None,
) -> Tensor:
    """The kernels' chunked scan in plain PyTorch, step for step, for any device and dtype.

    It mirrors the three passes (chunk maps from zero and unit states, the carry across chunks,
    the re-run from exact states) with the same chunk layout and the same order of operations
    within a step, but carries the chunk states sequentially. It exists to measure the method's
    rounding error at lengths the Triton interpreter is too slow for (docs/gpu.md), and as a
    readable statement of the algorithm.

    Args:
        x: input (or, with ``reverse=True``, the upstream gradient g).
        a: coefficients without a0 = 1.
        zi: past outputs, zi[:, k] = y[-1-k] (forward only). Default: zeros.
        chunk_size: chunk length C.
        reverse: compute the adjoint recursion (Eq. 7) instead of the forward one.
        map_dtype: real precision of the chunk maps and carried states (pass 1 and 2); None: that of
            x. Pass 3 always runs in the precision of x.

    Shape:
        x: (N, T). a: (N, T, M) or (N, M). zi: (N, M). Returns (N, T).

    Returns:
        y (or u), same dtype as x.
    """
    n_rows, n_time = x.shape
    order = a.shape[-1]
    if order == 0 or n_time == 0:
        return x.clone()
    chunk_size = min(chunk_size, n_time)
    if a.dim() == 2:
        a = a.unsqueeze(1).expand(n_rows, n_time, order)
    if reverse:
        # â[m, i-1] = conj(a[T-1-m+i, i-1]), zero past the end: the Eq. 7 recursion on flipped time.
        lag = torch.arange(1, order + 1, device=x.device)
        src = torch.arange(n_time, device=x.device).flip(0)[:, None] + lag[None, :]  # (T, M)
        ok = src < n_time
        a = a.conj()[:, src.clamp(max=n_time - 1), lag - 1] * ok
        x = x.flip(-1)
        zi = None
    n_chunks = math.ceil(n_time / chunk_size)
    pad = n_chunks * chunk_size - n_time
    xc = torch.nn.functional.pad(x, (0, pad)).reshape(n_rows, n_chunks, chunk_size)
    ac = torch.nn.functional.pad(a, (0, 0, 0, pad)).reshape(n_rows, n_chunks, chunk_size, order)
    length = torch.clamp(n_time - torch.arange(n_chunks, device=x.device) * chunk_size, max=chunk_size)

    def run(state: Tensor, drive: Tensor | None) -> Tensor:
        # state (..., N, K, M), newest first; drive (N, K, C) or None -> outputs (..., N, K, C), end state.
        # The arithmetic runs in the dtype of `state`.
        hist = list(state.unbind(-1))  # hist[i-1] = lag i
        outs = []
        if drive is not None:
            drive = drive.to(state.dtype)
        for t in range(chunk_size):
            coef = ac[:, :, t].to(state.dtype)  # (N, K, M); broadcasts over the basis axis j
            acc = drive[..., t] if drive is not None else torch.zeros_like(hist[0])
            for i in range(order, 0, -1):  # oldest lag first, as in the kernels
                acc = acc - coef[..., i - 1] * hist[i - 1]
            live = t < length  # (K,): the short last chunk stops moving once it runs out
            hist = [torch.where(live, acc, hist[0])] + [
                torch.where(live, hist[i - 1], hist[i]) for i in range(1, order)
            ]
            outs.append(acc)
        return torch.stack(outs, -1), torch.stack(hist, -1)

    map_dtype = x.dtype if map_dtype is None else (map_dtype.to_complex() if x.is_complex() else map_dtype)
    zero = torch.zeros(n_rows, n_chunks, order, dtype=map_dtype, device=x.device)
    _, w = run(zero, xc)
    eye = torch.eye(order, dtype=map_dtype, device=x.device)
    basis = eye[:, None, None, :].expand(order, n_rows, n_chunks, order)  # (j, N, K, M)
    _, ends = run(basis, None)  # (j, N, K, k)
    phi = ends.permute(1, 2, 3, 0)  # (N, K, k, j)
    states = [zero[:, 0] if zi is None else zi.to(map_dtype)]
    for c in range(n_chunks - 1):
        states.append((phi[:, c] @ states[-1].unsqueeze(-1)).squeeze(-1) + w[:, c])
    y, _ = run(torch.stack(states, 1).to(x.dtype), xc)
    y = y.reshape(n_rows, -1)[:, :n_time]
    return y.flip(-1) if reverse else y
