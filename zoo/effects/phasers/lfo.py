"""`SweepLFO`: the log-frequency sweep LFO of the real-device phaser structures (`zoo fit`)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


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
