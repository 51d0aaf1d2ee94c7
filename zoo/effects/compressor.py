r"""Differentiable feed-forward dynamic range compressor (Yu et al., DAFx 2024, Sec. 4.3).

Zölzer's feed-forward compressor (DAFX, 2nd ed., Sec. 4.2), signal path per sample n:

1. RMS detector, a one-pole on the signal power (`rms_detector`):
   :math:`x_{rms}(n) = \alpha_{rms} x^2(n) + (1 - \alpha_{rms}) x_{rms}(n-1)`.
2. Gain computer, in dB (`gain_computer`), with L(n) = 10 log10 x_rms(n):
   :math:`g_{dB}(n) = \min(0, (1/R - 1)(L(n) - CT))`, i.e.
   :math:`g(n) = \min(1, (\sqrt{x_{rms}(n)} / 10^{CT/20})^{(1-R)/R})`; optionally a soft knee, an
   expander below ET (ratio ER < 1) and a limiter (infinite ratio above LT).
3. Attack/release smoother (Eq. 21, `attack_release_smoother`):
   :math:`\hat g(n) = \alpha(n) g(n) + (1 - \alpha(n)) \hat g(n-1)`, with
   :math:`\alpha(n) = \alpha_{at}` if :math:`g(n) < \hat g(n-1)` (attack) else :math:`\alpha_{rt}`,
   :math:`\hat g(-1) = 1`.
4. Output: :math:`y(n) = x(n) \hat g(n) \gamma`, with make-up gain :math:`\gamma = 10^{\gamma_{dB}/20}`.

The smoother's branch is not differentiable as written; Algorithm 1 of the paper differentiates
it exactly by treating the recorded branch (the attack mask beta) as fixed: with u = alpha g the
smoother is a first-order time-varying all-pole filter with a_1(n) = alpha(n) - 1, so its
gradients are the all-pole layer's (Eqs. 7-8). `AttackReleaseFunction` implements that, reusing
`zoo.filters`' reverse recursion.

Two implementations of "td" give the same values and gradients:

* fused (the default on CPU): `FusedCompressorFunction`, the four stages in one Numba sweep per
  row forward and one reverse sweep backward (`kernels_compressor_fused`), with no full-length
  intermediate tensors; several times faster to train.
* composed: `rms_detector`, `gain_computer` and `attack_release_smoother` as differentiable torch
  ops. It serves CUDA tensors, forward-mode AD and functorch transforms, and the fused backward
  recomputes through it when a graph of the gradient is wanted (double backward).

"fs" is the frequency-sampling baseline (the DASP-style compressor): attack = release, so the
smoother is a time-invariant one-pole, applied by multiplying spectra over an FFT of length
>= 2T (`one_pole_fs`).

Parameter ranges (physical units, what `Compressor` maps its unconstrained parameters to):

=================  ======================  ======================================  =========
parameter          range                   unconstrained parameterisation          paper init
=================  ======================  ======================================  =========
threshold_db       (-inf, 0], e.g. [-60,0]  plain value (dB)                        -10 dB
ratio              [1, inf]                R = exp(r) + 1                          2
attack_ms          (0, inf), ~[0.01, 1000]  alpha_at = sigmoid(a), ms = coef_to_ms  50 ms
release_ms         (0, inf), ~[1, 5000]     alpha_rt = sigmoid(r)                   50 ms
rms_coef           (0, 1]                  alpha_rms = sigmoid(c)                  0.3
makeup_gain_db     any, e.g. [-24, 24]     plain value (dB)                        0 dB
knee_db            [0, inf), e.g. [0, 24]   fixed (not learned)                     0 (hard)
=================  ======================  ======================================  =========

Time constants follow the paper: :math:`\alpha = 1 - e^{-2.2 / (F_s t)}` (t in s), the 10-90 %
rise time of the one-pole (`ms_to_coef`, `coef_to_ms`).
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any, Mapping

import torch
from torch import Tensor, nn

from ..filters import linear_recurrence
from ..filters.autograd import AllpoleFunction, AllpoleReverseFunction
from .base import Effect, check_audio
from . import kernels_compressor_fused
from .kernels_compressor import attack_release_backward, attack_release_forward

__all__ = [
    "ms_to_coef",
    "coef_to_ms",
    "rms_detector",
    "gain_computer",
    "attack_release_smoother",
    "one_pole_fs",
    "compressor",
    "AttackReleaseFunction",
    "FusedCompressorFunction",
    "Compressor",
    "DETECTORS",
    "SMOOTHINGS",
    "TOPOLOGIES",
    "device_gain",
]

_LN10_OVER_20 = math.log(10.0) / 20.0

#: structures of real compressors (`Compressor` args); the first of each is the paper's
DETECTORS = ("rms", "peak")
SMOOTHINGS = ("gain", "level")
TOPOLOGIES = ("feedforward", "feedback")
_LOW_PRECISION = (torch.float16, torch.bfloat16)


# ------------------------------------------------------------------------------- unit conversions
def ms_to_coef(ms: float | Tensor, sample_rate: float) -> float | Tensor:
    r"""Time constant (ms) to one-pole smoothing coefficient: :math:`\alpha = 1 - e^{-2.2/(F_s t)}`.

    t = ms / 1000 is the 10-90 % rise time of :math:`y(n) = \alpha x(n) + (1-\alpha) y(n-1)`
    (Zölzer, DAFX; Yu et al. 2024, Sec. 4.3).

    Args:
        ms: time constant (ms), > 0. A float or a tensor.
        sample_rate: sample rate F_s (Hz), > 0.

    Returns:
        alpha in (0, 1), of the type of ``ms``.

    Raises:
        ValueError: ``sample_rate`` <= 0, or a float ``ms`` <= 0.
    """
    _check_sample_rate(sample_rate)
    if isinstance(ms, Tensor):
        return -torch.expm1(-2200.0 / (ms * sample_rate))
    if not ms > 0:
        raise ValueError(f"Unexpected value for `ms`: expected > 0, found {ms}")
    return -math.expm1(-2200.0 / (ms * sample_rate))


def coef_to_ms(coef: float | Tensor, sample_rate: float) -> float | Tensor:
    r"""One-pole smoothing coefficient to time constant (ms): :math:`t = -2.2 / (F_s \ln(1 - \alpha))`.

    The inverse of `ms_to_coef`.

    Args:
        coef: alpha in (0, 1). A float or a tensor.
        sample_rate: sample rate F_s (Hz), > 0.

    Returns:
        the time constant (ms), of the type of ``coef``.

    Raises:
        ValueError: ``sample_rate`` <= 0, or a float ``coef`` outside (0, 1).
    """
    _check_sample_rate(sample_rate)
    if isinstance(coef, Tensor):
        return -2200.0 / (sample_rate * torch.log1p(-coef))
    if not 0 < coef < 1:
        raise ValueError(f"Unexpected value for `coef`: expected in (0, 1), found {coef}")
    return -2200.0 / (sample_rate * math.log1p(-coef))


def _check_sample_rate(sample_rate: float) -> None:
    if not isinstance(sample_rate, Real) or isinstance(sample_rate, bool):
        raise TypeError(f"Unexpected type for `sample_rate`: expected a number (Hz), found {type(sample_rate).__name__}")
    if not sample_rate > 0:
        raise ValueError(f"Unexpected value for `sample_rate`: expected > 0 (Hz), found {sample_rate}")


# ------------------------------------------------------------------------------ argument helpers
def _check_range(value: Any, name: str, low: float | None, high: float | None, *, low_open=False, high_open=False,
                 validate: bool = False) -> None:
    """Range check; free for Python numbers, behind ``validate`` (a device sync) for tensors."""
    if isinstance(value, Tensor):
        if not validate:
            return
        lo = float(value.detach().min()) if value.numel() else None
        hi = float(value.detach().max()) if value.numel() else None
        if lo is None:
            return
        if bool(torch.isnan(value.detach()).any()):
            raise ValueError(f"Unexpected value for `{name}`: found NaN")
    else:
        lo = hi = float(value)
    bad_low = low is not None and (lo <= low if low_open else lo < low)
    bad_high = high is not None and (hi >= high if high_open else hi > high)
    if bad_low or bad_high:
        if high is None:
            rng = f"{'>' if low_open else '>='} {low:g}"
        elif low is None:
            rng = f"{'<' if high_open else '<='} {high:g}"
        else:
            rng = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        found = lo if bad_low else hi
        raise ValueError(f"Unexpected value for `{name}`: expected {rng}, found {found:g}")


def _param(value: Any, name: str, lead: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> Tensor:
    """A scalar or a (B,) parameter as a tensor broadcastable to the leading shape ``lead``."""
    if isinstance(value, bool) or not isinstance(value, (Real, Tensor)):
        raise TypeError(f"Unexpected type for `{name}`: expected a float or a tensor, found {type(value).__name__}")
    t = torch.as_tensor(value, dtype=dtype, device=device) if not isinstance(value, Tensor) else value
    if isinstance(value, Tensor):
        if not (t.is_floating_point()):
            raise TypeError(f"Unexpected dtype for `{name}`: expected a floating point dtype, found {t.dtype}")
        if t.device != device:
            raise ValueError(f"Unexpected device for `{name}`: expected {device} (the device of `x`), found {t.device}")
        t = t.to(dtype)
    if t.dim() == 0:
        return t.reshape((1,) * len(lead)) if lead else t
    if t.dim() == 1 and lead and t.shape[0] in (1, lead[0]):
        return t.reshape(t.shape[0], *((1,) * (len(lead) - 1)))
    expected = f"a scalar or ({lead[0]},)" if lead else "a scalar"
    raise ValueError(f"Unexpected shape for `{name}`: expected {expected}, found {tuple(t.shape)}")


def _result_dtype(x: Tensor, *values: Any) -> tuple[torch.dtype, torch.dtype]:
    """(dtype we compute in, dtype we return): the promoted floating dtype; fp16/bf16 run in float32."""
    dtype = x.dtype
    for v in values:
        if isinstance(v, Tensor) and v.is_floating_point():
            dtype = torch.promote_types(dtype, v.dtype)
    return (torch.float32 if dtype in _LOW_PRECISION else dtype), dtype


# --------------------------------------------------------------------------------- RMS detector
def rms_detector(x2: Tensor, rms_coef: float | Tensor, zi: Tensor | None = None, *, return_zf: bool = False):
    r"""One-pole power detector: :math:`x_{rms}(n) = \alpha_{rms} p(n) + (1 - \alpha_{rms}) x_{rms}(n-1)`.

    The detector of Yu et al. (2024, Sec. 4.3), with p(n) = x²(n) (or the channel mean of x² when
    channels are linked). Its output is a mean *power*: the level in dB is 10 log10 x_rms.
    Runs on `zoo.filters.linear_recurrence` (time-invariant pole 1 - alpha_rms).

    Args:
        x2: the power signal p(n) >= 0.
        rms_coef: alpha_rms in (0, 1]; a scalar or a tensor broadcastable to ``x2.shape[:-1]``.
            Paper init 0.3.
        zi: x_rms(-1), shape broadcastable to ``x2.shape[:-1]``. Default 0.
        return_zf: also return x_rms(T-1).

    Shape:
        - x2: (..., T); returns (..., T) [, zf (...)].

    Returns:
        x_rms [, zf].
    """
    coef = rms_coef if isinstance(rms_coef, Tensor) else torch.as_tensor(rms_coef, dtype=x2.dtype, device=x2.device)
    lead = x2.shape[:-1]
    pole = (1.0 - coef).expand(lead) if lead else (1.0 - coef).reshape(())
    drive = x2 * coef.unsqueeze(-1) if coef.dim() else x2 * coef
    if not lead:  # linear_recurrence wants a leading dim for a time-invariant pole
        out = rms_detector(x2[None], coef.reshape(1), None if zi is None else zi.reshape(1), return_zf=return_zf)
        return (out[0][0], out[1][0]) if return_zf else out[0]
    state = None if zi is None else zi.expand(lead)
    return linear_recurrence(pole.contiguous(), drive, state, return_zf=return_zf)


# -------------------------------------------------------------------------------- gain computer
def gain_computer(
    level_db: Tensor,
    threshold_db: float | Tensor,
    ratio: float | Tensor,
    *,
    knee_db: float | Tensor = 0.0,
    expander_threshold_db: float | Tensor | None = None,
    expander_ratio: float | Tensor = 0.5,
    limiter_threshold_db: float | Tensor | None = None,
) -> Tensor:
    r"""Static gain (dB) of the compressor for a detected level L (dB).

    Compressor (hard knee, Zölzer; Eq. of Sec. 4.3 in dB):
    :math:`g_c = \min(0, (1/R - 1)(L - CT))`. With a soft knee of width W dB (Giannoulis et al.,
    JAES 2012): :math:`g_c = (1/R - 1)(L - CT + W/2)^2 / (2W)` for :math:`|L - CT| \le W/2`.
    Expander (hard knee, as torchcomp): :math:`g_e = \min(0, (1 - 1/ER)(ET - L))`, ER in (0, 1).
    Limiter: :math:`g_l = \min(0, LT - L)` (an infinite ratio). The result is
    :math:`\min(g_c, g_e, g_l)`.

    Args:
        level_db: detected level L (dB).
        threshold_db: compressor threshold CT (dB).
        ratio: compression ratio R >= 1 (``inf`` gives a limiter at CT).
        knee_db: soft-knee width W (dB) >= 0. Default 0 (hard knee).
        expander_threshold_db: expander threshold ET (dB); None (default) disables the expander.
        expander_ratio: expander ratio ER in (0, 1) (an input slope of 1/ER below ET). Default 0.5.
        limiter_threshold_db: limiter threshold LT (dB); None (default) disables the limiter.

    Shape:
        parameters broadcast against ``level_db``.

    Returns:
        gain (dB) <= 0, shaped like ``level_db``.
    """
    slope = 1.0 / ratio - 1.0  # <= 0: (1 - R) / R
    over = level_db - threshold_db
    hard = torch.clamp(slope * over, max=0.0)
    if isinstance(knee_db, Tensor) or knee_db > 0:
        knee = torch.as_tensor(knee_db, dtype=level_db.dtype, device=level_db.device)
        safe = torch.clamp(knee, min=torch.finfo(level_db.dtype).tiny)
        soft = slope * (over + safe / 2) ** 2 / (2 * safe)
        in_knee = (2 * over.abs() <= knee) & (knee > 0)
        gain = torch.where(in_knee, soft, torch.where(over > 0, slope * over, torch.zeros_like(hard)))
    else:
        gain = hard
    if expander_threshold_db is not None:
        exp_slope = 1.0 - 1.0 / expander_ratio  # < 0
        gain = torch.minimum(gain, torch.clamp(exp_slope * (expander_threshold_db - level_db), max=0.0))
    if limiter_threshold_db is not None:
        gain = torch.minimum(gain, torch.clamp(limiter_threshold_db - level_db, max=0.0))
    return gain


# ------------------------------------------------------------------------ attack/release smoother
@torch.library.custom_op("zoo::compressor_attack_release", mutates_args=(), device_types="cpu")
def _attack_release_op(g: Tensor, zi: Tensor, at: Tensor, rt: Tensor) -> tuple[Tensor, Tensor]:
    """Eq. 21 on (N, T) with per-row coefficients (N,): returns (g_hat, attack mask)."""
    y = torch.empty_like(g)
    mask = torch.empty(g.shape, dtype=torch.bool)
    if g.shape[-1]:
        attack_release_forward(g.detach().numpy(), zi.detach().numpy(), at.detach().numpy(),
                               rt.detach().numpy(), y.numpy(), mask.numpy())
    return y, mask


@_attack_release_op.register_kernel("cuda")
def _(g: Tensor, zi: Tensor, at: Tensor, rt: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover - GPU
    # A strictly sequential scan with a data-dependent branch: one CPU pass beats a GPU loop.
    y, mask = _attack_release_op(g.cpu(), zi.cpu(), at.cpu(), rt.cpu())
    return y.to(g.device), mask.to(g.device)


@_attack_release_op.register_fake
def _(g: Tensor, zi: Tensor, at: Tensor, rt: Tensor) -> tuple[Tensor, Tensor]:
    return torch.empty_like(g), torch.empty_like(g, dtype=torch.bool)


@torch.library.custom_op("zoo::compressor_attack_release_backward", mutates_args=(), device_types="cpu")
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


@_attack_release_backward_op.register_kernel("cuda")
def _(grad_y, g, zi, at, rt, y, mask):  # pragma: no cover - GPU
    outs = _attack_release_backward_op(grad_y.cpu(), g.cpu(), zi.cpu(), at.cpu(), rt.cpu(), y.cpu(), mask.cpu())
    return tuple(o.to(g.device) for o in outs)


@_attack_release_backward_op.register_fake
def _(grad_y, g, zi, at, rt, y, mask):
    return torch.empty_like(g), torch.empty_like(zi), torch.empty_like(at), torch.empty_like(rt)


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
        CPU (Numba; CUDA tensors are computed on the CPU); float32/64 (fp16/bf16 in float32);
        autograd of any order and forward-mode AD (see `AttackReleaseFunction`).
    """
    if not isinstance(g, Tensor) or not g.is_floating_point():
        raise TypeError(f"Unexpected type for `g`: expected a floating point tensor, found {type(g).__name__}")
    if g.dim() == 0:
        raise ValueError("Unexpected shape for `g`: expected (..., T), found a scalar")
    lead, n_time = tuple(g.shape[:-1]), g.shape[-1]
    kernel_dtype, out_dtype = _result_dtype(g, attack_coef, release_coef, zi)
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
    y2, mask2 = AttackReleaseFunction.apply(g2, state, at, rt)
    y = y2.reshape(*lead, n_time).to(out_dtype)
    out: list[Tensor] = [y]
    if return_mask:
        out.append(mask2.reshape(*lead, n_time))
    if return_zf:
        zf = y2[:, -1] if n_time else state
        out.append(zf.reshape(lead).to(out_dtype))
    return out[0] if len(out) == 1 else tuple(out)


def one_pole_fs(g: Tensor, coef: float | Tensor, zi: float | Tensor | None = None) -> Tensor:
    r"""Time-invariant one-pole smoother by frequency sampling (the DASP-style FS baseline).

    .. math:: \hat g = z_i + \mathcal{F}^{-1}\{\mathcal{F}\{g - z_i\} \cdot H\}, \quad
              H(e^{j\omega}) = \frac{\alpha}{1 - (1 - \alpha) e^{-j\omega}}

    sampled on an FFT grid of N >= 2T points (the next power of two), as dasp-pytorch does.
    Sampling H is exact for the N-periodic (time-aliased) impulse response, so the result is a
    circular convolution: samples near the start receive the tail of the response wrapped around
    from the end, an error of order (1 - alpha)^(N - T) <= (1 - alpha)^T. It is negligible when
    the signal is much longer than the time constant (T >> 1 / alpha) and large otherwise (e.g.
    ~0.37 for T = 1 / alpha). Subtracting the initial state z_i = g_hat(-1) first makes
    the result equal to the recursion started from z_i (the recursion is linear with unit DC gain).
    Computed in float64 whatever the input dtype: over N ~ 10^7 points a float32 FFT's rounding
    error (~ 1e-7 log2 N relative to the signal's energy) is far above the gains' resolution.

    Args:
        g: gain signal (linear).
        coef: alpha in (0, 1]; scalar or broadcastable to ``g.shape[:-1]``.
        zi: g_hat(-1), broadcastable to ``g.shape[:-1]``. Default 1.

    Shape:
        - g: (..., T) -> (..., T).

    Returns:
        the smoothed gain, in the dtype of ``g``.
    """
    n_time = g.shape[-1]
    n_fft = 2 ** math.ceil(math.log2(max(2 * n_time, 2)))
    # (..., 1): broadcasts against time, and is the length-1 coefficient vector of b and a
    alpha = torch.as_tensor(coef, dtype=torch.float64, device=g.device).unsqueeze(-1)
    state = torch.as_tensor(1.0 if zi is None else zi, dtype=torch.float64, device=g.device).unsqueeze(-1)
    # H = alpha / (1 + (alpha - 1) z^-1) on the rfft grid: what `zoo.filters.frequency_response` gives
    # for b = [alpha], a = [alpha - 1], in closed form (two fewer FFTs of length N per call)
    k = torch.arange(n_fft // 2 + 1, dtype=torch.float64, device=g.device)
    z_inv = torch.polar(torch.ones_like(k), -2.0 * math.pi * k / n_fft)
    response = alpha / (1.0 + (alpha - 1.0) * z_inv)
    d = g.to(torch.float64) - state
    smoothed = torch.fft.irfft(torch.fft.rfft(d, n=n_fft) * response, n=n_fft)[..., :n_time]
    return (smoothed + state).to(g.dtype)


# ------------------------------------------------------------------- fused TD compressor (CPU)
def _fused_kernel(name: str, rows: int):
    # one or two rows: nothing to share, and waking the thread pool costs more than it saves
    return getattr(kernels_compressor_fused, f"{name}_serial" if rows <= 2 else name)


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

    Forward: one Numba sweep per row (`zoo.effects.kernels_compressor_fused`) computes y and keeps
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
    col = params.unbind(-1)
    return _compress(
        x, col[0], col[1], col[2], col[3], col[4], col[5], zi, knee_db=col[6],
        expander_threshold_db=col[7] if use_expander else None, expander_ratio=col[8],
        limiter_threshold_db=col[9] if use_limiter else None, link_channels=True, method="td",
        return_zf=True, eps=eps, fused=False,
    )


def _can_fuse(x: Tensor, method: str, return_gain: bool) -> bool:
    """Whether `FusedCompressorFunction` can serve this call (else the composed path does)."""
    if method != "td" or return_gain or x.device.type != "cpu" or x.shape[-1] == 0:
        return False
    if torch.compiler.is_compiling():  # the traced graph holds the custom ops as they are
        return True
    # forward-mode AD (inside a `dual_level`) and functorch transforms (vmap, torch.func.grad / jvp)
    # need the composed path's jvp and batching support
    return torch.autograd.forward_ad._current_level < 0 and torch._C._functorch.maybe_current_level() is None


# ------------------------------------------------------------------------------- the compressor
def compressor(
    x: Tensor,
    sample_rate: float,
    threshold_db: float | Tensor = -10.0,
    ratio: float | Tensor = 2.0,
    attack_ms: float | Tensor = 50.0,
    release_ms: float | Tensor = 50.0,
    rms_coef: float | Tensor = 0.3,
    makeup_gain_db: float | Tensor = 0.0,
    zi: Tensor | None = None,
    *,
    knee_db: float | Tensor = 0.0,
    expander_threshold_db: float | Tensor | None = None,
    expander_ratio: float | Tensor = 0.5,
    limiter_threshold_db: float | Tensor | None = None,
    link_channels: bool = False,
    method: str = "td",
    return_zf: bool = False,
    eps: float = 1e-10,
    validate: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    r"""Feed-forward RMS compressor (Zölzer; Yu et al., DAFx 2024, Sec. 4.3).

    .. math::
        x_{rms}(n) &= \alpha_{rms} x^2(n) + (1 - \alpha_{rms}) x_{rms}(n-1) \\
        g(n) &= \min\left(1, \left(\sqrt{x_{rms}(n)} / 10^{CT/20}\right)^{(1-R)/R}\right) \\
        \hat g(n) &= \alpha(n) g(n) + (1 - \alpha(n)) \hat g(n-1), \quad
            \alpha(n) = \alpha_{at} \text{ if } g(n) < \hat g(n-1) \text{ else } \alpha_{rt} \\
        y(n) &= x(n)\, \hat g(n)\, 10^{\gamma_{dB}/20}

    The gain is computed in dB (`gain_computer`, level 10 log10 max(x_rms, eps)), then converted
    to linear before smoothing, as in the paper. ``method="fs"`` is the frequency-sampling
    baseline: a single coefficient alpha = (alpha_at + alpha_rt) / 2 for attack and release (so both
    still get gradients), applied by `one_pole_fs` (float64 FFT of length >= 2T); it equals
    ``"td"`` when attack == release.

    Args:
        x: input audio.
        sample_rate: F_s (Hz) > 0, for the time constants.
        threshold_db: compressor threshold CT (dB), <= 0 typical. Default -10 (paper init).
        ratio: R >= 1 (1 = no compression, ``inf`` = limiting at CT). Default 2.
        attack_ms: attack time (ms) > 0, alpha_at = `ms_to_coef` (attack_ms). Default 50.
        release_ms: release time (ms) > 0. Default 50.
        rms_coef: detector coefficient alpha_rms in (0, 1] (a coefficient, not a time; use
            `ms_to_coef` to set it from a time). Default 0.3 (paper init).
        makeup_gain_db: make-up gain gamma (dB). Default 0.
        zi: initial state (..., 2): ``zi[..., 0]`` = x_rms(-1) (power, default 0) and
            ``zi[..., 1]`` = g_hat(-1) (linear, default 1). Leading shape as the detector's:
            ``x.shape[:-1]``, or ``x.shape[:-2]`` with ``link_channels``.
        knee_db: soft-knee width (dB) >= 0. Default 0 (hard knee).
        expander_threshold_db: expander threshold (dB); None (default) = no expander.
        expander_ratio: expander ratio in (0, 1). Default 0.5.
        limiter_threshold_db: limiter threshold (dB): the gain computer never lets the detected
            level exceed it. None (default) = no limiter.
        link_channels: detect on the mean over channels (dim -2) of x², and apply one gain to all
            channels (stereo linking). Needs ``x`` of at least 2 dims. Default False: every row of
            ``x`` is compressed independently.
        method: ``"td"`` (exact recursion, Algorithm 1 gradients) or ``"fs"`` (frequency sampling,
            attack = release).
        return_zf: also return the final state, in the layout of ``zi``.
        eps: power floor (>= 0) before the dB conversion (-100 dB by default); below it the
            level's gradient is zero.
        validate: also check tensor parameters' ranges (a device sync).

    Every parameter is a float, a 0-d tensor, or a (B,) tensor with B = ``x.shape[0]`` (one value
    per batch item).

    Shape:
        - x: (..., T), e.g. (B, T) or (B, C, T)
        - zi: (..., 2)
        - returns y: like ``x`` [, zf: like ``zi``]

    Returns:
        ``y``, or ``(y, zf)``.

    Raises:
        TypeError: ``x`` or a parameter is not a floating tensor / number.
        ValueError: a parameter out of range (always for numbers, with ``validate`` for tensors),
            a parameter or ``zi`` of the wrong shape, an unknown ``method``.

    Supports:
        CPU (CUDA tensors run the smoother's scan on the CPU); float32/64 (fp16/bf16 computed in
        float32); reverse-mode AD of any order (``"td"`` on CPU: the fused kernels of
        `FusedCompressorFunction`) and forward-mode AD for ``"td"``; autograd for
        ``"fs"``.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"Unexpected type for `x`: expected a torch.Tensor, found {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"Unexpected dtype for `x`: expected a floating point dtype, found {x.dtype}")
    if method not in ("td", "fs"):
        raise ValueError(f"Unexpected value for `method`: expected 'td' or 'fs', found {method!r}")
    if x.dim() == 0 or (link_channels and x.dim() < 2):
        need = "(..., C, T)" if link_channels else "(..., T)"
        raise ValueError(f"Unexpected shape for `x`: expected {need}, found {tuple(x.shape)}")
    _check_sample_rate(sample_rate)
    _check_range(ratio, "ratio", 1.0, None, validate=validate)
    _check_range(attack_ms, "attack_ms", 0.0, None, low_open=True, validate=validate)
    _check_range(release_ms, "release_ms", 0.0, None, low_open=True, validate=validate)
    _check_range(rms_coef, "rms_coef", 0.0, 1.0, low_open=True, validate=validate)
    _check_range(knee_db, "knee_db", 0.0, None, validate=validate)
    _check_range(expander_ratio, "expander_ratio", 0.0, 1.0, low_open=True, high_open=True, validate=validate)
    if eps < 0:
        raise ValueError(f"Unexpected value for `eps`: expected >= 0, found {eps}")
    attack_coef = ms_to_coef(attack_ms, sample_rate)
    release_coef = ms_to_coef(release_ms, sample_rate)
    return _compress(
        x, threshold_db, ratio, attack_coef, release_coef, rms_coef, makeup_gain_db, zi,
        knee_db=knee_db, expander_threshold_db=expander_threshold_db, expander_ratio=expander_ratio,
        limiter_threshold_db=limiter_threshold_db, link_channels=link_channels, method=method,
        return_zf=return_zf, eps=eps,
    )


def _compress(
    x: Tensor,
    threshold_db: Any,
    ratio: Any,
    attack_coef: Any,
    release_coef: Any,
    rms_coef: Any,
    makeup_gain_db: Any,
    zi: Tensor | None,
    *,
    knee_db: Any,
    expander_threshold_db: Any,
    expander_ratio: Any,
    limiter_threshold_db: Any,
    link_channels: bool,
    method: str,
    return_zf: bool,
    eps: float,
    return_gain: bool = False,
    fused: bool = True,
):
    """`compressor` on coefficients (no unit conversion, no range checks). Returns y [, zf] [, g_hat].

    With ``fused`` (default), "td" on the CPU runs as one `FusedCompressorFunction` where it can (not
    under forward-mode AD or functorch transforms, T > 0); ``fused=False`` forces the composed path.
    """
    params = dict(
        threshold_db=threshold_db, ratio=ratio, attack_coef=attack_coef, release_coef=release_coef,
        rms_coef=rms_coef, makeup_gain_db=makeup_gain_db, knee_db=knee_db,
        expander_threshold_db=expander_threshold_db, expander_ratio=expander_ratio,
        limiter_threshold_db=limiter_threshold_db,
    )
    kernel_dtype, out_dtype = _result_dtype(x, zi, *params.values())
    xc = x.to(kernel_dtype)
    lead = tuple(x.shape[:-2] if link_channels else x.shape[:-1])  # the detector's rows
    p = {
        k: (None if v is None else _param(v, k, lead, kernel_dtype, x.device))
        for k, v in params.items()
    }
    if zi is not None:
        if not isinstance(zi, Tensor):
            raise TypeError(f"Unexpected type for `zi`: expected a torch.Tensor, found {type(zi).__name__}")
        if zi.dim() == 0 or zi.shape[-1] != 2:
            raise ValueError(f"Unexpected shape for `zi`: expected (..., 2) = [x_rms(-1), g_hat(-1)], found {tuple(zi.shape)}")
        try:
            zi = zi.to(kernel_dtype).expand(*lead, 2)
        except RuntimeError:
            raise ValueError(f"Unexpected shape for `zi`: expected {(*lead, 2)}, found {tuple(zi.shape)}") from None
    if fused and _can_fuse(x, method, return_gain):
        return _compress_fused(x, xc, p, zi, lead, link_channels, return_zf, eps, out_dtype)
    rms_zi = None if zi is None else zi[..., 0]
    gain_zi = None if zi is None else zi[..., 1]

    # 1. detector (a time-invariant one-pole on the power)
    power = xc.square().mean(-2) if link_channels else xc.square()
    rms_out = rms_detector(power, p["rms_coef"], rms_zi, return_zf=return_zf)
    x_rms, rms_zf = rms_out if return_zf else (rms_out, None)
    # 2. static gain in dB (stable: no fractional powers of small numbers), then linear
    level_db = 10.0 * torch.log10(torch.clamp(x_rms, min=eps)) if eps > 0 else 10.0 * torch.log10(x_rms)
    tv = {k: (None if v is None else v.unsqueeze(-1) if v.dim() else v) for k, v in p.items()}  # (..., 1)
    gain_db = gain_computer(
        level_db, tv["threshold_db"], tv["ratio"], knee_db=tv["knee_db"],
        expander_threshold_db=tv["expander_threshold_db"], expander_ratio=tv["expander_ratio"],
        limiter_threshold_db=tv["limiter_threshold_db"],
    )
    g = torch.exp(gain_db * _LN10_OVER_20)
    # 3. smoother: Eq. 21 with Algorithm 1 gradients, or the FS baseline
    at, rt = p["attack_coef"], p["release_coef"]  # (B, 1, ...) broadcast against `lead`
    if method == "td":
        sm = attack_release_smoother(g, at, rt, gain_zi, return_zf=return_zf)
        g_hat, gain_zf = sm if return_zf else (sm, None)
    else:
        g_hat = one_pole_fs(g, 0.5 * (at + rt), gain_zi)
        gain_zf = g_hat[..., -1] if return_zf else None
    # 4. output
    gain = g_hat * torch.exp(tv["makeup_gain_db"] * _LN10_OVER_20)
    if link_channels:
        gain = gain.unsqueeze(-2)
    y = (xc * gain).to(out_dtype)
    out: list[Tensor] = [y]
    if return_zf:
        out.append(torch.stack([rms_zf.expand(lead), gain_zf.expand(lead)], dim=-1).to(out_dtype))
    if return_gain:
        out.append(g_hat)
    return out[0] if len(out) == 1 else tuple(out)


def _compress_fused(x: Tensor, xc: Tensor, p: dict[str, Tensor | None], zi: Tensor | None, lead: tuple[int, ...],
                    link_channels: bool, return_zf: bool, eps: float, out_dtype: torch.dtype):
    """`_compress`'s TD path as one `FusedCompressorFunction`: flatten to rows, stack the parameters."""
    rows = math.prod(lead)
    n_ch = x.shape[-2] if link_channels else 1
    x3 = xc.reshape(rows, n_ch, x.shape[-1]).contiguous()
    use_expander = p["expander_threshold_db"] is not None
    use_limiter = p["limiter_threshold_db"] is not None
    zero = xc.new_zeros(())
    # the switched-off stages get constants, so their parameters' gradients stay None
    columns = dict(p, expander_threshold_db=p["expander_threshold_db"] if use_expander else zero,
                   expander_ratio=p["expander_ratio"] if use_expander else zero + 0.5,
                   limiter_threshold_db=p["limiter_threshold_db"] if use_limiter else zero)
    params = torch.stack([columns[k].expand(lead).reshape(rows) for k in kernels_compressor_fused.PARAMS], dim=-1)
    if zi is None:
        state = torch.tensor([0.0, 1.0], dtype=xc.dtype).expand(rows, 2)
    else:
        state = zi.reshape(rows, 2)
    y, zf, *_ = FusedCompressorFunction.apply(x3, params, state.contiguous(), use_expander, use_limiter, float(eps))
    y = y.reshape(x.shape).to(out_dtype)
    if return_zf:
        return y, zf.reshape(*lead, 2).to(out_dtype)
    return y


# ------------------------------------------------------------------------------------- nn.Module
def _logit(p: float) -> float:
    return math.log(p) - math.log1p(-p)


class Compressor(Effect):
    r"""Learnable feed-forward compressor (Yu et al., DAFx 2024, Sec. 4.3) with a TD and an FS method.

    See `compressor` for the equations. Learnable parameters are unconstrained and mapped to
    physical values as in the paper: alpha_at, alpha_rt, alpha_rms = sigmoid(.), R = exp(.) + 1,
    CT and gamma (dB) plain. Stereo (or any C) channels are *linked*: the detector runs on the
    channel mean of x², and the same gain is applied to every channel.

    ``method="fs"`` uses a single smoothing coefficient, the mean of alpha_at and alpha_rt (both
    keep receiving gradients), filtered by frequency sampling in float64 (`one_pole_fs`).

    Args:
        sample_rate: F_s (Hz) > 0.
        method: ``"td"`` (default) or ``"fs"``; can be changed after training.
        threshold_db: initial CT (dB). Default -10.
        ratio: initial R > 1. Default 2.
        attack_ms: initial attack time (ms) > 0. Default 50.
        release_ms: initial release time (ms) > 0. Default 50.
        rms_coef: initial alpha_rms in (0, 1). Default 0.3.
        makeup_gain_db: initial gamma (dB). Default 0.
        knee_db: soft-knee width (dB) >= 0, fixed. Default 0.
        expander_threshold_db: fixed expander threshold (dB), None (default) = off.
        expander_ratio: fixed expander ratio in (0, 1). Default 0.5.
        limiter_threshold_db: fixed limiter threshold (dB), None (default) = off.

    Shape:
        - input (B, C, T) -> output (B, C, T).

    Block streaming (`process_block`, `Effect.stream`) equals one `forward` pass for ``"td"``;
    ``"fs"`` raises (switch ``method`` to ``"td"`` for streaming).

    Raises:
        ValueError: an initial value out of range.

    Reference: Yu, Mitcheltree, Carson, Bilbao, Reiss, Fazekas, "Differentiable All-pole Filters
    for Time-varying Audio Systems", DAFx 2024.
    """

    methods = ("td", "fs")

    def __init__(
        self,
        sample_rate: float = 44100.0,
        method: str = "td",
        *,
        threshold_db: float = -10.0,
        ratio: float = 2.0,
        attack_ms: float = 50.0,
        release_ms: float = 50.0,
        rms_coef: float = 0.3,
        makeup_gain_db: float = 0.0,
        knee_db: float = 0.0,
        expander_threshold_db: float | None = None,
        expander_ratio: float = 0.5,
        limiter_threshold_db: float | None = None,
        detector: str = "rms",
        smoothing: str = "gain",
        topology: str = "feedforward",
    ) -> None:
        super().__init__(sample_rate, method)
        if detector not in DETECTORS:
            raise ValueError(f"Unexpected value for `detector`: expected one of {DETECTORS}, found {detector!r}")
        if smoothing not in SMOOTHINGS:
            raise ValueError(f"Unexpected value for `smoothing`: expected one of {SMOOTHINGS}, found {smoothing!r}")
        if topology not in TOPOLOGIES:
            raise ValueError(f"Unexpected value for `topology`: expected one of {TOPOLOGIES}, found {topology!r}")
        self.detector, self.smoothing, self.topology = detector, smoothing, topology
        #: True for the paper's structure (the default): RMS one-pole detector, smoothed gain, feed-forward
        self.paper_structure = detector == "rms" and smoothing == "gain" and topology == "feedforward"
        if not self.paper_structure and (method != "td" or expander_threshold_db is not None
                                         or limiter_threshold_db is not None):
            raise ValueError("Unexpected arguments: the device structures (detector, smoothing, topology) have a "
                             "'td' path only, without expander or limiter")
        _check_range(ratio, "ratio", 1.0, None, low_open=True)
        _check_range(rms_coef, "rms_coef", 0.0, 1.0, low_open=True, high_open=True)
        _check_range(knee_db, "knee_db", 0.0, None)
        _check_range(expander_ratio, "expander_ratio", 0.0, 1.0, low_open=True, high_open=True)
        attack_coef = ms_to_coef(float(attack_ms), self.sample_rate)
        release_coef = ms_to_coef(float(release_ms), self.sample_rate)
        for name, c in (("attack_ms", attack_coef), ("release_ms", release_coef)):
            if not 0 < c < 1:
                raise ValueError(f"Unexpected value for `{name}`: its coefficient {c} is not in (0, 1); use a longer time")
        f = lambda v: nn.Parameter(torch.tensor(float(v)))  # noqa: E731
        self.threshold_db = f(threshold_db)
        self.raw_ratio = f(math.log(ratio - 1.0)) if math.isfinite(ratio) else f(30.0)
        self.raw_attack = f(_logit(attack_coef))
        self.raw_release = f(_logit(release_coef))
        self.raw_rms = f(_logit(rms_coef))
        self.makeup_gain_db = f(makeup_gain_db)
        self.knee_db = float(knee_db)
        self.expander_threshold_db = expander_threshold_db
        self.expander_ratio = float(expander_ratio)
        self.limiter_threshold_db = limiter_threshold_db

    @classmethod
    def from_physical(
        cls,
        sample_rate: float,
        threshold_db: float,
        ratio: float,
        attack_ms: float,
        release_ms: float,
        rms_coef: float | None = None,
        makeup_gain_db: float = 0.0,
        *,
        rms_ms: float | None = None,
        method: str = "td",
        trainable: bool = False,
        **options: Any,
    ) -> "Compressor":
        """A compressor with given physical settings, e.g. a digital target (frozen by default).

        Args:
            sample_rate: F_s (Hz).
            threshold_db, ratio, attack_ms, release_ms, makeup_gain_db: as the constructor.
            rms_coef: alpha_rms in (0, 1); or give ``rms_ms`` instead. Default 0.3.
            rms_ms: detector time (ms), converted with `ms_to_coef`.
            method: ``"td"`` or ``"fs"``.
            trainable: keep ``requires_grad`` (default False: frozen, in eval mode).
            **options: ``knee_db``, ``expander_threshold_db``, ``expander_ratio``, ``limiter_threshold_db``.

        Raises:
            ValueError: both ``rms_coef`` and ``rms_ms`` given, or a value out of range.
        """
        if rms_coef is not None and rms_ms is not None:
            raise ValueError("Unexpected arguments: give `rms_coef` or `rms_ms`, not both")
        if rms_ms is not None:
            rms_coef = ms_to_coef(rms_ms, sample_rate)
        module = cls(
            sample_rate, method, threshold_db=threshold_db, ratio=ratio, attack_ms=attack_ms,
            release_ms=release_ms, rms_coef=0.3 if rms_coef is None else rms_coef,
            makeup_gain_db=makeup_gain_db, **options,
        )
        if not trainable:
            module.requires_grad_(False)
            module.eval()
        return module

    # physical views of the parameters (differentiable)
    @property
    def ratio(self) -> Tensor:
        return torch.exp(self.raw_ratio) + 1.0

    @property
    def attack_coef(self) -> Tensor:
        return torch.sigmoid(self.raw_attack)

    @property
    def release_coef(self) -> Tensor:
        return torch.sigmoid(self.raw_release)

    @property
    def rms_coef(self) -> Tensor:
        return torch.sigmoid(self.raw_rms)

    def forward(self, x: Tensor, zi: Tensor | None = None) -> Tensor:
        """Compress ``x`` (B, C, T) -> (B, C, T); ``zi`` (B, 2) as in `compressor` (linked channels)."""
        check_audio(x)
        return self._run(x, zi)

    def _run(self, x: Tensor, zi: Tensor | None = None, *, return_zf: bool = False, return_gain: bool = False):
        if not self.paper_structure:
            return self._run_device(x, zi, return_zf=return_zf, return_gain=return_gain)
        return _compress(
            x, self.threshold_db, self.ratio, self.attack_coef, self.release_coef, self.rms_coef,
            self.makeup_gain_db, zi, knee_db=self.knee_db, expander_threshold_db=self.expander_threshold_db,
            expander_ratio=self.expander_ratio, limiter_threshold_db=self.limiter_threshold_db,
            link_channels=True, method=self.method, return_zf=return_zf, eps=1e-10, return_gain=return_gain,
        )

    def process_block(self, x: Tensor, state: Tensor | None) -> tuple[Tensor, Tensor]:
        r"""Process one block of a longer signal; consecutive blocks equal one `forward` pass.

        Exact for ``"td"``: every stage is causal and sample by sample, so the state is just the
        detector's x_rms(n-1) and the smoother's :math:`\hat g(n-1)` at the end of the block (the
        ``zi``/``zf`` of `compressor`). Use `Effect.stream` for the stateful form. The state keeps
        the autograd graph of the blocks before it; for long streams run under
        ``torch.inference_mode()`` (or detach it).

        Args:
            x: the next block of the input audio, (B, C, T_block), any T_block >= 0.
            state: None for the first block (x_rms(-1) = 0, :math:`\hat g(-1)` = 1), then the state
                returned for the previous block: (B, 2) = [x_rms(n-1), g_hat(n-1)].

        Shape:
            x: (B, C, T_block) -> (B, C, T_block); state: (B, 2).

        Returns:
            (y, state): the output block (dtype as `forward`) and the state for the next block.

        Raises:
            ValueError: ``method`` is ``"fs"`` (its FFT smoother spans the whole signal and wraps
                around, so it is not causal block-wise; set ``method = "td"``, which the FS-trained
                parameters also drive), or ``state`` is not (B, 2) for this block's B.
        """
        check_audio(x)
        if not self.paper_structure and self.method == "td":
            width = 2 + x.shape[1]
            if state is not None and (not isinstance(state, Tensor) or tuple(state.shape) != (x.shape[0], width)):
                raise ValueError(
                    f"Unexpected shape for `state`: expected ({x.shape[0]}, {width}) = [env, g_hat, y_c(n-1)...], "
                    "found " + (str(tuple(state.shape)) if isinstance(state, Tensor) else type(state).__name__)
                )
            if x.shape[-1] == 0:
                return x, state
            return self._run_device(x, state, return_zf=True)
        if self.method != "td":
            raise ValueError(
                f"Unexpected value for `method`: block streaming needs the time-domain method 'td', "
                f"found {self.method!r} (its FFT smoother spans the whole signal and wraps around, so it "
                f"is not causal block-wise); set `effect.method = 'td'` first"
            )
        if state is not None and (not isinstance(state, Tensor) or tuple(state.shape) != (x.shape[0], 2)):
            found = tuple(state.shape) if isinstance(state, Tensor) else type(state).__name__
            raise ValueError(
                f"Unexpected shape for `state`: expected ({x.shape[0]}, 2) = [x_rms(n-1), g_hat(n-1)] for a "
                f"block of batch size {x.shape[0]}, found {found}; call `reset_stream()` (or pass "
                f"state=None) to start a new signal"
            )
        if x.shape[-1] == 0:
            return x.to(_result_dtype(x, self.threshold_db)[1]), state
        return self._run(x, state, return_zf=True)

    def forward_batch(self, batch: Mapping[str, Tensor]) -> Tensor:
        """``self(batch["input"])``."""
        return self(batch["input"])

    def _run_device(self, x: Tensor, zi: Tensor | None = None, *, return_zf: bool = False, return_gain: bool = False):
        """The device structures (see `device_gain`); ``zi`` (B, 2 + C) = [env, g_hat, y_c(n-1)...]."""
        dtype = torch.promote_types(x.dtype, self.threshold_db.dtype)
        x = x.to(dtype)
        n_batch, n_ch, n_time = x.shape
        if zi is None:
            zi = torch.cat([x.new_zeros(n_batch, 1), x.new_ones(n_batch, 1), x.new_zeros(n_batch, n_ch)], dim=-1)
        zi = zi.to(dtype)
        makeup = torch.exp(self.makeup_gain_db * _LN10_OVER_20)
        if self.topology == "feedback":
            # exact forward values from the sample loop; the gradient treats the detector's input (the
            # previous output) as given (a straight-through estimate: the loop itself is not differentiated)
            from .kernels_compressor_device import feedback_forward

            state = zi.detach().clone().contiguous()
            gain_np = x.new_empty(n_batch, n_time)
            rows = lambda t: t.detach().expand(n_batch).contiguous().numpy()  # noqa: E731
            with torch.no_grad():
                feedback_forward(x.detach().contiguous().numpy(), rows(self.threshold_db), rows(self.ratio),
                                 rows(self.attack_coef), rows(self.release_coef), rows(self.makeup_gain_db),
                                 float(self.knee_db), self.detector == "peak", 0 if self.smoothing == "level" else 1,
                                 state.numpy(), gain_np.numpy(), 1e-10)
                y_exact = x * gain_np[:, None, :] * makeup
            det_in = torch.cat([zi[:, 2:, None], y_exact[..., :-1]], dim=-1)
        else:
            det_in = x
        gain, env_zf, g_zf = device_gain(
            det_in, self.threshold_db, self.ratio, self.attack_coef, self.release_coef, zi[:, 0], zi[:, 1],
            detector=self.detector, smoothing=self.smoothing, knee_db=self.knee_db,
        )
        y = x * (gain * makeup)[:, None, :]
        out: list[Tensor] = [y]
        if return_zf:
            out.append(torch.cat([env_zf[:, None], g_zf[:, None], y[..., -1].detach()], dim=-1))
        if return_gain:
            out.append(gain)
        return out[0] if len(out) == 1 else tuple(out)

    @torch.no_grad()
    def learned_parameters(self) -> dict[str, float]:
        """Physical values: threshold_db, ratio, attack_ms, release_ms, rms_coef, makeup_gain_db
        (and, for ``"fs"``, the shared smoothing time ``fs_smoothing_ms``)."""
        sr = self.sample_rate
        out = {
            "threshold_db": float(self.threshold_db),
            "ratio": float(self.ratio),
            "attack_ms": float(coef_to_ms(self.attack_coef.double(), sr)),
            "release_ms": float(coef_to_ms(self.release_coef.double(), sr)),
            "rms_coef": float(self.rms_coef),
            "makeup_gain_db": float(self.makeup_gain_db),
        }
        if not self.paper_structure:  # the device structures have no RMS one-pole (rms_coef is unused)
            del out["rms_coef"]
            out["knee_db"] = float(self.knee_db)
        if self.method == "fs":
            out["fs_smoothing_ms"] = float(coef_to_ms(0.5 * (self.attack_coef + self.release_coef).double(), sr))
        return out

    @torch.no_grad()
    def static_curve(self, input_db: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Static characteristic: steady input level (dB) -> output level (dB), make-up included."""
        if input_db is None:
            input_db = torch.linspace(-80.0, 0.0, 321, dtype=self.threshold_db.dtype, device=self.threshold_db.device)
        gain_db = gain_computer(
            input_db, self.threshold_db, self.ratio, knee_db=self.knee_db,
            expander_threshold_db=self.expander_threshold_db, expander_ratio=self.expander_ratio,
            limiter_threshold_db=self.limiter_threshold_db,
        )
        return input_db, input_db + gain_db + self.makeup_gain_db

    @torch.no_grad()
    def control_curves(self, batch: Mapping[str, Tensor] | None = None) -> dict[str, tuple[Tensor, Tensor]]:
        """``"static_curve"``: input dB -> output dB; with a batch also ``"gain_reduction"``: time (s)
        -> smoothed gain (dB, <= 0, make-up excluded) for the first item of ``batch["input"]``."""
        curves = {"static_curve": self.static_curve()}
        if batch is not None:
            x = check_audio(batch["input"], 'batch["input"]')[:1]
            _, g_hat = self._run(x, return_gain=True)
            g_db = 20.0 * torch.log10(torch.clamp(g_hat[0], min=1e-12))
            t_s = torch.arange(x.shape[-1], dtype=g_db.dtype, device=g_db.device) / self.sample_rate
            curves["gain_reduction"] = (t_s, g_db)
        return curves

    def extra_repr(self) -> str:
        p = self.learned_parameters()
        return f"sample_rate={self.sample_rate:g}, method={self.method!r}, " + ", ".join(f"{k}={v:.4g}" for k, v in p.items())


# ------------------------------------------------------------------ structures of real devices
def device_gain(
    x: Tensor,
    threshold_db: Tensor,
    ratio: Tensor,
    attack_coef: Tensor,
    release_coef: Tensor,
    env_zi: Tensor,
    gain_zi: Tensor,
    *,
    detector: str = "peak",
    smoothing: str = "level",
    knee_db: float = 0.0,
    eps: float = 1e-10,
) -> tuple[Tensor, Tensor, Tensor]:
    r"""Gain of the device compressors: a peak or RMS detector, ballistics on the level or on the gain.

    Detector (channels linked): e(n) = mean_c |x_c(n)| (peak) or mean_c x_c(n)^2 (RMS).

    * ``smoothing="level"`` (e.g. JUCE's dsp::Compressor, most plug-ins): the level is smoothed with
      attack/release ballistics, env(n) = env(n-1) + alpha(n) (e(n) - env(n-1)), alpha = alpha_at when
      e(n) > env(n-1) else alpha_rt; the static curve (`gain_computer`, soft knee W) is then applied
      to L = 20 log10 env (peak) or 10 log10 env (RMS).
    * ``smoothing="gain"``: the static curve on the instantaneous level, then Eq. 21's smoother on the
      gain (the paper's ballistics), attack when the gain falls.

    Both ballistics run on `attack_release_smoother` (exact gradients, Algorithm 1): the level
    smoother is the gain smoother applied to -e (its attack branch is then e > env).

    Args:
        x: the detector's input, (B, C, T).
        threshold_db, ratio, attack_coef, release_coef: scalars (tensors).
        env_zi, gain_zi: env(-1) and g_hat(-1), (B,).
        detector: ``"peak"`` or ``"rms"``. smoothing: ``"level"`` or ``"gain"``.
        knee_db: soft-knee width W (dB) >= 0.
        eps: floor of the level before the log.

    Returns:
        (gain (B, T), env(T-1) (B,), g_hat(T-1) (B,)); the gain excludes make-up.
    """
    e = x.abs().mean(-2) if detector == "peak" else x.square().mean(-2)
    to_db = 20.0 if detector == "peak" else 10.0
    if smoothing == "level":
        neg, env_zf = attack_release_smoother(-e, attack_coef, release_coef, -env_zi, return_zf=True)
        env = -neg
        level_db = to_db * torch.log10(torch.clamp(env, min=eps))
        gain = torch.exp(gain_computer(level_db, threshold_db, ratio, knee_db=knee_db) * _LN10_OVER_20)
        return gain, -env_zf, gain[:, -1] if gain.shape[-1] else gain_zi
    level_db = to_db * torch.log10(torch.clamp(e, min=eps))
    g = torch.exp(gain_computer(level_db, threshold_db, ratio, knee_db=knee_db) * _LN10_OVER_20)
    g_hat, g_zf = attack_release_smoother(g, attack_coef, release_coef, gain_zi, return_zf=True)
    return g_hat, env_zi, g_zf
