"""The synth's parameter ranges table and control maps: unconstrained values to physical globals,
cutoffs and biquad coefficients (LP and Coeff parameterisations), and frame-rate controls to audio rate
or to frequency-sampling frames."""

from __future__ import annotations

import math
from typing import Mapping

import torch
from torch import Tensor

from zoo.filters import biquad_triangle, fs_num_frames, interpolate_controls, num_frames, rbj_lowpass


#: Physical ranges (low, high) of the global voice parameters; raw values map in by
#: low + (high - low) * sigmoid(raw) (`global_from_raw`). Paper Sec. 4.2, plus the LP filter's Q.
PARAM_RANGES: dict[str, tuple[float, float]] = {
    "osc_mix": (0.0, 1.0),  # alpha_osc: 0 = square, 1 = saw
    "env_exponent": (0.1, 6.0),  # alpha_env
    "osc_gain": (0.01, 1.0),  # g_osc
    "dist_gain": (0.01, 4.0),  # g_dist
    "q": (0.7071, 8.0),  # Q of the "LP" filter (constant per note)
}

#: Range (Hz) of the "LP" filter's frame-rate cutoff; raw values map in on a log-frequency scale.
CUTOFF_RANGE_HZ: tuple[float, float] = (100.0, 8000.0)


def _check_name(name: str) -> tuple[float, float]:
    if name not in PARAM_RANGES:
        raise ValueError(f"Unexpected value for `name`: expected one of {tuple(PARAM_RANGES)}, found {name!r}")
    return PARAM_RANGES[name]


def global_from_raw(raw: Tensor, name: str) -> Tensor:
    r"""Map an unconstrained value to a global parameter's physical range.

    .. math:: p = p_{lo} + (p_{hi} - p_{lo})\,\sigma(r)

    Args:
        raw: unconstrained value r, any shape.
        name: one of ``PARAM_RANGES``: "osc_mix" [0, 1], "env_exponent" [0.1, 6], "osc_gain"
            [0.01, 1], "dist_gain" [0.01, 4], "q" [0.7071, 8].

    Returns:
        p, same shape as ``raw``.

    Raises:
        ValueError: unknown ``name``.
    """
    low, high = _check_name(name)
    return low + (high - low) * torch.sigmoid(raw)


def raw_from_global(value: Tensor | float, name: str) -> Tensor:
    """Inverse of `global_from_raw` (logit), for initialising raw parameters from physical values.

    Raises:
        ValueError: unknown ``name`` or ``value`` outside the open range.
    """
    low, high = _check_name(name)
    value = torch.as_tensor(value, dtype=torch.get_default_dtype())
    unit = (value - low) / (high - low)
    if bool(((unit <= 0) | (unit >= 1)).any()):
        raise ValueError(f"Unexpected value for `value`: expected inside ({low}, {high}) for {name!r}, found {value}")
    return torch.logit(unit)


def cutoff_hz_from_raw(raw: Tensor) -> Tensor:
    r"""Map unconstrained values to the "LP" cutoff on a log-frequency scale.

    .. math:: f_c = f_{lo} (f_{hi} / f_{lo})^{\sigma(r)}, \quad [f_{lo}, f_{hi}] = [100, 8000]\ \text{Hz}

    A sigmoid on log-frequency spends equal resolution per octave, which suits a resonant filter
    sweep (paper Sec. 4.2: m_fc in [0.1, 8] kHz).

    Args:
        raw: unconstrained values, any shape.

    Returns:
        cutoff (Hz), same shape.
    """
    low, high = CUTOFF_RANGE_HZ
    return low * torch.exp(math.log(high / low) * torch.sigmoid(raw))


def phase_rad_from_raw(raw: Tensor) -> Tensor:
    r"""Oscillator phase offset from an unconstrained value: :math:`\phi = \pi \tanh(r)` (rad)."""
    return math.pi * torch.tanh(raw)


def lp_coefficients(cutoff_hz: Tensor, q: Tensor | float, sample_rate: float) -> tuple[Tensor, Tensor]:
    r"""The "LP" parameterisation: RBJ cookbook low-pass coefficients (`zoo.filters.rbj_lowpass`).

    With w0 = 2 pi f_c / F_s and alpha = sin(w0) / (2 Q), the poles have radius
    sqrt((1 - alpha) / (1 + alpha)) < 1 for every f_c in (0, F_s / 2) and Q > 0: always stable.

    Args:
        cutoff_hz: f_c (Hz), (..., F) per frame or (..., T) per sample, in (0, F_s / 2).
        q: Q > 0, a float or broadcastable to ``cutoff_hz`` (e.g. (B, 1) for a per-note Q).
        sample_rate: F_s (Hz).

    Returns:
        (b, a) of shapes (..., 3) and (..., 2); ``a`` omits a0 = 1.
    """
    return rbj_lowpass(cutoff_hz, q, sample_rate)


def coeff_coefficients(raw: Tensor, max_radius: float = 0.999) -> tuple[Tensor, Tensor]:
    r"""The "Coeff" parameterisation: a free numerator and a stable triangle denominator.

    .. math::
        b = (r_0, r_1, r_2), \qquad (\tilde a_1, \tilde a_2) = \mathrm{triangle}(r_3, r_4), \qquad
        (a_1, a_2) = (\rho \tilde a_1, \rho^2 \tilde a_2)

    ``biquad_triangle`` (a1 = 2 tanh r_3, a2 = ((2 - |a1|) tanh r_4 + |a1|) / 2) lands in the
    stability triangle, but in float32 tanh saturates to exactly +-1 for |r| > 9, which puts the
    poles on the unit circle. Scaling z by rho (poles p -> rho p) keeps every pole radius <= rho
    for any raw values, including saturated ones.

    Args:
        raw: unconstrained values, (..., 5).
        max_radius: rho in (0, 1], the largest pole radius. Default 0.999 (a -3 dB bandwidth of
            about 15 Hz at 48 kHz, narrower than any resonance the 303 needs).

    Returns:
        (b, a) of shapes (..., 3) and (..., 2).

    Raises:
        ValueError: last dimension is not 5, or ``max_radius`` outside (0, 1].
    """
    if raw.shape[-1] != 5:
        raise ValueError(f"Unexpected shape for `raw`: expected (..., 5), found {tuple(raw.shape)}")
    if not 0 < max_radius <= 1:
        raise ValueError(f"Unexpected value for `max_radius`: expected in (0, 1], found {max_radius}")
    a = biquad_triangle(raw[..., 3:])
    if max_radius < 1:
        a = a * a.new_tensor([max_radius, max_radius * max_radius])
    return raw[..., :3], a


def _pad_frames(controls: Tensor, control_hop: int, num_samples: int) -> Tensor:
    """Repeat the last frame so that frames at m * control_hop cover samples 0 .. num_samples - 1."""
    needed = num_frames(num_samples, control_hop)
    have = controls.shape[-2]
    if have < needed:
        pad = controls[..., -1:, :].expand(*controls.shape[:-2], needed - have, controls.shape[-1])
        controls = torch.cat([controls, pad], dim=-2)
    return controls


def controls_at_audio_rate(controls: Tensor, control_hop: int, num_samples: int) -> Tensor:
    """Frame-rate controls (frame m at sample m * control_hop) interpolated linearly to audio rate.

    Frames past the last one repeat it (an STFT-based encoder gives T // hop + 1 frames, one short
    of covering T samples when hop does not divide T - 1).

    Args:
        controls: (..., F, P).
        control_hop: samples between frames (>= 1).
        num_samples: T.

    Returns:
        (..., T, P).
    """
    if controls.dim() < 2:
        raise ValueError(f"Unexpected shape for `controls`: expected (..., F, P), found {tuple(controls.shape)}")
    return interpolate_controls(_pad_frames(controls, control_hop, num_samples), control_hop, num_samples)


def controls_at_fs_frames(controls: Tensor, control_hop: int, num_samples: int, hop: int) -> Tensor:
    """Frame-rate controls resampled at the centres m * hop of the FS frames (linear interpolation).

    Frame m of `zoo.filters.fs_filter` is centred on sample m * hop, m = 0 .. T // hop; centres at or
    past T - 1 take the control of sample T - 1.

    Args:
        controls: (..., F, P).
        control_hop: samples between control frames.
        num_samples: T.
        hop: FS hop (samples).

    Returns:
        (..., T // hop + 1, P).
    """
    audio = controls_at_audio_rate(controls, control_hop, num_samples)
    centres = torch.arange(fs_num_frames(num_samples, hop), device=controls.device) * hop
    return audio.index_select(-2, centres.clamp(max=num_samples - 1))


def physical_globals(raw: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Map a dict of raw global values to physical ones (keys of ``PARAM_RANGES`` and "phase_rad").

    Unknown keys raise ``ValueError``.
    """
    out = {}
    for name, value in raw.items():
        if name == "phase_rad":
            out[name] = phase_rad_from_raw(value)
        else:
            out[name] = global_from_raw(value, name)
    return out
