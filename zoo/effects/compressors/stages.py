"""The compressor's stages as functions: unit conversions (`ms_to_coef`, `coef_to_ms`), argument
checks, the RMS detector, the gain computer, the attack/release smoother (Eq. 21) and its
frequency-sampling one-pole twin."""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

import torch
from torch import Tensor

from ...filters import linear_recurrence
from ...filters.smoother import attack_release_smoother  # noqa: F401  (one of the compressor's stages)


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
