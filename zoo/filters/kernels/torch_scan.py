"""The all-pole recursion in plain tensor ops: a chunked scan for any device, TorchScript and export.

    y[n] = x[n] - sum_{i=1..M} a_i[n] y[n-i],   y[-1-k] = zi[k]        (Eq. 1, Yu et al. 2024)

This is the portable backend of `zoo.filters` (``backend="torch"``). It uses no custom op, no Numba
and no Triton, only differentiable torch operators, so it runs wherever torch runs (CPU, CUDA, MPS,
...), under ``torch.jit.script``, ``torch.export`` and the ONNX exporter, and autograd
differentiates it exactly (it is the same recursion, only reassociated).

The method is the exact chunked scan of docs/gpu.md, organised for a tensor library, where every
operator costs a fixed dispatch overhead and the lanes of one operator run in parallel. Split each
row into K chunks of L samples; a *state* is the M latest outputs, newest first (the layout of
``zi``); one lane per (row, chunk).

0. **Step-major layout.** x and a are transposed once (one 2-D copy each, which torch does in cache
   blocks) so that step t of every chunk is one contiguous row. Reading strided views per step
   instead touches one memory page per lane and measured ten times slower.
1. **Chunk maps, all chunks at once.** One loop of L steps runs the recursion in every lane for
   1 + M columns side by side: column 0 from a zero state driven by x, column 1 + j from the unit
   state e_j with no input. Each step is M + 1 elementwise operators on (1 + M, N K) tensors,
   whatever N and K are. The columns' end states give each chunk's affine map
   s_end = Phi s_start + w (w from column 0, Phi from columns 1..M).
2. **Carry in log depth.** With zi folded into chunk 0's offset, a work-efficient scan over the K
   maps (`_affine_scan`: adjacent pairs composed up a tree, then resolved back down) gives every
   chunk's exact start state in 2 log2 K rounds.
3. **Output.** Every chunk re-runs from its exact start state, one column (M operators a step on
   N K lanes), and one transpose brings y back to (N, T). Re-running costs less than keeping the
   (1 + M) columns of every step and adding the start-state correction afterwards.

Cost: about L (2 M + 1) operators and (M + 1)^2 + M multiply-adds a sample (a sequential loop: M),
so the chunk length trades operator count (L) against lanes (N T / L); `choose_chunk_size` picks
it. Under autograd the graph keeps both passes' step outputs, about (M + 2) N T values.

Shapes seen by `allpole_torch`: x (..., T); a (..., T, M) time-varying or (..., M) time-invariant;
zi (..., M) or None (zeros). Leading dimensions broadcast.
"""

from typing import List, Optional, Tuple

import torch
from torch import Tensor

__all__ = ["allpole_torch", "choose_chunk_size"]


def choose_chunk_size(n_rows: int, n_time: int, order: int) -> int:
    """Chunk length L for N = ``n_rows`` rows of ``n_time`` samples at order ``order``.

    About sqrt(T) / 4, a power of two between 8 and 256: each chunk costs L sequential steps of
    a few operators, and the carry costs log2(T / L) rounds. Shorter chunks also keep the unit-state
    responses of fast-decaying filters out of the subnormal range, where CPU arithmetic slows down
    several fold. On CPU (float32, B = 8, T = 2^16, M = 4, one thread, a shared machine) the best
    of two sweeps gave 14.4 ms at L = 64, 15.0 / 15.9 ms at 32 / 128 and 17.5 / 20.6 ms at 16 / 256;
    the other sweep, under heavier load, was flat within noise. ``n_rows`` and ``order`` do not
    change the choice today. Pass ``chunk_size`` to `allpole_torch` to override it.
    """
    chunk = 8
    while chunk < 256 and 16 * chunk * chunk < n_time:
        chunk *= 2
    return chunk


def _lead_shape(first: List[int], second: List[int], name: str) -> List[int]:
    """Broadcast two leading shapes (numpy rules); raise ValueError naming ``name`` otherwise."""
    n_dims = max(len(first), len(second))
    out: List[int] = []
    for k in range(n_dims):
        i = len(first) - n_dims + k
        j = len(second) - n_dims + k
        p = first[i] if i >= 0 else 1
        q = second[j] if j >= 0 else 1
        if p != q and p != 1 and q != 1:
            raise ValueError(
                "Leading (batch) dimensions do not broadcast: `" + name + "` has " + str(second)
                + " against " + str(first)
            )
        out.append(q if p == 1 else p)
    return out


def _matvec(p: Tensor, v: Tensor) -> Tensor:
    """out[i] = sum_l p[i, l] v[l], lanes last: p (M, M, N, K), v (M, N, K) -> (M, N, K)."""
    return (p * v.unsqueeze(0)).sum(1)


def _matmul(p: Tensor, q: Tensor) -> Tensor:
    """out[i, j] = sum_l p[i, l] q[l, j], lanes last: (M, M, N, K) x (M, M, N, K) -> (M, M, N, K).

    Elementwise over the lanes up to M = 8 (one broadcast product, M^3 values a lane); above, the
    M^3 temporary outgrows the caches and a batched matmul over the lanes is faster.
    """
    if p.shape[0] <= 8:
        return (p.unsqueeze(2) * q.unsqueeze(0)).sum(1)
    # contiguous (N, K, M, M) operands: bmm copies strided matrices one by one
    lhs = p.permute(2, 3, 0, 1).contiguous()
    rhs = q.permute(2, 3, 0, 1).contiguous()
    return torch.matmul(lhs, rhs).permute(2, 3, 0, 1)


def _affine_scan(phi: Tensor, offset: Tensor) -> Tensor:
    """End states s_k = phi_k s_{k-1} + offset_k from s_{-1} = 0, for all k, in 2 log2 K rounds.

    A work-efficient (Blelloch-style) scan over the K affine maps, lanes last: phi (M, M, N, K),
    offset (M, N, K) -> (M, N, K). Up: compose adjacent pairs (an odd count gets an identity map)
    until one map is left. Down: each pair's second end state is its composite's end state; the
    first is its own map applied to the previous pair's end state. About 2 K M^3 multiply-adds,
    against K M^3 log2 K for a Hillis-Steele scan. Each level first splits its maps into the
    pairs' first and second halves with one copy: products on stride-2 views are several times
    slower than the copy.
    """
    order = phi.shape[0]
    firsts_phi: List[Tensor] = []
    firsts_offset: List[Tensor] = []
    counts: List[int] = []
    while offset.shape[-1] > 1:
        count = offset.shape[-1]
        if count % 2 == 1:
            eye = torch.eye(order, dtype=phi.dtype, device=phi.device).reshape(order, order, 1, 1)
            phi = torch.cat([phi, eye.expand(order, order, phi.shape[2], 1)], -1)
            offset = torch.cat([offset, torch.zeros_like(offset[..., :1])], -1)
        half = phi.shape[-1] // 2
        phi_pairs = phi.reshape(order, order, phi.shape[2], half, 2).movedim(-1, 0).contiguous()
        offset_pairs = offset.reshape(order, offset.shape[1], half, 2).movedim(-1, 0).contiguous()
        firsts_phi.append(phi_pairs[0])
        firsts_offset.append(offset_pairs[0])
        counts.append(count)
        offset = _matvec(phi_pairs[1], offset_pairs[0]) + offset_pairs[1]
        if half > 1:
            phi = _matmul(phi_pairs[1], phi_pairs[0])
    ends = offset
    for level in range(len(counts) - 1, -1, -1):
        before = torch.cat([torch.zeros_like(ends[..., :1]), ends[..., :-1]], -1)  # previous pair's end
        first = _matvec(firsts_phi[level], before) + firsts_offset[level]
        ends = torch.stack([first, ends], -1).reshape(ends.shape[0], ends.shape[1], 2 * ends.shape[2])
        ends = ends[..., : counts[level]]
    return ends


def _scan_rows(x: Tensor, a: Tensor, zi: Tensor, chunk_size: int) -> Tensor:
    """y for x (N, T), a (N, T, M) or (N, M), zi (N, M), one dtype; T >= 1. Returns (N, T)."""
    n_rows = x.shape[0]
    n_time = x.shape[1]
    order = a.shape[-1]
    time_varying = a.dim() == 3
    chunk = min(chunk_size, n_time)
    n_chunks = (n_time + chunk - 1) // chunk
    lanes = n_rows * n_chunks
    pad = n_chunks * chunk - n_time
    if pad > 0:
        # Zero input and zero coefficients past the end: the padded steps only shift zeros into the
        # last chunk's state, which no other chunk reads.
        x = torch.nn.functional.pad(x, [0, pad])
        if time_varying:
            a = torch.nn.functional.pad(a, [0, 0, 0, pad])
    # Step-major layout, one lane per (row, chunk): step t of every chunk is one contiguous row.
    # A 2-D transpose, because torch copies those in cache blocks (a strided read per step would
    # touch one memory page per lane). unbind, not indexing: the backward of an unbind is one
    # stack, where L slices would each scatter into a zero-filled buffer of the full size.
    x_steps = x.reshape(lanes, chunk).t().contiguous().unbind(0)  # L x (NK,)
    a_steps: List[Tensor] = []
    a_fixed: List[Tensor] = []
    if time_varying:
        a_steps = a.reshape(lanes, chunk * order).t().contiguous().reshape(chunk, order, lanes).unbind(0)
    else:
        # the same for every step; (N, 1) -> (NK,) lanes in row-major (row, chunk) order
        a_fixed = a.t().unsqueeze(-1).expand(order, n_rows, n_chunks).reshape(order, lanes).unbind(0)

    # Pass 1: the chunk maps. Column 0 runs from a zero state driven by x; column 1 + j from the
    # unit state e_j with no input. hist[i - 1][c] = column c's y[n - i].
    width = order + 1
    eye = torch.eye(width, dtype=x.dtype, device=x.device)
    drive = eye[:, :1]  # (1 + M, 1): x feeds column 0 only
    hist: List[Tensor] = [eye[:, i + 1 : i + 2] for i in range(order)]
    for t in range(chunk):
        coef = a_steps[t].unbind(0) if time_varying else a_fixed
        # In place on the step's fresh output: one allocation a step, and no op saves `out`
        # for its backward before it is complete (addcmul_ saves only its two factors).
        out = x_steps[t] * drive  # (1 + M, NK)
        for i in range(order):
            out.addcmul_(coef[i], hist[i], value=-1)
        hist = [out] + hist[: order - 1]
    # end[i, c] = column c's y[end - 1 - i]: s_end = phi s_start + offset for every chunk.
    end = torch.stack([h.expand(width, lanes) for h in hist], 0).reshape(order, width, n_rows, n_chunks)
    offset = end[:, 0]  # (M, N, K)
    phi = end[:, 1:]  # (M, M, N, K)

    # The carry: fold zi into chunk 0, then every chunk's exact end state in log depth.
    start = zi.t().unsqueeze(-1)  # (M, N, 1)
    first = _matvec(phi[..., :1], start) + offset[..., :1]
    ends = _affine_scan(phi, torch.cat([first, offset[..., 1:]], -1))
    starts = torch.cat([start, ends[..., : n_chunks - 1]], -1).reshape(order, lanes)  # chunk starts

    # Pass 2: every chunk again from its exact start state, one column.
    state: List[Tensor] = [s for s in starts.unbind(0)]
    ys: List[Tensor] = []
    for t in range(chunk):
        coef = a_steps[t].unbind(0) if time_varying else a_fixed
        out = torch.addcmul(x_steps[t], coef[0], state[0], value=-1)
        for i in range(1, order):
            out.addcmul_(coef[i], state[i], value=-1)
        state = [out] + state[: order - 1]
        ys.append(out)
    # stacked step-major, then one 2-D transpose (cache-blocked), as for the inputs
    y = torch.stack(ys, 0).t().contiguous().reshape(n_rows, n_chunks * chunk)
    if pad > 0:
        y = y[:, :n_time]
    return y


def allpole_torch(
    x: Tensor, a: Tensor, zi: Optional[Tensor] = None, chunk_size: Optional[int] = None
) -> Tuple[Tensor, Tensor]:
    r"""Time-varying all-pole filter in plain tensor ops (chunked scan); returns ``(y, zf)``.

    .. math:: y[n] = x[n] - \sum_{i=1}^{M} a_i[n]\, y[n-i]   \qquad (Eq. 1, Yu et al. 2024)

    Args:
        x: input signal.
        a: denominator coefficients without a0 = 1 (``a[..., i-1]`` is a_i); time-varying when it
            has one more dimension than ``x``, else time-invariant.
        zi: initial state, past outputs newest first (``zi[..., 0] = y[-1]``). Default: zeros.
        chunk_size: chunk length L (>= 1). Default: `choose_chunk_size`.

    Shape:
        - x: (..., T)
        - a: (..., T, M) or (..., M), M >= 1
        - zi: (..., M)
        - returns y: (broadcast ..., T) and zf: (broadcast ..., M), ``zf[..., k] = y[T-1-k]`` (with
          y[-1-k] = zi[..., k] when T < M), so ``zi = zf`` continues the signal block by block.

    Returns:
        ``(y, zf)`` in the promoted dtype of the inputs (float16/bfloat16 are computed in float32
        and cast back).

    Raises:
        ValueError: shapes that do not match or broadcast, M = 0, or ``chunk_size`` < 1.

    Supports:
        Any device; float32/64, complex64/128; exact gradients of any order for x, a and zi by
        autograd; ``torch.jit.script``, ``torch.export.export`` and ONNX export (real dtypes). The
        argument checks are shape checks only: no device sync.
    """
    if x.dim() == 0:
        raise ValueError("Unexpected shape for `x`: expected (..., T), found a scalar")
    n_time = x.shape[-1]
    time_varying = a.dim() == x.dim() + 1
    if time_varying:
        if a.shape[-2] != n_time:
            raise ValueError(
                "Unexpected shape for `a`: expected (..., " + str(n_time) + ", M) to match `x`, found " + str(a.shape)
            )
        a_lead = a.shape[:-2]
    elif 1 <= a.dim() and a.dim() <= x.dim():
        a_lead = a.shape[:-1]
    else:
        raise ValueError(
            "Unexpected shape for `a`: expected (..., T, M) or (..., M) for `x` of shape " + str(x.shape)
            + ", found " + str(a.shape)
        )
    order = a.shape[-1]
    if order == 0:
        raise ValueError("Unexpected shape for `a`: expected at least one coefficient (M >= 1), found " + str(a.shape))
    lead = _lead_shape(x.shape[:-1], a_lead, "a")
    dtype = torch.promote_types(x.dtype, a.dtype)
    if zi is not None:
        if zi.dim() == 0 or zi.shape[-1] != order:
            raise ValueError(
                "Unexpected shape for `zi`: expected (..., " + str(order) + ") to match the order of `a`, found "
                + str(zi.shape)
            )
        lead = _lead_shape(lead, zi.shape[:-1], "zi")
        dtype = torch.promote_types(dtype, zi.dtype)
    out_dtype = dtype
    if dtype == torch.float16 or dtype == torch.bfloat16:
        dtype = torch.float32
    if chunk_size is not None and chunk_size < 1:
        raise ValueError("Unexpected value for `chunk_size`: expected an integer >= 1, found " + str(chunk_size))

    n_rows = 1
    for s in lead:
        n_rows *= s
    x2 = x.to(dtype).expand(lead + [n_time]).reshape(n_rows, n_time)
    if time_varying:
        a2 = a.to(dtype).expand(lead + [n_time, order]).reshape(n_rows, n_time, order)
    else:
        a2 = a.to(dtype).expand(lead + [order]).reshape(n_rows, order)
    if zi is None:
        zi2 = torch.zeros(n_rows, order, dtype=dtype, device=x.device)
    else:
        zi2 = zi.to(dtype).expand(lead + [order]).reshape(n_rows, order)

    if n_time == 0 or n_rows == 0:
        y2 = x2.clone()
    else:
        chunk = chunk_size if chunk_size is not None else choose_chunk_size(n_rows, n_time, order)
        y2 = _scan_rows(x2, a2, zi2, chunk)
    # zf = the last M outputs newest first, reaching into zi when T < M.
    past = torch.cat([zi2.flip([-1]), y2], -1)
    zf2 = past[:, past.shape[1] - order :].flip([-1])
    y = y2.reshape(lead + [n_time]).to(out_dtype)
    zf = zf2.reshape(lead + [order]).to(out_dtype)
    return y, zf
