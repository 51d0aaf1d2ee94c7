"""Time-varying all-pole and pole-zero filters with exact time-domain gradients.

The paper's layer (Yu et al., "Differentiable All-pole Filters for Time-varying Audio Systems",
DAFx 2024, Eq. 1):

    y[n] = x[n] - sum_{i=1..M} a_i[n] y[n-i]

Conventions (scipy.signal vocabulary):

* ``a`` omits a0 = 1: ``a[..., i-1]`` is a_i. Time-varying ``a`` has shape (..., T, M),
  time-invariant ``a`` has shape (..., M). ``a`` is time-varying exactly when it has one more
  dimension than ``x``; to share time-varying coefficients across a batch, give them a leading
  dimension of size 1 (``a[None]``).
* ``zi`` holds the past *outputs*, newest first: ``zi[..., 0] = y[-1]``, ``zi[..., 1] = y[-2]``, ...
  ``zf`` uses the same convention at the end of the block (``zf[..., k] = y[T-1-k]``), so filtering
  block by block with ``zi = zf`` of the previous block equals one pass over the whole signal.
  This is a direct-form-I state; scipy's ``lfilter`` uses a transposed-direct-form-II state. To
  turn ours into scipy's: ``scipy.signal.lfiltic([1], [1, *a], y=zi)``.
* Leading dimensions of ``x``, ``a`` and ``zi`` broadcast. The result has the broadcast shape.

Gradients (Eqs. 7-8) are exact and computed by the same recursion run backwards in time; they
exist for every tensor input, to any order, and in forward mode. CPU kernels are Numba (parallel
over the batch), CUDA kernels are Triton (parallel over time); see `zoo.filters.kernels`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._checks import broadcast_leading, check_finite, check_same_device, check_stable, check_tensor, compute_dtype
from .dispatch import uses_torch_backend
from .autograd import allpole_function
from .kernels.torch_scan import allpole_torch

__all__ = ["allpole", "linear_recurrence", "lfilter", "sosfilt", "fir"]


def _prepare_coefficients(a: Tensor, x: Tensor, name: str) -> tuple[bool, tuple[int, ...]]:
    """Return (time_varying, leading shape of a) after checking a against x."""
    if a.dim() == x.dim() + 1:
        if a.shape[-2] != x.shape[-1]:
            raise ValueError(
                f"Unexpected shape for `{name}`: expected (..., {x.shape[-1]}, M) to match the "
                f"{x.shape[-1]} samples of `x`, found {tuple(a.shape)}"
            )
        return True, tuple(a.shape[:-2])
    if 1 <= a.dim() <= x.dim():
        return False, tuple(a.shape[:-1])
    raise ValueError(
        f"Unexpected shape for `{name}`: expected (..., T, M) (time-varying) or (..., M) "
        f"(time-invariant) for `x` of shape {tuple(x.shape)}, found {tuple(a.shape)}"
    )


def _as_rows(t: Tensor, dtype: torch.dtype, lead: tuple[int, ...], tail: tuple[int, ...], n_rows: int) -> Tensor:
    """``t`` broadcast to (*lead, *tail) and folded into a contiguous (n_rows, *tail) of ``dtype``.

    Returned as is when it already is one (a plain (B, T) batch): the expand and reshape would
    each add a node to the autograd graph, a few microseconds apiece in every backward.
    """
    if t.dtype == dtype and t.shape == (n_rows, *tail) and lead == (n_rows,) and t.is_contiguous():
        return t
    return t.to(dtype).expand(*lead, *tail).reshape(n_rows, *tail).contiguous()


def allpole(
    x: Tensor,
    a: Tensor,
    zi: Tensor | None = None,
    *,
    return_zf: bool = False,
    validate: bool = False,
    backend: str | None = None,
) -> Tensor | tuple[Tensor, Tensor]:
    r"""Filter ``x`` with a time-varying all-pole filter.

    .. math:: y[n] = x[n] - \sum_{i=1}^{M} a_i[n]\, y[n-i]   \qquad (Eq. 1, Yu et al. 2024)

    Args:
        x: input signal.
        a: denominator coefficients without a0 = 1; time-varying (one more dim than ``x``) or
            time-invariant.
        zi: initial state, past outputs newest first (``zi[..., 0] = y[-1]``). Default: zeros.
        return_zf: also return the final state, in the same convention as ``zi``.
        validate: check (with a device sync) that inputs are finite and that at every time step
            every pole lies strictly inside the unit circle (a pole on the circle, radius exactly
            1, counts as unstable); raise ``ValueError`` naming the first offending sample
            otherwise. The test is Schur-Cohn's step-down recursion, O(M^2) per step and
            vectorised, with memory a small multiple of ``a``'s. It is the frozen-time check:
            necessary, not sufficient, for coefficients that vary fast. Default False: an unstable
            filter then simply grows (possibly to Inf/NaN), as any IIR filter would.
        backend: "auto" (Numba on CPU, Triton on CUDA, the pure-PyTorch scan on other devices
            and under TorchScript or export) or "torch" (the pure-PyTorch scan,
            `zoo.filters.kernels.torch_scan`). Default None: the choice of the enclosing
            `zoo.filters.use_backend` block, else "auto".

    Shape:
        - x: (..., T)
        - a: (..., T, M) or (..., M)
        - zi: (..., M)
        - returns y: (broadcast ..., T), and zf: (broadcast ..., M)

    Returns:
        ``y``, or ``(y, zf)`` when ``return_zf``. The dtype is the promoted dtype of the inputs;
        float16/bfloat16 inputs are computed in float32 and cast back.

    Raises:
        TypeError: an argument is not a floating point or complex tensor.
        ValueError: shapes do not match or broadcast, M = 0, devices differ, an unknown ``backend``,
            or (with ``validate``) an unstable filter or a non-finite value.

    Supports:
        CPU (Numba) and CUDA (Triton); any device with ``backend="torch"`` (chosen automatically
        off CPU/CUDA; its gradients come from autograd through tensor ops); float32/64,
        complex64/128, float16/bfloat16 (computed in float32); autograd of any order for x, a
        and zi; forward-mode AD; ``torch.func.vmap``; ``torch.compile`` without graph breaks.
    """
    x = check_tensor(x, "x")
    a = check_tensor(a, "a")
    if zi is not None:
        zi = check_tensor(zi, "zi")
    check_same_device(x=x, a=a, zi=zi)
    if x.dim() == 0:
        raise ValueError("Unexpected shape for `x`: expected (..., T), found a scalar")
    time_varying, a_lead = _prepare_coefficients(a, x, "a")
    order = a.shape[-1]
    if order == 0:
        raise ValueError(f"Unexpected shape for `a`: expected at least one coefficient (M >= 1), found {tuple(a.shape)}")
    shapes = {"x": tuple(x.shape[:-1]), "a": a_lead}
    if zi is not None:
        if zi.dim() == 0 or zi.shape[-1] != order:
            raise ValueError(
                f"Unexpected shape for `zi`: expected (..., {order}) to match the order of `a`, "
                f"found {tuple(zi.shape)}"
            )
        shapes["zi"] = tuple(zi.shape[:-1])
    lead = broadcast_leading(shapes)
    kernel_dtype, out_dtype = compute_dtype(x, a, zi)
    if validate:
        for name, t in (("x", x), ("zi", zi)):
            if t is not None:
                check_finite(t, name)
        check_stable(a, "a", time_varying)  # flags NaN/Inf in `a` as well, by name and index

    n_time = x.shape[-1]
    n_rows = 1
    for s in lead:
        n_rows *= s
    x2 = _as_rows(x, kernel_dtype, lead, (n_time,), n_rows)
    a2 = _as_rows(a, kernel_dtype, lead, (n_time, order) if time_varying else (order,), n_rows)
    if zi is None:
        zi2 = x2.new_zeros(n_rows, order)
    else:
        zi2 = _as_rows(zi, kernel_dtype, lead, (order,), n_rows)

    if uses_torch_backend(backend, x.device):
        y2, _ = allpole_torch(x2, a2, zi2)
    else:
        y2 = allpole_function(x2, a2, zi2)
    y = y2 if lead == (n_rows,) else y2.reshape(*lead, n_time)
    y = y.to(out_dtype)
    if not return_zf:
        return y
    ext = torch.cat([zi2.flip(-1), y2], dim=-1)
    zf = ext[:, -order:].flip(-1).reshape(*lead, order).to(out_dtype)
    return y, zf


def linear_recurrence(a: Tensor, x: Tensor, zi: Tensor | None = None, *, return_zf: bool = False):
    r"""First-order linear recurrence h[n] = a[n] h[n-1] + x[n] (a one-pole filter, time-varying).

    The fast path behind the compressor's smoothers; equal to ``allpole(x, -a[..., None], zi[..., None])``.

    Args:
        a: the recurrence coefficient, (..., T) time-varying or (...,) time-invariant.
            Note the sign: a here is the pole itself, not an all-pole coefficient.
        x: input, (..., T).
        zi: h[-1], shape (...). Default 0.
        return_zf: also return h[T-1].

    Shape:
        - a: (..., T) or broadcastable (...,) ; x: (..., T) ; zi: (...)
        - returns h: (broadcast ..., T) [, zf: (broadcast ...)]

    Supports: as `allpole`.
    """
    a = check_tensor(a, "a")
    x = check_tensor(x, "x")
    if x.dim() == 0:
        raise ValueError("Unexpected shape for `x`: expected (..., T), found a scalar")
    if a.dim() == x.dim():
        if a.shape[-1] not in (x.shape[-1], 1):
            raise ValueError(
                f"Unexpected shape for `a`: expected (..., {x.shape[-1]}) to match `x`, found {tuple(a.shape)}"
            )
        coef = -a.unsqueeze(-1)  # (..., T, 1)
        if a.shape[-1] == 1:
            coef = coef.squeeze(-2)  # (..., 1) time-invariant
    elif a.dim() == x.dim() - 1:
        coef = -a.unsqueeze(-1)
    else:
        raise ValueError(
            f"Unexpected shape for `a`: expected (..., T) or (...,) for `x` of shape {tuple(x.shape)}, "
            f"found {tuple(a.shape)}"
        )
    state = None if zi is None else check_tensor(zi, "zi").unsqueeze(-1)
    out = allpole(x, coef, state, return_zf=return_zf)
    if return_zf:
        y, zf = out
        return y, zf.squeeze(-1)
    return out


def fir(x: Tensor, b: Tensor, zi: Tensor | None = None) -> Tensor:
    r"""Time-varying FIR filter v[n] = sum_{k=0..K-1} b_k[n] x[n-k].

    Args:
        x: (..., T). b: (..., T, K) time-varying or (..., K) time-invariant.
        zi: past inputs newest first, (..., K-1): ``zi[..., 0] = x[-1]``. Default zeros.

    Returns:
        v with the broadcast shape (..., T). Differentiable in x, b and zi by plain autograd
        (K elementwise products, no graph over time).
    """
    n_time = x.shape[-1]
    taps = b.shape[-1]
    time_varying = b.dim() == x.dim() + 1
    if zi is None:
        zi = x.new_zeros(*x.shape[:-1], taps - 1)
    lead = torch.broadcast_shapes(x.shape[:-1], zi.shape[:-1])
    ext = torch.cat([zi.expand(*lead, taps - 1).flip(-1), x.expand(*lead, n_time)], dim=-1)
    # unbind (not b[..., k]): its backward is one stack, not K zero-filled full-size buffers.
    coefs = b.unbind(-1) if time_varying else b.unsqueeze(-1).unbind(-2)
    out = None
    for k, coef in enumerate(coefs):
        term = coef * ext[..., taps - 1 - k : taps - 1 - k + n_time]
        out = term if out is None else out + term
    return out


def lfilter(
    b: Tensor,
    a: Tensor,
    x: Tensor,
    zi: Tensor | None = None,
    *,
    return_zf: bool = False,
    validate: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    r"""Time-varying pole-zero filter: a time-varying FIR followed by a time-varying all-pole.

    .. math:: v[n] = \sum_{k=0}^{K-1} b_k[n] x[n-k], \qquad y[n] = v[n] - \sum_{i=1}^{M} a_i[n] y[n-i]

    This is the paper's form (Sec. 3): in the time-invariant case it equals
    ``scipy.signal.lfilter(b, [1, *a], x)``; in the time-varying case the zeros act before the poles.

    Args:
        b: numerator, (..., T, K) time-varying or (..., K) time-invariant, K >= 1.
        a: denominator without a0 = 1, (..., T, M) or (..., M), M >= 1.
        x: input, (..., T).
        zi: direct-form-I state, (..., K-1+M): the past inputs newest first (x[-1], ..., x[-(K-1)]),
            then the past outputs newest first (y[-1], ..., y[-M]). scipy's equivalent is
            ``scipy.signal.lfiltic(b, [1, *a], y=zi[K-1:], x=zi[:K-1])``. Default zeros.
        return_zf: also return the final state in the same layout.
        validate: as in `allpole`.

    Shape:
        - returns y: (broadcast ..., T) [, zf: (broadcast ..., K-1+M)]

    Raises:
        TypeError, ValueError: as `allpole`; also when ``b`` and ``a`` disagree on being
        time-varying or on T, or ``zi`` is not K-1+M long.

    Supports: as `allpole` (gradients for b, a, x and zi).
    """
    b = check_tensor(b, "b")
    a = check_tensor(a, "a")
    x = check_tensor(x, "x")
    check_same_device(x=x, b=b, a=a, zi=zi)
    b_tv, b_lead = _prepare_coefficients(b, x, "b")
    a_tv, a_lead = _prepare_coefficients(a, x, "a")
    taps, order = b.shape[-1], a.shape[-1]
    if taps == 0:
        raise ValueError(f"Unexpected shape for `b`: expected at least one coefficient, found {tuple(b.shape)}")
    if order == 0:
        raise ValueError(f"Unexpected shape for `a`: expected at least one coefficient (M >= 1), found {tuple(a.shape)}")
    zi_x = zi_y = None
    if zi is not None:
        zi = check_tensor(zi, "zi")
        if zi.dim() == 0 or zi.shape[-1] != taps - 1 + order:
            raise ValueError(
                f"Unexpected shape for `zi`: expected (..., {taps - 1 + order}) = (K-1) past inputs + M past "
                f"outputs for K={taps}, M={order}, found {tuple(zi.shape)}"
            )
        zi_x, zi_y = zi[..., : taps - 1], zi[..., taps - 1 :]
    # Check here, not in `fir`, so a mismatch raises ValueError naming the arguments.
    shapes = {"x": tuple(x.shape[:-1]), "b": b_lead, "a": a_lead}
    if zi is not None:
        shapes["zi"] = tuple(zi.shape[:-1])
    broadcast_leading(shapes)
    kernel_dtype, out_dtype = compute_dtype(x, b, a, zi)
    v = fir(x.to(kernel_dtype), b.to(kernel_dtype), None if zi_x is None else zi_x.to(kernel_dtype))
    out = allpole(v, a, zi_y, return_zf=return_zf, validate=validate)
    if not return_zf:
        return out.to(out_dtype)  # v is in the kernel dtype: cast fp16/bf16 results back
    y, zf_y = (t.to(out_dtype) for t in out)
    if taps > 1:
        shapes = [x.shape[:-1]] + ([] if zi_x is None else [zi_x.shape[:-1]])
        lead_x = torch.broadcast_shapes(*shapes)
        past = x.new_zeros(*lead_x, taps - 1) if zi_x is None else zi_x.flip(-1).expand(*lead_x, taps - 1)
        past_x = torch.cat([past.to(x.dtype), x.expand(*lead_x, x.shape[-1])], dim=-1)
        zf_x = past_x[..., -(taps - 1) :].flip(-1)
        lead = torch.broadcast_shapes(zf_x.shape[:-1], zf_y.shape[:-1])
        zf = torch.cat([zf_x.expand(*lead, taps - 1).to(y.dtype), zf_y.expand(*lead, order)], dim=-1)
    else:
        zf = zf_y
    return y, zf


def sosfilt(
    sos: Tensor,
    x: Tensor,
    zi: Tensor | None = None,
    *,
    return_zf: bool = False,
    validate: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    r"""Cascade of time-varying second-order sections, filtered one after the other (exact).

    Each section s is ``lfilter(b_s, a_s, .)`` with b_s = sos[..., s, :3] / a0 and
    a_s = sos[..., s, 4:] / a0, a0 = sos[..., s, 3]. Sections are applied in order, so each
    section's zeros act on the previous section's output: the poles are *not* regrouped into one
    high-order all-pole (which for time-varying coefficients is only an approximation).

    Args:
        sos: (..., S, 6) time-invariant or (..., T, S, 6) time-varying, scipy's row layout
            [b0, b1, b2, a0, a1, a2].
        x: (..., T).
        zi: (..., S, 4): per section the direct-form-I state [x[-1], x[-2], y[-1], y[-2]] of that
            section's input and output (see `lfilter`). Default zeros.
        return_zf: also return the final state (..., S, 4).
        validate: as in `allpole`.

    Returns:
        y (broadcast ..., T) [, zf].

    Supports: as `allpole`.
    """
    sos = check_tensor(sos, "sos")
    x = check_tensor(x, "x")
    if sos.dim() < 2 or sos.shape[-1] != 6:
        raise ValueError(f"Unexpected shape for `sos`: expected (..., S, 6) or (..., T, S, 6), found {tuple(sos.shape)}")
    time_varying = sos.dim() == x.dim() + 2
    if time_varying and sos.shape[-3] != x.shape[-1]:
        raise ValueError(
            f"Unexpected shape for `sos`: expected (..., {x.shape[-1]}, S, 6) to match `x`, found {tuple(sos.shape)}"
        )
    if not time_varying and not 2 <= sos.dim() <= x.dim() + 1:  # leading dims broadcast, as in `allpole`
        raise ValueError(
            f"Unexpected shape for `sos`: expected (..., S, 6) or (..., T, S, 6) for `x` of shape "
            f"{tuple(x.shape)}, found {tuple(sos.shape)}"
        )
    n_sections = sos.shape[-2]
    if zi is not None:
        zi = check_tensor(zi, "zi")
        if zi.dim() < 2 or zi.shape[-2:] != (n_sections, 4):
            raise ValueError(f"Unexpected shape for `zi`: expected (..., {n_sections}, 4), found {tuple(zi.shape)}")
    a0 = sos[..., 3:4]
    b_all = sos[..., :3] / a0
    a_all = sos[..., 4:] / a0
    y = x
    finals = []
    for s in range(n_sections):
        section_zi = None if zi is None else zi[..., s, :]
        out = lfilter(b_all[..., s, :], a_all[..., s, :], y, section_zi, return_zf=return_zf, validate=validate)
        if return_zf:
            y, zf = out
            finals.append(zf)
        else:
            y = out
    if not return_zf:
        return y
    lead = torch.broadcast_shapes(*(f.shape[:-1] for f in finals))
    return y, torch.stack([f.expand(*lead, 4) for f in finals], dim=-2)
