"""Compatibility path: the synth's functional DSP now lives in `zoo.effects.synth` (controls, functional, ops, fused)."""

from .synth.controls import (
    CUTOFF_RANGE_HZ,
    PARAM_RANGES,
    coeff_coefficients,
    controls_at_audio_rate,
    controls_at_fs_frames,
    cutoff_hz_from_raw,
    global_from_raw,
    lp_coefficients,
    phase_rad_from_raw,
    physical_globals,
    raw_from_global,
)
from .synth.functional import (
    decay_envelope,
    fs_hop_and_window,
    oscillator_sharpness,
    saw_square_oscillator,
    synth_source,
    synth_voice,
)
from .synth.fused import can_fuse_voice, synth_voice_td_fused
from .synth.ops import FusedSynthVoiceFunction

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
