"""CUDA kernels (Triton) for the time-varying all-pole recursion and its adjoint, parallel over time.

    forward:  y[n] = x[n] - sum_{i=1..M} a[n, i-1] y[n-i],               y[-1-k] = zi[k]   (Eq. 1)
    reverse:  u[n] = g[n] - sum_{i=1..M} conj(a[n+i, i-1]) u[n+i],       a[n >= T] = 0     (Eq. 7)

(Yu et al., *Differentiable All-pole Filters for Time-varying Audio Systems*, DAFx 2024.) ``a``
omits a0 = 1. ``reverse`` is the gradient of ``forward`` with respect to x; the coefficient and
initial-state gradients (Eq. 8) are elementwise products that `zoo.filters` forms from y and u.

Method: an exact chunked scan, parallel over time for any order M.

1. *Chunk summary.* Split each row into chunks of C samples. One lane per (row, chunk) runs the
   recursion over its chunk from a zero state (giving the end state w) and, side by side, from each
   of the M unit states (giving the M x M chunk transition phi). So s_end = phi s_start + w.
2. *Carry.* The start state of every chunk follows from the affine recurrence s_{c+1} = phi_c s_c +
   w_c with s_0 = zi. It is solved hierarchically: groups of G chunk maps are composed in parallel,
   the group-level recurrence is solved the same way (recursively) until it is short enough to walk
   sequentially, then each group walks its own G maps from its now known start state.
3. *Output.* One lane per (row, chunk) re-runs the recursion from the exact start state and writes y.

Nothing is approximated: the result differs from the sequential loop only by rounding. ``reverse``
runs the same kernels walking time backwards and addressing the shifted coefficient a[n+i, i-1] in
place, so it costs no extra memory. Workspace: (N, T/C, M, M) for the chunk maps, a few percent of the
input for the default C.

Why Triton. It ships inside CUDA builds of PyTorch (nothing to compile ahead of time and no compiler
on a CPU-only install: the module imports Triton lazily and `import zoo.filters` works without it),
it compiles one specialised kernel per (M, dtype, mode) from a single source with M as a
compile-time constant, and its interpreter (``TRITON_INTERPRET=1``) runs the very same kernel source
on CPU tensors, so CI without a GPU tests the kernel logic itself. numba-cuda would also simulate on
CPU but is a separate, version-sensitive dependency with slower per-thread code; a
``torch.utils.cpp_extension`` JIT build needs nvcc and a host compiler on the user's machine.

Numerics. The per-sample passes run in the input's precision, but by default the chunk maps and
the carry across chunks run in float64 even for float32 data. The reason: with (nearly) constant
coefficients every chunk map is rounded the same way, so in float32 the carry sees one systematic
perturbation of the chunk-level pole, and the output error grows like eps / (1 - |pole|) instead of
the random-walk growth of a sequential loop (measured at T = 2^20, M = 2, |pole| = 0.9999: 6e-4 for
all-float32 maps vs 6e-6 with float64 maps vs 1.4e-5 for a sequential float32 loop). The float64
work is M (M + 1) multiply-adds per sample in pass 1 and a tiny carry, cheap on H100/H200-class
FP64 units; ``accumulate_dtype=torch.float32`` opts out (for GPUs with slow FP64), and
``accumulate_dtype=torch.float64`` computes everything in float64 while reading and writing float32.
docs/gpu.md has the full table of error against T and pole radius.

Complex data (complex64/complex128) runs through the same kernels: Triton has no complex type, so
complex tensors are passed as interleaved (re, im) float views and every value inside the kernels is
a (re, im) pair; three small helpers (load, store, multiply-add) are the only code that knows it.
"""

from __future__ import annotations

import math
import os
from functools import lru_cache

import torch
from torch import Tensor

from .scan_reference import chunked_scan_reference
# The code below looks these names up in this module, so patching them here (as the tests do with
# `_column_block`) reaches it; the private names also stay importable from here.
from .triton_checks import (  # noqa: F401
    _SUPPORTED,
    _check_chunk,
    _check_coefficients,
    _check_same,
    _check_signal,
    _resolve_acc,
)
from .triton_tuning import (  # noqa: F401
    _MAX_CHUNK,
    _MIN_CHUNK,
    _TARGET_LANES,
    _column_block,
    _lanes_per_program,
    _next_pow2,
    _unroll,
    choose_chunk_size,
)

__all__ = [
    "allpole_forward_cuda",
    "allpole_reverse_cuda",
    "linear_recurrence_cuda",
    "chunked_scan_reference",
    "triton_available",
    "interpreter_enabled",
    "choose_chunk_size",
]

# Group size of the hierarchical carry, and the longest chain walked sequentially by one lane.
_GROUP = 32
_SEQUENTIAL_MAX = 64
# The carry kernels load the next chunk map ahead while an M x M map takes at most this many bytes.
_PREFETCH_BYTES = 512


@lru_cache(maxsize=None)
def triton_available() -> bool:
    """Whether Triton can be imported (it ships with CUDA builds of PyTorch).

    Returns:
        True if ``import triton`` succeeds. It says nothing about a GPU being present.
    """
    try:
        import triton  # noqa: F401
        import triton.language  # noqa: F401
    except Exception:  # ImportError, or a broken install raising something else at import
        return False
    return True


def interpreter_enabled() -> bool:
    """Whether ``TRITON_INTERPRET=1`` is set, in which case the kernels run on CPU tensors.

    Returns:
        True if the environment asks for Triton's interpreter.
    """
    return os.environ.get("TRITON_INTERPRET", "0").strip().lower() in ("1", "true", "yes", "on")


@lru_cache(maxsize=2)
def _kernels(interpret: bool) -> tuple[dict, dict, dict]:
    # Triton fixes compiled-vs-interpreted when a kernel is decorated, so decorate once per mode.
    del interpret  # the cache key; triton.jit reads the same environment variable itself
    from zoo.filters.kernels import triton_scan_kernels

    return triton_scan_kernels.build()

def _check_runnable(sig: Tensor) -> None:
    if not triton_available():
        raise ImportError(
            "The CUDA all-pole kernels need Triton, which ships with CUDA builds of PyTorch "
            "(or: pip install triton)"
        )
    if not sig.is_cuda and not interpreter_enabled():
        raise ValueError(
            f"Unexpected device: the Triton kernels need CUDA tensors (or TRITON_INTERPRET=1), found {sig.device}"
        )


def _real_view(t: Tensor) -> Tensor:
    # Triton has no complex type: complex arrays go in as interleaved (re, im) float views.
    return torch.view_as_real(t) if t.is_complex() else t


def _affine_scan(phi: Tensor, w: Tensor, s0: Tensor, launch: dict) -> Tensor:
    """Start states of s_{c+1} = phi_c s_c + w_c with s_0 = s0, solved hierarchically.

    Shapes: phi (N, K, M, M), w (N, K, M), s0 (N, M) -> (N, K, M). Groups of _GROUP maps are composed
    in parallel, the group-level recurrence is solved recursively, then each group walks its maps.
    """
    n_rows, n_items, order = w.shape
    kern, common = launch["kernels"], {**launch["common"], **launch["carry_helpers"]}
    # Prefetching the next map doubles its registers: only while a map is small.
    common["PREFETCH"] = order * order * w.dtype.itemsize <= _PREFETCH_BYTES
    block = _lanes_per_program(order)
    states = torch.empty_like(w)
    if n_items <= _SEQUENTIAL_MAX:
        group, n_groups, starts = n_items, 1, s0
    else:
        group = _GROUP
        n_groups = math.ceil(n_items / group)
        mat = phi.new_empty(n_rows, n_groups, order, order)
        vec = w.new_empty(n_rows, n_groups, order)
        n_lanes = n_rows * n_groups
        nb = launch["column_block"]
        grid = (math.ceil(n_lanes / block), math.ceil(order / nb))
        kern["affine_compose"][grid](
            *map(_real_view, (phi, w, mat, vec)), n_items, group, n_groups, n_lanes, NB=nb, BLOCK=block, **common
        )
        starts = _affine_scan(mat, vec, s0, launch)
    n_lanes = n_rows * n_groups
    kern["affine_expand"][(math.ceil(n_lanes / block),)](
        *map(_real_view, (phi, w, starts, states)), n_items, group, n_groups, n_lanes, BLOCK=block, **common
    )
    return states


def _tl_dtype(dtype: torch.dtype):
    import triton.language as tl

    return tl.float64 if dtype == torch.float64 else tl.float32


def _run(
    x: Tensor,
    a: Tensor,
    s0: Tensor | None,
    *,
    reverse: bool,
    neg_a: bool,
    precision: tuple[torch.dtype, torch.dtype],
    chunk_size: int | None,
) -> Tensor:
    n_rows, n_time = x.shape
    order = a.shape[-1]
    x = x.contiguous()
    a = a.contiguous()
    y = torch.empty_like(x, memory_format=torch.contiguous_format)
    if n_rows == 0 or n_time == 0:
        return y
    if order == 0:
        return y.copy_(x)
    if x.is_cuda:  # Triton launches on the current device: make it the data's
        with torch.cuda.device(x.device):
            return _launch(x, a, s0, y, reverse=reverse, neg_a=neg_a, precision=precision, chunk_size=chunk_size)
    return _launch(x, a, s0, y, reverse=reverse, neg_a=neg_a, precision=precision, chunk_size=chunk_size)


def _launch(
    x: Tensor,
    a: Tensor,
    s0: Tensor | None,
    y: Tensor,
    *,
    reverse: bool,
    neg_a: bool,
    precision: tuple[torch.dtype, torch.dtype],
    chunk_size: int | None,
) -> Tensor:
    """The three passes on contiguous (N, T) x, a and an output y; returns y."""
    n_rows, n_time = x.shape
    order = a.shape[-1]
    kernels, helpers, carry_helpers = _kernels(interpreter_enabled())
    chunk = choose_chunk_size(n_rows, n_time, order) if chunk_size is None else chunk_size
    n_chunks = math.ceil(n_time / chunk)
    n_lanes = n_rows * n_chunks
    block = _lanes_per_program(order)
    sample_dtype, map_dtype = precision
    # Workspace (chunk maps and states) in the maps' precision, complex if the data is.
    work_dtype = map_dtype.to_complex() if x.is_complex() else map_dtype
    common = dict(M=order, P=2 if x.is_complex() else 1, ACC=_tl_dtype(map_dtype), **helpers)
    launch = {
        "kernels": kernels,
        "common": common,
        "carry_helpers": carry_helpers,
        "column_block": _column_block(order, work_dtype, 128),
    }
    flags = dict(
        UNROLL=_unroll(order, chunk),
        BLOCK=block,
        TIME_VARYING=a.dim() == 3,
        REVERSE=reverse,
        NEG_A=neg_a,
        **common,
    )
    out_flags = {**flags, "ACC": _tl_dtype(sample_dtype)}
    if s0 is None:
        s0 = torch.zeros(n_rows, order, dtype=work_dtype, device=x.device)
    else:
        s0 = s0.to(work_dtype).contiguous()
    xr, ar = _real_view(x), _real_view(a)
    if n_chunks == 1:
        states = s0
    else:
        phi = torch.empty(n_rows, n_chunks, order, order, dtype=work_dtype, device=x.device)
        w = torch.empty(n_rows, n_chunks, order, dtype=work_dtype, device=x.device)
        nb = _column_block(order, work_dtype)
        grid = (math.ceil(n_lanes / block), math.ceil(order / nb))
        # Pass 1 (y and s are unused there: x stands in for them).
        phi_r, w_r = _real_view(phi), _real_view(w)
        kernels["chunk"][grid](
            xr, ar, xr, xr, phi_r, w_r, n_time, chunk, n_chunks, n_lanes, NB=nb, SUMMARY=True, **flags
        )
        states = _affine_scan(phi, w, s0, launch)  # pass 2
    # Pass 3 (phi and w are unused there).
    sr = _real_view(states)
    kernels["chunk"][(math.ceil(n_lanes / block), 1)](
        xr, ar, sr, _real_view(y), sr, sr, n_time, chunk, n_chunks, n_lanes, NB=1, SUMMARY=False, **out_flags
    )
    return y


def allpole_forward_cuda(
    x: Tensor,
    a: Tensor,
    zi: Tensor | None = None,
    *,
    accumulate_dtype: torch.dtype | None = None,
    chunk_size: int | None = None,
) -> Tensor:
    """Time-varying all-pole filter on CUDA, parallel over time (exact chunked scan).

    y[n] = x[n] - sum_{i=1..M} a_i[n] y[n-i]   (Eq. 1 of Yu et al., DAFx 2024), y[-1-k] = zi[k].

    Args:
        x: input signal.
        a: denominator coefficients without a0 = 1, time-varying or time-invariant.
        zi: past outputs, zi[:, k] = y[-1-k]. Default: zeros.
        accumulate_dtype: precision of the arithmetic. None (default): the input's precision for
            the per-sample passes, float64 for the chunk maps and the carry across chunks (this
            keeps float32 as accurate as a sequential float32 loop near the unit circle; see the
            module doc). torch.float64: float64 everywhere, reading and writing the input dtype.
            torch.float32: float32 everywhere (fastest on GPUs with slow float64; error grows
            like eps / (1 - |pole|)). For complex input these name the component precision
            (torch.complex64 / torch.complex128 are accepted as synonyms).
        chunk_size: chunk length C (power of two); None picks one from N and T.

    Shape:
        x: (N, T). a: (N, T, M) or (N, M). zi: (N, M). Returns (N, T).

    Returns:
        y, same dtype and device as x.

    Raises:
        TypeError: a dtype other than float32/float64/complex64/complex128, or mismatched dtypes.
        ValueError: bad shapes, mixed devices, or a CPU tensor without ``TRITON_INTERPRET=1``.
        ImportError: Triton is missing.

    Supports:
        CUDA (and CPU under Triton's interpreter); no autograd of its own: `zoo.filters.allpole`
        wraps it (its backward calls `allpole_reverse_cuda`).
    """
    _check_signal("x", x)
    _check_coefficients("a", a, x, "x")
    order = a.shape[-1]
    if zi is not None:
        if not isinstance(zi, Tensor) or zi.shape != (x.shape[0], order):
            found = tuple(zi.shape) if isinstance(zi, Tensor) else type(zi).__name__
            raise ValueError(f"Unexpected shape for `zi`: expected ({x.shape[0]}, {order}), found {found}")
        _check_same("zi", zi, x, "x")
    _check_chunk(chunk_size)
    acc = _resolve_acc(x.dtype, accumulate_dtype)
    _check_runnable(x)
    return _run(x, a, zi, reverse=False, neg_a=False, precision=acc, chunk_size=chunk_size)


def allpole_reverse_cuda(
    g: Tensor,
    a: Tensor,
    *,
    accumulate_dtype: torch.dtype | None = None,
    chunk_size: int | None = None,
) -> Tensor:
    """Adjoint all-pole recursion run backwards in time on CUDA: the gradient of the filter wrt x.

    u[n] = g[n] - sum_{i=1..M} conj(a_i[n+i]) u[n+i]   (Eq. 7), with a_i[n] = 0 for n >= T and
    u[n >= T] = 0. For time-invariant a the coefficient is a_i for n+i < T and 0 beyond.

    Args:
        g: upstream gradient dL/dy.
        a: the forward coefficients (not shifted, not flipped), as in `allpole_forward_cuda`.
        accumulate_dtype: as in `allpole_forward_cuda`.
        chunk_size: as in `allpole_forward_cuda`.

    Shape:
        g: (N, T). a: (N, T, M) or (N, M). Returns (N, T).

    Returns:
        u = dL/dx, same dtype and device as g.

    Raises:
        TypeError, ValueError, ImportError: as `allpole_forward_cuda`.

    Supports:
        CUDA (and CPU under Triton's interpreter). The flipped, shifted coefficients are addressed in
        place, never materialised.
    """
    _check_signal("g", g)
    _check_coefficients("a", a, g, "g")
    _check_chunk(chunk_size)
    acc = _resolve_acc(g.dtype, accumulate_dtype)
    _check_runnable(g)
    return _run(g, a, None, reverse=True, neg_a=False, precision=acc, chunk_size=chunk_size)


def linear_recurrence_cuda(
    x: Tensor,
    c: Tensor,
    h0: Tensor | None = None,
    *,
    accumulate_dtype: torch.dtype | None = None,
    chunk_size: int | None = None,
) -> Tensor:
    """First-order linear recurrence on CUDA: h[n] = c[n] h[n-1] + x[n], h[-1] = h0.

    This is `allpole_forward_cuda` with M = 1 and a = -c; the sign is folded into the kernel, so no
    negated copy of c is made.

    Args:
        x: input.
        c: decay, time-varying or time-invariant.
        h0: initial state h[-1]. Default: zeros.
        accumulate_dtype: as in `allpole_forward_cuda`.
        chunk_size: as in `allpole_forward_cuda`.

    Shape:
        x: (N, T). c: (N, T) or (N,). h0: (N,). Returns (N, T).

    Returns:
        h, same dtype and device as x.

    Raises:
        TypeError, ValueError, ImportError: as `allpole_forward_cuda`.

    Supports:
        CUDA (and CPU under Triton's interpreter).
    """
    _check_signal("x", x)
    if not isinstance(c, Tensor) or c.shape not in (x.shape, x.shape[:1]):
        found = tuple(c.shape) if isinstance(c, Tensor) else type(c).__name__
        raise ValueError(f"Unexpected shape for `c`: expected {tuple(x.shape)} or ({x.shape[0]},), found {found}")
    _check_same("c", c, x, "x")
    if h0 is not None:
        if not isinstance(h0, Tensor) or h0.shape != x.shape[:1]:
            found = tuple(h0.shape) if isinstance(h0, Tensor) else type(h0).__name__
            raise ValueError(f"Unexpected shape for `h0`: expected ({x.shape[0]},), found {found}")
        _check_same("h0", h0, x, "x")
        h0 = h0.unsqueeze(-1)
    _check_chunk(chunk_size)
    acc = _resolve_acc(x.dtype, accumulate_dtype)
    _check_runnable(x)
    return _run(x, c.unsqueeze(-1), h0, reverse=False, neg_a=True, precision=acc, chunk_size=chunk_size)
