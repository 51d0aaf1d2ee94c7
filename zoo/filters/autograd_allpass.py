"""Autograd Functions of the all-pass primitives: `AllpassLoopFunction` (K first-order all-passes
in a delay-free feedback loop, one coefficient for every stage) and `ChainLoopFunction` (per-stage
coefficients, DF1 or TPT stages, delay-free or one-sample feedback), with `allpass_loop_composed`,
the same loop composed from `zoo.filters.lfilter` (differentiable torch ops, any device)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ._ops_allpass import _allpass_loop_backward_op, _allpass_loop_op, _allpass_loop_tangent_op
from .allpass_polynomials import allpass_cascade_exact
from .recursions import lfilter
from .kernels import numba_allpass_chain as kc


class _AllpassLoopBase(torch.autograd.Function):
    r"""K first-order all-passes (Eq. 10) in a delay-free feedback loop, exact for any p[n].

    .. math::

        y_k[n] = p[n] (y_{k-1}[n] + y_k[n-1]) - y_{k-1}[n-1], \qquad y_0 = u = x + g_2 y_K.

    Forward: per sample, each stage is affine in its input, y_k[n] = p[n] y_{k-1}[n] + c_k[n] with
    c_k[n] = p[n] y_k[n-1] - y_{k-1}[n-1] from the stored state, so y_K[n] = p[n]^K u[n] + C[n] and
    the loop is solved per sample: u[n] = (x[n] + g_2 C[n]) / (1 - g_2 p[n]^K) (> 0 for |g_2| <= 1,
    |p| < 1). State s[n] = (u[n], y_1[n], ..., y_K[n]). Numba kernel, `zoo.filters.kernels.numba_allpass_loop`.

    Backward: the exact adjoint, a reverse sweep of the transposed per-sample system (derivation in
    `zoo.filters.kernels.numba_allpass_loop`), giving dL/dx, dL/dp[n] per sample, dL/dg2 and dL/dzi. The
    forward saves the state every `kernels_loop.CHUNK` samples and the backward re-runs each chunk
    (O(N T / CHUNK) saved memory instead of O(N T K)).

    Double backward (``create_graph=True``): the gradient is recomputed by differentiating the
    composed order-K form (`allpass_cascade_exact` + `zoo.filters.lfilter`), which is exact
    mathematically but loses digits (and can degenerate) when p jumps from sample to sample. It
    needs a signal at rest (``zi`` None): with a streaming state it raises ``RuntimeError``.
    Forward-mode AD (``jvp``) runs a tangent kernel (exact and robust, any ``zi``).

    Inputs: x, p (N, T); g2 (N,); zi (N, K+1) or None (zeros: the signal starts at rest); num_stages K
    (an int, consistent with ``zi``), all contiguous and of one dtype. Outputs: y_K (N, T), zf (N, K+1) and the saved checkpoints
    (non-differentiable; an implementation detail). Float32 and float64, CPU (CUDA tensors take
    `allpass_loop_composed`). No vmap rule.
    """

    @staticmethod
    def forward(x: Tensor, p: Tensor, g2: Tensor, zi: Tensor | None, num_stages: int) -> tuple[Tensor, Tensor, Tensor]:
        zi = x.new_zeros(x.shape[0], num_stages + 1) if zi is None else zi
        y, ckpt = _allpass_loop_op(x, p, g2, zi)
        return y, ckpt[:, -1].clone(), ckpt

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
        x, p, g2, zi, num_stages = inputs
        ckpt = output[2]
        ctx.mark_non_differentiable(ckpt)
        ctx.at_rest = zi is None
        ctx.num_stages = num_stages
        zi = x.new_zeros(x.shape[0], num_stages + 1) if zi is None else zi
        ctx.save_for_backward(x, p, g2, zi, ckpt)
        ctx.save_for_forward(x, p, g2, zi)

    @staticmethod
    def backward(ctx: Any, grad_y: Tensor | None, grad_zf: Tensor | None, _grad_ckpt: Tensor | None):
        x, p, g2, zi, ckpt = ctx.saved_tensors
        need = ctx.needs_input_grad
        if torch.is_grad_enabled():  # create_graph: a differentiable (composed) recomputation
            return _AllpassLoopBase._composed_backward(ctx, grad_y, grad_zf, x, p, g2)
        grad_y = torch.zeros_like(x) if grad_y is None else grad_y.contiguous()
        grad_zf = torch.zeros_like(zi) if grad_zf is None else grad_zf.contiguous()
        grads = _allpass_loop_backward_op(grad_y, grad_zf, x, p, g2, ckpt)
        return tuple(g if n else None for g, n in zip(grads, need[:4])) + (None,)

    @staticmethod
    def _composed_backward(ctx: Any, grad_y, grad_zf, x, p, g2):
        if not ctx.at_rest:
            raise RuntimeError(
                "td_exact's double backward (create_graph=True) needs a signal at rest: it is not "
                "supported through a streaming state (`zi`); detach the state or use create_graph=False"
            )
        need = ctx.needs_input_grad
        wrt = [t for t, n in zip((x, p, g2), need[:3]) if n]
        with torch.enable_grad():
            y, zf = allpass_loop_composed(x, p, g2, ctx.num_stages)
            pairs = [(o, g) for o, g in ((y, grad_y), (zf, grad_zf)) if g is not None]
            grads = iter(torch.autograd.grad(
                [o for o, _ in pairs], wrt, [g for _, g in pairs], create_graph=True, allow_unused=True
            ))
        out = [next(grads) if n else None for n in need[:3]]
        out = [torch.zeros_like(t) if g is None and n else g for g, t, n in zip(out, (x, p, g2), need[:3])]
        return (*out, None, None)


class _CompiledAllpassLoopFunction(_AllpassLoopBase):
    """`AllpassLoopFunction` without forward-mode AD: what runs under `torch.compile` (Dynamo cannot
    trace a custom ``jvp``)."""


class AllpassLoopFunction(_AllpassLoopBase):
    __doc__ = _AllpassLoopBase.__doc__

    @staticmethod
    def jvp(ctx: Any, dx: Tensor | None, dp: Tensor | None, dg2: Tensor | None, dzi: Tensor | None, _dk: None):
        x, p, g2, zi = ctx.saved_tensors
        tangents = [
            torch.zeros_like(t) if d is None else d.contiguous() for d, t in zip((dx, dp, dg2, dzi), (x, p, g2, zi))
        ]
        dy, dzf = _allpass_loop_tangent_op(x, p, g2, zi, *tangents)
        return dy, dzf, None


def allpass_loop_composed(x: Tensor, p: Tensor, g2: Tensor, num_stages: int) -> tuple[Tensor, Tensor]:
    """The loop of `AllpassLoopFunction` (at rest) from the composed order-K fraction: differentiable torch ops.

    (D - g2 N) r = g2 N x with r = u - x (`allpass_cascade_exact`), then the K stages in order,
    each a 2-tap time-varying FIR and a first-order all-pole. Exact up to the conditioning of the
    composed fraction (see `allpass_cascade_exact`); used for double backward.

    Args: x, p (N, T); g2 (N,); num_stages K. Returns (y_K (N, T), zf (N, K+1)).
    """
    den, num = allpass_cascade_exact(p, num_stages)
    den, num = den.to(x.dtype), num.to(x.dtype)
    g2_c = g2[:, None, None]
    e = den - g2_c * num
    lead = e[..., :1]  # 1 - g2 p[n]^K
    u = x + lfilter(g2_c * num / lead, e[..., 1:] / lead, x)
    outs = [u]
    b_stage = torch.stack([p, -torch.ones_like(p)], dim=-1)  # p[n] v[n] - v[n-1]
    a_stage = -p.unsqueeze(-1)  # y[n] = w[n] + p[n] y[n-1]
    for _ in range(num_stages):
        outs.append(lfilter(b_stage, a_stage, outs[-1]))
    if x.shape[-1] == 0:
        return outs[-1], x.new_zeros(x.shape[0], num_stages + 1)
    return outs[-1], torch.stack([o[:, -1] for o in outs], dim=-1)


class ChainLoopFunction(torch.autograd.Function):
    r"""K first-order all-passes with per-stage coefficients, DF1 or TPT stages, and feedback
    delay-free or through a one-sample delay; exact adjoint (`zoo.filters.kernels.numba_allpass_chain`).

    Inputs: x (N, T); coef (N, T, K) (DF1: p; TPT: G = g / (1 + g), g = tan(pi f_b / F_s));
    g2 (N,), |g2| < 1; zi (N, K+1); form 0/1; delay 0/1. Outputs y_K (N, T) and zf (N, K+1).
    CPU, float32/float64, first-order autograd (no double backward, no jvp).
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, coef: Tensor, g2: Tensor, zi: Tensor, form: int, delay: int):
        n_rows, n_time, k_stages = coef.shape
        y = torch.empty_like(x)
        zf = torch.empty_like(zi)
        save = any(ctx.needs_input_grad[:4])  # the states are kept only when a gradient is wanted
        shape_ps = (n_rows, n_time, k_stages + 1) if save else (0, 0, 0)
        ps = x.new_empty(shape_ps)
        uu = x.new_empty((n_rows, n_time) if save else (0, 0))
        yy = x.new_empty((n_rows, n_time, k_stages) if save else (0, 0, 0))
        kc.chain_forward(x.detach().numpy(), coef.detach().numpy(), g2.detach().numpy(), zi.detach().numpy(), form, delay,
                         y.numpy(), zf.numpy(), save, ps.numpy(), uu.numpy(), yy.numpy())
        ctx.form, ctx.delay = form, delay
        if save:
            ctx.save_for_backward(coef, g2, ps, uu, yy)
        return y, zf

    @staticmethod
    def backward(ctx: Any, grad_y: Tensor | None, grad_zf: Tensor | None):
        coef, g2, ps, uu, yy = ctx.saved_tensors
        n_rows, n_time, k_stages = coef.shape
        grad_y = uu.new_zeros(n_rows, n_time) if grad_y is None else grad_y.contiguous()
        grad_zf = uu.new_zeros(n_rows, k_stages + 1) if grad_zf is None else grad_zf.contiguous()
        grad_x = torch.empty_like(grad_y)
        grad_c = torch.zeros_like(coef)
        grad_g = torch.empty_like(g2)
        grad_zi = torch.empty_like(grad_zf)
        kc.chain_backward(grad_y.numpy(), grad_zf.numpy(), coef.detach().numpy(), g2.detach().numpy(), ctx.form,
                          ctx.delay, ps.numpy(), uu.numpy(), yy.numpy(), grad_x.numpy(), grad_c.numpy(),
                          grad_g.numpy(), grad_zi.numpy())
        need = ctx.needs_input_grad
        return (grad_x if need[0] else None, grad_c if need[1] else None, grad_g if need[2] else None,
                grad_zi if need[3] else None, None, None)
