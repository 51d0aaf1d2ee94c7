"""The fused compressor's custom ops and autograd Function: the whole TD compressor as one CPU op
(`FusedCompressorFunction`, on `zoo.effects.compressors.kernels_fused`). Its composed twin is built
from `zoo.filters` (`linear_recurrence` for the detector, `attack_release_smoother`)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ...filters.dispatch import pick_kernel
from . import kernels_fused as kernels_compressor_fused


# ------------------------------------------------------------------- fused TD compressor (CPU)
def _fused_kernel(name: str, rows: int):
    return pick_kernel(kernels_compressor_fused, name, rows)


@torch.library.custom_op("zoo::compressor_fused_forward", mutates_args=(), device_types="cpu")
def _fused_forward_op(
    x: Tensor, params: Tensor, zi: Tensor, use_expander: bool, use_limiter: bool, eps: float
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """The whole TD compressor on x (N, C, T), params (N, 10), zi (N, 2) in one sweep per row.

    Returns y (N, C, T) and what the backward needs: x_rms, level (dB), g, g_hat (N, T), attack mask.
    """
    n_rows, _, n_time = x.shape
    y = torch.empty_like(x)
    rms, level, g, g_hat = (x.new_empty(n_rows, n_time) for _ in range(4))
    mask = torch.empty(n_rows, n_time, dtype=torch.bool)
    if n_time:
        _fused_kernel("compressor_forward", n_rows)(
            x.numpy(), params.numpy(), zi.numpy(), use_expander, use_limiter, eps, y.numpy(), rms.numpy(),
            level.numpy(), g.numpy(), g_hat.numpy(), mask.numpy(),
        )
    return y, rms, level, g, g_hat, mask


@_fused_forward_op.register_fake
def _(x, params, zi, use_expander, use_limiter, eps):
    n_rows, _, n_time = x.shape
    signals = [x.new_empty(n_rows, n_time) for _ in range(4)]
    return (torch.empty_like(x), *signals, x.new_empty(n_rows, n_time, dtype=torch.bool))


@torch.library.custom_op("zoo::compressor_fused_backward", mutates_args=(), device_types="cpu")
def _fused_backward_op(
    grad_y: Tensor, grad_zf: Tensor, x: Tensor, params: Tensor, zi: Tensor, rms: Tensor, level: Tensor,
    g: Tensor, g_hat: Tensor, mask: Tensor, use_expander: bool, use_limiter: bool, eps: float, need_x: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    """The adjoint of `_fused_forward_op` in one reverse sweep per row (no graph).

    Returns dL/dx (N, C, T) (empty (0, 0, 0) unless ``need_x``), dL/dparams (N, 10), dL/dzi (N, 2).
    """
    grad_x = torch.empty_like(x) if need_x else x.new_empty(0, 0, 0)
    grad_params = torch.zeros_like(params)
    grad_zi = torch.zeros_like(zi)
    if x.shape[-1]:
        _fused_kernel("compressor_backward", x.shape[0])(
            grad_y.numpy(), grad_zf.numpy(), x.numpy(), params.numpy(), zi.numpy(), use_expander, use_limiter,
            eps, rms.numpy(), level.numpy(), g.numpy(), g_hat.numpy(), mask.numpy(), need_x, grad_x.numpy(),
            grad_params.numpy(), grad_zi.numpy(),
        )
    return grad_x, grad_params, grad_zi


@_fused_backward_op.register_fake
def _(grad_y, grad_zf, x, params, zi, rms, level, g, g_hat, mask, use_expander, use_limiter, eps, need_x):
    grad_x = torch.empty_like(x) if need_x else x.new_empty(0, 0, 0)
    return grad_x, torch.empty_like(params), torch.empty_like(zi)


class FusedCompressorFunction(torch.autograd.Function):
    r"""The whole TD compressor (detector, gain computer, Eq. 21 smoother, make-up) as one CPU op.

    Forward: one Numba sweep per row (`zoo.effects.compressors.kernels_fused`) computes y and keeps
    x_rms, the level (dB), g, :math:`\hat g` and the attack mask. Backward: one reverse sweep per row,
    the adjoint of every stage (Algorithm 1 for the smoother, the reverse one-pole recursion, Eq. 7,
    for the detector), with every parameter's gradient summed over time in float64. It gives the
    same gradients as the composed path (`gain_computer`, `rms_detector`, `AttackReleaseFunction`),
    which is about 2x slower per training step (``benchmarks/effects_compressor.py``): every
    composed op allocates and sweeps a full-length tensor and keeps it for autograd.

    If the backward itself is differentiated (``create_graph=True``), it recomputes the forward
    through the composed path and differentiates that instead, so autograd of any order works.
    No forward-mode AD: `compressor` takes the composed path under forward AD.

    Inputs: x (N, C, T) (C channels linked: the detector sees their mean power; C = 1 otherwise),
    params (N, 10) (columns as `kernels_compressor_fused.PARAMS`), zi (N, 2) = [x_rms(-1),
    g_hat(-1)], then the expander and limiter switches and eps. Outputs (y (N, C, T), zf (N, 2),
    x_rms, level, g, g_hat, mask); only y and zf are differentiable.
    """

    @staticmethod
    def forward(x: Tensor, params: Tensor, zi: Tensor, use_expander: bool, use_limiter: bool, eps: float):
        y, rms, level, g, g_hat, mask = _fused_forward_op(x, params, zi, use_expander, use_limiter, eps)
        zf = torch.stack([rms[:, -1], g_hat[:, -1]], dim=-1)
        return y, zf, rms, level, g, g_hat, mask

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
        x, params, zi, use_expander, use_limiter, eps = inputs
        _, _, rms, level, g, g_hat, mask = output
        ctx.mark_non_differentiable(rms, level, g, g_hat, mask)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x, params, zi, rms, level, g, g_hat, mask)
        ctx.options = (use_expander, use_limiter, eps)

    @staticmethod
    def backward(ctx: Any, grad_y: Tensor | None, grad_zf: Tensor | None, *_unused):
        x, params, zi, rms, level, g, g_hat, mask = ctx.saved_tensors
        use_expander, use_limiter, eps = ctx.options
        need_x, need_params, need_zi = ctx.needs_input_grad[:3]
        grad_y = torch.zeros_like(x) if grad_y is None else grad_y.contiguous()
        grad_zf = torch.zeros_like(zi) if grad_zf is None else grad_zf.contiguous()
        if torch.is_grad_enabled():  # a graph of the backward is wanted: differentiate the composed path
            inputs = [t for t, need in zip((x, params, zi), (need_x, need_params, need_zi)) if need]
            y, zf = _compress_rows_composed(x, params, zi, use_expander, use_limiter, eps)
            found = iter(torch.autograd.grad((y, zf), inputs, (grad_y, grad_zf), create_graph=True,
                                             allow_unused=True))
            grads = []
            for t, need in zip((x, params, zi), (need_x, need_params, need_zi)):
                grad = next(found) if need else None
                grads.append(torch.zeros_like(t) if need and grad is None else grad)
            return (*grads, None, None, None)
        grad_x, grad_params, grad_zi = _fused_backward_op(
            grad_y, grad_zf, x, params, zi, rms, level, g, g_hat, mask, use_expander, use_limiter, eps, need_x
        )
        return (
            grad_x if need_x else None, grad_params if need_params else None, grad_zi if need_zi else None,
            None, None, None,
        )


def _compress_rows_composed(x: Tensor, params: Tensor, zi: Tensor, use_expander: bool, use_limiter: bool,
                            eps: float) -> tuple[Tensor, Tensor]:
    """`FusedCompressorFunction`'s forward through the composed, differentiable path: (y, zf)."""
    from .functional import _compress  # the composed path dispatches to this Function: import at call time

    col = params.unbind(-1)
    return _compress(
        x, col[0], col[1], col[2], col[3], col[4], col[5], zi, knee_db=col[6],
        expander_threshold_db=col[7] if use_expander else None, expander_ratio=col[8],
        limiter_threshold_db=col[9] if use_limiter else None, link_channels=True, method="td",
        return_zf=True, eps=eps, fused=False,
    )
