"""The compressor's functional form `compressor(x, sample_rate, **params)`: the composed TD and FS
paths, the fused CPU path and the choice between them; and `device_gain`, the gain of the
real-device structures."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from ...filters.dispatch import can_fuse
from . import kernels_fused as kernels_compressor_fused
from .ops import FusedCompressorFunction
from .stages import (
    _LN10_OVER_20,
    _check_range,
    _check_sample_rate,
    _param,
    _result_dtype,
    attack_release_smoother,
    gain_computer,
    ms_to_coef,
    one_pole_fs,
    rms_detector,
)


def _can_fuse(x: Tensor, method: str, return_gain: bool) -> bool:
    """Whether `FusedCompressorFunction` can serve this call (else the composed path does)."""
    return method == "td" and not return_gain and x.shape[-1] > 0 and can_fuse(x)


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
