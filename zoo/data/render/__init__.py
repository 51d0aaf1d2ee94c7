"""Render dry audio through real (non-differentiable) effects with Spotify's pedalboard.

A :class:`RealEffect` is built from a plain config dict, so YAML recipes can name a target:

==============  ===================================================================================
``kind``        keys (defaults are pedalboard's)
==============  ===================================================================================
``phaser``      ``rate_hz`` (1.0, in (0, 100)), ``depth`` (0.5, [0, 1]), ``centre_frequency_hz``
                (1300, (0, Nyquist)), ``feedback`` (0.0, (-1, 1)), ``mix`` (0.5, [0, 1])
``compressor``  ``threshold_db`` (0.0), ``ratio`` (1.0, >= 1), ``attack_ms`` (1.0, >= 0),
                ``release_ms`` (100.0, >= 0)
``ladder``      ``mode`` ("LPF12"; one of LPF12, HPF12, BPF12, LPF24, HPF24, BPF24), ``cutoff_hz``
                (200, (0, Nyquist)), ``resonance`` (0.0, [0, 1]), ``drive`` (1.0, >= 1)
``plugin``      ``path`` (required: a VST3 or Audio Unit), ``parameters`` (dict of the plugin's
                parameter names to values; default none), ``plugin_name`` (for multi-plugin bundles)
==============  ===================================================================================

Example::

    effect = RealEffect.from_config({"kind": "phaser", "rate_hz": 0.6, "feedback": 0.5})
    wet = effect.render(dry, 44100)

pedalboard's built-in effects are JUCE's ``dsp`` processors. Their parameters are static within a
call, so :func:`render_time_varying_ladder` renders in short blocks with ``reset=False`` and updates
the cutoff between blocks. Note that JUCE smooths parameter changes (about 50 ms for the ladder's
cutoff), so the realised cutoff is a smoothed version of the commanded one.

pedalboard is an optional dependency (``pip install 'allpole-zoo[train]'``); it is imported only when
something is rendered, never at import of :mod:`zoo.data`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .._checks import check_choice, check_duration, check_int, check_sample_rate, check_seed
from ..audio_io import PathLike, convert_channels
from ..generate import MATERIALS, generate_material

# `render_generated` below calls `render_effect` through this module's namespace, so patching
# `zoo.data.render.render_effect` reaches it, as before the split. The private names stay
# importable from here too.
from .cache import (  # noqa: F401
    _CACHE_VERSION,
    _MEMORY_CACHE,
    _MEMORY_CACHE_SIZE,
    _MEMORY_LOCK,
    _cache_load,
    _cache_store,
    _hash,
    _memory_get,
    _memory_put,
    _pedalboard_version,
    render_cache_key,
)
from .ladder import acid_cutoff_hz, render_acid_note, render_acid_notes, render_time_varying_ladder
from .real_effect import (  # noqa: F401
    _BUILTIN_SPECS,
    _PLUGIN_KEYS,
    EFFECT_KINDS,
    LADDER_MODES,
    _Checker,
    RealEffect,
    _as_channels_first,
    _num,
    _require_pedalboard,
    render_effect,
)

__all__ = [
    "EFFECT_KINDS",
    "RealEffect",
    "render_effect",
    "render_generated",
    "render_cache_key",
    "render_time_varying_ladder",
    "acid_cutoff_hz",
    "render_acid_note",
    "render_acid_notes",
]


def render_generated(
    effect: RealEffect | Mapping[str, Any],
    material: str,
    sample_rate: int,
    duration_s: float,
    seed: int = 0,
    *,
    material_kwargs: Mapping[str, Any] | None = None,
    channels: int = 1,
    cache_dir: PathLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate dry material by name and render it through a real effect (cached).

    The whole signal is rendered in one pass from a reset state, so a split by time keeps the
    effect's state (e.g. LFO phase) continuous across splits. Wet audio is kept in a small
    in-process cache and, if ``cache_dir`` is given, on disk as ``<cache_dir>/<key>.npy`` with
    ``key = render_cache_key(...)``; the dry audio is cheap to regenerate and is not stored.

    Args:
        effect: A :class:`RealEffect` or its config dict.
        material: A key of :data:`zoo.data.generate.MATERIALS`, e.g. ``"chirp_train"``.
        sample_rate: Sample rate (Hz).
        duration_s: Length (s).
        seed: Seed of the material. Default 0.
        material_kwargs: Options of the generator. Default none.
        channels: Channel count; mono material is tiled. Default 1.
        cache_dir: Folder for cached renders. Default ``None``: no disk cache.

    Shape:
        Outputs: ``(channels, T)`` each, ``T = round(duration_s * sample_rate)``.

    Returns:
        ``(dry, wet)`` float32 arrays (read-only: copy before writing to them).

    Raises:
        ImportError: without pedalboard.
        ValueError, TypeError: for bad arguments (unknown material or effect, unknown keys...).
    """
    effect = RealEffect.from_config(effect)
    check_choice(material, "material", list(MATERIALS))
    sample_rate = check_sample_rate(sample_rate)
    duration_s = check_duration(duration_s)
    seed = check_seed(seed)
    channels = check_int(channels, "channels", minimum=1)
    material_kwargs = dict(material_kwargs or {})
    dry = generate_material(material, sample_rate, duration_s, seed, **material_kwargs)
    dry = convert_channels(dry[None], channels)
    dry = np.ascontiguousarray(dry, dtype=np.float32)
    dry.setflags(write=False)
    key = render_cache_key(effect, material, sample_rate, duration_s, seed, material_kwargs, channels)
    wet = _memory_get(key)
    if wet is None:
        wet = _cache_load(cache_dir, key)
        if wet is None or wet.shape[-1] != dry.shape[-1]:
            wet = render_effect(dry, sample_rate, effect)
            _cache_store(cache_dir, key, wet)
        _memory_put(key, np.ascontiguousarray(wet, dtype=np.float32))
        wet = _memory_get(key)
    assert wet is not None
    return dry, wet
