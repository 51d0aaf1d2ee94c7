"""The phaser's learnable LFO controller: a damped oscillator shaped by a small tanh MLP.

Yu et al., DAFx 2024, Sec. 4.1 (after Carson et al., DAFx 2023). At control rate
F_c = sample_rate / hop, frame m (sample m * hop) gets

.. math::

    s(m) = e^{-\sigma^2 m / F_c} \cos(2\pi f_0 m / F_c + \varphi)          (damped oscillator)

    d(m) = \text{bias} + \text{depth} \cdot (1 + \mathrm{MLP}(s(m))) / 2

    p(m) = \tanh\!\left(\frac{1 - \tan d(m)}{1 + \tan d(m)}\right)

which is the authors' mapping (DiffAPF/EHX-SmallStone). ``(1 - tan d)/(1 + tan d)`` alone would be
the bilinear-transform coefficient of a first-order all-pass (p - z^-1)/(1 - p z^-1) with break
frequency (90 degrees of phase lag per stage) f_b = d * sample_rate / pi. The outer tanh keeps
|p| < 1 for every d, so the all-pass stays stable whatever the optimiser does, but it also
compresses p (tanh(0.98) = 0.75), so the actual break frequency is `break_frequency_hz` of p, and
`LFOController` places its initial bias and depth by inverting the whole map
(d = pi/4 - atan(atanh(p)), `half_angle_from_break_hz`).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = [
    "DampedOscillator",
    "TanhMLP",
    "allpass_coefficient",
    "break_frequency_hz",
    "half_angle_from_break_hz",
    "LFOController",
]


def _check_positive(value: float, name: str, unit: str = "") -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"Unexpected type for `{name}`: expected a number, found {type(value).__name__}")
    if not value > 0:
        raise ValueError(f"Unexpected value for `{name}`: expected > 0{unit}, found {value}")
    return float(value)


def allpass_coefficient(d: Tensor) -> Tensor:
    r"""All-pass coefficient from the half break angle: p = tanh((1 - tan d) / (1 + tan d)).

    Args:
        d: half break angle (rad), any shape; d = pi * f_b / sample_rate for a break frequency f_b.
            Meaningful in (0, pi/2); outside it the value is still finite (except at the poles of
            tan) and |p| < 1.

    Returns:
        p with the shape of ``d``, |p| < 1.
    """
    tan_d = torch.tan(d)
    return torch.tanh((1.0 - tan_d) / (1.0 + tan_d))


def break_frequency_hz(p: Tensor, sample_rate: float) -> Tensor:
    r"""Break frequency (Hz) of the first-order all-pass (p - z^-1)/(1 - p z^-1).

    f_b = sample_rate / pi * atan((1 - p) / (1 + p)): the frequency of -90 degrees phase per stage.

    Args:
        p: all-pass coefficient in (-1, 1), any shape.
        sample_rate: sample rate (Hz).
    """
    return torch.atan((1.0 - p) / (1.0 + p)) * (sample_rate / math.pi)


def half_angle_from_break_hz(break_hz: float, sample_rate: float) -> float:
    r"""The d for which `allpass_coefficient` (d) has break frequency ``break_hz`` (the inverse map).

    theta = pi f_b / sample_rate, p = (1 - tan theta) / (1 + tan theta), d = pi/4 - atan(atanh(p)).

    Args:
        break_hz: break frequency (Hz), in (0, sample_rate / 2).
        sample_rate: sample rate (Hz).
    """
    if not 0 < break_hz < sample_rate / 2:
        raise ValueError(f"Unexpected value for `break_hz`: expected in (0, {sample_rate / 2}) (Hz), found {break_hz}")
    theta = math.pi * break_hz / sample_rate
    p = (1.0 - math.tan(theta)) / (1.0 + math.tan(theta))
    return math.pi / 4 - math.atan(math.atanh(p))


class DampedOscillator(nn.Module):
    r"""Damped cosine at control rate: s(m) = exp(-sigma^2 m / F_c) cos(2 pi f0 m / F_c + phi).

    Args:
        rate_hz: initial oscillation frequency f0 (Hz), > 0. Default 1.0. Stored as log f0 so
            that f0 stays positive.
        damping: initial sigma (1/sqrt(s)), any real; the envelope is exp(-sigma^2 t) with t in
            seconds. Default 0.1. sigma = 0 is a stationary point of the envelope, so start away
            from it when sigma should be learned.
        phase_rad: initial phase phi (rad). Default 0.0.

    Shape:
        returns (F,) for ``num_frames`` = F.
    """

    def __init__(self, rate_hz: float = 1.0, damping: float = 0.1, phase_rad: float = 0.0) -> None:
        super().__init__()
        rate_hz = _check_positive(rate_hz, "rate_hz", " (Hz)")
        self.log_rate = nn.Parameter(torch.tensor(math.log(rate_hz)))
        self.sigma = nn.Parameter(torch.tensor(float(damping)))
        self.phase = nn.Parameter(torch.tensor(float(phase_rad)))

    @property
    def rate_hz(self) -> Tensor:
        return self.log_rate.exp()

    def forward(self, num_frames: int, control_rate_hz: float) -> Tensor:
        """s(m) for m = 0 .. num_frames - 1 at control rate ``control_rate_hz`` (Hz)."""
        if num_frames < 1:
            raise ValueError(f"Unexpected value for `num_frames`: expected >= 1, found {num_frames}")
        _check_positive(control_rate_hz, "control_rate_hz", " (Hz)")
        t_s = torch.arange(num_frames, dtype=self.log_rate.dtype, device=self.log_rate.device) / control_rate_hz
        envelope = torch.exp(-self.sigma.square() * t_s)
        return envelope * torch.cos(2.0 * math.pi * self.rate_hz * t_s + self.phase)


class TanhMLP(nn.Module):
    """Scalar-to-scalar MLP with tanh after every layer, the output layer included.

    Args:
        width: hidden width (>= 1). Default 8.
        depth: number of hidden layers (>= 1). Default 3. Layers: 1 -> width (-> width) * (depth - 1)
            -> 1, each followed by tanh, so the output lies in (-1, 1).

    Shape:
        (...,) -> (...,)
    """

    def __init__(self, width: int = 8, depth: int = 3) -> None:
        super().__init__()
        for name, value in (("width", width), ("depth", depth)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Unexpected value for `{name}`: expected an integer >= 1, found {value!r}")
        layers: list[nn.Module] = []
        fan_in = 1
        for _ in range(depth):
            layers += [nn.Linear(fan_in, width), nn.Tanh()]
            fan_in = width
        layers += [nn.Linear(fan_in, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, s: Tensor) -> Tensor:
        return self.net(s.unsqueeze(-1)).squeeze(-1)


class LFOController(nn.Module):
    r"""Damped-oscillator LFO + tanh MLP -> frame-rate all-pass coefficient p(m) (module docstring).

    Args:
        rate_hz: initial LFO frequency f0 (Hz), > 0. Default 1.0.
        damping: initial sigma. Default 0.1.
        phase_rad: initial phase (rad). Default 0.0.
        mlp_width: MLP hidden width. Default 8.
        mlp_depth: MLP hidden layers. Default 3.
        sample_rate: sample rate (Hz) used to place the initial break-frequency range. Default 44100.
        break_hz_range: (low, high) initial break-frequency range (Hz) of the stages, reached for MLP
            outputs -1 and +1; 0 < low < high < sample_rate / 2. Sets bias = d(low) and
            depth = d(high) - d(low) (`half_angle_from_break_hz`), both learnable. Default (100.0, 2000.0).

    Shape:
        ``forward(num_frames, control_rate_hz)`` returns p of shape (F,).
    """

    def __init__(
        self,
        rate_hz: float = 1.0,
        damping: float = 0.1,
        phase_rad: float = 0.0,
        mlp_width: int = 8,
        mlp_depth: int = 3,
        sample_rate: float = 44100.0,
        break_hz_range: tuple[float, float] = (100.0, 2000.0),
    ) -> None:
        super().__init__()
        sample_rate = _check_positive(sample_rate, "sample_rate", " (Hz)")
        if len(break_hz_range) != 2 or not 0 < break_hz_range[0] < break_hz_range[1] < sample_rate / 2:
            raise ValueError(
                f"Unexpected value for `break_hz_range`: expected (low, high) with 0 < low < high < "
                f"{sample_rate / 2} (Hz), found {break_hz_range}"
            )
        self.oscillator = DampedOscillator(rate_hz, damping, phase_rad)
        self.mlp = TanhMLP(mlp_width, mlp_depth)
        low, high = break_hz_range
        d_low = half_angle_from_break_hz(low, sample_rate)
        d_high = half_angle_from_break_hz(high, sample_rate)
        self.bias = nn.Parameter(torch.tensor(d_low))
        self.depth = nn.Parameter(torch.tensor(d_high - d_low))

    def lfo(self, num_frames: int, control_rate_hz: float) -> Tensor:
        """The raw oscillator s(m), shape (F,)."""
        return self.oscillator(num_frames, control_rate_hz)

    def forward(self, num_frames: int, control_rate_hz: float) -> Tensor:
        """p(m) for m = 0 .. num_frames - 1, shape (F,), |p| < 1."""
        shaped = self.mlp(self.oscillator(num_frames, control_rate_hz))
        d = self.bias + self.depth * 0.5 * (1.0 + shaped)
        return allpass_coefficient(d)
