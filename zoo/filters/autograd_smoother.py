"""The autograd Function of the attack/release smoother: Algorithm 1 of Yu et al. 2024, built on the
all-pole layer's Functions (so double backward and forward-mode AD need no extra code)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ._ops_smoother import _attack_release_backward_op, _attack_release_op
from .autograd import AllpoleFunction, AllpoleReverseFunction

__all__ = ["AttackReleaseFunction"]


class AttackReleaseFunction(torch.autograd.Function):
    r"""Attack/release smoother (Eq. 21) with the gradients of Algorithm 1 (Yu et al. 2024).

    Forward: a Numba kernel computes :math:`\hat g` and records the attack mask
    :math:`\beta(n) = [g(n) < \hat g(n-1)]`. Backward, with :math:`\alpha(n) = \beta \alpha_{at} +
    (1 - \beta) \alpha_{rt}` held fixed and :math:`a_1(n) = \alpha(n) - 1`:

    1. :math:`\partial L/\partial u` = the reverse all-pole recursion (Eq. 7) on
       :math:`\partial L/\partial \hat g` (`zoo.filters.autograd.AllpoleReverseFunction`);
    2. :math:`\partial L/\partial g = \partial L/\partial u \cdot \alpha`;
    3. :math:`\partial L/\partial \alpha(n) = \partial L/\partial u(n) (g(n) - \hat g(n-1))`;
    4. :math:`\partial L/\partial \alpha_{at} = \sum_n \beta \, \partial L/\partial \alpha(n)`,
       :math:`\partial L/\partial \alpha_{rt} = \sum_n (1 - \beta) \partial L/\partial \alpha(n)`;
    5. :math:`\partial L/\partial \hat g(-1) = (1 - \alpha(0)) \partial L/\partial u(0)`.

    The backward pass is made of differentiable ops (the reverse recursion is itself an autograd
    Function), so double backward works; ``jvp`` gives forward-mode AD. Gradients are those of
    the branch taken: exact wherever no g(n) equals g_hat(n-1) (almost everywhere).

    Shapes: g, g_hat (N, T); zi, at, rt (N,). Outputs (g_hat, mask); mask is not differentiable.
    """

    @staticmethod
    def forward(g: Tensor, zi: Tensor, at: Tensor, rt: Tensor) -> tuple[Tensor, Tensor]:
        return _attack_release_op(g, zi, at, rt)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
        g, zi, at, rt = inputs
        y, mask = output
        ctx.mark_non_differentiable(mask)
        ctx.save_for_backward(g, zi, at, rt, y, mask)
        ctx.save_for_forward(g, zi, at, rt, y, mask)

    @staticmethod
    def _coef_and_delta(g: Tensor, zi: Tensor, at: Tensor, rt: Tensor, y: Tensor, mask: Tensor):
        coef = torch.where(mask, at.unsqueeze(-1), rt.unsqueeze(-1))  # alpha(n)
        prev = torch.cat([zi.unsqueeze(-1), y[:, :-1]], dim=-1)  # g_hat(n-1)
        return coef, g - prev

    @staticmethod
    def backward(ctx: Any, grad_y: Tensor, _grad_mask: Tensor | None):
        g, zi, at, rt, y, mask = ctx.saved_tensors
        need_g, need_zi, need_at, need_rt = ctx.needs_input_grad
        if not torch.is_grad_enabled() and g.device.type == "cpu":  # no graph: one fused sweep
            grad_g, grad_zi, grad_at, grad_rt = _attack_release_backward_op(
                grad_y.contiguous(), g.contiguous(), zi.contiguous(), at.contiguous(), rt.contiguous(),
                y.contiguous(), mask.contiguous(),
            )
            return (
                grad_g if need_g else None, grad_zi if need_zi else None,
                grad_at if need_at else None, grad_rt if need_rt else None,
            )
        coef = torch.where(mask, at.unsqueeze(-1), rt.unsqueeze(-1))
        # Steps 1: the smoother is y(n) = u(n) - a_1(n) y(n-1), a_1 = alpha - 1 (Eq. 7 on dL/dy).
        u = AllpoleReverseFunction.apply(grad_y.contiguous(), (coef - 1.0).unsqueeze(-1).contiguous())
        grad_g = u * coef if need_g else None  # step 2
        grad_zi = u[:, 0] * (1.0 - coef[:, 0]) if need_zi else None  # step 5
        grad_at = grad_rt = None
        if need_at or need_rt:
            prev = torch.cat([zi.unsqueeze(-1), y[:, :-1]], dim=-1)
            grad_alpha = u * (g - prev)  # step 3
            zero = torch.zeros((), dtype=grad_alpha.dtype, device=grad_alpha.device)
            if need_at:
                grad_at = torch.where(mask, grad_alpha, zero).sum(-1)  # step 4
            if need_rt:
                grad_rt = torch.where(mask, zero, grad_alpha).sum(-1)
        return grad_g, grad_zi, grad_at, grad_rt

    @staticmethod
    def jvp(ctx: Any, dg: Tensor | None, dzi: Tensor | None, dat: Tensor | None, drt: Tensor | None):
        g, zi, at, rt, y, mask = ctx.saved_tensors
        coef = torch.where(mask, at.unsqueeze(-1), rt.unsqueeze(-1))
        rhs = torch.zeros_like(y) if dg is None else dg * coef
        if dat is not None or drt is not None:
            zero = torch.zeros((), dtype=y.dtype, device=y.device)
            dcoef = torch.where(
                mask,
                zero if dat is None else dat.unsqueeze(-1),
                zero if drt is None else drt.unsqueeze(-1),
            )
            prev = torch.cat([zi.unsqueeze(-1), y[:, :-1]], dim=-1)
            rhs = rhs + dcoef * (g - prev)
        state = torch.zeros_like(zi) if dzi is None else dzi
        a = (coef - 1.0).unsqueeze(-1).contiguous()
        return AllpoleFunction.apply(rhs.contiguous(), a, state.unsqueeze(-1).contiguous()), None
