"""Triton kernel bodies for the chunked scan behind `triton_allpole` (undecorated; see `build`).

Only `zoo.filters.kernels.triton_allpole` imports this module, and only once Triton has imported.
The functions below are plain Python functions in Triton's language. `build` decorates them with
`triton.jit` on first use, once per mode, because Triton decides at decoration time whether a kernel
is compiled for the GPU or run by its CPU interpreter (``TRITON_INTERPRET=1``), and the tests need
the interpreter in a process where a real GPU run may also happen.

Every kernel is vectorised over *lanes*: a block of ``BLOCK`` independent (row, chunk) or
(row, group) pairs, each of which runs a short sequential loop. Lane state lives in registers as
small tiles: (BLOCK, MP) for an M-vector, (BLOCK, MP, MP) for an M x M matrix, where MP is M rounded
up to a power of two (Triton tiles must be) and the padding is masked to zero.

Conventions (the same as the Numba CPU kernels; ``a`` omits a0 = 1):

    forward:  y[n] = x[n] - sum_{i=1..M} a[n, i-1] y[n-i]
    reverse:  u[n] = g[n] - sum_{i=1..M} conj(a[n+i, i-1]) u[n+i],  a[n >= T] = 0   (Eq. 7)

A *state* is the vector of the M most recent outputs, newest first: s[k] = y[start-1-k], which is
the layout of ``zi``. In reverse mode the kernels walk time backwards (step m reads sample T-1-m),
so the reverse recursion is exactly a forward recursion on the flipped problem; the shifted
coefficient a[n+i, i-1] is addressed directly, never materialised.
"""

from __future__ import annotations

import triton
import triton.language as tl


def _chunk_summary_kernel(
    x_ptr,
    a_ptr,
    phi_ptr,
    w_ptr,
    n_time,
    n_chunks,
    n_lanes,
    M: tl.constexpr,
    MP: tl.constexpr,
    CHUNK: tl.constexpr,
    BLOCK: tl.constexpr,
    TIME_VARYING: tl.constexpr,
    REVERSE: tl.constexpr,
    NEG_A: tl.constexpr,
    ACC: tl.constexpr,
):
    """Pass 1: per (row, chunk), the affine map from the chunk's start state to its end state.

    s_end = phi @ s_start + w, where w is the end state of the zero-state response to x and column j
    of phi is the end state of the zero-input response to the unit state e_j. The M basis responses
    and the zero-state response run side by side through the same CHUNK steps.
    """
    lane = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    lane_ok = lane < n_lanes
    row = (lane // n_chunks).to(tl.int64)
    start = (lane % n_chunks) * CHUNK
    length = tl.minimum(n_time - start, CHUNK)
    cols = tl.arange(0, MP)
    col_ok = cols < M

    # History as a circular buffer: the output of step t goes to column t % M, so the value of lag i
    # sits in column (t - i) % M and no register ever moves. Start state s[k] = step -1-k, column M-1-k.
    buf = tl.zeros([BLOCK, MP], dtype=ACC)
    basis = (cols[None, :] == (M - 1 - cols)[:, None]) & col_ok[:, None]  # basis[j, c]
    buf_b = tl.zeros([BLOCK, MP, MP], dtype=ACC) + basis[None, :, :].to(ACC)

    for t in range(CHUNK):
        valid = lane_ok & (t < length)
        lag = (t - cols - 1 + M) % M + 1  # lag of the value held in each column
        if REVERSE:
            n = n_time - 1 - (start + t)
            n_a = n[:, None] + lag[None, :]
            a_ok = valid[:, None] & col_ok[None, :] & (n_a < n_time)
        else:
            n = start + t
            n_a = n[:, None] + 0 * lag[None, :]
            a_ok = valid[:, None] & col_ok[None, :]
        if TIME_VARYING:
            a_off = (row[:, None] * n_time + n_a) * M + (lag - 1)[None, :]
        else:
            a_off = row[:, None] * M + (lag - 1)[None, :]
        coef = tl.load(a_ptr + a_off, mask=a_ok, other=0.0).to(ACC)
        xv = tl.load(x_ptr + row * n_time + n, mask=valid, other=0.0).to(ACC)
        if NEG_A:
            acc = xv + tl.sum(coef * buf, axis=1)
            acc_b = tl.sum(coef[:, None, :] * buf_b, axis=2)
        else:
            acc = xv - tl.sum(coef * buf, axis=1)
            acc_b = -tl.sum(coef[:, None, :] * buf_b, axis=2)
        put = (cols == t % M)[None, :] & valid[:, None]
        buf = tl.where(put, acc[:, None], buf)
        buf_b = tl.where(put[:, None, :], acc_b[:, :, None], buf_b)

    # Read the end state out of the circular buffer: s_end[k] = step length-1-k.
    col_k = (length[:, None] - 1 - cols[None, :] + M) % M  # (BLOCK, k)
    sel = cols[None, None, :] == col_k[:, :, None]  # (BLOCK, k, c)
    w = tl.sum(tl.where(sel, buf[:, None, :], 0.0), axis=2)
    phi = tl.sum(tl.where(sel[:, :, None, :], buf_b[:, None, :, :], 0.0), axis=3)  # (BLOCK, k, j)

    vec_ok = lane_ok[:, None] & col_ok[None, :]
    tl.store(w_ptr + lane.to(tl.int64)[:, None] * M + cols[None, :], w, mask=vec_ok)
    mat_off = lane.to(tl.int64)[:, None, None] * (M * M) + cols[None, :, None] * M + cols[None, None, :]
    mat_ok = vec_ok[:, :, None] & col_ok[None, None, :]
    tl.store(phi_ptr + mat_off, phi, mask=mat_ok)


def _chunk_output_kernel(
    x_ptr,
    a_ptr,
    s_ptr,
    y_ptr,
    n_time,
    n_chunks,
    n_lanes,
    M: tl.constexpr,
    MP: tl.constexpr,
    CHUNK: tl.constexpr,
    BLOCK: tl.constexpr,
    TIME_VARYING: tl.constexpr,
    REVERSE: tl.constexpr,
    NEG_A: tl.constexpr,
    ACC: tl.constexpr,
):
    """Pass 3: per (row, chunk), run the recursion from the chunk's exact start state and store y.

    Re-running from the true state (rather than adding a stored zero-state response and a
    correction) reads x and a once more but writes y only once and needs no (T, M) workspace.
    """
    lane = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    lane_ok = lane < n_lanes
    row = (lane // n_chunks).to(tl.int64)
    start = (lane % n_chunks) * CHUNK
    length = tl.minimum(n_time - start, CHUNK)
    cols = tl.arange(0, MP)
    col_ok = cols < M

    s_off = lane.to(tl.int64)[:, None] * M + (M - 1 - cols)[None, :]
    buf = tl.load(s_ptr + s_off, mask=lane_ok[:, None] & col_ok[None, :], other=0.0).to(ACC)

    for t in range(CHUNK):
        valid = lane_ok & (t < length)
        lag = (t - cols - 1 + M) % M + 1
        if REVERSE:
            n = n_time - 1 - (start + t)
            n_a = n[:, None] + lag[None, :]
            a_ok = valid[:, None] & col_ok[None, :] & (n_a < n_time)
        else:
            n = start + t
            n_a = n[:, None] + 0 * lag[None, :]
            a_ok = valid[:, None] & col_ok[None, :]
        if TIME_VARYING:
            a_off = (row[:, None] * n_time + n_a) * M + (lag - 1)[None, :]
        else:
            a_off = row[:, None] * M + (lag - 1)[None, :]
        coef = tl.load(a_ptr + a_off, mask=a_ok, other=0.0).to(ACC)
        xv = tl.load(x_ptr + row * n_time + n, mask=valid, other=0.0).to(ACC)
        if NEG_A:
            acc = xv + tl.sum(coef * buf, axis=1)
        else:
            acc = xv - tl.sum(coef * buf, axis=1)
        tl.store(y_ptr + row * n_time + n, acc.to(y_ptr.dtype.element_ty), mask=valid)
        put = (cols == t % M)[None, :] & valid[:, None]
        buf = tl.where(put, acc[:, None], buf)


def _affine_compose_kernel(
    phi_ptr,
    w_ptr,
    p_out_ptr,
    v_out_ptr,
    n_items,
    n_groups,
    n_lanes,
    M: tl.constexpr,
    MP: tl.constexpr,
    GROUP: tl.constexpr,
    BLOCK: tl.constexpr,
    ACC: tl.constexpr,
):
    """Compose GROUP consecutive affine maps s -> phi_c s + w_c into one: (P, v) per (row, group).

    Maps are applied in order c = g*GROUP, ..., so P = phi_last ... phi_first and v is the end state
    from a zero start state. Items past the end of a row are skipped (the identity map).
    """
    lane = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    lane_ok = lane < n_lanes
    row = (lane // n_groups).to(tl.int64)
    first = (lane % n_groups) * GROUP
    cols = tl.arange(0, MP)
    col_ok = cols < M
    eye = (cols[:, None] == cols[None, :]) & col_ok[:, None]
    mat = tl.zeros([BLOCK, MP, MP], dtype=ACC) + eye[None, :, :].to(ACC)
    vec = tl.zeros([BLOCK, MP], dtype=ACC)
    mat_idx = cols[:, None] * M + cols[None, :]
    mat_ok_c = col_ok[:, None] & col_ok[None, :]
    for c in range(GROUP):
        item = first + c
        valid = lane_ok & (item < n_items)
        base = row * n_items + item
        phi = tl.load(
            phi_ptr + base[:, None, None] * (M * M) + mat_idx[None, :, :],
            mask=valid[:, None, None] & mat_ok_c[None, :, :],
            other=0.0,
        ).to(ACC)
        w = tl.load(
            w_ptr + base[:, None] * M + cols[None, :], mask=valid[:, None] & col_ok[None, :], other=0.0
        ).to(ACC)
        new_mat = tl.sum(phi[:, :, :, None] * mat[:, None, :, :], axis=2)
        new_vec = tl.sum(phi * vec[:, None, :], axis=2) + w
        mat = tl.where(valid[:, None, None], new_mat, mat)
        vec = tl.where(valid[:, None], new_vec, vec)
    out = lane.to(tl.int64)
    tl.store(
        p_out_ptr + out[:, None, None] * (M * M) + mat_idx[None, :, :],
        mat,
        mask=lane_ok[:, None, None] & mat_ok_c[None, :, :],
    )
    tl.store(v_out_ptr + out[:, None] * M + cols[None, :], vec, mask=lane_ok[:, None] & col_ok[None, :])


def _affine_expand_kernel(
    phi_ptr,
    w_ptr,
    s0_ptr,
    s_out_ptr,
    n_items,
    n_groups,
    n_lanes,
    M: tl.constexpr,
    MP: tl.constexpr,
    GROUP: tl.constexpr,
    BLOCK: tl.constexpr,
    ACC: tl.constexpr,
):
    """Walk GROUP affine maps from a known group start state, storing every item's start state.

    s_out[row, c] = state before map c; s <- phi_c s + w_c. With one group per row this is the
    plain sequential carry across all chunks of a row.
    """
    lane = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    lane_ok = lane < n_lanes
    row = (lane // n_groups).to(tl.int64)
    first = (lane % n_groups) * GROUP
    cols = tl.arange(0, MP)
    col_ok = cols < M
    mat_idx = cols[:, None] * M + cols[None, :]
    mat_ok_c = col_ok[:, None] & col_ok[None, :]
    vec = tl.load(
        s0_ptr + lane.to(tl.int64)[:, None] * M + cols[None, :],
        mask=lane_ok[:, None] & col_ok[None, :],
        other=0.0,
    ).to(ACC)
    for c in range(GROUP):
        item = first + c
        valid = lane_ok & (item < n_items)
        base = row * n_items + item
        vec_ok = valid[:, None] & col_ok[None, :]
        tl.store(s_out_ptr + base[:, None] * M + cols[None, :], vec, mask=vec_ok)
        phi = tl.load(
            phi_ptr + base[:, None, None] * (M * M) + mat_idx[None, :, :],
            mask=valid[:, None, None] & mat_ok_c[None, :, :],
            other=0.0,
        ).to(ACC)
        w = tl.load(w_ptr + base[:, None] * M + cols[None, :], mask=vec_ok, other=0.0).to(ACC)
        vec = tl.sum(phi * vec[:, None, :], axis=2) + w


_KERNELS = {
    "chunk_summary": _chunk_summary_kernel,
    "chunk_output": _chunk_output_kernel,
    "affine_compose": _affine_compose_kernel,
    "affine_expand": _affine_expand_kernel,
}


def build() -> dict:
    """Decorate the kernel bodies with `triton.jit` in the current mode (compiled or interpreted).

    Returns:
        A dict from kernel name to a launchable Triton kernel.
    """
    return {name: triton.jit(fn) for name, fn in _KERNELS.items()}
