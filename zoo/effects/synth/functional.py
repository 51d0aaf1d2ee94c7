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
coefficients. Unconstrained-to-physical mappings (the parameter ranges table) live in
`zoo.effects.synth.controls`: `PARAM_RANGES`, `global_from_raw`, `cutoff_hz_from_raw`,
`lp_coefficients`, `coeff_coefficients`.

The fused TD voice (`synth_voice_td_fused` in `zoo.effects.synth.fused`, `FusedSynthVoiceFunction` in
`zoo.effects.synth.ops`, CPU) runs the same path from
raw frame-rate controls to y, the interpolation and the coefficient maps included, as two custom ops
(``zoo::synth_voice_fused_forward`` / ``_backward``, Numba kernels in `zoo.effects.synth.kernels`),
with the same values and gradients as the composed path, which stays the reference and serves CUDA,
forward-mode AD, functorch transforms and double backward (`can_fuse_voice` decides).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from zoo.filters import fs_filter, lfilter


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
