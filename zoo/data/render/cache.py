"""Caches of rendered audio: a small in-process LRU, ``.npy`` files on disk, and the keys of both."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..audio_io import PathLike
from .real_effect import RealEffect, _require_pedalboard

#: Bump when rendering changes in a way that invalidates cached files.
_CACHE_VERSION = 1

_MEMORY_CACHE: OrderedDict[str, np.ndarray] = OrderedDict()
_MEMORY_CACHE_SIZE = 8
_MEMORY_LOCK = threading.Lock()


def _memory_get(key: str) -> np.ndarray | None:
    with _MEMORY_LOCK:
        if key in _MEMORY_CACHE:
            _MEMORY_CACHE.move_to_end(key)
            return _MEMORY_CACHE[key]
    return None


def _memory_put(key: str, value: np.ndarray) -> None:
    value.setflags(write=False)
    with _MEMORY_LOCK:
        _MEMORY_CACHE[key] = value
        _MEMORY_CACHE.move_to_end(key)
        while len(_MEMORY_CACHE) > _MEMORY_CACHE_SIZE:
            _MEMORY_CACHE.popitem(last=False)


def _pedalboard_version() -> str:
    return str(getattr(_require_pedalboard(), "__version__", "unknown"))


def _hash(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]


def render_cache_key(
    effect: RealEffect | Mapping[str, Any],
    material: str,
    sample_rate: int,
    duration_s: float,
    seed: int,
    material_kwargs: Mapping[str, Any] | None = None,
    channels: int = 1,
) -> str:
    """The cache key of :func:`render_generated`: a hash of everything that determines the output.

    It covers the effect config (and plugin file stamp), the material name, options and seed, the
    sample rate, duration, channel count, the pedalboard version and a cache format version.

    Args:
        effect: A :class:`RealEffect` or its config dict.
        material: Material name.
        sample_rate: Sample rate (Hz).
        duration_s: Length (s).
        seed: Seed of the material.
        material_kwargs: Options of the generator. Default none.
        channels: Channel count. Default 1.

    Returns:
        A 32-character hex string.
    """
    effect = RealEffect.from_config(effect)
    return _hash(
        {
            "version": _CACHE_VERSION,
            "pedalboard": _pedalboard_version(),
            "effect": effect.fingerprint(),
            "material": material,
            "material_kwargs": dict(material_kwargs or {}),
            "sample_rate": int(sample_rate),
            "duration_s": float(duration_s),
            "seed": int(seed),
            "channels": int(channels),
        }
    )


def _cache_load(cache_dir: PathLike | None, key: str) -> np.ndarray | None:
    if cache_dir is None:
        return None
    path = Path(cache_dir) / f"{key}.npy"
    if not path.exists():
        return None
    try:
        return np.load(path, allow_pickle=False)
    except Exception:  # a corrupt entry is re-rendered and overwritten
        return None


def _cache_store(cache_dir: PathLike | None, key: str, value: np.ndarray) -> None:
    if cache_dir is None:
        return
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Write then rename, so concurrent workers never read a half-written file.
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=f".{key}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, value, allow_pickle=False)
        os.replace(tmp, cache_dir / f"{key}.npy")
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
