"""The time-varying ladder filter (rendered in blocks) and the TB-303-style voice built on it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._checks import check_choice, check_float, check_int, check_sample_rate
from ..audio_io import PathLike
from ..generate import AcidNote, acid_source
from .cache import (
    _CACHE_VERSION,
    _cache_load,
    _cache_store,
    _hash,
    _memory_get,
    _memory_put,
    _pedalboard_version,
)
from .real_effect import LADDER_MODES, _as_channels_first, _require_pedalboard


def render_time_varying_ladder(
    dry: Any,
    sample_rate: int,
    cutoff_hz: Any,
    *,
    resonance: float = 0.0,
    drive: float = 1.0,
    mode: str = "LPF24",
    block_samples: int = 32,
) -> np.ndarray:
    """Render audio through pedalboard's ladder filter with a cutoff that changes over time.

    pedalboard's parameters are static within a ``process`` call, so the signal is processed in
    blocks of ``block_samples`` with ``reset=False`` (the filter state carries over), and before
    each block the cutoff is set to the mean of ``cutoff_hz`` over that block. JUCE then smooths
    each change (about 50 ms), so fast sweeps come out slightly slower.

    Args:
        dry: Audio, ``(T,)`` or ``(C, T)``.
        sample_rate: Sample rate (Hz).
        cutoff_hz: Cutoff (Hz) per sample, ``(T,)``, or a scalar; clipped to [20, 0.45 sample_rate].
        resonance: Resonance in [0, 1]. Default 0.
        drive: Drive, >= 1. Default 1.
        mode: One of LPF12, HPF12, BPF12, LPF24, HPF24, BPF24. Default ``"LPF24"`` (the 303's slope).
        block_samples: Block length (samples), >= 1; smaller is smoother and slower. Default 32.

    Shape:
        dry: ``(T,)`` or ``(C, T)``; cutoff_hz: ``(T,)`` or scalar. Output: same as ``dry``.

    Returns:
        float32 array.

    Raises:
        ImportError: without pedalboard.
        ValueError: for a cutoff of the wrong length or other bad arguments.
    """
    pb = _require_pedalboard()
    sample_rate = check_sample_rate(sample_rate)
    x, was_1d = _as_channels_first(dry, "dry")
    n = x.shape[-1]
    cutoff = np.asarray(cutoff_hz, dtype=np.float64)
    if cutoff.ndim == 0:
        cutoff = np.full(n, float(cutoff))
    if cutoff.shape != (n,):
        raise ValueError(f"Unexpected shape for `cutoff_hz`: expected () or ({n},), found {tuple(cutoff.shape)}")
    if not np.all(np.isfinite(cutoff)):
        raise ValueError("Unexpected value for `cutoff_hz`: expected finite values, found NaN or inf")
    cutoff = np.clip(cutoff, 20.0, 0.45 * sample_rate)
    resonance = check_float(resonance, "resonance", minimum=0.0, maximum=1.0)
    drive = check_float(drive, "drive", minimum=1.0)
    check_choice(mode, "mode", LADDER_MODES)
    block_samples = check_int(block_samples, "block_samples", minimum=1)

    n_blocks = math.ceil(n / block_samples)
    padded = np.pad(cutoff, (0, n_blocks * block_samples - n), mode="edge")
    block_cutoff = padded.reshape(n_blocks, block_samples).mean(axis=1)
    ladder = pb.LadderFilter(
        mode=getattr(pb.LadderFilter.Mode, mode), cutoff_hz=float(block_cutoff[0]), resonance=resonance, drive=drive
    )
    ladder.reset()
    y = np.empty_like(x)
    rate = float(sample_rate)
    for b in range(n_blocks):
        lo, hi = b * block_samples, min((b + 1) * block_samples, n)
        ladder.cutoff_hz = float(block_cutoff[b])
        y[:, lo:hi] = ladder.process(x[:, lo:hi], rate, buffer_size=block_samples, reset=False)
    return y[0] if was_1d else y


def acid_cutoff_hz(note: AcidNote, sample_rate: int) -> np.ndarray:
    """Commanded cutoff of a note: cutoff(n) = f_c + f_env exp(-n / (decay_ms * F_s / 1000)).

    Args:
        note: The note's parameters (``cutoff_hz``, ``env_mod_hz``, ``filter_decay_ms``).
        sample_rate: Sample rate (Hz).

    Shape:
        Output: ``(note.num_samples,)``.

    Returns:
        float64 array (Hz), clipped to [20, 0.45 sample_rate].
    """
    if not isinstance(note, AcidNote):
        raise TypeError(f"Unexpected type for `note`: expected AcidNote, found {type(note).__name__}")
    sample_rate = check_sample_rate(sample_rate)
    n = np.arange(note.num_samples, dtype=np.float64)
    decay = max(note.filter_decay_ms, 1e-3) * 1e-3 * sample_rate
    return np.clip(note.cutoff_hz + note.env_mod_hz * np.exp(-n / decay), 20.0, 0.45 * sample_rate)


def render_acid_note(note: AcidNote, sample_rate: int, *, block_samples: int = 32) -> np.ndarray:
    """Render a TB-303-style note: source, swept 24 dB/oct ladder low-pass, then tanh distortion.

    y(n) = tanh(g_dist * ladder(s)(n)), where s is :func:`zoo.data.generate.acid_source` (the
    paper's source model, Sec. 4.2) and the ladder's cutoff follows :func:`acid_cutoff_hz`,
    updated every ``block_samples`` (see :func:`render_time_varying_ladder`).

    Args:
        note: The note's parameters.
        sample_rate: Sample rate (Hz).
        block_samples: Cutoff update interval (samples). Default 32.

    Shape:
        Output: ``(note.num_samples,)``.

    Returns:
        float32 array in (-1, 1).

    Raises:
        ImportError: without pedalboard.
    """
    source = acid_source(note, sample_rate)
    filtered = render_time_varying_ladder(
        source,
        sample_rate,
        acid_cutoff_hz(note, sample_rate),
        resonance=note.resonance,
        drive=note.drive,
        mode="LPF24",
        block_samples=block_samples,
    )
    return np.tanh(note.dist_gain * filtered.astype(np.float64)).astype(np.float32)


def render_acid_notes(
    notes: Sequence[AcidNote],
    sample_rate: int,
    *,
    block_samples: int = 32,
    cache_dir: PathLike | None = None,
) -> np.ndarray:
    """Render many notes of equal length (cached like :func:`render_generated`).

    Args:
        notes: Notes, all with the same ``num_samples``.
        sample_rate: Sample rate (Hz).
        block_samples: Cutoff update interval (samples). Default 32.
        cache_dir: Folder for cached renders. Default ``None``: no disk cache.

    Shape:
        Output: ``(N, T)`` with N = len(notes), T = notes[0].num_samples.

    Returns:
        float32 array (read-only).

    Raises:
        ValueError: for no notes or notes of different lengths.
    """
    notes = list(notes)
    if not notes:
        raise ValueError("Unexpected value for `notes`: expected at least one note, found none")
    lengths = {n.num_samples for n in notes}
    if len(lengths) != 1:
        raise ValueError(f"Unexpected value for `notes`: expected notes of one length, found lengths {sorted(lengths)}")
    sample_rate = check_sample_rate(sample_rate)
    block_samples = check_int(block_samples, "block_samples", minimum=1)
    key = _hash(
        {
            "version": _CACHE_VERSION,
            "pedalboard": _pedalboard_version(),
            "kind": "acid_notes",
            "notes": [n.to_dict() for n in notes],
            "sample_rate": sample_rate,
            "block_samples": block_samples,
        }
    )
    audio = _memory_get(key)
    if audio is not None:
        return audio
    audio = _cache_load(cache_dir, key)
    if audio is None or audio.shape != (len(notes), lengths.pop()):
        audio = np.stack([render_acid_note(n, sample_rate, block_samples=block_samples) for n in notes])
        _cache_store(cache_dir, key, audio)
    _memory_put(key, np.ascontiguousarray(audio, dtype=np.float32))
    out = _memory_get(key)
    assert out is not None
    return out
