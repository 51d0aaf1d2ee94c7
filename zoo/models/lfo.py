"""The phaser's learnable LFO controller (`LFOController`: damped oscillator + tanh MLP) and its
coefficient maps. Defined beside the effect it drives, `zoo.effects.phasers.controller`; this is
the controllers' import path (`zoo.models` imports effects, never the reverse)."""

from ..effects.phasers.controller import (
    DampedOscillator,
    LFOController,
    TanhMLP,
    allpass_coefficient,
    break_frequency_hz,
    half_angle_from_break_hz,
)

__all__ = [
    "DampedOscillator",
    "TanhMLP",
    "allpass_coefficient",
    "break_frequency_hz",
    "half_angle_from_break_hz",
    "LFOController",
]
