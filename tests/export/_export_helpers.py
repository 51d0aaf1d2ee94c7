"""Helpers of the export tests: a test signal, the effects' own stream (what `zoo apply` runs), and
block-by-block runs of an exported module."""

from __future__ import annotations

import math

import torch


def test_signal(sample_rate: float, seconds: float, channels: int = 2, seed: int = 0) -> torch.Tensor:
    """Noise bursts with a slow level envelope and quiet gaps (gain changes in both directions), (C, T)."""
    gen = torch.Generator().manual_seed(seed)
    n = int(round(seconds * sample_rate))
    t = torch.arange(n, dtype=torch.float64) / sample_rate
    level = (0.03 + (torch.sin(2 * math.pi * 0.9 * t) > 0.2).double()) * (1.0 + 0.5 * torch.sin(2 * math.pi * 4.0 * t))
    return (0.3 * level * torch.randn(channels, n, generator=gen, dtype=torch.float64)).float()


test_signal.__test__ = False  # a helper, not a test


def effect_stream(effect, x: torch.Tensor, block: int) -> torch.Tensor:
    """The effect's own stream over (C, T), as `zoo apply` runs it: (C, T) float64."""
    effect.eval()
    effect.reset_stream()
    with torch.no_grad():
        outs = [effect.stream(x[None, :, i : i + block])[0] for i in range(0, x.shape[-1], block)]
    return torch.cat(outs, -1).double()


def module_stream(module, x: torch.Tensor, block: int) -> torch.Tensor:
    """A streaming module (eager, scripted or loaded) over (C, T), block by block: (C, T) float64."""
    module.reset()
    with torch.no_grad():
        outs = [module(x[:, i : i + block]) for i in range(0, x.shape[-1], block)]
    return torch.cat(outs, -1).double()


def relative_error(out: torch.Tensor, ref: torch.Tensor) -> float:
    """max |out - ref| / max |ref| (the measure docs/realtime.md reports)."""
    return float((out - ref).abs().max() / ref.abs().max().clamp(min=1e-30))
