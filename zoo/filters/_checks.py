"""Argument checks shared by the public filter functions. Errors name the argument (scipy's wording)."""

from __future__ import annotations

import torch
from torch import Tensor

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def check_tensor(value: object, name: str) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"Unexpected type for `{name}`: expected a torch.Tensor, found {type(value).__name__}")
    if not (value.is_floating_point() or value.is_complex()):
        raise TypeError(
            f"Unexpected dtype for `{name}`: expected a floating point or complex dtype, found {value.dtype}"
        )
    return value


def check_same_device(**tensors: Tensor | None) -> torch.device:
    named = [(name, t) for name, t in tensors.items() if t is not None]
    device = named[0][1].device
    for name, t in named[1:]:
        if t.device != device:
            raise ValueError(
                f"Unexpected device for `{name}`: expected {device} (the device of `{named[0][0]}`), "
                f"found {t.device}"
            )
    return device


def compute_dtype(*tensors: Tensor | None) -> tuple[torch.dtype, torch.dtype]:
    """(dtype the kernel runs in, dtype returned). fp16/bf16 accumulate in float32."""
    result = None
    for t in tensors:
        if t is not None:
            result = t.dtype if result is None else torch.promote_types(result, t.dtype)
    assert result is not None
    kernel = torch.float32 if result in _LOW_PRECISION else result
    return kernel, result


def broadcast_leading(name_shapes: dict[str, tuple[int, ...]]) -> tuple[int, ...]:
    shapes = list(name_shapes.values())
    if all(s == shapes[0] for s in shapes[1:]):  # the common case, without torch's slow general path
        return tuple(shapes[0])
    try:
        return tuple(torch.broadcast_shapes(*name_shapes.values()))
    except RuntimeError:
        found = ", ".join(f"`{k}` {tuple(v)}" for k, v in name_shapes.items())
        raise ValueError(f"Leading (batch) dimensions do not broadcast: {found}") from None


#: elements per chunk of `check_finite`: a finite test allocates masks (torch.isfinite also |t|) of
#: its input's size, so it runs over chunks to keep that to a few MiB
_FINITE_CHUNK = 1 << 20


def _first_non_finite(values: Tensor) -> int | None:
    """Index of the first NaN/Inf of the 1-D ``values``, or None (one device sync)."""
    n = values.numel()
    if values.device.type == "cpu":
        import numpy as np

        # numpy's isfinite is one pass; torch's CPU isfinite is several (and allocates |t|)
        for start in range(0, n, _FINITE_CHUNK):
            chunk = values[start : start + _FINITE_CHUNK]
            if chunk.dtype in _LOW_PRECISION:
                chunk = chunk.float()
            finite = np.isfinite(chunk.resolve_conj().numpy())
            if not finite.all():
                return start + int(np.argmin(finite))
        return None
    chunks = [torch.isfinite(values[i : i + _FINITE_CHUNK]).all() for i in range(0, n, _FINITE_CHUNK)]
    if not chunks or bool(torch.stack(chunks).all()):
        return None
    start = next(i for i, ok in enumerate(chunks) if not bool(ok)) * _FINITE_CHUNK
    return start + int((~torch.isfinite(values[start : start + _FINITE_CHUNK])).nonzero()[0, 0])


def check_finite(t: Tensor, name: str) -> None:
    """Raise ``ValueError`` naming the first NaN or Inf of ``t`` (one device sync)."""
    values = t.detach().reshape(-1)
    flat = _first_non_finite(values)
    if flat is None:
        return
    _raise_non_finite(t, name, flat)


def _raise_non_finite(t: Tensor, name: str, flat: int) -> None:
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), t.shape)) if t.dim() else ()
    value = t.detach().reshape(-1)[flat].item()
    raise ValueError(
        f"Unexpected values in `{name}`: expected finite values, found NaN or Inf ({value} at index {index})"
    )


# Samples per chunk of the stability test: enough that each torch op amortises its overhead, few
# enough that the working copy stays near the CPU's cache (and a small fraction of ``a`` on CUDA).
_STABILITY_CHUNK_SAMPLES = {"cpu": 1 << 15, "cuda": 1 << 20}


def _step_down_unstable(work: Tensor) -> Tensor:
    r"""Columns of ``work`` (M, N) whose polynomial has a root on or outside the unit circle.

    Schur-Cohn test by the step-down (reverse Levinson) recursion. With
    :math:`A_m(z) = 1 + \sum_{i=1}^{m} a^{(m)}_i z^{-i}` and :math:`k_m = a^{(m)}_m`,

    .. math:: a^{(m-1)}_i = \frac{a^{(m)}_i - k_m \overline{a^{(m)}_{m-i}}}{1 - |k_m|^2},
              \qquad i = 1, \dots, m-1,

    and every root of :math:`A_M` lies strictly inside the unit circle iff :math:`|k_m| < 1` for
    every m (the conjugate-reverse form makes this hold for complex coefficients too). A pole on
    the unit circle gives :math:`|k_m| = 1` for some m, so it counts as unstable; so does NaN.

    ``work`` holds one coefficient vector per column (``work[i - 1, n] = a_i`` of sample n), so
    that every op below runs over contiguous rows of N samples. It is a private float64/complex128
    copy and is overwritten.

    Returns:
        (N,) bool, True where unstable.
    """
    order, n_samples = work.shape
    bad = torch.zeros(n_samples, dtype=torch.bool, device=work.device)
    for m in range(order, 0, -1):
        k = work[m - 1]  # a view; the update below writes only rows < m - 1
        mag2 = k.abs().square() if k.is_complex() else k.square()
        bad |= ~(mag2 < 1.0)  # `~(<)` so that NaN counts as unstable
        if m == 1:
            break
        head = work[: m - 1]
        mirror = head.flip(0)
        if mirror.is_complex():
            mirror = mirror.conj()
        head.addcmul_(k, mirror, value=-1.0)
        head.div_(mag2.neg_().add_(1.0))  # rows already unstable may turn Inf/NaN; they stay marked
    return bad


def _step_down_unstable_cpu(flat: Tensor):
    """`_step_down_unstable` on CPU through the Numba kernel: (N, M) tensor -> (N,) bool array."""
    import numpy as np

    from .kernels import numba_stability

    if flat.dtype in _LOW_PRECISION:
        flat = flat.float()
    rows = np.ascontiguousarray(flat.resolve_conj().numpy())
    unstable = np.empty(rows.shape[0], dtype=np.bool_)
    kernel = numba_stability.step_down_unstable_complex if flat.is_complex() else numba_stability.step_down_unstable_real
    kernel(rows, unstable)
    return unstable


def check_stable(a: Tensor, name: str, time_varying: bool) -> None:
    """Raise ``ValueError`` naming the first sample of ``a`` (row, time) with a pole at radius >= 1,
    or with a NaN or Inf coefficient (then in `check_finite`'s words: no separate pass is needed).

    Cost: the step-down recursion (`_step_down_unstable`), O(M^2) flops per coefficient vector
    against the filter's O(M). On CPU it runs in the Numba kernel `kernels.numba_stability`
    (cache-blocked, no copy of ``a`` beyond a float32 one for float16/bfloat16); elsewhere in torch,
    vectorised over chunks of samples, so the extra memory is one chunk's float64 copy whatever M
    and T are, and it stops at the first chunk holding an unstable sample.
    """
    order = a.shape[-1]
    flat = a.detach().reshape(-1, order)
    if flat.shape[0] == 0:
        return
    if flat.device.type not in ("cpu", "cuda"):
        flat = flat.cpu()  # float64/complex128 may not exist there (MPS); the check syncs anyway
    if flat.device.type == "cpu":
        unstable = _step_down_unstable_cpu(flat)
        if bool(unstable.any()):
            _raise_unstable(a, name, time_varying, int(unstable.argmax()))
        return
    first = _first_unstable_torch(flat, _STABILITY_CHUNK_SAMPLES["cuda" if flat.is_cuda else "cpu"])
    if first is not None:
        _raise_unstable(a, name, time_varying, first)


def _first_unstable_torch(flat: Tensor, chunk: int) -> int | None:
    """Index of the first unstable row of ``flat`` (N, M), by `_step_down_unstable` in chunks of
    ``chunk`` rows (one sync per chunk; stops at the first chunk with an unstable row)."""
    order = flat.shape[-1]
    work_dtype = torch.complex128 if flat.is_complex() else torch.float64
    for start in range(0, flat.shape[0], chunk):
        part = flat[start : start + chunk]
        work = torch.empty((order, part.shape[0]), dtype=work_dtype, device=flat.device)
        work.copy_(part.T)
        bad = _step_down_unstable(work)
        if bool(bad.any()):
            return start + int(bad.nonzero()[0, 0])
    return None


def _raise_unstable(a: Tensor, name: str, time_varying: bool, flat_row: int) -> None:
    from .design import max_pole_radius  # one M x M eigenproblem, for the message only

    order = a.shape[-1]
    vector = a.detach().reshape(-1, order)[flat_row]
    bad = _first_non_finite(vector)
    if bad is not None:  # the step-down test flags NaN/Inf too: name it as `check_finite` would
        _raise_non_finite(a, name, flat_row * order + bad)
    lead = a.shape[:-1]
    index = []
    rest = flat_row
    for size in reversed(lead):
        index.append(rest % size)
        rest //= size
    index = tuple(reversed(index))
    coefficients = a.detach().reshape(-1, order)[flat_row]
    work = coefficients.to(torch.complex128 if a.is_complex() else torch.float64)
    radius = float(max_pole_radius(work[None])[0]) if bool(torch.isfinite(work).all()) else float("nan")
    rows = index[:-1] if time_varying else index
    parts = [] if not rows else [f"row {rows[0] if len(rows) == 1 else rows}"]
    if time_varying:
        parts.append(f"time step {index[-1]}")
    where = ", ".join(parts) if parts else "its only coefficient vector"
    ref = f"`{name}[{', '.join(str(i) for i in index)}, :]`" if index else f"`{name}`"
    raise ValueError(
        f"Unstable filter in `{name}`: expected every pole strictly inside the unit circle "
        f"(radius < 1), found a pole of radius {radius:.6g} at {where} ({ref}, "
        "the first unstable coefficient vector)"
    )
