"""One place that decides which implementation serves a call, for the filters and every effect.

What it decides:

* **Backend of the all-pole recursion** (`use_backend`): ``"auto"`` (the default) runs Numba on
  CPU and Triton on CUDA, and the pure-PyTorch chunked scan (`zoo.filters.kernels.torch_scan`) where
  those cannot serve: tensors on any other device (MPS, XPU, ...), and while TorchScript scripts or
  traces or ``torch.export`` (and the ONNX exporter built on it) traces, since neither kernel can be
  captured in a graph that runs without `zoo`. ``"torch"``: the pure-PyTorch scan everywhere.
* **Fused or composed** (`use_fused`, `can_fuse`): an effect's default path is composed from the
  primitives of `zoo.filters`; a fused effect kernel (one Numba sweep for a whole effect) serves a
  call only where it can: eager or ``torch.compile`` CPU calls with no forward-mode AD and no
  functorch transform (vmap, ``torch.func.grad``/``jvp``) active, and not inside
  ``use_fused(False)``. A benchmark or a test that wants the composed path says so with that block;
  nothing here looks for swapped-in functions.
* **Eager fast path or registered op** (`eager_cpu`): plain eager CPU calls skip the custom-op
  dispatch (about 15 us a call); compile and functorch transforms go through the registered ops.
* **Serial or parallel kernel** (`pick_kernel`): one or two rows run the serial twin of a Numba
  kernel (waking the thread pool costs more than it saves).
* **The Numba options** (`NUMBA_PARALLEL`, `NUMBA_SERIAL`): every kernel in the zoo is compiled with
  these, so that floating-point contraction (one fused multiply-add in each loop-carried chain)
  is the same everywhere.

The private torch APIs that these decisions need are used here and nowhere else in `zoo`.

Both choices live in a ``threading.local`` rather than a ``ContextVar``: `torch.compile` traces the
former (and recompiles when it changes), while ``ContextVar.get`` breaks the graph. A block's
choice holds in its own thread only.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator
from types import ModuleType
from typing import Any, Callable

import torch
from torch import Tensor

__all__ = [
    "BACKENDS",
    "NUMBA_PARALLEL",
    "NUMBA_SERIAL",
    "SERIAL_MAX_ROWS",
    "use_backend",
    "current_backend",
    "uses_torch_backend",
    "use_fused",
    "fused_enabled",
    "can_fuse",
    "eager_cpu",
    "is_compiling",
    "functorch_active",
    "pick_kernel",
    "can_stream_lean",
    "uses_composed_primitive",
    "storage_use_count",
    "warn_host_once",
]

#: the accepted backend names of the all-pole recursion
BACKENDS = ("auto", "torch")

#: the native kernels (Numba, Triton) exist for these device types only
_NATIVE_DEVICES = ("cpu", "cuda")

#: Numba options of every parallel kernel: cached to disk, GIL released, NumPy's error model (no
#: ZeroDivisionError checks in the loops), and contraction of a * b + c into one FMA.
NUMBA_PARALLEL: dict[str, Any] = dict(parallel=True, cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")
#: the same options for the serial twins
NUMBA_SERIAL: dict[str, Any] = dict(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")

#: up to this many rows a kernel runs its serial twin: with one or two rows there is nothing to
#: share, and waking the thread pool costs more than it saves.
SERIAL_MAX_ROWS = 2

#: how many other tensors share a storage (the buffer cache reuses a storage only when none do)
storage_use_count: Callable[[int], int] = torch._C._storage_Use_Count

_LOCAL = threading.local()

#: the paths that have already warned that they run on the host (`warn_host_once`)
_HOST_WARNED: set[str] = set()


# ------------------------------------------------------------------------------------ backend
def check_backend(name: object) -> str:
    """Return ``name`` if it is a backend name, else raise ValueError naming the choices."""
    if not isinstance(name, str) or name not in BACKENDS:
        choices = ", ".join(map(repr, BACKENDS))
        raise ValueError(f"Unexpected value for `backend`: expected one of {choices}, found {name!r}")
    return name


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Run the all-pole recursion with backend ``name`` ("auto" or "torch") inside the block.

    It applies to everything built on `allpole` (`lfilter`, `sosfilt`, the effects' composed
    paths); an explicit ``allpole(..., backend=)`` wins over the block.

    Example::

        with zoo.filters.use_backend("torch"):
            y = zoo.filters.allpole(x, a)  # pure PyTorch, on any device

    Raises:
        ValueError: ``name`` is not a backend name.
    """
    check_backend(name)
    previous = current_backend()
    _LOCAL.name = name
    try:
        yield
    finally:
        _LOCAL.name = previous


def current_backend() -> str:
    """The backend chosen by the innermost enclosing `use_backend` block ("auto" outside any)."""
    return getattr(_LOCAL, "name", "auto")


def uses_torch_backend(backend: str | None, device: torch.device) -> bool:
    """Whether `allpole` runs the pure-PyTorch scan for this call (``backend`` None: the block's)."""
    name = current_backend() if backend is None else check_backend(backend)
    if name == "torch":
        return True
    return (
        device.type not in _NATIVE_DEVICES
        or torch.compiler.is_exporting()
        or torch.jit.is_scripting()
        or torch.jit.is_tracing()
    )


# ------------------------------------------------------------------------------ fused/composed
@contextlib.contextmanager
def use_fused(enabled: bool) -> Iterator[None]:
    """Allow (True, the default outside any block) or forbid (False) the effects' fused kernels.

    With ``use_fused(False)`` every effect runs its path composed from `zoo.filters` primitives,
    on any device. Benchmarks compare the two this way.

    Raises:
        TypeError: ``enabled`` is not a bool.
    """
    if not isinstance(enabled, bool):
        raise TypeError(f"Unexpected type for `enabled`: expected a bool, found {type(enabled).__name__}")
    previous = fused_enabled()
    _LOCAL.fused = enabled
    try:
        yield
    finally:
        _LOCAL.fused = previous


def fused_enabled() -> bool:
    """Whether the innermost `use_fused` block allows fused kernels (True outside any block)."""
    return getattr(_LOCAL, "fused", True)


def is_compiling() -> bool:
    """True while `torch.compile` (Dynamo) traces."""
    return torch.compiler.is_compiling()


def functorch_active() -> bool:
    """True inside a functorch transform (vmap, ``torch.func.grad`` / ``jvp``)."""
    return torch._C._are_functorch_transforms_active()


def _forward_ad_active() -> bool:
    """True inside a forward-mode AD ``dual_level``."""
    return torch.autograd.forward_ad._current_level >= 0


def eager_cpu(*tensors: Tensor) -> bool:
    """True when a CPU implementation may be called directly, skipping the custom-op dispatch:
    every tensor on the CPU, no `torch.compile` tracing and no functorch transform active."""
    if is_compiling() or functorch_active():
        return False
    return all(t.device.type == "cpu" for t in tensors)


def can_fuse(*tensors: Tensor) -> bool:
    """Whether an effect's fused CPU kernel may serve a call on ``tensors`` (else the composed path).

    It needs every tensor on the CPU and fused kernels allowed (`use_fused`). Under `torch.compile`
    it may (the traced graph holds the fused custom ops as they are); under forward-mode AD or a
    functorch transform it may not (the composed path has their rules).
    """
    if not fused_enabled() or any(t.device.type != "cpu" for t in tensors):
        return False
    if is_compiling():
        return True
    return not _forward_ad_active() and not functorch_active()


def uses_composed_primitive(x: Tensor) -> bool:
    """Whether a `zoo.filters` primitive with a CPU-only kernel (`allpass_feedback_loop`,
    `allpass_chain`, `attack_release_smoother`) runs its composed tensor-op path for ``x``: on any
    device but the CPU, under ``use_backend("torch")`` (and TorchScript/export tracing), and under
    functorch transforms (the kernels have no vmap rule)."""
    return x.device.type != "cpu" or uses_torch_backend(None, x.device) or functorch_active()


def can_stream_lean(block: Tensor) -> bool:
    """Whether `Effect.stream` may take an effect's lean per-block Numba path (`zoo.effects.lean_stream`)
    for ``block``: float32 on the CPU, no gradient wanted, eager, and fused kernels allowed."""
    return (
        fused_enabled()
        and block.dtype == torch.float32
        and block.device.type == "cpu"
        and not block.requires_grad
        and not is_compiling()
        and not functorch_active()
    )


def pick_kernel(module: ModuleType, name: str, rows: int) -> Callable[..., Any]:
    """The Numba kernel ``name`` of ``module`` for ``rows`` rows: its ``_serial`` twin up to
    `SERIAL_MAX_ROWS`, else the parallel one."""
    return getattr(module, f"{name}_serial" if rows <= SERIAL_MAX_ROWS else name)


def warn_host_once(what: str, device: torch.device) -> None:
    """Warn, once per ``what`` and process, that ``what`` runs on the CPU for tensors on ``device``.

    For the few paths with no device implementation (a sample loop whose branch depends on its own
    output, e.g. the feedback compressor's forward values): the data goes to the host and back.
    """
    if device.type == "cpu" or what in _HOST_WARNED:
        return
    _HOST_WARNED.add(what)
    warnings.warn(
        f"{what} has no {device.type} implementation: it runs on the CPU and copies the result back "
        f"(a host round trip per call; docs/gpu.md lists what runs where)",
        stacklevel=3,
    )
