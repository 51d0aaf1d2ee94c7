"""Filter design helpers: stable parameterisations, control-rate interpolation, stability checks.

All functions are differentiable torch code and accept arbitrary leading dimensions.
Coefficient vectors ``a`` omit a0 = 1 (``A(z) = 1 + a_1 z^-1 + ... + a_M z^-M``), as in `allpole`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = [
    "interpolate_controls",
    "num_frames",
    "biquad_from_poles",
    "biquad_triangle",
    "lpc_from_reflection",
    "rbj_lowpass",
    "max_pole_radius",
    "is_stable",
]


def num_frames(num_samples: int, hop: int) -> int:
    """Frames needed so that frame-rate controls at m * hop cover samples 0 .. num_samples - 1."""
    if hop < 1:
        raise ValueError(f"Unexpected value for `hop`: expected an integer >= 1, found {hop}")
    return max(1, math.ceil((num_samples - 1) / hop) + 1) if num_samples > 0 else 1


def interpolate_controls(controls: Tensor, hop: int, length: int | None = None) -> Tensor:
    r"""Upsample frame-rate controls to audio rate by linear interpolation.

    Frame m sits at sample m * hop; sample n takes
    c[n] = (1 - f) c[m] + f c[m + 1] with m = floor(n / hop), f = n / hop - m.

    Args:
        controls: frame-rate values, shape (..., F, P).
        hop: samples between frames (>= 1).
        length: number of output samples T; default (F - 1) * hop + 1. Must be <= (F - 1) * hop + 1.

    Shape:
        - controls: (..., F, P) -> returns (..., T, P)

    Raises:
        ValueError: hop < 1, F < 1, or ``length`` beyond the last frame.
    """
    if controls.dim() < 2:
        raise ValueError(f"Unexpected shape for `controls`: expected (..., F, P), found {tuple(controls.shape)}")
    if hop < 1:
        raise ValueError(f"Unexpected value for `hop`: expected an integer >= 1, found {hop}")
    n_frames = controls.shape[-2]
    if n_frames < 1:
        raise ValueError("Unexpected shape for `controls`: expected at least one frame")
    full = (n_frames - 1) * hop + 1
    length = full if length is None else length
    if length > full:
        raise ValueError(
            f"Unexpected value for `length`: {n_frames} frames at hop {hop} cover {full} samples, asked for "
            f"{length}; pass num_frames(length, hop) = {num_frames(length, hop)} frames"
        )
    n = torch.arange(length, device=controls.device)
    m = torch.div(n, hop, rounding_mode="floor").clamp(max=n_frames - 1)
    m_next = (m + 1).clamp(max=n_frames - 1)
    frac = ((n - m * hop).to(controls.real.dtype if controls.is_complex() else controls.dtype) / hop).unsqueeze(-1)
    lo = controls.index_select(-2, m)
    hi = controls.index_select(-2, m_next)
    return lo + frac * (hi - lo)


def biquad_from_poles(radius: Tensor, angle_rad: Tensor) -> Tensor:
    r"""Denominator of a biquad with complex-conjugate poles r e^{\pm j\theta}.

    A(z) = 1 - 2 r cos(theta) z^-1 + r^2 z^-2. Stable for 0 <= r < 1.

    Args:
        radius: pole radius r, (...). angle_rad: pole angle theta (rad), (...).

    Returns:
        a = [a1, a2], shape (..., 2).
    """
    return torch.stack([-2.0 * radius * torch.cos(angle_rad), radius * radius], dim=-1)


def biquad_triangle(raw: Tensor) -> Tensor:
    r"""Map unconstrained values to a stable biquad denominator (the stability triangle).

    a1 = 2 tanh(h1),  a2 = ((2 - |a1|) tanh(h2) + |a1|) / 2, which keeps (a1, a2) strictly inside the
    triangle |a2| < 1, |a1| < 1 + a2 (Nercessian et al. 2021; used by Yu et al. 2024, Sec. 4).

    Args:
        raw: unconstrained (h1, h2), shape (..., 2).

    Returns:
        a = [a1, a2], shape (..., 2).
    """
    if raw.shape[-1] != 2:
        raise ValueError(f"Unexpected shape for `raw`: expected (..., 2), found {tuple(raw.shape)}")
    a1 = 2.0 * torch.tanh(raw[..., 0])
    a1_abs = a1.abs()
    a2 = 0.5 * ((2.0 - a1_abs) * torch.tanh(raw[..., 1]) + a1_abs)
    return torch.stack([a1, a2], dim=-1)


def lpc_from_reflection(k: Tensor) -> Tensor:
    r"""LPC coefficients from reflection coefficients by the step-up (Levinson) recursion.

    a^{(m)}_i = a^{(m-1)}_i + k_m a^{(m-1)}_{m-i} (i < m), a^{(m)}_m = k_m. The filter 1/A(z) is
    stable iff every |k_m| < 1 (e.g. k = tanh(raw)).

    Args:
        k: reflection coefficients, shape (..., M).

    Returns:
        a, shape (..., M).
    """
    order = k.shape[-1]
    a = k[..., :1]
    for m in range(1, order):
        km = k[..., m : m + 1]
        a = torch.cat([a + km * a.flip(-1), km], dim=-1)
    return a


def rbj_lowpass(cutoff_hz: Tensor, q: Tensor | float, sample_rate: float) -> tuple[Tensor, Tensor]:
    r"""RBJ Audio-EQ-Cookbook low-pass biquad.

    w0 = 2 pi f_c / f_s, alpha = sin(w0) / (2 Q);
    b = [(1 - cos w0)/2, 1 - cos w0, (1 - cos w0)/2] / a0, a = [-2 cos w0, 1 - alpha] / a0,
    a0 = 1 + alpha.

    Args:
        cutoff_hz: cutoff frequency (Hz), (...), in (0, sample_rate / 2).
        q: quality factor (> 0), broadcastable to ``cutoff_hz``.
        sample_rate: sample rate (Hz).

    Returns:
        (b, a): shapes (..., 3) and (..., 2), normalised by a0.
    """
    if sample_rate <= 0:
        raise ValueError(f"Unexpected value for `sample_rate`: expected > 0, found {sample_rate}")
    w0 = 2.0 * math.pi * cutoff_hz / sample_rate
    cos_w0 = torch.cos(w0)
    alpha = torch.sin(w0) / (2.0 * q)
    a0 = 1.0 + alpha
    b1 = (1.0 - cos_w0) / a0
    b = torch.stack([0.5 * b1, b1, 0.5 * b1], dim=-1)
    a = torch.stack([-2.0 * cos_w0 / a0, (1.0 - alpha) / a0], dim=-1)
    return b, a


def max_pole_radius(a: Tensor) -> Tensor:
    r"""Largest pole radius of 1 / A(z) for each coefficient vector (companion-matrix eigenvalues).

    Args:
        a: coefficients without a0, (..., M); time-varying (..., T, M) works too (one radius per step).

    Returns:
        (...,) real tensor; the filter (at that step) is stable iff the value is < 1.
        For time-varying filters this is the frozen-time check: it is necessary, not sufficient, for
        stability of fast-varying coefficients.
    """
    order = a.shape[-1]
    if order == 1:
        return a[..., 0].abs()
    if order == 2:  # closed form: roots of z^2 + a1 z + a2
        a1, a2 = a[..., 0].to(torch.complex128), a[..., 1].to(torch.complex128)
        disc = torch.sqrt(a1 * a1 - 4 * a2)
        roots = torch.stack([(-a1 + disc) / 2, (-a1 - disc) / 2], dim=-1)
        return roots.abs().amax(-1).to(a.real.dtype if a.is_complex() else a.dtype)
    companion = torch.zeros(*a.shape[:-1], order, order, dtype=a.dtype, device=a.device)
    companion[..., 0, :] = -a
    idx = torch.arange(order - 1, device=a.device)
    companion[..., idx + 1, idx] = 1
    eig = torch.linalg.eigvals(companion.to(torch.complex128) if not a.is_complex() else companion)
    return eig.abs().amax(-1).to(a.real.dtype if a.is_complex() else a.dtype)


def is_stable(a: Tensor, max_radius: float = 1.0) -> Tensor:
    """True where every pole radius is strictly below ``max_radius``. Shape (...,) bool."""
    return max_pole_radius(a) < max_radius
