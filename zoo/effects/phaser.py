r"""Differentiable phaser: K first-order all-pass stages with feedback, driven by a learnable LFO.

Yu et al., "Differentiable All-pole Filters for Time-varying Audio Systems", DAFx 2024, Sec. 4.1
(after Carson et al., DAFx 2023, whose frequency-sampling model is the ``"fs"`` twin here).

Signal path, with x the input, u the signal entering the all-pass chain and y_k the k-th stage
output (y_0 = u):

.. math::

    y_k[n] = p[n]\,(y_{k-1}[n] + y_k[n-1]) - y_{k-1}[n-1]      \qquad (Eq. 10)

    u[n] = x[n] + g_2\, y_K[n]                                   \quad \text{(delay-free feedback)}

    o[n] = g_1 x[n] + y_K[n],  \qquad  \text{out} = \mathrm{BQ}\{o\}

With p frozen this is H(z) = BQ(z) (g1 + A(z) / (1 - g2 A(z))), A(z) = ((p - z^-1)/(1 - p z^-1))^K.
Three implementations:

* ``"td_regrouped"``: the paper's form (Eqs. 11-12). With p[n] frozen per sample, A = N/D with
  N = (p - z^-1)^K, D = (1 - p z^-1)^K, and g1 + A/(1 - g2 A) = (g1 (D - g2 N) + N) / (D - g2 N);
  times the biquad this is one time-varying FIR of K+3 taps followed by ONE all-pole of order K+2.
  For time-varying p this is an approximation: the zeros and poles of different stages are
  regrouped as if they commuted.
* ``"td_exact"``: exact for any p[n], in state-space form (`AllpassLoopFunction`, Numba kernels in
  `zoo.effects.kernels_phaser`). Per sample each stage is affine in its input,
  y_k[n] = p[n] y_{k-1}[n] + c_k[n] with c_k[n] = p[n] y_k[n-1] - y_{k-1}[n-1] from the K + 1
  stored values (u[n-1], y_1[n-1], ..., y_K[n-1]), so y_K[n] = p[n]^K u[n] + C[n] and the
  delay-free loop is solved per sample, u[n] = (x[n] + g2 C[n]) / (1 - g2 p[n]^K), a pivot > 0 for
  |g2| <= 1, |p| < 1 whatever the modulation. The backward pass is the exact adjoint of that
  per-sample system (one reverse sweep). The biquad is a time-invariant section at the end.
  (An earlier version composed the K stages into one order-K recursion on the loop signal,
  `allpass_cascade_exact`; mathematically the same, but its leading coefficient can come close to
  0 when p moves fast, which gave non-finite losses in training. It is kept for double backward.)
* ``"fs"``: frequency sampling (Hann window 4L, hop L, FFT length 2^(ceil(log2 4L)+1)); each frame
  uses H(e^{jw}) of its frame-rate p.

Measured difference between the two TD forms (float64, 44.1 kHz, 1 s of white noise, K = 4,
g1 = 0.5, biquad = identity; p from the default LFO mapping with a cosine LFO sweeping the break
frequency over 100-2000 Hz (p in [0.749, 0.986]), control hop 10 ms, linear interpolation;
ESR = ||y_regrouped - y_exact||^2 / ||y_exact||^2; td_exact itself matches a float64
sample-by-sample loop to ESR < 1e-29, i.i.d. p included. Reproduced by
``tests/effects/test_phaser_exact.py::test_regrouped_vs_exact_documented_numbers``):

========  =========  =========  =========  =========  =====================
g2        0.5 Hz     2 Hz       5 Hz       20 Hz      p[n] i.i.d. per sample
========  =========  =========  =========  =========  =====================
0         3.5e-5     1.3e-2     0.57       14         5.6e4 (diverges)
0.6       1.1e-4     3.8e-2     1.6        48         4.6e5 (diverges)
========  =========  =========  =========  =========  =====================

The error is concentrated where p is close to 1 (low break frequencies, long time constants) and
grows steeply with the modulation speed: at the Small Stone's slow rates (0.06-0.6 Hz) the
regrouped form is within about -40 dB, but at 2 Hz with a deep sweep it is already a few percent,
and for fast modulation the regrouped 6th-order all-pole is not even stable while the exact form is.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from ..filters import (
    biquad_triangle,
    fft_size,
    fs_filter,
    fs_num_frames,
    interpolate_controls,
    lfilter,
    num_frames,
)
from ..models.lfo import LFOController, allpass_coefficient, break_frequency_hz
from . import kernels_phaser
from .base import Effect, check_audio

__all__ = [
    "PHASER_METHODS",
    "allpass_polynomials",
    "allpass_cascade_exact",
    "allpass_feedback_loop",
    "AllpassLoopFunction",
    "phaser_response",
    "phaser",
    "Phaser",
    "STAGE_FORMS",
    "ChainLoopFunction",
    "allpass_chain",
    "SweepLFO",
    "stage_coefficients",
]

PHASER_METHODS = ("td_exact", "td_regrouped", "fs")


# ----------------------------------------------------------------------------------------------
# Coefficients
# ----------------------------------------------------------------------------------------------


def allpass_polynomials(p: Tensor, num_stages: int = 4) -> tuple[Tensor, Tensor]:
    r"""Frozen-time polynomials of K cascaded first-order all-passes: A(z) = N(z) / D(z).

    N(z) = (p - z^-1)^K = \sum_j C(K, j) p^{K-j} (-1)^j z^{-j}, D(z) = (1 - p z^-1)^K (the flip of N).

    Args:
        p: all-pass coefficient, any shape (...), |p| < 1 for stability.
        num_stages: K >= 1. Default 4.

    Returns:
        (den, num), each (..., K+1), ``den[..., 0] = 1``.
    """
    _check_stages(num_stages)
    k = num_stages
    # Powers as repeated products, not `p ** j`: elementwise products round the same way whatever
    # the vectorisation, so a block of a stream gets the same bits as one pass (`Phaser.process_block`).
    powers = [torch.ones_like(p), p]
    for _ in range(2, k + 1):
        powers.append(powers[-1] * p)
    num = torch.stack([math.comb(k, j) * (-1) ** j * powers[k - j] for j in range(k + 1)], dim=-1)
    den = torch.stack([math.comb(k, j) * (-1) ** j * powers[j] for j in range(k + 1)], dim=-1)
    return den, num


def _shift(c: Tensor, lag: int) -> Tensor:
    """c[n - lag] along the last dim; before the start, repeat c[0] (those values only ever
    multiply signal samples before n = 0, which are zero, or set a free left scale)."""
    if lag == 0:
        return c
    n_time = c.shape[-1]
    lag_in = min(lag, n_time)
    head = c[..., :1].expand(*c.shape[:-1], lag_in)
    return torch.cat([head, c[..., : n_time - lag_in]], dim=-1)


def allpass_cascade_exact(p: Tensor, num_stages: int = 4) -> tuple[Tensor, Tensor]:
    r"""Exact time-varying left fraction of K cascaded first-order all-passes: A = D^{-1} N.

    Write S for the unit delay and let a time-varying polynomial act as
    (P x)[n] = \sum_i P_i[n] x[n-i]. One stage (Eq. 10) is D_1 y = N_1 x with D_1 = 1 - p[n] S and
    N_1 = p[n] - S. Because (S c)[n] = c[n-1] S, products do not commute
    ((P Q)_{i+j}[n] += P_i[n] Q_j[n-i]), so A = (D_1^{-1} N_1)^K is *not* (D_1^K)^{-1} N_1^K unless p
    is constant. We compose the stages exactly (Ore's left fraction): given A_k = Q^{-1} R of order
    k, the next stage gives Q^{-1} R D_1^{-1} N_1; find a monic first-order L = 1 + l S and M of
    order k with L R = M D_1, so that R D_1^{-1} = L^{-1} M and

    .. math:: A_{k+1} = (L Q)^{-1} (M N_1).

    Matching the coefficients of S^i, i = 0..k+1, gives m_i = \alpha_i + \beta_i l with
    \alpha_i = R_i[n] + \alpha_{i-1} p[n-i+1], \beta_i = R_{i-1}[n-1] + \beta_{i-1} p[n-i+1]
    (\alpha_{-1} = \beta_{-1} = 0), and the last coefficient fixes
    l = -p[n-k] \alpha_k / (R_k[n-1] + p[n-k] \beta_k). For constant p the denominator is
    \pm (1 - p^2)^k != 0, L = D_1 and M = N_1^k, so the result reduces to D_1^K and N_1^K (the
    frozen polynomials of `allpass_polynomials`). D stays monic and N_0[n] = p[n]^K.

    The coefficients at sample n depend on p[n], ..., p[n-K]. They are computed in (at least)
    float64, since for p near 1 the result involves cancellations of order (1 - p^2)^K.
    Conditioning: for LFO-like p the coefficients stay of the size of the frozen ones (<= 2^K) and
    the phaser matches a float64 sample loop to ~1e-12; under extreme modulation (p[n] i.i.d. in
    (-0.95, 0.95)) the coefficients grow (to ~200 for K = 4, ~2000 for K = 6) and K = 6 loses digits
    (~1e-7 relative), since l's denominator can come close to 0 (there the order-K input-output
    recursion degenerates; the state-space form of ``"td_exact"``, `AllpassLoopFunction`, does not:
    this fraction is now only used for its double backward and for analysis).

    With this exact fraction the delay-free feedback loop u = x + g2 A u becomes
    (D - g2 N) u = D x, and A (1 - g2 A)^{-1} = (D - g2 N)^{-1} N (both exact for time-varying p).

    Args:
        p: all-pass coefficient per sample, (..., T), |p| < 1.
        num_stages: K >= 1. Default 4.

    Returns:
        (den, num), each (..., T, K+1) in the promoted dtype of p and float64; ``den[..., 0] = 1``.
    """
    _check_stages(num_stages)
    work = p.to(torch.promote_types(p.dtype, torch.float64))
    one = torch.ones_like(work)
    p_lag = [_shift(work, j) for j in range(num_stages + 1)]  # p_lag[j][n] = p[n - j]
    den = [one, -work]
    num = [work, -one]
    for k in range(1, num_stages):
        num_lag = [_shift(c, 1) for c in num]  # R_i[n - 1]
        alpha, beta = [], []
        for i in range(k + 1):
            if i == 0:
                alpha.append(num[0])
                beta.append(torch.zeros_like(work))
            else:
                alpha.append(num[i] + alpha[i - 1] * p_lag[i - 1])
                beta.append(num_lag[i - 1] + beta[i - 1] * p_lag[i - 1])
        ell = -p_lag[k] * alpha[k] / (num_lag[k] + p_lag[k] * beta[k])
        m = [a_i + b_i * ell for a_i, b_i in zip(alpha, beta)]
        den_lag = [_shift(c, 1) for c in den]
        den = [den[0]] + [(den[i] if i <= k else 0.0) + ell * den_lag[i - 1] for i in range(1, k + 2)]
        num = [m[0] * p_lag[0]] + [
            (m[i] * p_lag[i] if i <= k else 0.0) - m[i - 1] for i in range(1, k + 2)
        ]
    return torch.stack(den, dim=-1), torch.stack(num, dim=-1)


# ----------------------------------------------------------------------------------------------
# td_exact: the all-pass chain with delay-free feedback in state-space form (custom ops)
# ----------------------------------------------------------------------------------------------

#: below this many rows the kernels run without the thread pool (nothing to share, and waking the
#: pool costs more than it saves); as `zoo.filters._ops`.
_SERIAL_MAX_ROWS = 2


def _kernel(name: str, rows: int):
    return getattr(kernels_phaser, f"{name}_serial" if rows <= _SERIAL_MAX_ROWS else name)


@torch.library.custom_op("zoo::phaser_allpass_loop", mutates_args=(), device_types="cpu")
def _allpass_loop_op(x: Tensor, p: Tensor, g2: Tensor, zi: Tensor) -> tuple[Tensor, Tensor]:
    """x, p (N, T); g2 (N,); zi (N, K+1) -> (y_K (N, T), checkpoints (N, ceil(T / CHUNK) + 1, K+1))."""
    y = torch.empty_like(x)
    ckpt = x.new_empty(x.shape[0], kernels_phaser.num_checkpoints(x.shape[1]), zi.shape[1])
    _kernel("allpass_loop_forward", x.shape[0])(
        x.detach().numpy(), p.detach().numpy(), g2.detach().numpy(), zi.detach().numpy(), y.numpy(), ckpt.numpy()
    )
    return y, ckpt


@_allpass_loop_op.register_kernel("cuda")
def _(x: Tensor, p: Tensor, g2: Tensor, zi: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover - GPU
    # A strictly sequential scan with K + 1 states per row: one CPU pass beats a GPU loop.
    y, ckpt = _allpass_loop_op(x.cpu(), p.cpu(), g2.cpu(), zi.cpu())
    return y.to(x.device), ckpt.to(x.device)


@_allpass_loop_op.register_fake
def _(x: Tensor, p: Tensor, g2: Tensor, zi: Tensor) -> tuple[Tensor, Tensor]:
    return torch.empty_like(x), x.new_empty(x.shape[0], kernels_phaser.num_checkpoints(x.shape[1]), zi.shape[1])


@torch.library.custom_op("zoo::phaser_allpass_loop_backward", mutates_args=(), device_types="cpu")
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


@_allpass_loop_backward_op.register_kernel("cuda")
def _(grad_y, grad_zf, x, p, g2, ckpt):  # pragma: no cover - GPU
    outs = _allpass_loop_backward_op(grad_y.cpu(), grad_zf.cpu(), x.cpu(), p.cpu(), g2.cpu(), ckpt.cpu())
    return tuple(o.to(x.device) for o in outs)


@_allpass_loop_backward_op.register_fake
def _(grad_y, grad_zf, x, p, g2, ckpt):
    return torch.empty_like(x), torch.empty_like(p), torch.empty_like(g2), ckpt.new_empty(ckpt.shape[0], ckpt.shape[2])


@torch.library.custom_op("zoo::phaser_allpass_loop_tangent", mutates_args=(), device_types="cpu")
def _allpass_loop_tangent_op(
    x: Tensor, p: Tensor, g2: Tensor, zi: Tensor, dx: Tensor, dp: Tensor, dg2: Tensor, dzi: Tensor
) -> tuple[Tensor, Tensor]:
    """Forward-mode derivative: (dy_K (N, T), dzf (N, K+1)) for the tangents (dx, dp, dg2, dzi)."""
    dy, dzf = torch.empty_like(x), torch.empty_like(zi)
    _kernel("allpass_loop_tangent", x.shape[0])(
        *(t.detach().numpy() for t in (x, p, g2, zi, dx, dp, dg2, dzi)), dy.numpy(), dzf.numpy()
    )
    return dy, dzf


@_allpass_loop_tangent_op.register_kernel("cuda")
def _(x, p, g2, zi, dx, dp, dg2, dzi):  # pragma: no cover - GPU
    dy, dzf = _allpass_loop_tangent_op(*(t.cpu() for t in (x, p, g2, zi, dx, dp, dg2, dzi)))
    return dy.to(x.device), dzf.to(x.device)


@_allpass_loop_tangent_op.register_fake
def _(x, p, g2, zi, dx, dp, dg2, dzi):
    return torch.empty_like(x), torch.empty_like(zi)


class _AllpassLoopBase(torch.autograd.Function):
    r"""K first-order all-passes (Eq. 10) in a delay-free feedback loop, exact for any p[n].

    .. math::

        y_k[n] = p[n] (y_{k-1}[n] + y_k[n-1]) - y_{k-1}[n-1], \qquad y_0 = u = x + g_2 y_K.

    Forward: per sample, each stage is affine in its input, y_k[n] = p[n] y_{k-1}[n] + c_k[n] with
    c_k[n] = p[n] y_k[n-1] - y_{k-1}[n-1] from the stored state, so y_K[n] = p[n]^K u[n] + C[n] and
    the loop is solved per sample: u[n] = (x[n] + g_2 C[n]) / (1 - g_2 p[n]^K) (> 0 for |g_2| <= 1,
    |p| < 1). State s[n] = (u[n], y_1[n], ..., y_K[n]). Numba kernel, `zoo.effects.kernels_phaser`.

    Backward: the exact adjoint, a reverse sweep of the transposed per-sample system (derivation in
    `zoo.effects.kernels_phaser`), giving dL/dx, dL/dp[n] per sample, dL/dg2 and dL/dzi. The
    forward saves the state every `kernels_phaser.CHUNK` samples and the backward re-runs each chunk
    (O(N T / CHUNK) saved memory instead of O(N T K)).

    Double backward (``create_graph=True``): the gradient is recomputed by differentiating the
    composed order-K form (`allpass_cascade_exact` + `zoo.filters.lfilter`), which is exact
    mathematically but loses digits (and can degenerate) when p jumps from sample to sample. It
    needs a signal at rest (``zi`` None): with a streaming state it raises ``RuntimeError``.
    Forward-mode AD (``jvp``) runs a tangent kernel (exact and robust, any ``zi``).

    Inputs: x, p (N, T); g2 (N,); zi (N, K+1) or None (zeros: the signal starts at rest); num_stages K
    (an int, consistent with ``zi``), all contiguous and of one dtype. Outputs: y_K (N, T), zf (N, K+1) and the saved checkpoints
    (non-differentiable; an implementation detail). Float32 and float64, CPU (CUDA tensors go
    through the CPU kernel). No vmap rule.
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
            y, zf = _allpass_loop_composed(x, p, g2, ctx.num_stages)
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


def _apply_allpass_loop(x: Tensor, p: Tensor, g2: Tensor, zi: Tensor | None, num_stages: int):
    """Apply the right Function: the jvp-free one while `torch.compile` traces, else the full one."""
    if torch.compiler.is_compiling():
        return _CompiledAllpassLoopFunction.apply(x, p, g2, zi, num_stages)
    return AllpassLoopFunction.apply(x, p, g2, zi, num_stages)


def _allpass_loop_composed(x: Tensor, p: Tensor, g2: Tensor, num_stages: int) -> tuple[Tensor, Tensor]:
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


def allpass_feedback_loop(
    x: Tensor,
    p: Tensor,
    g2: Tensor,
    zi: Tensor | None = None,
    *,
    num_stages: int = 4,
    return_zf: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    r"""K first-order all-passes in a delay-free feedback loop, exact for any p[n] (state-space form).

    y_k[n] = p[n] (y_{k-1}[n] + y_k[n-1]) - y_{k-1}[n-1] (Eq. 10), y_0 = u = x + g2 y_K; returns
    y_K. See `AllpassLoopFunction` for the per-sample solve and the adjoint.

    Args:
        x: input, (N, T).
        p: all-pass coefficient per sample, (N, T), |p| < 1 (not checked).
        g2: feedback gain, (N,), |g2| <= 1 (not checked; then the per-sample pivot
            1 - g2 p^K stays > 0).
        zi: state (N, K+1): u[-1], y_1[-1], ..., y_K[-1]. Default None: at rest (zeros).
        num_stages: K >= 1. Default 4.
        return_zf: also return the final state, in the layout of ``zi``.

    Returns:
        y_K (N, T), or (y_K, zf) when ``return_zf``.

    Raises:
        ValueError: ``num_stages`` < 1 or a shape mismatch.

    Supports:
        CPU (CUDA through the CPU kernel), float32 and float64, autograd (double backward only at
        rest, see `AllpassLoopFunction`), forward-mode AD. Not vmap.
    """
    _check_stages(num_stages)
    if x.dim() != 2 or p.shape != x.shape or g2.shape != x.shape[:1]:
        raise ValueError(
            f"Unexpected shapes for `x`, `p`, `g2`: expected (N, T), (N, T) and (N,), found "
            f"{tuple(x.shape)}, {tuple(p.shape)} and {tuple(g2.shape)}"
        )
    if zi is not None and zi.shape != (x.shape[0], num_stages + 1):
        raise ValueError(f"Unexpected shape for `zi`: expected {(x.shape[0], num_stages + 1)}, found {tuple(zi.shape)}")
    y, zf, _ = _apply_allpass_loop(
        x.contiguous(), p.contiguous(), g2.contiguous(), None if zi is None else zi.contiguous(), num_stages
    )
    return (y, zf) if return_zf else y


def phaser_response(
    p: Tensor,
    g1: Tensor | float,
    g2: Tensor | float,
    biquad_b: Tensor,
    biquad_a: Tensor,
    n_fft: int,
    *,
    num_stages: int = 4,
) -> Tensor:
    r"""Frozen-time frequency response on the rfft grid: H = BQ (g1 + A / (1 - g2 A)).

    A(e^{jw}) = ((p - e^{-jw}) / (1 - p e^{-jw}))^K, BQ = (b0 + b1 e^{-jw} + b2 e^{-2jw}) /
    (1 + a1 e^{-jw} + a2 e^{-2jw}), w_k = 2 pi k / n_fft, k = 0 .. n_fft // 2.

    Args:
        p: all-pass coefficients, (..., F).
        g1: through-path gain, broadcastable to (...,).
        g2: feedback gain in [0, 1), broadcastable to (...,).
        biquad_b: (..., 3). biquad_a: (..., 2) without a0 = 1.
        n_fft: FFT length.
        num_stages: K. Default 4.

    Returns:
        complex (..., F, n_fft // 2 + 1).
    """
    real = p.dtype
    cplx = torch.complex128 if real == torch.float64 else torch.complex64
    omega = torch.arange(n_fft // 2 + 1, device=p.device, dtype=real) * (2.0 * math.pi / n_fft)
    z = torch.polar(torch.ones_like(omega), -omega).to(cplx)  # e^{-jw}
    pc = p.unsqueeze(-1).to(cplx)
    ap = ((pc - z) / (1.0 - pc * z)) ** num_stages
    g1 = torch.as_tensor(g1, dtype=real, device=p.device)
    g2 = torch.as_tensor(g2, dtype=real, device=p.device)
    g1 = g1.reshape(*g1.shape, 1, 1)
    g2 = g2.reshape(*g2.shape, 1, 1)
    b = biquad_b.to(cplx).unsqueeze(-2)  # (..., 1, 3)
    a = biquad_a.to(cplx).unsqueeze(-2)
    bq = (b[..., 0:1] + b[..., 1:2] * z + b[..., 2:3] * z * z) / (1.0 + a[..., 0:1] * z + a[..., 1:2] * z * z)
    return bq * (g1 + ap / (1.0 - g2 * ap))


# ----------------------------------------------------------------------------------------------
# Functional API
# ----------------------------------------------------------------------------------------------


def _check_stages(num_stages: int) -> None:
    if not isinstance(num_stages, int) or isinstance(num_stages, bool) or num_stages < 1:
        raise ValueError(f"Unexpected value for `num_stages`: expected an integer >= 1, found {num_stages!r}")


def _as_param(value: Tensor | float, name: str, batch: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """Scalar or per-item (B,) gain -> (B' ,) with B' in {1, B}."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return torch.tensor([float(value)], dtype=dtype, device=device)
    if not isinstance(value, Tensor):
        raise TypeError(f"Unexpected type for `{name}`: expected a float or a torch.Tensor, found {type(value).__name__}")
    if not value.is_floating_point():
        raise TypeError(f"Unexpected dtype for `{name}`: expected a floating point dtype, found {value.dtype}")
    if value.dim() > 1 or (value.dim() == 1 and value.shape[0] not in (1, batch)):
        raise ValueError(f"Unexpected shape for `{name}`: expected () or ({batch},), found {tuple(value.shape)}")
    return value.reshape(-1)


def _as_coefficients(value: Tensor, name: str, taps: int, batch: int) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"Unexpected type for `{name}`: expected a torch.Tensor, found {type(value).__name__}")
    if not value.is_floating_point():
        raise TypeError(f"Unexpected dtype for `{name}`: expected a floating point dtype, found {value.dtype}")
    if value.shape[-1:] != (taps,) or value.dim() > 2 or (value.dim() == 2 and value.shape[0] not in (1, batch)):
        raise ValueError(f"Unexpected shape for `{name}`: expected ({taps},) or ({batch}, {taps}), found {tuple(value.shape)}")
    return value.reshape(-1, taps)


def phaser(
    x: Tensor,
    sample_rate: float,
    p: Tensor,
    g1: Tensor | float,
    g2: Tensor | float,
    biquad_b: Tensor,
    biquad_a: Tensor,
    *,
    method: str = "td_exact",
    num_stages: int = 4,
    hop: int | None = None,
) -> Tensor:
    r"""Phaser with a given all-pass coefficient trajectory (the module docstring has the equations).

    out = BQ{ g1 x + y_K },  y_K = K first-order all-passes (Eq. 10) on u = x + g2 y_K;
    frozen-time H(z) = BQ(z) (g1 + A(z) / (1 - g2 A(z))).

    Args:
        x: input audio (B, C, T); every channel uses the same p.
        sample_rate: sample rate (Hz), > 0. Only checked (the DSP is in samples); kept for the
            uniform ``fn(x, sample_rate, **params)`` signature.
        p: all-pass coefficient, |p| < 1 (not checked; |p| >= 1 makes the stages unstable).
            TD methods: audio rate, (B, T) or (T,). ``"fs"``: frame rate at samples m * hop,
            (B, F) or (F,) with F = T // hop + 1.
        g1: through-path gain (any real), float, () or (B,).
        g2: feedback gain in [0, 1), float, () or (B,). Not checked; g2 |A| must stay < 1.
        biquad_b: biquad numerator [b0, b1, b2], (3,) or (B, 3).
        biquad_a: biquad denominator [a1, a2] without a0 = 1, (2,) or (B, 2); keep it stable
            (e.g. `zoo.filters.biquad_triangle`).
        method: ``"td_exact"`` (default), ``"td_regrouped"`` (the paper's Eq. 11-12 form) or ``"fs"``.
        num_stages: number of all-pass stages K >= 1. Default 4.
        hop: STFT hop L (samples) for ``"fs"`` (window 4L); required there, ignored otherwise.

    Shape:
        returns (B, C, T) (B broadcast over x, p and the parameters).

    Returns:
        The processed audio, in the promoted dtype of ``x`` and ``p``.

    Raises:
        TypeError: a non-tensor or non-floating input.
        ValueError: bad ``method``, ``num_stages``, ``hop``, ``sample_rate`` or shapes.

    Supports:
        CPU and CUDA (through `zoo.filters`; ``"td_exact"``'s chain runs its CPU kernel), float32
        and float64, autograd (all tensor inputs; any order for ``"td_regrouped"`` and ``"fs"``;
        ``"td_exact"``'s double backward differentiates the composed form, see
        `AllpassLoopFunction`) and forward-mode AD.
    """
    x = check_audio(x)
    if method not in PHASER_METHODS:
        raise ValueError(f"Unexpected value for `method`: expected one of {PHASER_METHODS}, found {method!r}")
    _check_stages(num_stages)
    if not sample_rate > 0:
        raise ValueError(f"Unexpected value for `sample_rate`: expected > 0 (Hz), found {sample_rate}")
    if not isinstance(p, Tensor) or not p.is_floating_point():
        raise TypeError(f"Unexpected type for `p`: expected a floating point torch.Tensor, found {type(p).__name__}")
    n_batch, _, n_time = x.shape
    if method == "fs":
        if not isinstance(hop, int) or isinstance(hop, bool) or hop < 1:
            raise ValueError(f"Unexpected value for `hop`: expected an integer >= 1 for method 'fs', found {hop!r}")
        expected = fs_num_frames(n_time, hop)
    else:
        expected = n_time
    if p.dim() not in (1, 2) or p.shape[-1] != expected or (p.dim() == 2 and p.shape[0] not in (1, n_batch)):
        what = f"F = T // hop + 1 = {expected} frames" if method == "fs" else f"T = {n_time} samples"
        raise ValueError(f"Unexpected shape for `p`: expected ({n_batch}, {expected}) or ({expected},) ({what}), found {tuple(p.shape)}")
    dtype = torch.promote_types(x.dtype, p.dtype)
    x = x.to(dtype)
    p = p.to(dtype).reshape(-1, expected)  # (B', T) or (B', F)
    g1 = _as_param(g1, "g1", n_batch, dtype, x.device).to(dtype)
    g2 = _as_param(g2, "g2", n_batch, dtype, x.device).to(dtype)
    biquad_b = _as_coefficients(biquad_b, "biquad_b", 3, n_batch).to(dtype)
    biquad_a = _as_coefficients(biquad_a, "biquad_a", 2, n_batch).to(dtype)

    if method == "fs":
        # Broadcast all per-item quantities to a common leading size, then add the channel dim.
        lead = max(p.shape[0], g1.shape[0], g2.shape[0], biquad_b.shape[0], biquad_a.shape[0])
        response = phaser_response(
            p.expand(lead, -1), g1.expand(lead), g2.expand(lead), biquad_b.expand(lead, 3),
            biquad_a.expand(lead, 2), fft_size(4 * hop), num_stages=num_stages,
        )
        return fs_filter(x, None, None, hop, 4 * hop, response=response.unsqueeze(1))

    return _phaser_td(x, p, g1, g2, biquad_b, biquad_a, method=method, num_stages=num_stages)


def _phaser_td(
    x: Tensor,
    p: Tensor,
    g1: Tensor,
    g2: Tensor,
    biquad_b: Tensor,
    biquad_a: Tensor,
    *,
    method: str,
    num_stages: int,
    zi: dict[str, Tensor] | None = None,
    return_zf: bool = False,
) -> Tensor | tuple[Tensor, dict[str, Tensor]]:
    """The TD methods of `phaser` on checked arguments of one dtype, optionally started from a state.

    Args:
        x: (B, C, T). p: audio-rate all-pass coefficient, (B', T). g1, g2: (B',).
        biquad_b: (B', 3). biquad_a: (B', 2) without a0 = 1.
        method: ``"td_exact"`` or ``"td_regrouped"``.
        num_stages: K.
        zi: the filter states returned (as ``zf``) for the previous block; None (default) = zeros,
            a signal at rest. Keys: ``"allpass"`` (B, C, K+1), the state of the chain and its loop
            (u[-1], y_1[-1], ..., y_K[-1], see `AllpassLoopFunction`), and ``"biquad"`` (B, C, 4) for
            ``"td_exact"``; ``"filter"`` (B, C, 2K + 4) for ``"td_regrouped"``. ``"biquad"`` and
            ``"filter"`` are `lfilter` direct-form-I states (past inputs, then past outputs, newest
            first).
        return_zf: also return the final states, in the layout of ``zi``.

    Returns:
        y (B, C, T), or (y, zf) when ``return_zf``.
    """
    zi = {} if zi is None else zi
    zf: dict[str, Tensor] = {}

    def run(name: str, b: Tensor, a: Tensor, signal: Tensor) -> Tensor:
        out = lfilter(b, a, signal, zi.get(name), return_zf=return_zf)
        if return_zf:
            out, zf[name] = out
        return out

    g1_c, g2_c = g1[:, None, None], g2[:, None, None]  # (B', 1, 1): broadcast with (B, C, T)
    bq_b, bq_a = biquad_b[:, None, :], biquad_a[:, None, :]  # (B', 1, 3), (B', 1, 2): time-invariant
    p_c = p[:, None, :]  # (B', 1, T)
    if method == "td_regrouped":
        den, num = allpass_polynomials(p_c, num_stages)  # (B', 1, T, K+1), p frozen per sample
        e = den - g2_c[..., None] * num  # D - g2 N
        f = g1_c[..., None] * e + num  # g1 (D - g2 N) + N
        a_bq = torch.cat([torch.ones_like(bq_a[..., :1]), bq_a], dim=-1)
        b_tot = _polymul_invariant(f, bq_b)  # (B', 1, T, K+3)
        a_tot = _polymul_invariant(e, a_bq)
        lead = a_tot[..., :1]  # 1 - g2 p^K > 0
        y = run("filter", b_tot / lead, a_tot[..., 1:] / lead, x)
        return (y, zf) if return_zf else y

    # td_exact: the chain and its delay-free loop per sample (state-space, `AllpassLoopFunction`), on
    # rows of x broadcast with p and g2; then the through path and the time-invariant biquad.
    rows_b = max(x.shape[0], p_c.shape[0], g2.shape[0])
    n_channels, n_time = x.shape[1], x.shape[2]
    rows = rows_b * n_channels
    loop_zi = zi.get("allpass")
    y_k, loop_zf, _ = _apply_allpass_loop(
        x.expand(rows_b, n_channels, n_time).reshape(rows, n_time).contiguous(),
        p_c.expand(rows_b, n_channels, n_time).reshape(rows, n_time).contiguous(),
        g2[:, None].expand(rows_b, n_channels).reshape(rows).contiguous(),
        None if loop_zi is None else loop_zi.reshape(rows, num_stages + 1).contiguous(),
        num_stages,
    )
    if return_zf:
        zf["allpass"] = loop_zf.reshape(rows_b, n_channels, num_stages + 1)
    y = run("biquad", bq_b, bq_a, g1_c * x + y_k.reshape(rows_b, n_channels, n_time))
    return (y, zf) if return_zf else y


def _polymul_invariant(c: Tensor, q: Tensor) -> Tensor:
    """Per-sample product of a time-varying polynomial c (..., T, K) with a fixed one q (..., Q)."""
    taps = c.shape[-1] + q.shape[-1] - 1
    out = c.new_zeros(*torch.broadcast_shapes(c.shape[:-1], q.shape[:-1] + (1,)), taps)
    for j in range(q.shape[-1]):
        out = out + nn.functional.pad(c * q[..., None, j : j + 1], (j, q.shape[-1] - 1 - j))
    return out


# ----------------------------------------------------------------------------------------------
# Module
# ----------------------------------------------------------------------------------------------


class Phaser(Effect):
    r"""Learnable phaser: LFO-driven K-stage all-pass with feedback, through-path gain and a biquad.

    H = BQ (g1 + A / (1 - g2 A)), A = K first-order all-passes with p[n] from `LFOController`:
    p(m) = tanh((1 - tan d)/(1 + tan d)), d = bias + depth (1 + MLP(s(m)))/2,
    s(m) = exp(-sigma^2 m / F_c) cos(2 pi f0 m / F_c + phi), F_c = sample_rate / hop, linearly
    interpolated to audio rate for the TD methods. (Yu et al., DAFx 2024, Sec. 4.1.)

    Learnable parameters (all mapped from unconstrained tensors): the LFO (log f0, sigma, phi), the
    MLP, bias and depth; g1 (unconstrained); g2 = sigmoid(g2_logit) in (0, 1); the biquad numerator
    ``biquad_b`` (free, 3) and denominator ``biquad_triangle(biquad_a_raw)`` (stable).
    181 parameters with the defaults (K = 4, MLP 3 x 8); the paper's 182 also counts an LFO
    amplitude, redundant with the MLP's first layer.

    Args:
        sample_rate: sample rate (Hz), > 0.
        num_stages: all-pass stages K >= 1. Default 4.
        hop: control hop (samples) of the LFO, also the FS hop L (window 4L). Default
            round(10 ms * sample_rate).
        method: ``"td_exact"`` (default), ``"td_regrouped"`` or ``"fs"``; switchable after training.
        mlp_width: LFO MLP width. Default 8.
        mlp_depth: LFO MLP hidden layers. Default 3.
        lfo_rate_hz: initial LFO rate (Hz), > 0. Default 1.0.
        lfo_damping: initial sigma. Default 0.1.
        lfo_phase_rad: initial LFO phase (rad). Default 0.0.
        break_hz_range: initial (low, high) break-frequency range (Hz). Default (100.0, 2000.0).
        g1: initial through-path gain. Default 1.0.
        g2: initial feedback gain in (0, 1). Default 0.1.

    Shape:
        forward: (B, C, T) -> (B, C, T); the same LFO (starting at phase phi at sample 0) for all.

    Block streaming (`process_block`, `Effect.stream`) equals one `forward` pass for the TD methods;
    ``"fs"`` raises (switch ``method`` to a TD method for streaming).

    Raises:
        ValueError: an argument outside its range.
    """

    methods = PHASER_METHODS

    def __init__(
        self,
        sample_rate: float,
        num_stages: int = 4,
        hop: int | None = None,
        method: str = "td_exact",
        mlp_width: int = 8,
        mlp_depth: int = 3,
        lfo_rate_hz: float = 1.0,
        lfo_damping: float = 0.1,
        lfo_phase_rad: float = 0.0,
        break_hz_range: tuple[float, float] = (100.0, 2000.0),
        g1: float = 1.0,
        g2: float = 0.1,
        feedback_delay: int = 0,
        stage_form: str = "df1",
        signed_feedback: bool = False,
        lfo: str = "mlp",
        stage_maps: bool = False,
        centre_hz: float = 1000.0,
        sweep_octaves: float = 2.0,
        lfo_shape: float = 0.0,
    ) -> None:
        super().__init__(sample_rate, method)
        _check_stages(num_stages)
        if feedback_delay not in (0, 1):
            raise ValueError(f"Unexpected value for `feedback_delay`: expected 0 or 1 (samples), found {feedback_delay!r}")
        if stage_form not in STAGE_FORMS:
            raise ValueError(f"Unexpected value for `stage_form`: expected one of {STAGE_FORMS}, found {stage_form!r}")
        if lfo not in ("mlp", "sweep"):
            raise ValueError(f"Unexpected value for `lfo`: expected 'mlp' or 'sweep', found {lfo!r}")
        if stage_maps and lfo != "sweep":
            raise ValueError("Unexpected value for `stage_maps`: per-stage maps need lfo='sweep'")
        self.feedback_delay = int(feedback_delay)
        self.stage_form = stage_form
        self.signed_feedback = bool(signed_feedback)
        self.lfo_kind = lfo
        #: True for the paper's structure (the default); False for the structures of `allpass_chain`
        self.paper_structure = (feedback_delay == 0 and stage_form == "df1" and not signed_feedback and lfo == "mlp")
        if not self.paper_structure and method == "fs":
            raise ValueError("Unexpected value for `method`: the device structures (feedback_delay, stage_form, "
                             "signed_feedback, lfo='sweep') have time-domain paths only; use 'td_exact'")
        hop = max(1, round(0.01 * self.sample_rate)) if hop is None else hop
        if not isinstance(hop, int) or isinstance(hop, bool) or hop < 1:
            raise ValueError(f"Unexpected value for `hop`: expected an integer >= 1 (samples), found {hop!r}")
        low_g2 = -1.0 if signed_feedback else 0.0
        if not low_g2 < g2 < 1.0:
            raise ValueError(f"Unexpected value for `g2`: expected in ({low_g2:g}, 1), found {g2}")
        self.num_stages = num_stages
        self.hop = hop
        if lfo == "mlp":
            self.lfo = LFOController(
                lfo_rate_hz, lfo_damping, lfo_phase_rad, mlp_width, mlp_depth, self.sample_rate, break_hz_range
            )
        else:
            self.sweep = SweepLFO(self.sample_rate, num_stages, lfo_rate_hz, lfo_phase_rad, centre_hz, sweep_octaves,
                                  lfo_shape, stage_maps)
        self.g1 = nn.Parameter(torch.tensor(float(g1)))
        # signed: g2 = 2 sigmoid(l) - 1 = tanh(l / 2) in (-1, 1); else sigmoid(l) in (0, 1)
        unit = (g2 + 1.0) / 2.0 if signed_feedback else g2
        self.g2_logit = nn.Parameter(torch.tensor(math.log(unit / (1.0 - unit))))
        self.biquad_b = nn.Parameter(torch.tensor([1.0, 0.0, 0.0]))
        self.biquad_a_raw = nn.Parameter(torch.zeros(2))

    @property
    def control_rate_hz(self) -> float:
        """F_c = sample_rate / hop."""
        return self.sample_rate / self.hop

    @property
    def g2(self) -> Tensor:
        if self.signed_feedback:
            return 2.0 * torch.sigmoid(self.g2_logit) - 1.0
        return torch.sigmoid(self.g2_logit)

    @property
    def biquad_a(self) -> Tensor:
        return biquad_triangle(self.biquad_a_raw)

    def allpass_frames(self, num_frames: int) -> Tensor:
        """Frame-rate all-pass coefficient p(m), m = 0 .. num_frames - 1 (frame m at sample m * hop), (F,)."""
        return self.lfo(num_frames, self.control_rate_hz)

    def allpass_trajectory(self, num_samples: int) -> Tensor:
        """Audio-rate p[n] (linear interpolation of the frames), shape (T,)."""
        frames = self.allpass_frames(num_frames(num_samples, self.hop))
        return interpolate_controls(frames[:, None], self.hop, num_samples)[:, 0]

    def forward(self, x: Tensor) -> Tensor:
        """Process (B, C, T) audio; returns (B, C, T) in the promoted dtype of x and the parameters."""
        x = check_audio(x, min_samples=1)
        n_time = x.shape[-1]
        if not self.paper_structure:
            return self._forward_device(x, torch.zeros(1, dtype=torch.int64))
        if self.method == "fs":
            p = self.allpass_frames(fs_num_frames(n_time, self.hop))
        else:
            p = self.allpass_trajectory(n_time)
        return phaser(
            x, self.sample_rate, p, self.g1, self.g2, self.biquad_b, self.biquad_a,
            method=self.method, num_stages=self.num_stages, hop=self.hop,
        )

    def forward_batch(self, batch) -> Tensor:
        """``self(batch["input"])``: (B, C, T) -> (B, C, T).

        With the device structures a batch may carry ``"offset"`` (B,), each item's first sample
        in the recording, so that excerpts see the LFO at their absolute time (from rest).
        """
        if "offset" in batch and not self.paper_structure:
            return self._forward_device(check_audio(batch["input"], min_samples=1), batch["offset"].to(torch.int64).reshape(-1))
        return self(batch["input"])

    # ------------------------------------------------------------------ device structures
    def device_coefficients(self, offsets: Tensor, num_samples: int) -> Tensor:
        """Stage coefficients of `allpass_chain` for the device structures: (B', T, K)."""
        if self.lfo_kind == "sweep":
            log_f = self.sweep.log_break_hz(offsets, num_samples, self.num_stages)
            return stage_coefficients(log_f, self.sample_rate, self.stage_form)
        if bool((offsets != 0).any()):
            p = torch.stack([self.allpass_samples_from(int(o), num_samples) for o in offsets.tolist()])
        else:
            p = self.allpass_trajectory(num_samples)[None]
        coef = p if self.stage_form == "df1" else (1.0 - p) / 2.0
        return coef[..., None].expand(*coef.shape, self.num_stages)

    def _forward_device(self, x: Tensor, offsets: Tensor, state: dict | None = None, return_state: bool = False):
        """The device structures: LFO -> `allpass_chain` -> g1 x + y_K -> biquad; ``state`` as
        `process_block`'s "filters" (chain (B*C, K+1), biquad (B, C, 4))."""
        n_batch, n_channels, n_time = x.shape
        dtype = torch.promote_types(x.dtype, self.g1.dtype)
        x = x.to(dtype)
        coef = self.device_coefficients(offsets.to(x.device), n_time).to(dtype)  # (B', T, K)
        rows_b = max(n_batch, coef.shape[0])
        rows = rows_b * n_channels
        xr = x.expand(rows_b, n_channels, n_time).reshape(rows, n_time)
        cr = coef[:, None].expand(rows_b, n_channels, n_time, self.num_stages).reshape(rows, n_time, self.num_stages)
        g2 = self.g2.to(dtype).reshape(1).expand(rows)
        zi_chain = None if state is None else state["chain"]
        y_k, zf_chain = allpass_chain(xr, cr, g2, zi_chain, form=self.stage_form, feedback_delay=self.feedback_delay,
                                      return_zf=True)
        o = self.g1.to(dtype) * x + y_k.reshape(rows_b, n_channels, n_time)
        bq = lfilter(self.biquad_b.to(dtype), self.biquad_a.to(dtype), o, None if state is None else state["biquad"],
                     return_zf=return_state)
        if return_state:
            y, zf_bq = bq
            return y, {"chain": zf_chain, "biquad": zf_bq}
        return bq

    # ------------------------------------------------------------------ streaming
    def allpass_frames_from(self, first_frame: int, count: int) -> Tensor:
        r"""p(m) for the absolute frames m = first_frame .. first_frame + count - 1, (count,).

        The same computation as `allpass_frames` (`LFOController`), started at frame ``first_frame``
        instead of 0, so that a block far into a stream gets the LFO phase and the damping
        exp(-sigma^2 m / F_c) of its absolute frames m, at a cost independent of m.
        ``allpass_frames_from(0, F)`` equals ``allpass_frames(F)``.

        Args:
            first_frame: first absolute frame index (>= 0); frame m sits at sample m * hop.
            count: number of frames (>= 1).
        """
        if first_frame < 0 or count < 1:
            raise ValueError(
                f"Unexpected frame range: expected first_frame >= 0 and count >= 1, found "
                f"{first_frame} and {count}"
            )
        lfo, osc = self.lfo, self.lfo.oscillator
        m = torch.arange(first_frame, first_frame + count, dtype=osc.log_rate.dtype, device=osc.log_rate.device)
        t_s = m / self.control_rate_hz
        # As `DampedOscillator.forward` and `LFOController.forward`, op for op.
        s = torch.exp(-osc.sigma.square() * t_s) * torch.cos(2.0 * math.pi * osc.rate_hz * t_s + osc.phase)
        d = lfo.bias + lfo.depth * 0.5 * (1.0 + lfo.mlp(s))
        return allpass_coefficient(d)

    def allpass_samples_from(self, first_sample: int, num_samples: int) -> Tensor:
        """Audio-rate p[n] for n = first_sample .. first_sample + num_samples - 1, (T,).

        Equal to ``allpass_trajectory(first_sample + num_samples)[first_sample:]``, computed from
        the (at most ``num_samples // hop + 2``) frames around the range only.
        """
        first_frame = first_sample // self.hop
        lead_in = first_sample - first_frame * self.hop  # samples from frame first_frame to first_sample
        length = lead_in + num_samples
        frames = self.allpass_frames_from(first_frame, num_frames(length, self.hop))
        return interpolate_controls(frames[:, None], self.hop, length)[lead_in:, 0]

    def process_block(self, x: Tensor, state: dict | None) -> tuple[Tensor, dict]:
        r"""Process one block of a longer signal; consecutive blocks equal one `forward` pass.

        Exact for the TD methods (up to rounding): the state carries the absolute sample offset
        (so the LFO, interpolated between frames at m * hop, is evaluated at the block's absolute
        times, for blocks of any length) and every filter state: the K + 1 values of the all-pass
        chain and its loop (`AllpassLoopFunction`) and the biquad for ``"td_exact"``, the one
        pole-zero filter of order K + 2 for ``"td_regrouped"``. Use `Effect.stream` for the stateful form.

        The state keeps the autograd graph of the blocks before it (so gradients through several
        blocks are exact); for long streams run under ``torch.inference_mode()`` (or detach it).

        Args:
            x: the next block of the input audio, (B, C, T_block), any T_block >= 0.
            state: None for the first block, then the state returned for the previous block (a
                dict: ``"method"``, ``"offset"`` (samples so far), ``"shape"`` (B, C),
                and ``"filters"``, the filter states; treat it as opaque).

        Shape:
            x: (B, C, T_block) -> (B, C, T_block).

        Returns:
            (y, state): the output block, in the promoted dtype of ``x`` and the parameters, and
            the state for the next block.

        Raises:
            ValueError: ``method`` is ``"fs"`` (its frames span block boundaries; switch to a TD
                method, which the FS-trained parameters also drive), ``state`` comes from another
                method, or the block's (B, C) differs from the stream's.
        """
        x = check_audio(x)
        if self.method == "fs":
            raise ValueError(
                "Unexpected value for `method`: block streaming needs a time-domain method "
                "('td_exact' or 'td_regrouped'), found 'fs' (its STFT frames span block boundaries, "
                "so it is not causal block-wise); set `effect.method = 'td_exact'` first"
            )
        n_batch, n_channels, n_block = x.shape
        if state is None:
            state = {"method": self.method, "offset": 0, "shape": (n_batch, n_channels), "filters": None}
        elif state.get("method") != self.method:
            raise ValueError(
                f"Unexpected `state`: it was made by method {state.get('method')!r}, but `method` is "
                f"{self.method!r}; call `reset_stream()` (or pass state=None) to start a new signal"
            )
        elif tuple(state["shape"]) != (n_batch, n_channels):
            raise ValueError(
                f"Unexpected shape for `x`: the stream has (B, C) = {tuple(state['shape'])}, found "
                f"{(n_batch, n_channels)}; call `reset_stream()` (or pass state=None) to start a new signal"
            )
        dtype = torch.promote_types(x.dtype, self.g1.dtype)
        if n_block == 0:
            return x.to(dtype), state
        if not self.paper_structure:
            y, filters = self._forward_device(
                x, torch.tensor([state["offset"]], dtype=torch.int64), state["filters"], return_state=True
            )
            return y, {**state, "offset": state["offset"] + n_block, "filters": filters}
        p = self.allpass_samples_from(state["offset"], n_block).to(dtype)[None]  # (1, T_block)
        y, filters = _phaser_td(
            x.to(dtype), p, self.g1.to(dtype).reshape(1), self.g2.to(dtype).reshape(1),
            self.biquad_b.to(dtype).reshape(1, 3), self.biquad_a.to(dtype).reshape(1, 2),
            method=self.method, num_stages=self.num_stages, zi=state["filters"],
            return_zf=True,
        )
        new_state = {
            "method": self.method,
            "offset": state["offset"] + n_block,
            "shape": (n_batch, n_channels),
            "filters": filters,
        }
        return y, new_state

    @torch.no_grad()
    def learned_parameters(self) -> dict[str, float]:
        b = self.biquad_b.tolist()
        a = self.biquad_a.tolist()
        if self.lfo_kind == "sweep":
            sw = self.sweep
            w = torch.linspace(-1.0, 1.0, 201, dtype=sw.span.dtype)
            log_f = torch.clamp(sw.log_centre + (sw.span + (sw.curve[0] + sw.curve[1] * w) * w) * w, sw.log_low, sw.log_high)
            low, high = math.exp(float(log_f.min())), math.exp(float(log_f.max()))
            out = {
                "lfo_rate_hz": float(sw.rate_hz),
                "lfo_phase_rad": float(torch.remainder(sw.phase, 2 * math.pi)),
                "lfo_shape_triangle": float(torch.sigmoid(sw.shape_logit)),
                "centre_hz": float(torch.exp(sw.log_centre)),
                "sweep_low_hz": low,
                "sweep_high_hz": high,
                "sweep_curve_q2": float(sw.curve[0]),
                "sweep_curve_q3": float(sw.curve[1]),
                "g1": float(self.g1),
                "g2": float(self.g2),
                "biquad_b0": b[0], "biquad_b1": b[1], "biquad_b2": b[2], "biquad_a1": a[0], "biquad_a2": a[1],
            }
            if sw.stage_offsets is not None:
                for k, o in enumerate(sw.stage_offsets.tolist()):
                    out[f"stage{k + 1}_offset_octaves"] = o / math.log(2.0)
            return out
        osc = self.lfo.oscillator
        return {
            "lfo_rate_hz": float(osc.rate_hz),
            "lfo_damping_sigma": float(osc.sigma),
            "lfo_phase_rad": float(osc.phase),
            "lfo_bias": float(self.lfo.bias),
            "lfo_depth": float(self.lfo.depth),
            "g1": float(self.g1),
            "g2": float(self.g2),
            "biquad_b0": b[0],
            "biquad_b1": b[1],
            "biquad_b2": b[2],
            "biquad_a1": a[0],
            "biquad_a2": a[1],
        }

    @torch.no_grad()
    def control_curves(self, batch=None, *, duration_s: float = 5.0) -> dict[str, tuple[Tensor, Tensor]]:
        """LFO curves over the first ``duration_s`` seconds, at control rate.

        Args:
            batch: unused (the LFO does not depend on the input).
            duration_s: length of the curves (s), > 0. Default 5.0.

        Returns ``{"lfo": (t_s, s), "allpass_coef": (t_s, p), "break_hz": (t_s, f_b)}``, where f_b
        is the per-stage break frequency (Hz) of p.
        """
        if not duration_s > 0:
            raise ValueError(f"Unexpected value for `duration_s`: expected > 0 (s), found {duration_s}")
        n = max(1, int(duration_s * self.control_rate_hz) + 1)
        t_s = torch.arange(n, dtype=self.g1.dtype) / self.control_rate_hz
        if self.lfo_kind == "sweep":
            n_samples = int(duration_s * self.sample_rate) + 1
            index = torch.arange(0, n_samples, self.hop)
            w = self.sweep.waveform(torch.zeros(1, dtype=torch.int64), n_samples)[0, index].to(self.g1.dtype)
            log_f = self.sweep.log_break_hz(torch.zeros(1, dtype=torch.int64), n_samples, self.num_stages)[0, index, 0]
            t_s = index.to(self.g1.dtype) / self.sample_rate
            return {"lfo": (t_s, w), "break_hz": (t_s, torch.exp(log_f))}
        s = self.lfo.lfo(n, self.control_rate_hz)
        p = self.allpass_frames(n)
        return {
            "lfo": (t_s, s),
            "allpass_coef": (t_s, p),
            "break_hz": (t_s, break_frequency_hz(p, self.sample_rate)),
        }


# ----------------------------------------------------------------------------------------------
# Structures of real devices (for `zoo fit`): per-stage coefficients, TPT stages, feedback through a
# one-sample delay, a log-frequency sweep LFO. Time domain only; the paper's model stays the default.
# ----------------------------------------------------------------------------------------------

#: stage forms of `allpass_chain`: the paper's direct form (Eq. 10) and the TPT form
STAGE_FORMS = ("df1", "tpt")


class ChainLoopFunction(torch.autograd.Function):
    r"""K first-order all-passes with per-stage coefficients, DF1 or TPT stages, and feedback
    delay-free or through a one-sample delay; exact adjoint (`zoo.effects.kernels_phaser_chain`).

    Inputs: x (N, T); coef (N, T, K) (DF1: p; TPT: G = g / (1 + g), g = tan(pi f_b / F_s));
    g2 (N,), |g2| < 1; zi (N, K+1); form 0/1; delay 0/1. Outputs y_K (N, T) and zf (N, K+1).
    CPU, float32/float64, first-order autograd (no double backward, no jvp).
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, coef: Tensor, g2: Tensor, zi: Tensor, form: int, delay: int):
        from . import kernels_phaser_chain as kc

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
        from . import kernels_phaser_chain as kc

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


def allpass_chain(
    x: Tensor,
    coef: Tensor,
    g2: Tensor,
    zi: Tensor | None = None,
    *,
    form: str = "df1",
    feedback_delay: int = 0,
    return_zf: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    r"""K first-order all-passes with per-stage, per-sample coefficients, in a feedback loop.

    DF1 stages (Eq. 10): y_k[n] = p_k[n] (y_{k-1}[n] + y_k[n-1]) - y_{k-1}[n-1]; TPT stages
    (Zavalishin): v = G (y_{k-1} - s), lp = v + s, y_k = 2 lp - y_{k-1}, s <- lp + v. Loop:
    u[n] = x[n] + g2 y_K[n - d], d = ``feedback_delay`` (0: delay-free, solved per sample; 1: JUCE-style).
    Frozen-time, a DF1 stage is (p - z^-1)/(1 - p z^-1); a TPT stage is its negative with p = 1 - 2G.

    Args:
        x: input, (N, T).
        coef: (N, T, K): p_k[n] in (-1, 1) for ``"df1"``, G_k[n] in (0, 1) for ``"tpt"`` (not checked).
        g2: feedback gain, (N,), |g2| < 1 (not checked).
        zi: state (N, K+1), see `zoo.effects.kernels_phaser_chain`. Default None: at rest.
        form: ``"df1"`` (default) or ``"tpt"``.
        feedback_delay: 0 (default, delay-free) or 1.
        return_zf: also return the final state.

    Returns:
        y_K (N, T), or (y_K, zf).

    Raises:
        ValueError: an unknown form or delay, or mismatched shapes.

    Supports:
        CPU, float32 and float64, first-order autograd.
    """
    if form not in STAGE_FORMS:
        raise ValueError(f"Unexpected value for `form`: expected one of {STAGE_FORMS}, found {form!r}")
    if feedback_delay not in (0, 1):
        raise ValueError(f"Unexpected value for `feedback_delay`: expected 0 or 1 (samples), found {feedback_delay!r}")
    if x.dim() != 2 or coef.dim() != 3 or coef.shape[:2] != x.shape or g2.shape != x.shape[:1]:
        raise ValueError(
            f"Unexpected shapes for `x`, `coef`, `g2`: expected (N, T), (N, T, K) and (N,), found "
            f"{tuple(x.shape)}, {tuple(coef.shape)} and {tuple(g2.shape)}"
        )
    k_stages = coef.shape[-1]
    if zi is None:
        zi = x.new_zeros(x.shape[0], k_stages + 1)
    elif zi.shape != (x.shape[0], k_stages + 1):
        raise ValueError(f"Unexpected shape for `zi`: expected {(x.shape[0], k_stages + 1)}, found {tuple(zi.shape)}")
    dtype = x.dtype
    y, zf = ChainLoopFunction.apply(
        x.contiguous(), coef.to(dtype).contiguous(), g2.to(dtype).contiguous(), zi.to(dtype).contiguous(),
        STAGE_FORMS.index(form), int(feedback_delay),
    )
    return (y, zf) if return_zf else y


def _triangle(theta: Tensor) -> Tensor:
    """Triangle wave with the phase of cos: 1 at theta = 0, -1 at pi."""
    wrapped = torch.remainder(theta + math.pi, 2.0 * math.pi) - math.pi  # in [-pi, pi)
    return 1.0 - 2.0 * wrapped.abs() / math.pi


class SweepLFO(nn.Module):
    r"""An LFO sweeping the break frequency in log frequency, as most phasers do.

    .. math::

        \theta(t) = 2\pi f_0 t + \phi, \quad w = (1 - m) \cos\theta + m\,\mathrm{tri}(\theta),

        \ln f_k(t) = \mathrm{clip}(\ln f_c + s\,w + q_2 w^2 + q_3 w^3 + o_k,\ \ln 20,\ \ln \min(20000, 0.49 F_s))

    with rate f_0 (Hz; learned in small steps around its initial value, see ``RATE_SCALE``), phase
    phi (rad), shape m in (0, 1) (0 sine, 1 triangle), centre f_c (Hz),
    half-width s (nepers of frequency; s / ln 2 octaves), a curvature q_2, q_3 (initially 0: other
    frequency maps than the exponential one, e.g. a sweep linear in Hz, or lopsided LFO shapes) and
    per-stage offsets o_k (zero unless ``stage_maps``). The clip is the audio band (JUCE's dsp::Phaser clips its sweep there too).

    Args:
        sample_rate: F_s (Hz).
        num_stages: K.
        rate_hz, phase_rad, centre_hz, sweep_octaves, shape: initial values.
        stage_maps: learn per-stage offsets o_k (notch spacing not fixed).
    """

    def __init__(self, sample_rate: float, num_stages: int, rate_hz: float, phase_rad: float, centre_hz: float,
                 sweep_octaves: float, shape: float, stage_maps: bool) -> None:
        super().__init__()
        if not rate_hz > 0 or not centre_hz > 0:
            raise ValueError(f"Unexpected LFO init: expected rate_hz > 0 and centre_hz > 0, found {rate_hz}, {centre_hz}")
        self.sample_rate = float(sample_rate)
        # the rate moves in small steps: ln f_0 = ln(rate_hz) + RATE_SCALE * rate_raw, so that one
        # optimiser step of ~lr in rate_raw shifts the phase at t seconds by only 2 pi f_0 t RATE_SCALE lr
        self.log_rate0 = math.log(rate_hz)
        self.rate_raw = nn.Parameter(torch.tensor(0.0))
        self.phase = nn.Parameter(torch.tensor(float(phase_rad)))
        self.log_centre = nn.Parameter(torch.tensor(math.log(centre_hz)))
        self.span = nn.Parameter(torch.tensor(float(sweep_octaves) * math.log(2.0)))
        m = min(max(float(shape), 0.02), 0.98)
        self.shape_logit = nn.Parameter(torch.tensor(math.log(m / (1.0 - m))))
        self.curve = nn.Parameter(torch.zeros(2))  # q_2, q_3
        self.stage_offsets = nn.Parameter(torch.zeros(num_stages)) if stage_maps else None
        self.log_low = math.log(20.0)
        self.log_high = math.log(min(20000.0, 0.49 * self.sample_rate))

    #: scale of `rate_raw` (see __init__)
    RATE_SCALE = 5e-3

    @property
    def log_rate(self) -> Tensor:
        return self.log_rate0 + self.RATE_SCALE * self.rate_raw

    @property
    def rate_hz(self) -> Tensor:
        return torch.exp(self.log_rate)

    def waveform(self, offsets: Tensor, num_samples: int) -> Tensor:
        """w for samples offsets[b] + n, n < num_samples: (B', T), in float64 before the cast."""
        n = torch.arange(num_samples, dtype=torch.float64, device=offsets.device)
        t_s = (offsets.to(torch.float64)[:, None] + n) / self.sample_rate
        cycles = self.rate_hz.to(torch.float64) * t_s
        theta = 2.0 * math.pi * (cycles - torch.floor(cycles).detach()) + self.phase.to(torch.float64)
        m = torch.sigmoid(self.shape_logit).to(torch.float64)
        return (1.0 - m) * torch.cos(theta) + m * _triangle(theta)

    def log_break_hz(self, offsets: Tensor, num_samples: int, num_stages: int) -> Tensor:
        """ln f_k: (B', T, K)."""
        w = self.waveform(offsets, num_samples).to(self.span.dtype)
        log_f = (self.log_centre + (self.span + (self.curve[0] + self.curve[1] * w) * w) * w)[..., None]
        if self.stage_offsets is not None:
            log_f = log_f + self.stage_offsets
        else:
            log_f = log_f.expand(*log_f.shape[:-1], num_stages)
        return torch.clamp(log_f, self.log_low, self.log_high)


def stage_coefficients(log_break_hz: Tensor, sample_rate: float, form: str) -> Tensor:
    """Break frequency (ln Hz) -> stage coefficient: p = (1 - g)/(1 + g) (DF1) or G = g/(1 + g) (TPT),
    g = tan(pi f_b / F_s) (the bilinear transform, prewarped)."""
    g = torch.tan(torch.exp(log_break_hz) * (math.pi / sample_rate))
    return (1.0 - g) / (1.0 + g) if form == "df1" else g / (1.0 + g)
