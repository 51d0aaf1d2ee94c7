r"""The attack/release smoother of the paper's compressor (Eq. 21, Algorithm 1 of Yu et al. 2024): a
one-pole filter whose coefficient switches between attack and release with the sign of the error.

.. math:: \hat g(n) = \alpha(n) g(n) + (1 - \alpha(n)) \hat g(n-1), \quad
          \alpha(n) = \alpha_{at} \text{ if } g(n) < \hat g(n-1) \text{ else } \alpha_{rt}

Given the attack mask the smoother is a first-order time-varying all-pole filter, so its gradients
are the all-pole layer's (Eqs. 7-8). Two paths, chosen by `zoo.filters.dispatch`:

* CPU: one Numba sweep records the mask (`AttackReleaseFunction`).
* any other device (CUDA: Triton), functorch transforms, ``use_backend("torch")``:
  `attack_release_composed` finds the mask as the fixed point of "filter with this mask, read the
  mask off the output" with the all-pole layer (each round makes at least one more mask value right,
  so it ends; a handful of rounds in practice), then filters once more with autograd on.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch
from torch import Tensor

from ._checks import compute_dtype
from .recursions import allpole
from .autograd_smoother import AttackReleaseFunction
from .dispatch import uses_composed_primitive as _composed

__all__ = ["attack_release_smoother", "attack_release_composed", "AttackReleaseFunction"]

#: rounds of the composed path after which it warns (once) that the mask converges slowly
SLOW_ROUNDS = 64

_warned_slow = False


def _one_pole(g: Tensor, zi: Tensor, mask: Tensor, at: Tensor, rt: Tensor) -> Tensor:
    """y(n) = alpha(n) g(n) + (1 - alpha(n)) y(n-1) with alpha from ``mask``, on the all-pole layer."""
    alpha = torch.where(mask, at.unsqueeze(-1), rt.unsqueeze(-1))
    return allpole(alpha * g, (alpha - 1.0).unsqueeze(-1), zi.unsqueeze(-1))


def _mask_of(g: Tensor, zi: Tensor, y: Tensor) -> Tensor:
    return g < torch.cat([zi.unsqueeze(-1), y[..., :-1]], dim=-1)


def attack_release_composed(g: Tensor, zi: Tensor, at: Tensor, rt: Tensor) -> tuple[Tensor, Tensor]:
    """The smoother from the all-pole layer: the mask's fixed point, then one differentiable pass.

    Args:
        g: (N, T). zi: g_hat(-1), (N,). at, rt: attack and release coefficients in (0, 1], (N,).

    Returns:
        (g_hat (N, T), attack mask (N, T), bool). Gradients flow through the all-pole layer with the
        mask held fixed: those of Algorithm 1.
    """
    global _warned_slow
    with torch.no_grad():
        gd, zd, ad, rd = g.detach(), zi.detach(), at.detach(), rt.detach()
        mask = _mask_of(gd, zd, gd)  # first guess: attack where the gain falls
        rounds = 0
        while True:
            rounds += 1
            new_mask = _mask_of(gd, zd, _one_pole(gd, zd, mask, ad, rd))
            if not bool((new_mask != mask).any()):
                break
            mask = new_mask
            if rounds == SLOW_ROUNDS and not _warned_slow:
                _warned_slow = True
                warnings.warn(f"attack_release_smoother: the attack mask took over {SLOW_ROUNDS} rounds of the "
                              "composed path to settle (each round is one all-pole pass); it will finish", stacklevel=3)
    return _one_pole(g, zi, mask, at, rt), mask


def attack_release_smoother(
    g: Tensor,
    attack_coef: float | Tensor,
    release_coef: float | Tensor,
    zi: float | Tensor | None = None,
    *,
    return_mask: bool = False,
    return_zf: bool = False,
):
    r"""Attack/release gain smoother (Eq. 21, Yu et al. 2024) with exact gradients (Algorithm 1).

    .. math:: \hat g(n) = \alpha(n) g(n) + (1 - \alpha(n)) \hat g(n-1), \quad
              \alpha(n) = \alpha_{at} \text{ if } g(n) < \hat g(n-1) \text{ else } \alpha_{rt}

    Args:
        g: the gain to smooth (linear).
        attack_coef: alpha_at in (0, 1]; a scalar or a tensor broadcastable to ``g.shape[:-1]``.
        release_coef: alpha_rt in (0, 1]; as ``attack_coef``.
        zi: g_hat(-1), broadcastable to ``g.shape[:-1]``. Default 1 (no gain reduction).
        return_mask: also return the attack mask beta (bool, shaped like ``g``).
        return_zf: also return g_hat(T-1) (for streaming: pass it as the next block's ``zi``).

    Shape:
        - g: (..., T); returns g_hat (..., T) [, mask (..., T)] [, zf (...)].

    Returns:
        ``g_hat``, or a tuple with the mask and/or the final state appended in that order.

    Supports:
        float32/64 (fp16/bf16 in float32); autograd of any order and forward-mode AD. CPU: Numba
        (`AttackReleaseFunction`). CUDA and any other device, functorch transforms and
        ``use_backend("torch")``: `attack_release_composed` (the all-pole layer, Triton on CUDA).
    """
    if not isinstance(g, Tensor) or not g.is_floating_point():
        raise TypeError(f"Unexpected type for `g`: expected a floating point tensor, found {type(g).__name__}")
    if g.dim() == 0:
        raise ValueError("Unexpected shape for `g`: expected (..., T), found a scalar")
    lead, n_time = tuple(g.shape[:-1]), g.shape[-1]
    kernel_dtype, out_dtype = compute_dtype(g, *(v for v in (attack_coef, release_coef, zi) if isinstance(v, Tensor) and v.is_floating_point()))
    rows = math.prod(lead)

    def flat(value: Any, name: str, default: float) -> Tensor:
        v = default if value is None else value
        t = v.to(kernel_dtype) if isinstance(v, Tensor) else torch.tensor(float(v), dtype=kernel_dtype, device=g.device)
        try:
            return t.expand(lead).reshape(rows).contiguous()
        except RuntimeError:
            raise ValueError(
                f"Unexpected shape for `{name}`: expected a scalar or a shape broadcastable to {lead}, "
                f"found {tuple(t.shape)}"
            ) from None

    at = flat(attack_coef, "attack_coef", 1.0)
    rt = flat(release_coef, "release_coef", 1.0)
    state = flat(zi, "zi", 1.0)
    g2 = g.to(kernel_dtype).reshape(rows, n_time).contiguous()
    if _composed(g2):
        y2, mask2 = attack_release_composed(g2, state, at, rt)
    else:
        y2, mask2 = AttackReleaseFunction.apply(g2, state, at, rt)
    y = y2.reshape(*lead, n_time).to(out_dtype)
    out: list[Tensor] = [y]
    if return_mask:
        out.append(mask2.reshape(*lead, n_time))
    if return_zf:
        zf = y2[:, -1] if n_time else state
        out.append(zf.reshape(lead).to(out_dtype))
    return out[0] if len(out) == 1 else tuple(out)
