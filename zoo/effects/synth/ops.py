"""The fused TD voice's custom ops and autograd Function (`FusedSynthVoiceFunction`, CPU, on the Numba
kernels of `zoo.effects.synth.kernels`), with the composed path it falls back to for double backward."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from zoo.filters import num_frames
from zoo.filters.dispatch import pick_kernel

from . import kernels as kernels_synth
from .controls import (
    CUTOFF_RANGE_HZ,
    coeff_coefficients,
    controls_at_audio_rate,
    cutoff_hz_from_raw,
    lp_coefficients,
)
from .functional import synth_voice


def _fused_kernel(name: str, rows: int):
    return pick_kernel(kernels_synth, name, rows)


def _fused_prepare(ctrl: Tensor, params: Tensor, cond: Tensor, num_samples: int, control_hop: int,
                   sample_rate: float, lp: bool) -> tuple[Tensor, Tensor]:
    """The per-sample maps that do not depend on the recursion: a Numba pass, then vectorised torch ops.

    Returns maps (K, B, T) (K = 5 "lp", 4 "coeff"; rows as in `kernels_synth`) and the interpolated
    c_0..2 (B, T, 3) for "coeff" (empty (0, 0, 3) for "lp").
    """
    rows = ctrl.shape[0]
    padded = max(ctrl.shape[1], num_frames(num_samples, control_hop))
    maps = ctrl.new_empty(5 if lp else 4, rows, num_samples)
    coefs = ctrl.new_empty(0 if lp else rows, 0 if lp else num_samples, 3)
    _fused_kernel("prepare", rows)(ctrl.numpy(), cond.numpy(), control_hop, padded, lp, maps.numpy(), coefs.numpy())
    maps[0].log_()
    torch.mul(maps[0], params[:, 1:2], out=maps[1]).exp_()  # e = base^alpha_env while n < N_on
    if lp:
        maps[2].sigmoid_()
        torch.mul(maps[2], kernels_synth.LOG_CUTOFF_SPAN, out=maps[3]).exp_().mul_(CUTOFF_RANGE_HZ[0])
        torch.mul(maps[3], math.pi / sample_rate, out=maps[4]).sin_()
    else:
        maps[2:4].tanh_()
    return maps, coefs


@torch.library.custom_op("zoo::synth_voice_fused_forward", mutates_args=(), device_types="cpu")
def _fused_forward_op(
    ctrl: Tensor, params: Tensor, cond: Tensor, num_samples: int, control_hop: int, sample_rate: float, lp: bool
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """The whole TD voice for ctrl (B, F, P), params (B, 6), cond (B, 2) in one sweep per row.

    Returns y (B, T) and what the backward needs: the biquad's output v (B, T), maps (K, B, T) and coefs
    (see `_fused_prepare`), aux (B, T, `kernels_synth.N_AUX`).
    """
    maps, coefs = _fused_prepare(ctrl, params, cond, num_samples, control_hop, sample_rate, lp)
    rows = ctrl.shape[0]
    v = ctrl.new_empty(rows, num_samples)
    aux = ctrl.new_empty(rows, num_samples, kernels_synth.N_AUX)
    _fused_kernel("synth_forward", rows)(
        maps.numpy(), coefs.numpy(), params.numpy(), cond.numpy(), sample_rate, lp, v.numpy(), aux.numpy()
    )
    y = torch.mul(v, params[:, 3:4]).tanh_()  # vectorised: a scalar tanhf per sample costs ~5x more
    return y, v, maps, coefs, aux


@_fused_forward_op.register_fake
def _(ctrl, params, cond, num_samples, control_hop, sample_rate, lp):
    rows = ctrl.shape[0]
    maps = ctrl.new_empty(5 if lp else 4, rows, num_samples)
    coefs = ctrl.new_empty(0 if lp else rows, 0 if lp else num_samples, 3)
    aux = ctrl.new_empty(rows, num_samples, kernels_synth.N_AUX)
    return ctrl.new_empty(rows, num_samples), ctrl.new_empty(rows, num_samples), maps, coefs, aux


@torch.library.custom_op("zoo::synth_voice_fused_backward", mutates_args=(), device_types="cpu")
def _fused_backward_op(
    grad_y: Tensor, ctrl: Tensor, params: Tensor, cond: Tensor, y: Tensor, v: Tensor, maps: Tensor, aux: Tensor,
    control_hop: int, sample_rate: float, lp: bool,
) -> tuple[Tensor, Tensor]:
    """The adjoint of `_fused_forward_op` in one reverse sweep per row (no graph).

    Returns dL/dctrl (B, F, P) and dL/dparams (B, 6), in the dtype of ``ctrl``.
    """
    grad_ctrl = torch.zeros(ctrl.shape, dtype=torch.float64)
    grad_params = torch.zeros(params.shape, dtype=torch.float64)
    padded = max(ctrl.shape[1], num_frames(y.shape[1], control_hop))
    _fused_kernel("synth_backward", ctrl.shape[0])(
        grad_y.numpy(), maps.numpy(), params.numpy(), cond.numpy(), control_hop, padded, sample_rate, lp,
        y.numpy(), v.numpy(), aux.numpy(), grad_ctrl.numpy(), grad_params.numpy(),
    )
    return grad_ctrl.to(ctrl.dtype), grad_params.to(params.dtype)


@_fused_backward_op.register_fake
def _(grad_y, ctrl, params, cond, y, v, maps, aux, control_hop, sample_rate, lp):
    return torch.empty_like(ctrl), torch.empty_like(params)


class FusedSynthVoiceFunction(torch.autograd.Function):
    r"""The whole TD voice (controls to audio rate, biquad coefficients, source, biquad, tanh) as one CPU op.

    Forward: one Numba sweep per row (`zoo.effects.synth.kernels`) computes y and keeps, per sample,
    what the backward needs. Backward: one reverse sweep per row, the adjoint of every stage (the
    all-pole's is the time-reversed recursion), with the per-frame and per-row gradients summed in
    float64. It gives the gradients of the composed path (`controls_at_audio_rate`,
    `lp_coefficients` / `coeff_coefficients`, `synth_voice`), without its ~70 full-length tensors.

    If the backward itself is differentiated (``create_graph=True``), it recomputes the forward through
    the composed path and differentiates that instead, so autograd of any order works. No forward-mode
    AD: `synth_voice_td` takes the composed path under forward AD.

    Inputs: ctrl (B, F, P) raw frame-rate controls (P = 1 "lp", 5 "coeff"), params (B, 6) physical
    globals (columns as `kernels_synth.PARAMS`; Q is ignored for "coeff"), cond (B, 2) = (f0 (Hz),
    N_on (samples)), not differentiable; then T, the control hop, F_s (Hz) and ``lp``. Outputs y (B, T)
    and the per-sample intermediates of `_fused_forward_op`, not differentiable.
    """

    @staticmethod
    def forward(ctrl: Tensor, params: Tensor, cond: Tensor, num_samples: int, control_hop: int,
                sample_rate: float, lp: bool) -> tuple[Tensor, Tensor]:
        return _fused_forward_op(ctrl, params, cond, num_samples, control_hop, sample_rate, lp)

    @staticmethod
    def setup_context(ctx, inputs: tuple, output: tuple) -> None:
        ctrl, params, cond, num_samples, control_hop, sample_rate, lp = inputs
        ctx.mark_non_differentiable(*output[1:])
        ctx.options = (num_samples, control_hop, sample_rate, lp)
        ctx.set_materialize_grads(False)
        y, v, maps, _coefs, aux = output
        ctx.save_for_backward(ctrl, params, cond, y, v, maps, aux)

    @staticmethod
    def backward(ctx, grad_y: Tensor | None, *_unused):
        ctrl, params, cond, y, v, maps, aux = ctx.saved_tensors
        num_samples, control_hop, sample_rate, lp = ctx.options
        need_ctrl, need_params = ctx.needs_input_grad[:2]
        if grad_y is None:
            return None, None, None, None, None, None, None
        if torch.is_grad_enabled():  # a graph of the backward is wanted: differentiate the composed path
            inputs = [t for t, need in zip((ctrl, params), (need_ctrl, need_params)) if need]
            y = _voice_rows_composed(ctrl, params, cond, num_samples, control_hop, sample_rate, lp)
            found = iter(torch.autograd.grad(y, inputs, grad_y, create_graph=True, allow_unused=True))
            grads = []
            for t, need in zip((ctrl, params), (need_ctrl, need_params)):
                grad = next(found) if need else None
                grads.append(torch.zeros_like(t) if need and grad is None else grad)
            return (*grads, None, None, None, None, None)
        grad_ctrl, grad_params = _fused_backward_op(
            grad_y.contiguous(), ctrl, params, cond, y, v, maps, aux, control_hop, sample_rate, lp
        )
        return (grad_ctrl if need_ctrl else None, grad_params if need_params else None, None, None, None, None, None)


def _voice_rows_composed(ctrl: Tensor, params: Tensor, cond: Tensor, num_samples: int, control_hop: int,
                         sample_rate: float, lp: bool) -> Tensor:
    """`FusedSynthVoiceFunction`'s forward through the composed, differentiable path: y (B, T)."""
    mix, env_exp, osc_gain, dist_gain, phase, q = params.unbind(-1)
    audio = controls_at_audio_rate(ctrl, control_hop, num_samples)
    if lp:
        b, a = lp_coefficients(cutoff_hz_from_raw(audio[..., 0]), q.unsqueeze(-1), sample_rate)
    else:
        b, a = coeff_coefficients(audio)
    return synth_voice(
        cond[:, 0], cond[:, 1], num_samples, sample_rate, b, a, mix, env_exp, osc_gain, dist_gain, phase,
        method="td",
    )
