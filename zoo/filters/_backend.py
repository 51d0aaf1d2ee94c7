"""Which implementation runs the all-pole recursion: the native kernels or the pure-PyTorch scan.

* ``"auto"`` (the default): Numba on CPU, Triton on CUDA; the pure-PyTorch chunked scan
  (`zoo.filters.kernels.torch_scan`) where those cannot serve: tensors on any other device (MPS,
  XPU, ...), and while TorchScript scripts or traces, or ``torch.export`` (and the ONNX exporter
  built on it) traces, since neither kernel can be captured in a graph that runs without `zoo`.
* ``"torch"``: the pure-PyTorch scan everywhere.

Choose per call with ``allpole(..., backend="torch")`` or for a block of code with
``with zoo.filters.use_backend("torch"):``; the block's choice holds in its own thread only, and
applies to everything built on `allpole` (`lfilter`, `sosfilt`, the effects). An explicit
``backend=`` wins over the block. The choice lives in a ``threading.local`` rather than a
``ContextVar``: `torch.compile` traces the former (and recompiles when it changes), while
``ContextVar.get`` breaks the graph.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import torch

__all__ = ["BACKENDS", "use_backend", "current_backend", "uses_torch_backend"]

#: the accepted backend names
BACKENDS = ("auto", "torch")

#: the native kernels (Numba, Triton) exist for these device types only
_NATIVE_DEVICES = ("cpu", "cuda")

_LOCAL = threading.local()


def check_backend(name: object) -> str:
    """Return ``name`` if it is a backend name, else raise ValueError naming the choices."""
    if not isinstance(name, str) or name not in BACKENDS:
        choices = ", ".join(map(repr, BACKENDS))
        raise ValueError(f"Unexpected value for `backend`: expected one of {choices}, found {name!r}")
    return name


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Run the all-pole recursion with backend ``name`` ("auto" or "torch") inside the block.

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
