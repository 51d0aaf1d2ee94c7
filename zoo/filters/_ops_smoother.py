"""Custom ops of the attack/release smoother (`zoo.filters.smoother`): the forward sweep that records
the attack mask and Algorithm 1's fused reverse sweep, on the Numba kernels of
`zoo.filters.kernels.numba_smoother` (CPU only: other devices take the composed path)."""

from __future__ import annotations

import torch
from torch import Tensor

from .kernels.numba_smoother import attack_release_backward, attack_release_forward


# ------------------------------------------------------------------------ attack/release smoother
@torch.library.custom_op("zoo::attack_release", mutates_args=(), device_types="cpu")
def _attack_release_op(g: Tensor, zi: Tensor, at: Tensor, rt: Tensor) -> tuple[Tensor, Tensor]:
    """Eq. 21 on (N, T) with per-row coefficients (N,): returns (g_hat, attack mask)."""
    y = torch.empty_like(g)
    mask = torch.empty(g.shape, dtype=torch.bool)
    if g.shape[-1]:
        attack_release_forward(g.detach().numpy(), zi.detach().numpy(), at.detach().numpy(),
                               rt.detach().numpy(), y.numpy(), mask.numpy())
    return y, mask


@_attack_release_op.register_fake
def _(g: Tensor, zi: Tensor, at: Tensor, rt: Tensor) -> tuple[Tensor, Tensor]:
    return torch.empty_like(g), torch.empty_like(g, dtype=torch.bool)


@torch.library.custom_op("zoo::attack_release_backward", mutates_args=(), device_types="cpu")
def _attack_release_backward_op(
    grad_y: Tensor, g: Tensor, zi: Tensor, at: Tensor, rt: Tensor, y: Tensor, mask: Tensor
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Algorithm 1 fused (no graph): (dL/dg (N, T), dL/dzi (N,), dL/dat (N,), dL/drt (N,))."""
    grad_g = torch.empty_like(g)
    grad_zi, grad_at, grad_rt = torch.zeros_like(zi), torch.zeros_like(at), torch.zeros_like(rt)
    if g.shape[-1]:
        attack_release_backward(
            grad_y.detach().numpy(), g.detach().numpy(), zi.detach().numpy(), at.detach().numpy(),
            rt.detach().numpy(), y.detach().numpy(), mask.numpy(), grad_g.numpy(), grad_zi.numpy(),
            grad_at.numpy(), grad_rt.numpy(),
        )
    else:
        grad_zi = grad_zi + grad_y.new_zeros(())  # dL/dzi = 0 for an empty signal
    return grad_g, grad_zi, grad_at, grad_rt


@_attack_release_backward_op.register_fake
def _(grad_y, g, zi, at, rt, y, mask):
    return torch.empty_like(g), torch.empty_like(zi), torch.empty_like(at), torch.empty_like(rt)
