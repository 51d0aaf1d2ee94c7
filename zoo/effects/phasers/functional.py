"""The phaser's functional form `phaser(x, sample_rate, **params)`, composed from `zoo.filters`:
td_exact on `zoo.filters.allpass_feedback_loop`, td_regrouped on `zoo.filters.lfilter`, fs on
`zoo.filters.fs_filter`; and `stage_coefficients` for the real-device structures (which run on
`zoo.filters.allpass_chain`)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ...filters import fft_size, fs_filter, fs_num_frames, lfilter
from ...filters.allpass import STAGE_FORMS, allpass_chain, allpass_feedback_loop  # noqa: F401
from ..base import check_audio
from .polynomials import _check_stages, allpass_polynomials, phaser_response


PHASER_METHODS = ("td_exact", "td_regrouped", "fs")


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
    y_k, loop_zf = allpass_feedback_loop(
        x.expand(rows_b, n_channels, n_time).reshape(rows, n_time),
        p_c.expand(rows_b, n_channels, n_time).reshape(rows, n_time),
        g2[:, None].expand(rows_b, n_channels).reshape(rows),
        None if loop_zi is None else loop_zi.reshape(rows, num_stages + 1),
        num_stages=num_stages,
        return_zf=True,
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
# Structures of real devices (for `zoo fit`): per-stage coefficients, TPT stages, feedback through a
# one-sample delay, a log-frequency sweep LFO. Time domain only; the paper's model stays the default.
# ----------------------------------------------------------------------------------------------

def stage_coefficients(log_break_hz: Tensor, sample_rate: float, form: str) -> Tensor:
    """Break frequency (ln Hz) -> stage coefficient: p = (1 - g)/(1 + g) (DF1) or G = g/(1 + g) (TPT),
    g = tan(pi f_b / F_s) (the bilinear transform, prewarped)."""
    g = torch.tan(torch.exp(log_break_hz) * (math.pi / sample_rate))
    return (1.0 - g) / (1.0 + g) if form == "df1" else g / (1.0 + g)
