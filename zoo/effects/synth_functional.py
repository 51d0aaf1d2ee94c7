"""Functional DSP of the TB-303 style subtractive synth voice (Yu et al., DAFx 2024, Sec. 4.2).

Signal path, for a note of fundamental f0 (Hz) held for N_on samples at sample rate F_s:

1. Oscillator (`saw_square_oscillator`):
   theta(n) = 2 pi n f0 / F_s + phi,
   square(n) = tanh(k sin theta(n)),  saw(n) = square(n) (1 + cos theta(n)) / 2,
   o(n) = alpha_osc saw(n) + (1 - alpha_osc) square(n).
2. Decay envelope (`decay_envelope`): e(n) = ((N_on - n) / N_on)^alpha_env for n < N_on, else 0.
3. Source: s(n) = g_osc e(n) o(n).
4. A time-varying biquad (`zoo.filters.lfilter` for "td", `zoo.filters.fs_filter` for "fs"),
   with coefficients from the "LP" (RBJ low-pass) or the "Coeff" (free numerator, triangle
   denominator) parameterisation.
5. Distortion: y(n) = tanh(g_dist v(n)).

All functions are differentiable torch code; `synth_voice` runs the whole path from explicit
coefficients. Unconstrained-to-physical mappings (the parameter ranges table) live here too:
`PARAM_RANGES`, `global_from_raw`, `cutoff_hz_from_raw`, `lp_coefficients`, `coeff_coefficients`.

The fused TD voice (`synth_voice_td_fused`, `FusedSynthVoiceFunction`, CPU) runs the same path from
raw frame-rate controls to y, the interpolation and the coefficient maps included, as two custom ops
(``zoo::synth_voice_fused_forward`` / ``_backward``, Numba kernels in `zoo.effects.kernels_synth`),
with the same values and gradients as the composed path, which stays the reference and serves CUDA,
forward-mode AD, functorch transforms and double backward (`can_fuse_voice` decides).
"""

from __future__ import annotations

import importlib
import math
from typing import Mapping

import torch
from torch import Tensor

from zoo.filters import biquad_triangle, fs_filter, fs_num_frames, interpolate_controls, lfilter, num_frames, rbj_lowpass

from . import kernels_synth

# the module, not the function `zoo.filters.allpole` that the package re-exports under that name
_allpole_module = importlib.import_module("zoo.filters.allpole")

__all__ = [
    "PARAM_RANGES",
    "CUTOFF_RANGE_HZ",
    "global_from_raw",
    "cutoff_hz_from_raw",
    "phase_rad_from_raw",
    "oscillator_sharpness",
    "saw_square_oscillator",
    "decay_envelope",
    "synth_source",
    "lp_coefficients",
    "coeff_coefficients",
    "controls_at_audio_rate",
    "controls_at_fs_frames",
    "synth_voice",
    "raw_from_global",
    "physical_globals",
    "fs_hop_and_window",
    "FusedSynthVoiceFunction",
    "can_fuse_voice",
    "synth_voice_td_fused",
]

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


def oscillator_sharpness(f0_hz: Tensor) -> Tensor:
    r"""Waveshaper gain k of the tanh square: a heuristic that keeps it roughly band-limited.

    .. math:: k = \frac{\pi}{2} N, \qquad N = \frac{12000}{f_0 \log_{10} f_0}

    N approximates the number of audible partials (torchsynth's ``SquareSawVCO``, Turian et al.
    2021, also used by the paper's authors); f0 is clamped to >= 20 Hz so that log10 stays > 1.

    Args:
        f0_hz: fundamental (Hz), any shape.

    Returns:
        k, same shape (dimensionless, > 0).
    """
    f0 = f0_hz.clamp_min(20.0)
    return 0.5 * math.pi * 12000.0 / (f0 * torch.log10(f0))


def _as_batch(value: Tensor | float, name: str, like: Tensor) -> Tensor:
    if not isinstance(value, Tensor):
        if not isinstance(value, (int, float)):
            raise TypeError(f"Unexpected type for `{name}`: expected a torch.Tensor or a float, found {type(value).__name__}")
        return torch.full(like.shape[:1], float(value), dtype=like.dtype, device=like.device)
    if value.dim() > 1:
        raise ValueError(f"Unexpected shape for `{name}`: expected () or (B,), found {tuple(value.shape)}")
    return value.to(like.dtype) if not value.is_floating_point() else value


def saw_square_oscillator(
    f0_hz: Tensor,
    num_samples: int,
    sample_rate: float,
    osc_mix: Tensor | float,
    phase_rad: Tensor | float = 0.0,
    *,
    sharpness: Tensor | float | None = None,
) -> Tensor:
    r"""Differentiable square/saw oscillator with tanh waveshaping.

    .. math::
        \theta(n) = 2\pi n f_0 / F_s + \phi, \qquad
        \mathrm{sq}(n) = \tanh(k \sin\theta(n)), \qquad
        \mathrm{saw}(n) = \mathrm{sq}(n)\,\frac{1 + \cos\theta(n)}{2},

        o(n) = \alpha_{osc}\,\mathrm{saw}(n) + (1 - \alpha_{osc})\,\mathrm{sq}(n)

    The square is a tanh-saturated sine; the saw multiplies it by the raised cosine, which falls
    from 1 to 0 over the positive half-period and from 0 to -1 over the negative one: a falling
    ramp whose only discontinuity (at theta = 0) keeps the tanh's smoothness ("square to saw"
    distortion synthesis: Lazzarini & Timoney, CMJ 2010; torchsynth's ``SquareSawVCO``). Both
    are smooth in every argument, and k (`oscillator_sharpness`) limits their bandwidth.

    Args:
        f0_hz: fundamental (Hz), (B,), in (0, sample_rate / 2).
        num_samples: T (>= 1).
        sample_rate: F_s (Hz), > 0.
        osc_mix: alpha_osc in [0, 1], (B,) or a float; 0 = square, 1 = saw.
        phase_rad: phi (rad), (B,) or a float. Default 0.
        sharpness: k, (B,) or a float; default ``oscillator_sharpness(f0_hz)``.

    Shape:
        returns (B, T).

    Raises:
        TypeError, ValueError: bad types or shapes, ``num_samples`` < 1 or ``sample_rate`` <= 0.

    Supports:
        any device and floating dtype; autograd (all tensor args) of any order.
    """
    f0_hz = _check_f0(f0_hz)
    _check_positive_int(num_samples, "num_samples")
    _check_sample_rate(sample_rate)
    osc_mix = _as_batch(osc_mix, "osc_mix", f0_hz).unsqueeze(-1)
    phase_rad = _as_batch(phase_rad, "phase_rad", f0_hz).unsqueeze(-1)
    k = oscillator_sharpness(f0_hz) if sharpness is None else _as_batch(sharpness, "sharpness", f0_hz)
    n = torch.arange(num_samples, dtype=f0_hz.dtype, device=f0_hz.device)
    # Reduce the phase increment modulo one period before scaling: n * f0 / F_s reaches thousands of
    # cycles, and float32 would lose the fractional part (the waveform) otherwise.
    cycles = torch.remainder(n * (f0_hz.unsqueeze(-1) / sample_rate), 1.0)
    theta = 2.0 * math.pi * cycles + phase_rad
    square = torch.tanh(k.unsqueeze(-1) * torch.sin(theta))
    saw = square * 0.5 * (1.0 + torch.cos(theta))
    return osc_mix * saw + (1.0 - osc_mix) * square


def decay_envelope(note_on_samples: Tensor, num_samples: int, env_exponent: Tensor | float) -> Tensor:
    r"""Polynomial decay envelope of a note held for N_on samples.

    .. math:: e(n) = \left(\frac{N_{on} - n}{N_{on}}\right)^{\alpha_{env}} \text{ for } 0 \le n < N_{on},
              \qquad e(n) = 0 \text{ otherwise}

    The power is taken on a base replaced by 1 where the note is off, then masked, so the gradient
    with respect to alpha_env (b^alpha ln b) never meets 0 * (-inf) = NaN.

    Args:
        note_on_samples: N_on (samples), (B,), >= 1 (smaller values are clamped to 1); may exceed T.
        num_samples: T (>= 1).
        env_exponent: alpha_env in [0.1, 6], (B,) or a float.

    Shape:
        returns (B, T), in the dtype of ``env_exponent`` (or of ``note_on_samples`` if floating).

    Raises:
        TypeError, ValueError: bad types or shapes, ``num_samples`` < 1.
    """
    if not isinstance(note_on_samples, Tensor):
        raise TypeError(f"Unexpected type for `note_on_samples`: expected a torch.Tensor, found {type(note_on_samples).__name__}")
    if note_on_samples.dim() != 1:
        raise ValueError(f"Unexpected shape for `note_on_samples`: expected (B,), found {tuple(note_on_samples.shape)}")
    _check_positive_int(num_samples, "num_samples")
    if isinstance(env_exponent, Tensor) and env_exponent.is_floating_point():
        dtype = env_exponent.dtype
    elif note_on_samples.is_floating_point():
        dtype = note_on_samples.dtype
    else:
        dtype = torch.get_default_dtype()
    n_on = note_on_samples.to(dtype).clamp_min(1.0).unsqueeze(-1)
    alpha = _as_batch(env_exponent, "env_exponent", n_on[:, 0]).to(dtype).unsqueeze(-1)
    n = torch.arange(num_samples, dtype=dtype, device=note_on_samples.device)
    on = n < n_on
    base = torch.where(on, (n_on - n) / n_on, torch.ones_like(n_on))
    return torch.where(on, base.pow(alpha), torch.zeros_like(base))


def synth_source(
    f0_hz: Tensor,
    note_on_samples: Tensor,
    num_samples: int,
    sample_rate: float,
    osc_mix: Tensor | float,
    env_exponent: Tensor | float,
    osc_gain: Tensor | float,
    phase_rad: Tensor | float = 0.0,
    *,
    sharpness: Tensor | float | None = None,
) -> Tensor:
    r"""Dry source of the voice: :math:`s(n) = g_{osc}\, e(n)\, o(n)`.

    Args:
        f0_hz: fundamental (Hz), (B,).
        note_on_samples: N_on (samples), (B,); see `decay_envelope`.
        num_samples: T (>= 1).
        sample_rate: F_s (Hz).
        osc_mix: alpha_osc in [0, 1], (B,) or a float.
        env_exponent: alpha_env in [0.1, 6], (B,) or a float.
        osc_gain: g_osc in [0.01, 1], (B,) or a float.
        phase_rad: phi (rad), (B,) or a float. Default 0.
        sharpness: oscillator waveshaper gain k; default `oscillator_sharpness` (f0_hz).

    Shape:
        returns (B, T).
    """
    osc = saw_square_oscillator(f0_hz, num_samples, sample_rate, osc_mix, phase_rad, sharpness=sharpness)
    env = decay_envelope(note_on_samples, num_samples, env_exponent).to(osc.dtype)
    gain = _as_batch(osc_gain, "osc_gain", osc[:, 0]).unsqueeze(-1)
    return gain * env * osc


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


def synth_voice(
    f0_hz: Tensor,
    note_on_samples: Tensor,
    num_samples: int,
    sample_rate: float,
    b: Tensor,
    a: Tensor,
    osc_mix: Tensor | float,
    env_exponent: Tensor | float,
    osc_gain: Tensor | float,
    dist_gain: Tensor | float,
    phase_rad: Tensor | float = 0.0,
    *,
    method: str = "td",
    hop: int | None = None,
    n_win: int | None = None,
    sharpness: Tensor | float | None = None,
) -> Tensor:
    r"""The full voice from explicit filter coefficients: source, time-varying biquad, tanh.

    .. math::
        s(n) = g_{osc}\, e(n)\, o(n), \qquad
        v(n) = \sum_{k=0}^{2} b_k(n) s(n-k) - \sum_{i=1}^{2} a_i(n) v(n-i), \qquad
        y(n) = \tanh(g_{dist}\, v(n))

    (Yu et al. 2024, Sec. 4.2; the filter is `zoo.filters.lfilter`, Eq. 1 with a time-varying FIR in
    front.) With ``method="fs"`` the biquad is applied by frequency sampling (`zoo.filters.fs_filter`)
    with one (b, a) per STFT frame instead.

    Args:
        f0_hz: fundamental (Hz), (B,).
        note_on_samples: N_on (samples), (B,).
        num_samples: T.
        sample_rate: F_s (Hz).
        b: numerator, (B, T, 3) per sample for "td"; (B, T // hop + 1, 3) per FS frame for "fs".
        a: denominator without a0 = 1, (B, T, 2) or (B, T // hop + 1, 2), likewise.
        osc_mix: alpha_osc in [0, 1], (B,) or a float.
        env_exponent: alpha_env in [0.1, 6], (B,) or a float.
        osc_gain: g_osc in [0.01, 1], (B,) or a float.
        dist_gain: g_dist in [0.01, 4], (B,) or a float.
        phase_rad: oscillator phase phi (rad), (B,) or a float. Default 0.
        method: "td" (exact time-domain recursion) or "fs" (frequency sampling). Default "td".
        hop: FS hop (samples); default ``n_win // 4``. Only for "fs".
        n_win: FS Hann window (samples); default 4 * hop, or 1024 when neither is given. Only for "fs".
        sharpness: oscillator waveshaper gain; see `saw_square_oscillator`.

    Shape:
        returns y: (B, T).

    Raises:
        TypeError, ValueError: bad types, shapes or ``method``.

    Supports:
        CPU and CUDA (as `zoo.filters.lfilter`); float32/64; autograd of any order ("td").
    """
    if method not in ("td", "fs"):
        raise ValueError(f"Unexpected value for `method`: expected 'td' or 'fs', found {method!r}")
    src = synth_source(
        f0_hz, note_on_samples, num_samples, sample_rate, osc_mix, env_exponent, osc_gain, phase_rad,
        sharpness=sharpness,
    )
    if method == "td":
        if b.shape[-2] != num_samples or a.shape[-2] != num_samples:
            raise ValueError(
                f"Unexpected shape for `b`/`a`: expected (B, {num_samples}, 3)/(B, {num_samples}, 2) per sample, "
                f"found {tuple(b.shape)}/{tuple(a.shape)}"
            )
        filtered = lfilter(b, a, src)
    else:
        hop, n_win = fs_hop_and_window(hop, n_win)
        filtered = fs_filter(src, b, a, hop, n_win)
    gain = _as_batch(dist_gain, "dist_gain", filtered[:, 0]).unsqueeze(-1)
    return torch.tanh(gain * filtered)


def fs_hop_and_window(hop: int | None, n_win: int | None) -> tuple[int, int]:
    """Resolve the FS (hop, n_win): hop defaults to n_win // 4, n_win to 4 * hop, both to (256, 1024).

    Raises:
        ValueError: ``n_win`` < 2, ``hop`` < 1, or ``hop`` > ``n_win``.
    """
    if n_win is None and hop is None:
        n_win = 1024
    if n_win is None:
        n_win = 4 * hop
    if n_win < 2:
        raise ValueError(f"Unexpected value for `n_win`: expected an integer >= 2, found {n_win}")
    hop = max(1, n_win // 4) if hop is None else hop
    if hop < 1 or hop > n_win:
        raise ValueError(f"Unexpected value for `hop`: expected 1 <= hop <= n_win ({n_win}), found {hop}")
    return int(hop), int(n_win)


def _check_f0(f0_hz: Tensor) -> Tensor:
    if not isinstance(f0_hz, Tensor):
        raise TypeError(f"Unexpected type for `f0_hz`: expected a torch.Tensor, found {type(f0_hz).__name__}")
    if f0_hz.dim() != 1:
        raise ValueError(f"Unexpected shape for `f0_hz`: expected (B,), found {tuple(f0_hz.shape)}")
    if not f0_hz.is_floating_point():
        raise TypeError(f"Unexpected dtype for `f0_hz`: expected a floating point dtype, found {f0_hz.dtype}")
    return f0_hz


def _check_positive_int(value: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"Unexpected type for `{name}`: expected an int, found {type(value).__name__}")
    if value < 1:
        raise ValueError(f"Unexpected value for `{name}`: expected >= 1, found {value}")


def _check_sample_rate(sample_rate: float) -> None:
    if not isinstance(sample_rate, (int, float)) or isinstance(sample_rate, bool):
        raise TypeError(f"Unexpected type for `sample_rate`: expected a number (Hz), found {type(sample_rate).__name__}")
    if sample_rate <= 0:
        raise ValueError(f"Unexpected value for `sample_rate`: expected > 0 (Hz), found {sample_rate}")


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


# ------------------------------------------------------------------- fused TD voice (CPU)
# The original all-pole layer: when something swaps it (e.g. the authors' torchlpc layer in
# ``benchmarks/_authors_path.py``), the voice honours the swap by taking the composed path.
_ORIGINAL_ALLPOLE = _allpole_module.allpole_function


def _fused_kernel(name: str, rows: int):
    # one or two rows: nothing to share, and waking the thread pool costs more than it saves
    return getattr(kernels_synth, f"{name}_serial" if rows <= 2 else name)


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

    Forward: one Numba sweep per row (`zoo.effects.kernels_synth`) computes y and keeps, per sample,
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


def can_fuse_voice(f0_hz: Tensor, filter_controls: Tensor, *values: Tensor | float | None) -> bool:
    """Whether `FusedSynthVoiceFunction` can serve a TD voice call (else the composed path does).

    It needs CPU float32/float64 tensors of one dtype, no gradient wanted for ``f0_hz``, no forward-mode
    AD or functorch transform, and the library's own all-pole layer (not a swapped-in one).
    """
    tensors = [f0_hz, filter_controls, *(v for v in values if isinstance(v, Tensor))]
    dtype = filter_controls.dtype
    if dtype not in (torch.float32, torch.float64) or f0_hz.requires_grad or f0_hz.dim() != 1:
        return False
    if any(t.device.type != "cpu" or t.dtype != dtype for t in tensors):
        return False
    if filter_controls.dim() != 3 or filter_controls.shape[0] not in (1, f0_hz.shape[0]):
        return False
    if _allpole_module.allpole_function is not _ORIGINAL_ALLPOLE:
        return False
    if torch.compiler.is_compiling():  # the traced graph holds the custom ops as they are
        return True
    return torch.autograd.forward_ad._current_level < 0 and torch._C._functorch.maybe_current_level() is None


def synth_voice_td_fused(
    f0_hz: Tensor,
    note_on_samples: Tensor,
    num_samples: int,
    sample_rate: float,
    filter_controls: Tensor,
    control_hop: int,
    filter_type: str,
    osc_mix: Tensor | float,
    env_exponent: Tensor | float,
    osc_gain: Tensor | float,
    dist_gain: Tensor | float,
    phase_rad: Tensor | float = 0.0,
    q: Tensor | float | None = None,
) -> Tensor:
    r"""The TD voice from raw frame-rate controls as one fused CPU op (`FusedSynthVoiceFunction`).

    Computes what ``synth_voice(..., method="td")`` computes from ``controls_at_audio_rate`` and
    ``lp_coefficients(cutoff_hz_from_raw(.), q)`` ("lp") or ``coeff_coefficients`` ("coeff"), in one
    Numba sweep per row, and its gradients in one reverse sweep. Check `can_fuse_voice` first.

    Args:
        f0_hz: fundamental (Hz), (B,); no gradient.
        note_on_samples: N_on (samples), (B,).
        num_samples: T (>= 1).
        sample_rate: F_s (Hz).
        filter_controls: raw controls (B or 1, F, P), frame m at sample m * ``control_hop``; P = 1 ("lp")
            or 5 ("coeff").
        control_hop: samples between frames (>= 1).
        filter_type: "lp" or "coeff".
        osc_mix, env_exponent, osc_gain, dist_gain, phase_rad: physical globals, (B,), () or floats.
        q: Q of the "lp" filter, (B,), () or a float; required for "lp", ignored for "coeff".

    Shape:
        returns y: (B, T).

    Raises:
        TypeError, ValueError: bad types, shapes, ``filter_type``, ``control_hop`` or missing ``q``.
    """
    f0_hz = _check_f0(f0_hz)
    _check_positive_int(num_samples, "num_samples")
    _check_sample_rate(sample_rate)
    _check_positive_int(control_hop, "control_hop")
    if filter_type not in ("lp", "coeff"):
        raise ValueError(f"Unexpected value for `filter_type`: expected 'lp' or 'coeff', found {filter_type!r}")
    lp = filter_type == "lp"
    n_ctrl = 1 if lp else 5
    if filter_controls.dim() != 3 or filter_controls.shape[-1] != n_ctrl or filter_controls.shape[1] < 1:
        raise ValueError(
            f"Unexpected shape for `filter_controls`: expected (B, F, {n_ctrl}) for filter_type={filter_type!r}, "
            f"found {tuple(filter_controls.shape)}"
        )
    if lp and q is None:
        raise ValueError("Unexpected value for `q`: the 'lp' filter needs a Q")
    batch = f0_hz.shape[0]
    dtype = filter_controls.dtype
    like = f0_hz.to(dtype)
    columns = []
    for name, value in (("osc_mix", osc_mix), ("env_exponent", env_exponent), ("osc_gain", osc_gain),
                        ("dist_gain", dist_gain), ("phase_rad", phase_rad), ("q", 1.0 if q is None else q)):
        if isinstance(value, Tensor) and value.dim() == 0:
            value = value.expand(batch)
        columns.append(_as_batch(value, name, like).to(dtype).expand(batch))
    params = torch.stack(columns, dim=-1)
    cond = torch.stack([like, note_on_samples.to(dtype)], dim=-1).contiguous()
    ctrl = filter_controls.expand(batch, *filter_controls.shape[1:]).contiguous()
    y, *_ = FusedSynthVoiceFunction.apply(ctrl, params, cond, num_samples, control_hop, float(sample_rate), lp)
    return y
