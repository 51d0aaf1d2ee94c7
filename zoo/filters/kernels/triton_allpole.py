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

Numerics: float32 input is accumulated in float32 by default; pass ``accumulate_dtype=torch.float64``
to accumulate (and keep the chunk maps) in float64 while reading and writing float32. See
docs/gpu.md for the error growth over T for poles near the unit circle.

Complex dtypes are not supported here: Triton has no complex type, so each product would have to be
spelled out on real and imaginary parts in every kernel. `zoo.filters` keeps complex on its other
paths.
"""

from __future__ import annotations

import math
import os
from functools import lru_cache

import torch
from torch import Tensor

__all__ = [
    "allpole_forward_cuda",
    "allpole_reverse_cuda",
    "linear_recurrence_cuda",
    "chunked_scan_reference",
    "triton_available",
    "interpreter_enabled",
    "choose_chunk_size",
]

_SUPPORTED = (torch.float32, torch.float64, torch.complex64, torch.complex128)
# Lanes (independent (row, chunk) pairs) to aim for: enough to fill an H100/H200 several times over.
_TARGET_LANES = 32768
_MIN_CHUNK = 16
_MAX_CHUNK = 1024
# Group size of the hierarchical carry, and the longest chain walked sequentially by one lane.
_GROUP = 32
_SEQUENTIAL_MAX = 64


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
def _kernels(interpret: bool) -> tuple[dict, dict]:
    # Triton fixes compiled-vs-interpreted when a kernel is decorated, so decorate once per mode.
    del interpret  # the cache key; triton.jit reads the same environment variable itself
    from zoo.filters.kernels import triton_scan_kernels

    return triton_scan_kernels.build()


def _next_pow2(value: int) -> int:
    return 1 if value <= 1 else 1 << (value - 1).bit_length()


def choose_chunk_size(n_rows: int, n_time: int) -> int:
    """Default chunk length C: enough (row, chunk) lanes to fill the GPU, within [16, 1024].

    Args:
        n_rows: number of independent rows N.
        n_time: signal length T.

    Returns:
        A power of two.
    """
    wanted = math.ceil(max(n_rows, 1) * max(n_time, 1) / _TARGET_LANES)
    return int(min(max(_next_pow2(wanted), _MIN_CHUNK), _MAX_CHUNK))


def _lanes_per_program(order: int) -> int:
    # One lane per thread, 4 warps per program.
    return 128 if order <= 8 else 64


def _column_block(order: int, work_dtype: torch.dtype) -> int:
    # Columns of an M x M map held per lane: about 64 32-bit registers' worth of matrix entries.
    budget = 256 // work_dtype.itemsize
    return max(1, min(order, budget // order))


def _unroll(order: int, chunk: int) -> int:
    # Steps loaded ahead per lane: about 40 loads in flight, a power of two dividing the chunk.
    steps = max(1, min(16, 40 // (order + 1)))
    return min(1 << (steps.bit_length() - 1), chunk)


def _resolve_acc(dtype: torch.dtype, accumulate_dtype: torch.dtype | None) -> torch.dtype:
    """The real precision of the arithmetic: float32 or float64 (complex data: per component)."""
    own = dtype.to_real() if dtype.is_complex else dtype
    if accumulate_dtype is None:
        return own
    if accumulate_dtype not in _SUPPORTED:
        raise TypeError(
            f"Unexpected `accumulate_dtype`: expected torch.float32, torch.float64 or None, "
            f"found {accumulate_dtype}"
        )
    acc = accumulate_dtype.to_real() if accumulate_dtype.is_complex else accumulate_dtype
    if acc == torch.float32 and own == torch.float64:
        raise ValueError("Unexpected `accumulate_dtype`: float32 accumulation of float64 input loses precision")
    return acc


def _check_signal(name: str, sig: Tensor) -> None:
    if not isinstance(sig, Tensor):
        raise TypeError(f"Unexpected type for `{name}`: expected a Tensor, found {type(sig).__name__}")
    if sig.dim() != 2:
        raise ValueError(f"Unexpected shape for `{name}`: expected (N, T), found {tuple(sig.shape)}")
    if sig.dtype not in _SUPPORTED:
        raise TypeError(
            f"Unexpected dtype for `{name}`: expected float32, float64, complex64 or complex128, found {sig.dtype}"
        )


def _check_coefficients(name: str, coef: Tensor, sig: Tensor, sig_name: str) -> None:
    n_rows, n_time = sig.shape
    if not isinstance(coef, Tensor):
        raise TypeError(f"Unexpected type for `{name}`: expected a Tensor, found {type(coef).__name__}")
    if coef.dim() == 3:
        if coef.shape[:2] != (n_rows, n_time):
            raise ValueError(
                f"Unexpected shape for `{name}`: expected ({n_rows}, {n_time}, M), found {tuple(coef.shape)}"
            )
    elif coef.dim() == 2:
        if coef.shape[0] != n_rows:
            raise ValueError(f"Unexpected shape for `{name}`: expected ({n_rows}, M), found {tuple(coef.shape)}")
    else:
        raise ValueError(
            f"Unexpected shape for `{name}`: expected (N, T, M) or (N, M), found {tuple(coef.shape)}"
        )
    _check_same(name, coef, sig, sig_name)


def _check_same(name: str, tensor: Tensor, ref: Tensor, ref_name: str) -> None:
    if tensor.dtype != ref.dtype:
        raise TypeError(f"Unexpected dtype for `{name}`: expected {ref.dtype} (that of `{ref_name}`), found {tensor.dtype}")
    if tensor.device != ref.device:
        raise ValueError(
            f"Unexpected device for `{name}`: expected {ref.device} (that of `{ref_name}`), found {tensor.device}"
        )


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
    kern, common = launch["kernels"], launch["common"]
    n_rows, n_items, order = w.shape
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
            *map(_real_view, (phi, w, mat, vec)), n_items, n_groups, n_lanes, GROUP=group, NB=nb, BLOCK=block, **common
        )
        starts = _affine_scan(mat, vec, s0, launch)
    n_lanes = n_rows * n_groups
    kern["affine_expand"][(math.ceil(n_lanes / block),)](
        *map(_real_view, (phi, w, starts, states)), n_items, n_groups, n_lanes, GROUP=group, BLOCK=block, **common
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
    acc_dtype: torch.dtype,
    chunk_size: int | None,
) -> Tensor:
    n_rows, n_time = x.shape
    order = a.shape[-1]
    y = torch.empty_like(x)
    if n_rows == 0 or n_time == 0:
        return y
    if order == 0:
        return y.copy_(x)
    kernels, helpers = _kernels(interpreter_enabled())
    chunk = choose_chunk_size(n_rows, n_time) if chunk_size is None else chunk_size
    n_chunks = math.ceil(n_time / chunk)
    n_lanes = n_rows * n_chunks
    block = _lanes_per_program(order)
    # Workspace (chunk maps and states) in the accumulation precision, complex if the data is.
    work_dtype = acc_dtype.to_complex() if x.is_complex() else acc_dtype
    common = dict(M=order, P=2 if x.is_complex() else 1, ACC=_tl_dtype(acc_dtype), **helpers)
    launch = {"kernels": kernels, "common": common, "column_block": _column_block(order, work_dtype)}
    x = x.contiguous()
    a = a.contiguous()
    flags = dict(
        CHUNK=chunk,
        UNROLL=_unroll(order, chunk),
        BLOCK=block,
        TIME_VARYING=a.dim() == 3,
        REVERSE=reverse,
        NEG_A=neg_a,
        **common,
    )
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
        nb = launch["column_block"]
        grid = (math.ceil(n_lanes / block), math.ceil(order / nb))
        # Pass 1 (y and s are unused there: x stands in for them).
        kernels["chunk"][grid](
            xr, ar, xr, xr, _real_view(phi), _real_view(w), n_time, n_chunks, n_lanes, NB=nb, SUMMARY=True, **flags
        )
        states = _affine_scan(phi, w, s0, launch)  # pass 2
    # Pass 3 (phi and w are unused there).
    sr = _real_view(states)
    kernels["chunk"][(math.ceil(n_lanes / block), 1)](
        xr, ar, sr, _real_view(y), sr, sr, n_time, n_chunks, n_lanes, NB=1, SUMMARY=False, **flags
    )
    return y


def _check_chunk(chunk_size: int | None) -> None:
    if chunk_size is not None and (chunk_size < 1 or chunk_size & (chunk_size - 1)):
        raise ValueError(f"Unexpected `chunk_size`: expected a power of two >= 1, found {chunk_size}")


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
        accumulate_dtype: dtype of the arithmetic and of the carried chunk states; None (default)
            uses the input dtype. torch.float64 with float32 input gives float64 accumulation.
        chunk_size: chunk length C (power of two); None picks one from N and T.

    Shape:
        x: (N, T). a: (N, T, M) or (N, M). zi: (N, M). Returns (N, T).

    Returns:
        y, same dtype and device as x.

    Raises:
        TypeError: a dtype other than float32/float64 (complex included) or mismatched dtypes.
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
    return _run(x, a, zi, reverse=False, neg_a=False, acc_dtype=acc, chunk_size=chunk_size)


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
    return _run(g, a, None, reverse=True, neg_a=False, acc_dtype=acc, chunk_size=chunk_size)


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
    return _run(x, c.unsqueeze(-1), h0, reverse=False, neg_a=True, acc_dtype=acc, chunk_size=chunk_size)


def chunked_scan_reference(
    x: Tensor,
    a: Tensor,
    zi: Tensor | None = None,
    *,
    chunk_size: int = 64,
    reverse: bool = False,
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

    Shape:
        x: (N, T). a: (N, T, M) or (N, M). zi: (N, M). Returns (N, T).

    Returns:
        y (or u), same dtype as x.
    """
    n_rows, n_time = x.shape
    order = a.shape[-1]
    if order == 0 or n_time == 0:
        return x.clone()
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
        hist = list(state.unbind(-1))  # hist[i-1] = lag i
        outs = []
        for t in range(chunk_size):
            coef = ac[:, :, t]  # (N, K, M); broadcasts over the basis axis j of the unit responses
            acc = drive[..., t] if drive is not None else torch.zeros_like(hist[0])
            for i in range(order, 0, -1):  # oldest lag first, as in the kernels
                acc = acc - coef[..., i - 1] * hist[i - 1]
            live = t < length  # (K,): the short last chunk stops moving once it runs out
            hist = [torch.where(live, acc, hist[0])] + [
                torch.where(live, hist[i - 1], hist[i]) for i in range(1, order)
            ]
            outs.append(acc)
        return torch.stack(outs, -1), torch.stack(hist, -1)

    zero = x.new_zeros(n_rows, n_chunks, order)
    _, w = run(zero, xc)
    eye = torch.eye(order, dtype=x.dtype, device=x.device)
    basis = eye[:, None, None, :].expand(order, n_rows, n_chunks, order)  # (j, N, K, M)
    _, ends = run(basis, None)  # (j, N, K, k)
    phi = ends.permute(1, 2, 3, 0)  # (N, K, k, j)
    states = [zi if zi is not None else x.new_zeros(n_rows, order)]
    for c in range(n_chunks - 1):
        states.append((phi[:, c] @ states[-1].unsqueeze(-1)).squeeze(-1) + w[:, c])
    y, _ = run(torch.stack(states, 1), xc)
    y = y.reshape(n_rows, -1)[:, :n_time]
    return y.flip(-1) if reverse else y
