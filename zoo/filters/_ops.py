"""`torch.library` custom ops around the compute kernels, so `torch.compile` sees them without graph breaks.

These ops are *primitives*: they are not differentiable themselves. Autograd, forward-mode AD and
vmap are provided one level up, in `zoo.filters.autograd`, by `torch.autograd.Function`s that call
these ops (and, for vmap, by the batching rules registered here).

Shapes seen by every op: signals (N, T), time-varying coefficients (N, T, M), time-invariant
coefficients and states (N, M). Inputs are contiguous and share dtype and device (the public
functions in `zoo.filters.allpole` make sure of it).
"""

from __future__ import annotations

import torch
from torch import Tensor

import threading

import numba

from . import _buffers
from .dispatch import SERIAL_MAX_ROWS, eager_cpu
from .gradients import coefficient_grad, initial_state_grad
from .kernels import numba_cpu, numba_unrolled
from .kernels.generate_unrolled import ORDERS as UNROLLED_ORDERS
from .kernels.generate_unrolled import STREAM_ORDERS


#: the fused backward streams its coefficient gradient past the cache (non-temporal stores) from
#: this size up: a gradient this large would not stay cached for its consumer anyway, and the
#: stores then cost one memory write instead of a read and a write. See `kernels.stream_store`.
STREAM_MIN_BYTES = 16 << 20


def _streams(grad_a: Tensor) -> bool:
    """Whether the fused backward may write ``grad_a`` (N, T, M) with streaming stores: a real dtype,
    an order with a streaming kernel whose per-sample block fills whole 64-byte lines (partial lines
    made streaming as fast or much slower), large enough, and 64-byte aligned (what the kernel
    assumes: PyTorch's CPU allocations are, but a caller's buffer need not be)."""
    return (
        grad_a.dim() == 3
        and grad_a.shape[-1] in STREAM_ORDERS
        and grad_a.dtype in (torch.float32, torch.float64)
        and grad_a.shape[-1] * grad_a.itemsize % 64 == 0
        and grad_a.nbytes >= STREAM_MIN_BYTES
        and grad_a.data_ptr() % 64 == 0
    )


def _kernel(name: str, rows: int, order: int | None = None, min_time: bool = True, stream: bool = False):
    """The Numba kernel for ``name``: the unrolled one for ``order`` when there is one (and
    ``min_time``, the unrolled kernel's length condition, holds), its streaming-store twin when
    ``stream``, the serial twin for few rows."""
    suffix = "_serial" if rows <= SERIAL_MAX_ROWS else ""
    if order in UNROLLED_ORDERS and min_time:
        stream_suffix = "_stream" if stream and order in STREAM_ORDERS else ""
        return getattr(numba_unrolled, f"{name}_{order}{stream_suffix}{suffix}")
    return getattr(numba_cpu, f"{name}{suffix}")


_COMPILED: set[tuple[object, torch.dtype]] = set()
_COMPILE_LOCK = threading.Lock()


def _run(kernel, dtype: torch.dtype, *arrays, slp: bool = True) -> None:
    """Call a kernel; the first call per (kernel, dtype) compiles it, with LLVM's SLP vectorizer on
    when ``slp``.

    Numba leaves SLP vectorization off by default (numba/numba#8852: miscompilations with older
    LLVMs) and only offers a process-wide switch, read when a function is compiled. Our kernels
    need it (the coefficient gradient's block of M stores becomes vector stores): measured in one
    process on the unrolled pair loops (float32, T = 2^16), the fused backward gets 1.0x / 1.15x /
    1.2x / 1.35x / 1.76x faster at M = 1 / 2 / 4 / 8 / 16 and the forward 1.0-1.13x, while the
    reverse-only loop gets 0.87-1.0x, so the reverse kernels are compiled without it. Every variant
    is checked against the float64 oracle in ``tests/filters/test_reference_equality.py``. The
    switch is turned on around our own first calls only, and restored, leaving the user's Numba
    code as configured.

    "First call" is per compiled specialisation: Numba compiles a kernel once per argument types,
    and an array's type includes its layout (C-contiguous or not), so the key holds every array's
    contiguity too. (Keyed on the dtype alone, a C-contiguous call after a strided one compiled
    the C specialisation with the switch off, and the on-disk cache kept that slower code for
    every later process: up to 1.4x slower fused backward at M = 8.)
    """
    key = (kernel, dtype, tuple(a.flags.c_contiguous for a in arrays))
    if key in _COMPILED:
        kernel(*arrays)
        return
    with _COMPILE_LOCK:
        previous = numba.config.SLP_VECTORIZE
        numba.config.SLP_VECTORIZE = int(slp)
        try:
            kernel(*arrays)
        finally:
            numba.config.SLP_VECTORIZE = previous
        _COMPILED.add(key)

__all__ = ["allpole_forward", "allpole_reverse", "allpole_backward", "eager_cpu"]


def _np(t: Tensor):
    return t.detach().numpy()


def _cuda_kernels():
    try:
        from .kernels import triton_allpole
    except ImportError as err:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "zoo.filters on CUDA tensors needs Triton, which ships with the CUDA builds of PyTorch"
        ) from err
    if not triton_allpole.triton_available():  # pragma: no cover
        raise RuntimeError("zoo.filters on CUDA tensors needs Triton, which is not importable here")
    return triton_allpole


# ----------------------------------------------------------------------------------------- forward
def allpole_forward_cpu(x: Tensor, a: Tensor, zi: Tensor) -> Tensor:
    """y[n] = x[n] - sum_i a[n, i-1] y[n-i], y[-1-k] = zi[k]. x (N, T); a (N, T, M) or (N, M)."""
    y = _buffers.empty(x.shape, x.dtype)
    if x.shape[-1] == 0:
        return y
    if a.dim() == 3:
        kernel = _kernel("allpole_forward_tv", x.shape[0], a.shape[-1])
    else:
        kernel = _kernel("allpole_forward_ti", x.shape[0])
    _run(kernel, x.dtype, _np(x), _np(a), _np(zi), y.numpy())
    return y


allpole_forward = torch.library.custom_op("zoo::allpole_forward", mutates_args=(), device_types="cpu")(
    allpole_forward_cpu
)


@allpole_forward.register_kernel("cuda")
def _allpole_forward_cuda(x: Tensor, a: Tensor, zi: Tensor) -> Tensor:  # pragma: no cover - GPU
    if x.shape[-1] == 0:
        return torch.empty_like(x)
    return _cuda_kernels().allpole_forward_cuda(x, a, zi)


@allpole_forward.register_fake
def _(x: Tensor, a: Tensor, zi: Tensor) -> Tensor:
    return torch.empty_like(x)


# ----------------------------------------------------------------------------------------- reverse
def allpole_reverse_cpu(g: Tensor, a: Tensor) -> Tensor:
    """u[n] = g[n] - sum_i conj(a[n+i, i-1]) u[n+i], a[n >= T] = 0: the adjoint of the forward op."""
    u = _buffers.empty(g.shape, g.dtype)
    if g.shape[-1] == 0:
        return u
    if a.dim() == 3:
        kernel = _kernel("allpole_reverse_tv", g.shape[0], a.shape[-1])
    else:
        kernel = _kernel("allpole_reverse_ti", g.shape[0])
    _run(kernel, g.dtype, _np(g), _np(a), u.numpy(), slp=False)
    return u


allpole_reverse = torch.library.custom_op("zoo::allpole_reverse", mutates_args=(), device_types="cpu")(
    allpole_reverse_cpu
)


@allpole_reverse.register_kernel("cuda")
def _allpole_reverse_cuda(g: Tensor, a: Tensor) -> Tensor:  # pragma: no cover - GPU
    if g.shape[-1] == 0:
        return torch.empty_like(g)
    return _cuda_kernels().allpole_reverse_cuda(g, a)


@allpole_reverse.register_fake
def _(g: Tensor, a: Tensor) -> Tensor:
    return torch.empty_like(g)


# -------------------------------------------------------------------------------- fused backward
def allpole_backward_cpu(g: Tensor, a: Tensor, y: Tensor, zi: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """One pass for (dL/dx, dL/da, dL/dzi) of the forward op, given g = dL/dy (Eqs. 7 and 8)."""
    u = _buffers.empty(g.shape, g.dtype)
    if g.shape[-1] == 0:
        return u, torch.zeros_like(a), torch.zeros_like(zi)
    # The kernels start their sums from the output buffer (``acc = grad_zi[b, k] * 0``, and
    # ``grad_a[b, i - 1] * 0`` for time-invariant a), so those buffers must hold zeros, not garbage
    # (NaN * 0 = NaN). The time-varying grad_a is only written, never read: no zero pass over it.
    grad_a = _buffers.empty(a.shape, a.dtype) if a.dim() == 3 else torch.zeros_like(a)
    grad_zi = torch.zeros_like(zi)
    if a.dim() == 3:
        order = a.shape[-1]
        kernel = _kernel(
            "allpole_backward_tv", g.shape[0], order, min_time=g.shape[-1] >= 2 * order, stream=_streams(grad_a)
        )
    else:
        kernel = _kernel("allpole_backward_ti", g.shape[0])
    _run(kernel, g.dtype, _np(g), _np(a), _np(y), _np(zi), u.numpy(), grad_a.numpy(), grad_zi.numpy())
    return u, grad_a, grad_zi


allpole_backward = torch.library.custom_op("zoo::allpole_backward", mutates_args=(), device_types="cpu")(
    allpole_backward_cpu
)


@allpole_backward.register_kernel("cuda")
def _allpole_backward_cuda(
    g: Tensor, a: Tensor, y: Tensor, zi: Tensor
) -> tuple[Tensor, Tensor, Tensor]:  # pragma: no cover - GPU
    u = allpole_reverse(g, a)
    return u, coefficient_grad(u, y, zi, a.dim() == 3), initial_state_grad(u, a)


@allpole_backward.register_fake
def _(g: Tensor, a: Tensor, y: Tensor, zi: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    return torch.empty_like(g), torch.empty_like(a), torch.empty_like(zi)


# ------------------------------------------------------------------------------------------ vmap
def _batched(args, in_dims):
    """Move every vmapped dim to the front, expand the unbatched ones, and fold into N."""
    size = next(arg.shape[d] for arg, d in zip(args, in_dims) if d is not None)
    out = []
    for arg, d in zip(args, in_dims):
        arg = arg.unsqueeze(0).expand(size, *arg.shape) if d is None else arg.movedim(d, 0)
        out.append(arg.reshape(size * arg.shape[1], *arg.shape[2:]).contiguous())
    return size, out


def _unfold(t: Tensor, size: int) -> Tensor:
    return t.reshape(size, t.shape[0] // size, *t.shape[1:])


@torch.library.register_vmap("zoo::allpole_forward")
def _(info, in_dims, x, a, zi):
    size, (x, a, zi) = _batched((x, a, zi), in_dims)
    return _unfold(allpole_forward(x, a, zi), size), 0


@torch.library.register_vmap("zoo::allpole_reverse")
def _(info, in_dims, g, a):
    size, (g, a) = _batched((g, a), in_dims)
    return _unfold(allpole_reverse(g, a), size), 0


@torch.library.register_vmap("zoo::allpole_backward")
def _(info, in_dims, g, a, y, zi):
    size, (g, a, y, zi) = _batched((g, a, y, zi), in_dims)
    return tuple(_unfold(t, size) for t in allpole_backward(g, a, y, zi)), (0, 0, 0)
