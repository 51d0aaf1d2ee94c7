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

import hashlib
import json
import math
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._checks import check_choice, check_duration, check_float, check_int, check_sample_rate, check_seed
from .audio_io import PathLike, convert_channels
from .generate import MATERIALS, AcidNote, acid_source, generate_material

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

#: Bump when rendering changes in a way that invalidates cached files.
_CACHE_VERSION = 1

LADDER_MODES = ("LPF12", "HPF12", "BPF12", "LPF24", "HPF24", "BPF24")

# kind -> {key: (default, checker)}; a checker maps (value, name) -> validated value.
_Checker = Any


def _num(minimum=None, maximum=None, min_inclusive=True, max_inclusive=True) -> _Checker:
    return lambda v, name: check_float(
        v, name, minimum=minimum, maximum=maximum, min_inclusive=min_inclusive, max_inclusive=max_inclusive
    )


_BUILTIN_SPECS: dict[str, dict[str, tuple[Any, _Checker]]] = {
    "phaser": {
        "rate_hz": (1.0, _num(0.0, 100.0, min_inclusive=False, max_inclusive=False)),
        "depth": (0.5, _num(0.0, 1.0)),
        "centre_frequency_hz": (1300.0, _num(0.0, min_inclusive=False)),
        "feedback": (0.0, _num(-1.0, 1.0, min_inclusive=False, max_inclusive=False)),
        "mix": (0.5, _num(0.0, 1.0)),
    },
    "compressor": {
        "threshold_db": (0.0, _num()),
        "ratio": (1.0, _num(1.0)),
        "attack_ms": (1.0, _num(0.0)),
        "release_ms": (100.0, _num(0.0)),
    },
    "ladder": {
        "mode": ("LPF12", lambda v, name: check_choice(v, name, LADDER_MODES)),
        "cutoff_hz": (200.0, _num(0.0, min_inclusive=False)),
        "resonance": (0.0, _num(0.0, 1.0)),
        "drive": (1.0, _num(1.0)),
    },
}
_PLUGIN_KEYS = ("path", "parameters", "plugin_name")

#: Effect kinds understood by :meth:`RealEffect.from_config`.
EFFECT_KINDS = tuple(_BUILTIN_SPECS) + ("plugin",)


def _require_pedalboard():
    try:
        import pedalboard
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Rendering real effects needs the optional dependency pedalboard: pip install 'allpole-zoo[train]'"
        ) from err
    return pedalboard


def _as_channels_first(audio: Any, name: str) -> tuple[np.ndarray, bool]:
    """(T,) or (C, T) -> (C, T) float32, and whether the input was 1-D."""
    if hasattr(audio, "detach"):
        audio = audio.detach().cpu().numpy()
    arr = np.asarray(audio, dtype=np.float32)
    if arr.ndim == 1:
        return arr[None], True
    if arr.ndim != 2:
        raise ValueError(f"Unexpected shape for `{name}`: expected (T,) or (C, T), found {tuple(arr.shape)}")
    if arr.shape[0] > arr.shape[1]:
        raise ValueError(
            f"Unexpected shape for `{name}`: expected (C, T) with C <= T (channels first), found {tuple(arr.shape)}"
        )
    return np.ascontiguousarray(arr), False


@dataclass(frozen=True)
class RealEffect:
    """A real effect to render targets with: a pedalboard built-in or a VST3/AU plugin.

    Build it with :meth:`from_config` (the form used in YAML recipes) rather than directly.

    Args:
        kind: One of :data:`EFFECT_KINDS` (``"phaser"``, ``"compressor"``, ``"ladder"``, ``"plugin"``).
        parameters: Effect parameters. For built-ins, every key of the kind's table (defaults filled
            in); for plugins, the plugin's own parameter names.
        path: Plugin file or bundle (``kind="plugin"`` only).
        plugin_name: Plugin to pick from a multi-plugin bundle (``kind="plugin"`` only).

    Raises:
        ValueError: for an unknown kind, an unknown key (the message names it and lists the valid
            ones), a missing plugin ``path``, or a value out of range.
        TypeError: for a value of the wrong type.
    """

    kind: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    path: str | None = None
    plugin_name: str | None = None

    def __post_init__(self) -> None:
        check_choice(self.kind, "kind", EFFECT_KINDS)
        if not isinstance(self.parameters, Mapping):
            raise TypeError(
                f"Unexpected type for `parameters`: expected a mapping, found {type(self.parameters).__name__}"
            )
        if self.kind == "plugin":
            if not isinstance(self.path, (str, os.PathLike)) or not str(self.path):
                raise ValueError(
                    f"Unexpected value for `path`: expected the path of a VST3/AU plugin, found {self.path!r}"
                )
            for key in self.parameters:
                if not isinstance(key, str):
                    raise TypeError(
                        f"Unexpected type for a key of `parameters`: expected str, found {type(key).__name__}"
                    )
            object.__setattr__(self, "path", str(self.path))
            object.__setattr__(self, "parameters", dict(self.parameters))
            return
        if self.path is not None or self.plugin_name is not None:
            raise ValueError(f"Unexpected value for `path`/`plugin_name`: expected None for kind {self.kind!r}")
        spec = _BUILTIN_SPECS[self.kind]
        unknown = sorted(set(self.parameters) - set(spec))
        if unknown:
            raise ValueError(
                f"Unexpected key(s) for a {self.kind!r} effect: {unknown}; expected some of {sorted(spec)}"
            )
        params = {key: check(self.parameters.get(key, default), key) for key, (default, check) in spec.items()}
        object.__setattr__(self, "parameters", params)

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | RealEffect) -> RealEffect:
        """Build an effect from a config dict.

        Built-ins take their parameters as flat keys next to ``kind``; plugins take ``path``,
        ``parameters`` and ``plugin_name``::

            {"kind": "compressor", "threshold_db": -20.0, "ratio": 4.0}
            {"kind": "plugin", "path": "/x/Phaser.vst3", "parameters": {"rate": 0.3}}

        Args:
            config: The dict (an existing :class:`RealEffect` is returned unchanged).

        Returns:
            The validated :class:`RealEffect`.

        Raises:
            TypeError: if ``config`` is not a mapping.
            ValueError: for a missing or unknown ``kind``, or unknown keys (named in the message).
        """
        if isinstance(config, RealEffect):
            return config
        if not isinstance(config, Mapping):
            raise TypeError(
                f"Unexpected type for `config`: expected a mapping with a 'kind' key, found {type(config).__name__}"
            )
        if "kind" not in config:
            raise ValueError(
                f"Unexpected value for `config`: expected a 'kind' key (one of {list(EFFECT_KINDS)}), found keys {sorted(config)}"
            )
        kind = check_choice(config["kind"], "kind", EFFECT_KINDS)
        rest = {k: v for k, v in config.items() if k != "kind"}
        if kind == "plugin":
            unknown = sorted(set(rest) - set(_PLUGIN_KEYS))
            if unknown:
                raise ValueError(
                    f"Unexpected key(s) for a 'plugin' effect: {unknown}; expected some of {sorted(_PLUGIN_KEYS)}"
                )
            return cls(
                kind,
                parameters=dict(rest.get("parameters") or {}),
                path=rest.get("path"),
                plugin_name=rest.get("plugin_name"),
            )
        return cls(kind, parameters=rest)

    def to_config(self) -> dict[str, Any]:
        """The inverse of :meth:`from_config` (with every default written out)."""
        if self.kind == "plugin":
            out: dict[str, Any] = {"kind": "plugin", "path": self.path, "parameters": dict(self.parameters)}
            if self.plugin_name is not None:
                out["plugin_name"] = self.plugin_name
            return out
        return {"kind": self.kind, **self.parameters}

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_config(), sort_keys=True, default=str))

    def fingerprint(self) -> str:
        """A stable hash of the config (and, for plugins, of the plugin file's size and mtime)."""
        payload: dict[str, Any] = {"effect": self.to_config()}
        if self.kind == "plugin" and self.path is not None and os.path.exists(self.path):
            stat = os.stat(self.path)
            payload["plugin_file"] = [stat.st_size, int(stat.st_mtime)]
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()

    def build(self, sample_rate: int | None = None) -> Any:
        """Instantiate the pedalboard plugin.

        Args:
            sample_rate: If given, frequencies are checked against its Nyquist frequency (Hz).

        Returns:
            A ``pedalboard.Plugin``.

        Raises:
            ImportError: without pedalboard.
            FileNotFoundError: if a plugin ``path`` does not exist (the message names it).
            ValueError: if a frequency reaches Nyquist, or the plugin rejects a parameter (the
                message names the plugin file).
        """
        pb = _require_pedalboard()
        params = dict(self.parameters)
        if sample_rate is not None:
            nyquist = check_sample_rate(sample_rate) / 2.0
            for key in ("centre_frequency_hz", "cutoff_hz"):
                if key in params and params[key] >= nyquist:
                    raise ValueError(
                        f"Unexpected value for `{key}`: expected below Nyquist ({nyquist:g} Hz), found {params[key]:g}"
                    )
        if self.kind == "phaser":
            return pb.Phaser(**params)
        if self.kind == "compressor":
            return pb.Compressor(**params)
        if self.kind == "ladder":
            params["mode"] = getattr(pb.LadderFilter.Mode, params["mode"])
            return pb.LadderFilter(**params)
        assert self.kind == "plugin" and self.path is not None
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"Plugin file not found: {self.path}")
        try:
            return pb.load_plugin(self.path, parameter_values=dict(self.parameters), plugin_name=self.plugin_name)
        except Exception as err:
            raise ValueError(f"Cannot load plugin {self.path} with parameters {dict(self.parameters)}: {err}") from err

    def render(self, dry: Any, sample_rate: int) -> np.ndarray:
        """Render ``dry`` through the effect, from a reset state (see :func:`render_effect`).

        Args:
            dry: Audio, ``(T,)`` or ``(C, T)``.
            sample_rate: Sample rate (Hz).

        Shape:
            Output: same as ``dry``.

        Returns:
            float32 array.
        """
        return render_effect(dry, sample_rate, self)


def render_effect(dry: Any, sample_rate: int, effect: RealEffect | Mapping[str, Any]) -> np.ndarray:
    """Render dry audio through a real effect, from a fresh (reset) state.

    The effect's state is reset first, so the same input always gives the same output (for a
    phaser, the LFO starts at the same phase).

    Args:
        dry: Audio, ``(T,)`` or ``(C, T)`` (numpy or torch), channels first.
        sample_rate: Sample rate (Hz).
        effect: A :class:`RealEffect` or its config dict.

    Shape:
        dry: ``(T,)`` or ``(C, T)``. Output: same as ``dry``. (A plugin that turns mono into stereo
        returns ``(C', T)``.)

    Returns:
        float32 array.

    Raises:
        ImportError: without pedalboard.
        ValueError, TypeError: for a bad config or audio shape.
    """
    sample_rate = check_sample_rate(sample_rate)
    effect = RealEffect.from_config(effect)
    x, was_1d = _as_channels_first(dry, "dry")
    plugin = effect.build(sample_rate)
    plugin.reset()
    y = np.asarray(plugin.process(x, float(sample_rate), reset=True), dtype=np.float32)
    if y.ndim == 1:
        y = y[None]
    if y.shape[-1] < x.shape[-1]:
        # A plugin that buffers internally hands back the rest when fed silence.
        tail = np.zeros((x.shape[0], x.shape[-1] - y.shape[-1]), dtype=np.float32)
        rest = np.asarray(plugin.process(tail, float(sample_rate), reset=False), dtype=np.float32)
        y = np.concatenate([y, rest.reshape(y.shape[0], -1)], axis=-1)
        if y.shape[-1] < x.shape[-1]:
            y = np.pad(y, ((0, 0), (0, x.shape[-1] - y.shape[-1])))
    y = np.ascontiguousarray(y[:, : x.shape[-1]])
    return y[0] if (was_1d and y.shape[0] == 1) else y


# ------------------------------------------------------------------------------------------------
# Rendering generated material, with caching
# ------------------------------------------------------------------------------------------------

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


# ------------------------------------------------------------------------------------------------
# Time-varying ladder and the TB-303-style voice
# ------------------------------------------------------------------------------------------------


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
