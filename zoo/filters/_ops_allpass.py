"""Custom ops of the all-pass loop (`zoo.filters.allpass_feedback_loop`): forward, exact adjoint
and tangent, on the Numba kernels of `zoo.filters.kernels.numba_allpass_loop` (CPU only: CUDA
tensors take the composed path, see `zoo.filters.allpass`)."""

from __future__ import annotations

import torch
from torch import Tensor

from .dispatch import pick_kernel
from .kernels import numba_allpass_loop as kernels_loop


# ----------------------------------------------------------------------------------------------
# td_exact: the all-pass chain with delay-free feedback in state-space form (custom ops)
# ----------------------------------------------------------------------------------------------

def _kernel(name: str, rows: int):
    return pick_kernel(kernels_loop, name, rows)


@torch.library.custom_op("zoo::allpass_loop", mutates_args=(), device_types="cpu")
def _allpass_loop_op(x: Tensor, p: Tensor, g2: Tensor, zi: Tensor) -> tuple[Tensor, Tensor]:
    """x, p (N, T); g2 (N,); zi (N, K+1) -> (y_K (N, T), checkpoints (N, ceil(T / CHUNK) + 1, K+1))."""
    y = torch.empty_like(x)
    ckpt = x.new_empty(x.shape[0], kernels_loop.num_checkpoints(x.shape[1]), zi.shape[1])
    _kernel("allpass_loop_forward", x.shape[0])(
        x.detach().numpy(), p.detach().numpy(), g2.detach().numpy(), zi.detach().numpy(), y.numpy(), ckpt.numpy()
    )
    return y, ckpt


@_allpass_loop_op.register_fake
def _(x: Tensor, p: Tensor, g2: Tensor, zi: Tensor) -> tuple[Tensor, Tensor]:
    return torch.empty_like(x), x.new_empty(x.shape[0], kernels_loop.num_checkpoints(x.shape[1]), zi.shape[1])


@torch.library.custom_op("zoo::allpass_loop_backward", mutates_args=(), device_types="cpu")
def _allpass_loop_backward_op(
    grad_y: Tensor, grad_zf: Tensor, x: Tensor, p: Tensor, g2: Tensor, ckpt: Tensor
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The exact adjoint, one reverse sweep: (dL/dx (N, T), dL/dp (N, T), dL/dg2 (N,), dL/dzi (N, K+1))."""
    grad_x, grad_p = torch.empty_like(x), torch.empty_like(p)
    grad_g2, grad_zi = torch.empty_like(g2), ckpt.new_empty(ckpt.shape[0], ckpt.shape[2])
    _kernel("allpass_loop_backward", x.shape[0])(
        grad_y.detach().numpy(), grad_zf.detach().numpy(), x.detach().numpy(), p.detach().numpy(),
        g2.detach().numpy(), ckpt.detach().numpy(), grad_x.numpy(), grad_p.numpy(), grad_g2.numpy(),
        grad_zi.numpy(),
    )
    return grad_x, grad_p, grad_g2, grad_zi


@_allpass_loop_backward_op.register_fake
def _(grad_y, grad_zf, x, p, g2, ckpt):
    return torch.empty_like(x), torch.empty_like(p), torch.empty_like(g2), ckpt.new_empty(ckpt.shape[0], ckpt.shape[2])


@torch.library.custom_op("zoo::allpass_loop_tangent", mutates_args=(), device_types="cpu")
def _allpass_loop_tangent_op(
    x: Tensor, p: Tensor, g2: Tensor, zi: Tensor, dx: Tensor, dp: Tensor, dg2: Tensor, dzi: Tensor
) -> tuple[Tensor, Tensor]:
    """Forward-mode derivative: (dy_K (N, T), dzf (N, K+1)) for the tangents (dx, dp, dg2, dzi)."""
    dy, dzf = torch.empty_like(x), torch.empty_like(zi)
    _kernel("allpass_loop_tangent", x.shape[0])(
        *(t.detach().numpy() for t in (x, p, g2, zi, dx, dp, dg2, dzi)), dy.numpy(), dzf.numpy()
    )
    return dy, dzf


@_allpass_loop_tangent_op.register_fake
def _(x, p, g2, zi, dx, dp, dg2, dzi):
    return torch.empty_like(x), torch.empty_like(zi)
