"""Differentiable audio effects built on `zoo.filters`: phaser, subtractive synth, compressor.

Each effect is an `Effect` (an ``nn.Module``) with a time-domain implementation on the all-pole
layer and a frequency-sampling twin, selected by ``method``.
"""

from .base import Effect, check_audio
from .compressors import (
    AttackReleaseFunction,
    Compressor,
    attack_release_smoother,
    coef_to_ms,
    compressor,
    gain_computer,
    ms_to_coef,
    one_pole_fs,
    rms_detector,
)
from .phasers import PHASER_METHODS, Phaser, allpass_cascade_exact, allpass_polynomials, phaser, phaser_response
from .synth import LSTMSynth, SynthModel, SynthVoice

__all__ = [
    "Effect",
    "check_audio",
    "Phaser",
    "phaser",
    "PHASER_METHODS",
    "phaser_response",
    "allpass_cascade_exact",
    "allpass_polynomials",
    "Compressor",
    "compressor",
    "ms_to_coef",
    "coef_to_ms",
    "attack_release_smoother",
    "one_pole_fs",
    "gain_computer",
    "rms_detector",
    "AttackReleaseFunction",
    "SynthVoice",
    "SynthModel",
    "LSTMSynth",
]
