"""Autograd Functions for the all-pole recursion: exact gradients by the time-reversed recursion.

Two Functions, each the adjoint of the other:

* `AllpoleFunction`  y = A^{-1} x   (forward recursion, Eq. 1)
* `AllpoleReverseFunction`  u = A^{-H} g   (the same recursion run backwards in time, Eq. 7)

where A is the lower-triangular banded matrix with ones on the diagonal and A[n, n-i] = a_i[n].
The backward of each is built from the other plus elementwise products, so double backward, and
any higher order, works with no extra code. When no graph is being built (the usual
``loss.backward()``), the backward of `AllpoleFunction` calls one fused kernel that returns the
input, coefficient and initial-state gradients in a single pass.

Shapes: x, y, g, u (N, T); a (N, T, M) time-varying or (N, M) time-invariant; zi (N, M).
Complex tensors follow PyTorch's convention (gradients are conjugate Wirtinger derivatives), so the
backward recursion uses conj(a).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from . import _ops
from .dispatch import eager_cpu, functorch_active, is_compiling
from .gradients import coefficient_grad, initial_state_grad, lagged_outputs  # noqa: F401


def _shifted_diagonal_sum(w: Tensor) -> Tensor:
    """out[..., m] = sum_i w[..., m+i, i-1], zero beyond the end. w: (N, T, M) -> (N, T)."""
    n_time, order = w.shape[-2], w.shape[-1]
    out = torch.zeros_like(w[..., 0])
    for i in range(1, min(order, n_time - 1) + 1):
        out = out + torch.nn.functional.pad(w[..., i:, i - 1], (0, i))
    return out


class _AllpoleBase(torch.autograd.Function):
    """y = allpole(x, a, zi) with exact time-domain gradients for x, a and zi."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x: Tensor, a: Tensor, zi: Tensor) -> Tensor:
        if eager_cpu(x):
            return _ops.allpole_forward_cpu(x, a, zi)
        return _ops.allpole_forward(x, a, zi)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Tensor) -> None:
        x, a, zi = inputs
        ctx.save_for_backward(a, zi, output)
        ctx.save_for_forward(a, zi, output)

    @staticmethod
    def _backward(ctx: Any, grad_y: Tensor, reverse: Any):
        a, zi, y = ctx.saved_tensors
        need_x, need_a, need_zi = ctx.needs_input_grad
        time_varying = a.dim() == 3
        if not torch.is_grad_enabled():
            fused = _ops.allpole_backward_cpu if eager_cpu(grad_y) else _ops.allpole_backward
            u, grad_a, grad_zi = fused(grad_y.contiguous(), a, y, zi)
        else:  # building a graph (create_graph=True): compose differentiable ops
            u = reverse.apply(grad_y.contiguous(), a)
            grad_a = coefficient_grad(u, y, zi, time_varying) if need_a else None
            grad_zi = initial_state_grad(u, a) if need_zi else None
        return (u if need_x else None), (grad_a if need_a else None), (grad_zi if need_zi else None)


class _AllpoleReverseBase(torch.autograd.Function):
    """u = allpole_reverse(g, a): the adjoint recursion, itself differentiable in g and a."""

    generate_vmap_rule = True

    @staticmethod
    def forward(g: Tensor, a: Tensor) -> Tensor:
        if eager_cpu(g):
            return _ops.allpole_reverse_cpu(g, a)
        return _ops.allpole_reverse(g, a)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Tensor) -> None:
        _, a = inputs
        ctx.save_for_backward(a, output)
        ctx.save_for_forward(a, output)

    @staticmethod
    def _backward(ctx: Any, grad_u: Tensor, forward_fn: Any):
        a, u = ctx.saved_tensors
        need_g, need_a = ctx.needs_input_grad
        zero_state = u.new_zeros(u.shape[0], a.shape[-1])
        v = forward_fn.apply(grad_u.contiguous(), a, zero_state)
        grad_a = None
        if need_a:
            # u = A^{-H} g  =>  dL/da_i[n] = -u[n] conj(v[n-i]) (same form as Eq. 8, roles swapped).
            grad_a = coefficient_grad(u, v, zero_state, a.dim() == 3)
        return (v if need_g else None), grad_a


class CompiledAllpoleFunction(_AllpoleBase):
    """`AllpoleFunction` without forward-mode AD: what runs under `torch.compile` (Dynamo cannot
    trace a custom ``jvp``)."""

    @staticmethod
    def backward(ctx: Any, grad_y: Tensor):
        return _AllpoleBase._backward(ctx, grad_y, CompiledAllpoleReverseFunction)


class CompiledAllpoleReverseFunction(_AllpoleReverseBase):
    """`AllpoleReverseFunction` without forward-mode AD, for `torch.compile`."""

    @staticmethod
    def backward(ctx: Any, grad_u: Tensor):
        return _AllpoleReverseBase._backward(ctx, grad_u, CompiledAllpoleFunction)


class AllpoleFunction(_AllpoleBase):
    """y = allpole(x, a, zi): reverse-mode (any order) and forward-mode AD, vmap."""

    @staticmethod
    def backward(ctx: Any, grad_y: Tensor):
        return _AllpoleBase._backward(ctx, grad_y, AllpoleReverseFunction)

    @staticmethod
    def jvp(ctx: Any, dx: Tensor | None, da: Tensor | None, dzi: Tensor | None) -> Tensor:
        a, zi, y = ctx.saved_tensors
        rhs = torch.zeros_like(y) if dx is None else dx
        if da is not None:
            lagged = lagged_outputs(y, zi, a.shape[-1])
            prod = lagged * (da if a.dim() == 3 else da.unsqueeze(-2))
            rhs = rhs - prod.sum(-1)
        state = torch.zeros_like(zi) if dzi is None else dzi
        return AllpoleFunction.apply(rhs.contiguous(), a, state.contiguous())


class AllpoleReverseFunction(_AllpoleReverseBase):
    """u = allpole_reverse(g, a): reverse-mode (any order) and forward-mode AD, vmap."""

    @staticmethod
    def backward(ctx: Any, grad_u: Tensor):
        return _AllpoleReverseBase._backward(ctx, grad_u, AllpoleFunction)

    @staticmethod
    def jvp(ctx: Any, dg: Tensor | None, da: Tensor | None) -> Tensor:
        a, u = ctx.saved_tensors
        rhs = torch.zeros_like(u) if dg is None else dg
        if da is not None:
            da_full = da if a.dim() == 3 else da.unsqueeze(-2).expand(*u.shape, a.shape[-1])
            rhs = rhs - _shifted_diagonal_sum(da_full.conj() * u.unsqueeze(-1))
        return AllpoleReverseFunction.apply(rhs.contiguous(), a)


#: ``AllpoleFunction.apply`` without its Python prologue. ``Function.apply`` binds the arguments
#: with ``inspect.signature`` on every call (about 10 us) before calling this C entry point; with
#: three positional tensors and no functorch transform active, there is nothing to bind.
_apply_allpole = super(torch.autograd.Function, AllpoleFunction).apply


def allpole_function(x: Tensor, a: Tensor, zi: Tensor) -> Tensor:
    """Apply the right Function: the jvp-free one while `torch.compile` traces, else the full one."""
    if is_compiling():
        return CompiledAllpoleFunction.apply(x, a, zi)
    if functorch_active():
        return AllpoleFunction.apply(x, a, zi)
    return _apply_allpole(x, a, zi)
