"""A real (pedalboard) effect built from a plain config dict, and :func:`render_effect` through it.

The config keys of each ``kind`` are listed in :mod:`zoo.data.render`. pedalboard is imported only
when an effect is built.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import check_choice, check_float, check_sample_rate

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
