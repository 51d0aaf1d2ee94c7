"""Deterministic dry material, generated from a seed: no audio files are shipped.

Every generator takes ``(sample_rate, duration_s, seed)`` first, draws all of its randomness from
``numpy.random.default_rng(seed)``, and returns a mono float32 array of shape ``(T,)`` with
``T = round(duration_s * sample_rate)`` and values in [-1, 1]. The same arguments always give the
same samples, at any sample rate (frequencies that would pass Nyquist are scaled down to fit).

The material mirrors what the paper's real-effect datasets were recorded with:

- :func:`chirp_train`: trains of exponential sine sweeps, the training signal of the Small Stone
  phaser recordings (Carson et al., DAFx 2023; Sec. 4.1 of Yu et al., DAFx 2024).
- :func:`plucked_phrase`: a guitar-like phrase (Karplus-Strong plucks), the test material of the
  same recordings.
- :func:`chirp_then_pluck`: the two above back to back, like the Small Stone recording.
- :func:`bass_line`, :func:`drum_hits`, :func:`noise_bursts`, :func:`music_mix`: programme material
  with loud and quiet passages for the compressor (Sec. 4.3).
- :func:`acid_notes`, :func:`acid_source`, :func:`oscillator`: TB-303-style single notes for the
  subtractive synth (Sec. 4.2); the filtered target is rendered by :mod:`zoo.data.render`.

Only numpy is used here (no scipy, no pedalboard), so the module is cheap to import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._checks import check_choice
from ._common import (  # noqa: F401 - the private helpers stay importable from here, as before the split
    SCALES,
    _add_at,
    _check_range,
    _db_to_amp,
    _fade,
    _fft_filter,
    _finish,
    _log_uniform,
    _num_samples,
    _peak_normalise,
    _polyblep,
    midi_to_hz,
)
from .bass import BassLine, NoteEvent, bass_line, oscillator
from .phaser import (  # noqa: F401
    _body_ir,
    _convolve_fft,
    _pluck,
    _scale_pitches,
    chirp_then_pluck,
    chirp_train,
    plucked_phrase,
)
from .programme import _hat, _kick, _snare, drum_hits, music_mix, noise_bursts  # noqa: F401
from .synth import AcidNote, acid_notes, acid_source

__all__ = [
    "NoteEvent",
    "BassLine",
    "AcidNote",
    "SCALES",
    "MATERIALS",
    "midi_to_hz",
    "chirp_train",
    "plucked_phrase",
    "chirp_then_pluck",
    "bass_line",
    "drum_hits",
    "noise_bursts",
    "music_mix",
    "oscillator",
    "acid_notes",
    "acid_source",
    "generate_material",
]


def _bass_audio(sample_rate: int, duration_s: float, seed: int = 0, **kwargs: Any) -> np.ndarray:
    return bass_line(sample_rate, duration_s, seed, **kwargs).audio


#: Generators addressable by name, each ``fn(sample_rate, duration_s, seed, **kwargs) -> (T,)``.
MATERIALS: dict[str, Callable[..., np.ndarray]] = {
    "chirp_train": chirp_train,
    "plucked_phrase": plucked_phrase,
    "chirp_then_pluck": chirp_then_pluck,
    "bass_line": _bass_audio,
    "drum_hits": drum_hits,
    "noise_bursts": noise_bursts,
    "music_mix": music_mix,
}


def generate_material(name: str, sample_rate: int, duration_s: float, seed: int = 0, **kwargs: Any) -> np.ndarray:
    """Generate dry material by name (a key of :data:`MATERIALS`).

    Args:
        name: Generator name, e.g. ``"chirp_train"`` or ``"music_mix"``.
        sample_rate: Sample rate (Hz).
        duration_s: Length (s).
        seed: Seed. Default 0.
        **kwargs: Keyword options of the generator.

    Shape:
        Output: ``(T,)`` with ``T = round(duration_s * sample_rate)``.

    Returns:
        float32 array in [-1, 1].

    Raises:
        ValueError: for an unknown ``name``.
        TypeError: for an option the generator does not take.
    """
    check_choice(name, "material", list(MATERIALS))
    fn = MATERIALS[name]
    try:
        return fn(sample_rate, duration_s, seed, **kwargs)
    except TypeError as err:
        if "unexpected keyword argument" in str(err):
            raise TypeError(f"Unexpected option for material {name!r}: {err}") from err
        raise
