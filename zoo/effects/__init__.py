"""Differentiable audio effects built on `zoo.filters`: phaser, subtractive synth, compressor."""

from .base import Effect, check_audio

__all__ = ["Effect", "check_audio"]
