"""Triton kernel bodies for the chunked scan behind `triton_allpole` (undecorated; see `build`).

Only `zoo.filters.kernels.triton_allpole` imports this module, and only once Triton has imported.
The functions below are plain Python functions in Triton's language. `build` decorates them with
`triton.jit` on first use, once per mode, because Triton decides at decoration time whether a kernel
is compiled for the GPU or run by its CPU interpreter (``TRITON_INTERPRET=1``). For the same reason
the small arithmetic helpers are not called by global name but passed to the kernels as constexpr
arguments (LOAD, STORE, FMA): a kernel and its helpers are then always decorated in the same mode.
Nothing here calls Triton's own jit-decorated library functions (``tl.zeros``, ``tl.sum``...), which
were decorated when Triton was first imported and would not run under the interpreter otherwise.

Lanes. Every kernel is vectorised over *lanes*: a block of ``BLOCK`` independent (row, chunk) or
(row, group) pairs, one per thread, each of which runs a short sequential loop. A lane's state is a
tuple of M per-lane scalars (an M x M matrix: a tuple of M such tuples), unrolled at compile time
over the constexpr order M, so it lives in the thread's registers and no step needs a shuffle or a
layout conversion. (A (BLOCK, M) tile with a reduction over M was the first design; Triton spread
each lane over 4 threads and the M = 8 kernels spilled.) The M x M maps are split into blocks of NB
columns along a second grid axis so that large orders do not run out of registers.

Values. Each scalar is itself a tuple of P components: P = 1 for real data, P = 2 (re, im) for
complex data, which the host passes as `torch.view_as_real` float views. The helpers below are the
only places that know P.

Loads. The time loops load UNROLL steps of x and a into registers before computing them, so that
many independent loads are in flight per thread: a step's own arithmetic is far shorter than a
load's latency, and a store to y in between would otherwise stop the compiler from hoisting the
next loads above it (y might alias x).

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


# ----------------------------------------------------------------------------------- helpers
def _load(ptr, idx, mask, other, P: tl.constexpr, ACC: tl.constexpr):
    """Element `idx` of a real (P = 1) or interleaved complex (P = 2) array, as a P-tuple in ACC."""
    if P == 1:
        return (tl.load(ptr + idx, mask=mask, other=other).to(ACC),)
    else:
        re = tl.load(ptr + 2 * idx, mask=mask, other=other).to(ACC)
        return (re, tl.load(ptr + 2 * idx + 1, mask=mask, other=0.0).to(ACC))


def _store(ptr, idx, val, mask, P: tl.constexpr):
    """Store a P-tuple at element `idx`, cast to the array's dtype."""
    tl.store(ptr + P * idx, val[0].to(ptr.dtype.element_ty), mask=mask)
    if P == 2:
        tl.store(ptr + 2 * idx + 1, val[1].to(ptr.dtype.element_ty), mask=mask)


def _fma(acc, c, h, NEG: tl.constexpr, P: tl.constexpr):
    """acc + c*h, or acc - c*h with NEG, on P-tuples (complex product when P = 2)."""
    if P == 1:
        if NEG:
            return (acc[0] - c[0] * h[0],)
        else:
            return (acc[0] + c[0] * h[0],)
    else:
        re = c[0] * h[0] - c[1] * h[1]
        im = c[0] * h[1] + c[1] * h[0]
        if NEG:
            return (acc[0] - re, acc[1] - im)
        else:
            return (acc[0] + re, acc[1] + im)


def _load_map(phi_ptr, w_ptr, item, valid, IDENTITY: tl.constexpr, M: tl.constexpr, P: tl.constexpr,
              ACC: tl.constexpr, LOAD: tl.constexpr):
    """The affine map (phi[k][l], w[k]) of `item`; masked lanes get the identity map (or zeros)."""
    phi = ()
    w = ()
    for k in tl.static_range(M):
        w = w + (LOAD(w_ptr, item * M + k, valid, 0.0, P, ACC),)
        phi_k = ()
        for l in tl.static_range(M):
            other = 1.0 if (IDENTITY and k == l) else 0.0
            phi_k = phi_k + (LOAD(phi_ptr, item * (M * M) + k * M + l, valid, other, P, ACC),)
        phi = phi + (phi_k,)
    return phi, w


# ----------------------------------------------------------------------------------- kernels
def _chunk_kernel(
    x_ptr,
    a_ptr,
    s_ptr,
    y_ptr,
    phi_ptr,
    w_ptr,
    n_time,
    chunk,
    n_chunks,
    n_lanes,
    M: tl.constexpr,
    UNROLL: tl.constexpr,
    NB: tl.constexpr,
    BLOCK: tl.constexpr,
    SUMMARY: tl.constexpr,
    TIME_VARYING: tl.constexpr,
    REVERSE: tl.constexpr,
    NEG_A: tl.constexpr,
    P: tl.constexpr,
    ACC: tl.constexpr,
    LOAD: tl.constexpr,
    STORE: tl.constexpr,
    FMA: tl.constexpr,
):
    """One lane per (row, chunk) runs the recursion over its `chunk` steps. Two modes:

    `chunk` is a runtime multiple of UNROLL, so that changing it (it follows N and T) does not
    compile a new kernel.

    SUMMARY (pass 1): from a zero state, and side by side from the unit states e_j for the NB
    columns j of this program's column block, giving the chunk's affine map s_end = phi s_start + w
    (phi column j = end state from e_j; w = end state from zero). The last chunk of a row may be
    short; its map is never read (no chunk follows it), so its steps past the end are not masked out
    of the map. Writes phi (N, K, M, M) and w (N, K, M).

    Output (pass 3): from the chunk's exact start state s (N, K, M), writing y. Re-running from the
    true state (rather than adding a stored zero-state response and a correction) reads x and a once
    more but writes y only once and needs no (T, M) workspace.
    """
    lane = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    col0 = tl.program_id(1) * NB
    lane_ok = lane < n_lanes
    lane64 = lane.to(tl.int64)
    row = (lane // n_chunks).to(tl.int64)
    start = (lane % n_chunks) * chunk
    zero_r = tl.full([BLOCK], 0.0, dtype=ACC)
    zero = (zero_r,) * P
    one = (zero_r + 1.0,) + (zero_r,) * (P - 1)
    # Shift register of the M latest outputs, newest first: hist[i-1] = y[n-i].
    hist = ()
    basis = ()  # basis[j][k], SUMMARY only: the response to the unit start state e_{col0 + j}
    for k in tl.static_range(M):
        if SUMMARY:
            hist = hist + (zero,)
        else:
            hist = hist + (LOAD(s_ptr, lane64 * M + k, lane_ok, 0.0, P, ACC),)
    if SUMMARY:
        for j in tl.static_range(NB):
            unit = ()
            for k in tl.static_range(M):
                if P == 1:
                    unit = unit + ((tl.where(col0 + j == k, one[0], zero_r),),)
                else:
                    unit = unit + ((tl.where(col0 + j == k, one[0], zero_r), zero_r),)
            basis = basis + (unit,)

    for t0 in range(0, chunk, UNROLL):
        # Load phase: UNROLL steps of x and a, all independent of the recursion.
        xs = ()
        cs = ()
        ns = ()
        oks = ()
        for u in tl.static_range(UNROLL):
            valid = lane_ok & (start + t0 + u < n_time)
            if REVERSE:
                n = n_time - 1 - (start + t0 + u)
            else:
                n = start + t0 + u
            xs = xs + (LOAD(x_ptr, row * n_time + n, valid, 0.0, P, ACC),)
            cu = ()
            for i in tl.static_range(1, M + 1):
                if REVERSE:  # Eq. 7: lag i at time n uses conj(a[n+i, i-1]), zero past the end
                    a_ok = valid & (n + i < n_time)
                    n_a = n + i
                else:
                    a_ok = valid
                    n_a = n
                if TIME_VARYING:
                    coef = LOAD(a_ptr, (row * n_time + n_a) * M + (i - 1), a_ok, 0.0, P, ACC)
                else:
                    coef = LOAD(a_ptr, row * M + (i - 1), a_ok, 0.0, P, ACC)
                if P == 2 and REVERSE:
                    coef = (coef[0], -coef[1])
                if NEG_A:  # linear recurrence h[n] = c[n] h[n-1] + x[n]: a = -c
                    if P == 1:
                        coef = (-coef[0],)
                    else:
                        coef = (-coef[0], -coef[1])
                cu = cu + (coef,)
            cs = cs + (cu,)
            ns = ns + (n,)
            oks = oks + (valid,)
        # Compute phase.
        for u in tl.static_range(UNROLL):
            acc = xs[u]
            for i in tl.static_range(M, 0, -1):  # oldest lag first: y[n-1] ends the dependency chain
                acc = FMA(acc, cs[u][i - 1], hist[i - 1], True, P)
            hist = (acc,) + hist[: M - 1]
            if SUMMARY:
                shifted = ()
                for j in tl.static_range(NB):
                    acc_b = zero
                    for i in tl.static_range(M, 0, -1):
                        acc_b = FMA(acc_b, cs[u][i - 1], basis[j][i - 1], True, P)
                    shifted = shifted + ((acc_b,) + basis[j][: M - 1],)
                basis = shifted
            else:
                STORE(y_ptr, row * n_time + ns[u], acc, oks[u], P)

    if SUMMARY:
        for k in tl.static_range(M):
            STORE(w_ptr, lane64 * M + k, hist[k], lane_ok & (lane * 0 + col0 == 0), P)
            for j in tl.static_range(NB):
                STORE(phi_ptr, lane64 * (M * M) + k * M + col0 + j, basis[j][k], lane_ok & (lane * 0 + col0 + j < M), P)


def _affine_compose_kernel(
    phi_ptr,
    w_ptr,
    p_out_ptr,
    v_out_ptr,
    n_items,
    group,
    n_groups,
    n_lanes,
    M: tl.constexpr,
    NB: tl.constexpr,
    BLOCK: tl.constexpr,
    P: tl.constexpr,
    ACC: tl.constexpr,
    LOAD: tl.constexpr,
    STORE: tl.constexpr,
    FMA: tl.constexpr,
    LOAD_MAP: tl.constexpr,
    PREFETCH: tl.constexpr,
):
    """Compose `group` consecutive affine maps s -> phi_c s + w_c into one: (P, v) per (row, group).

    Maps are applied in order c = g*group, ..., so P = phi_last ... phi_first and v is the end state
    from a zero start state. Items past the end of a row load as the identity map. Columns of P
    evolve independently (P <- phi P column by column), so the second grid axis splits them into
    blocks of NB; block 0 also carries v.
    """
    lane = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    col0 = tl.program_id(1) * NB
    lane_ok = lane < n_lanes
    row = (lane // n_groups).to(tl.int64)
    first = (lane % n_groups) * group
    zero_r = tl.full([BLOCK], 0.0, dtype=ACC)
    zero = (zero_r,) * P
    mat = ()  # mat[l][j] = P[l, col0 + j]
    for l in tl.static_range(M):
        mrow = ()
        for j in tl.static_range(NB):
            mrow = mrow + ((tl.where(col0 + j == l, zero_r + 1.0, zero_r),) + (zero_r,) * (P - 1),)
        mat = mat + (mrow,)
    vec = (zero,) * M
    # The maps do not depend on the carried product, so with PREFETCH item c+1 is loaded while item c
    # is applied: the dependency chain per item is then M multiply-adds, not a memory round trip.
    # (It doubles the map registers, so large orders go without.)
    if PREFETCH:
        nxt_phi, nxt_w = LOAD_MAP(phi_ptr, w_ptr, row * n_items + first, lane_ok & (first < n_items), True, M, P, ACC,
                                  LOAD)
    for c in range(group):
        if PREFETCH:
            phi, w = nxt_phi, nxt_w
            ahead = lane_ok & (first + c + 1 < tl.minimum(first + group, n_items))
            nxt_phi, nxt_w = LOAD_MAP(phi_ptr, w_ptr, row * n_items + first + c + 1, ahead, True, M, P, ACC, LOAD)
        else:
            valid = lane_ok & (first + c < n_items)
            phi, w = LOAD_MAP(phi_ptr, w_ptr, row * n_items + first + c, valid, True, M, P, ACC, LOAD)
        new_mat = ()
        new_vec = ()
        for k in tl.static_range(M):
            phi_k = phi[k]
            v = w[k]
            for l in tl.static_range(M):
                v = FMA(v, phi_k[l], vec[l], False, P)
            new_vec = new_vec + (v,)
            mrow = ()
            for j in tl.static_range(NB):
                p = zero
                for l in tl.static_range(M):
                    p = FMA(p, phi_k[l], mat[l][j], False, P)
                mrow = mrow + (p,)
            new_mat = new_mat + (mrow,)
        mat = new_mat
        vec = new_vec
    out = lane.to(tl.int64)
    for k in tl.static_range(M):
        STORE(v_out_ptr, out * M + k, vec[k], lane_ok & (lane * 0 + col0 == 0), P)
        for j in tl.static_range(NB):
            STORE(p_out_ptr, out * (M * M) + k * M + col0 + j, mat[k][j], lane_ok & (lane * 0 + col0 + j < M), P)


def _affine_expand_kernel(
    phi_ptr,
    w_ptr,
    s0_ptr,
    s_out_ptr,
    n_items,
    group,
    n_groups,
    n_lanes,
    M: tl.constexpr,
    BLOCK: tl.constexpr,
    P: tl.constexpr,
    ACC: tl.constexpr,
    LOAD: tl.constexpr,
    STORE: tl.constexpr,
    FMA: tl.constexpr,
    LOAD_MAP: tl.constexpr,
    PREFETCH: tl.constexpr,
):
    """Walk `group` affine maps from a known group start state, storing every item's start state.

    s_out[row, c] = state before map c; s <- phi_c s + w_c. With one group per row this is the
    plain sequential carry across all chunks of a row.
    """
    lane = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    lane_ok = lane < n_lanes
    row = (lane // n_groups).to(tl.int64)
    first = (lane % n_groups) * group
    vec = ()
    for k in tl.static_range(M):
        vec = vec + (LOAD(s0_ptr, lane.to(tl.int64) * M + k, lane_ok, 0.0, P, ACC),)
    # With PREFETCH, item c+1's map is loaded while item c is applied (see the compose kernel).
    if PREFETCH:
        nxt_phi, nxt_w = LOAD_MAP(phi_ptr, w_ptr, row * n_items + first, lane_ok & (first < n_items), False, M, P, ACC,
                                  LOAD)
    for c in range(group):
        valid = lane_ok & (first + c < n_items)
        base = row * n_items + first + c
        if PREFETCH:
            phi, w = nxt_phi, nxt_w
            ahead = lane_ok & (first + c + 1 < tl.minimum(first + group, n_items))
            nxt_phi, nxt_w = LOAD_MAP(phi_ptr, w_ptr, base + 1, ahead, False, M, P, ACC, LOAD)
        else:
            phi, w = LOAD_MAP(phi_ptr, w_ptr, base, valid, False, M, P, ACC, LOAD)
        new_vec = ()
        for k in tl.static_range(M):
            STORE(s_out_ptr, base * M + k, vec[k], valid, P)
            v = w[k]
            for l in tl.static_range(M):
                v = FMA(v, phi[k][l], vec[l], False, P)
            new_vec = new_vec + (v,)
        vec = new_vec


_KERNELS = {
    "chunk": _chunk_kernel,
    "affine_compose": _affine_compose_kernel,
    "affine_expand": _affine_expand_kernel,
}
_HELPERS = {"LOAD": _load, "STORE": _store, "FMA": _fma}
_CARRY_HELPERS = {"LOAD_MAP": _load_map}
_RUNTIME_INTS = {
    "chunk": ["n_time", "chunk", "n_chunks", "n_lanes"],
    "affine_compose": ["n_items", "group", "n_groups", "n_lanes"],
    "affine_expand": ["n_items", "group", "n_groups", "n_lanes"],
}


def build() -> tuple[dict, dict, dict]:
    """Decorate the kernels and helpers with `triton.jit` in the current mode (compiled or interpreted).

    Returns:
        (kernels, helpers, carry_helpers): kernel name -> launchable kernel; the constexpr helper
        arguments every launch passes (LOAD, STORE, FMA); and those the two carry kernels also pass
        (LOAD_MAP).
    """
    # The integer arguments (lengths, counts) change with every shape: do not let Triton compile a
    # new variant each time one of them happens to be 1 or a multiple of 16.
    kernels = {name: triton.jit(fn, do_not_specialize=_RUNTIME_INTS[name]) for name, fn in _KERNELS.items()}
    helpers = {name: triton.jit(fn) for name, fn in _HELPERS.items()}
    carry_helpers = {name: triton.jit(fn) for name, fn in _CARRY_HELPERS.items()}
    return kernels, helpers, carry_helpers
