"""The checkpoint folder format, local and offline: config.json + model.safetensors + a README.md card.

* ``config.json``: ``{"effect": <registry name>, "init_args": {...}, "zoo_version": ...}`` plus
  free-form metadata (``"card"``: what it models, metrics, sample rate...);
* ``model.safetensors``: the effect's ``state_dict`` (safetensors only: nothing is unpickled);
* ``README.md``: the model card.

`save_pretrained` writes a folder; `build_effect`, `load_state` and `load_weights` rebuild an
effect from a parsed config and its weights, strictly (every mismatch raises ``ValueError`` naming
the file and the key). Finding a checkpoint (shipped names, Hub repo ids, training runs) is
`zoo.hub`'s job; `zoo.run_export` uses this module too.
"""

from __future__ import annotations

import inspect
import json
import math
import os
from pathlib import Path
from typing import Any

import torch

from . import __version__
from .effects.registry import effect_class, effect_name

__all__ = ["CONFIG_NAME", "WEIGHTS_NAME", "CARD_NAME", "save_pretrained", "check_init_args", "load_state",
           "load_weights", "build_effect"]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"


def _jsonable(value: Any, key: str) -> Any:
    try:
        json.dumps(value)
    except TypeError:
        raise TypeError(
            f"Cannot save the constructor argument `{key}` = {value!r} to config.json: it is not JSON "
            "serialisable; give the effect plain numbers, strings, lists or dicts"
        ) from None
    return value


def save_pretrained(effect: torch.nn.Module, directory: str | os.PathLike, *, card: str | None = None, **metadata: Any) -> Path:
    """Write ``config.json``, ``model.safetensors`` and (optionally) ``README.md`` to ``directory``.

    Args:
        effect: a registered `Effect`.
        directory: target folder (created).
        card: model-card markdown for README.md; default: a short generated card.
        **metadata: JSON-serialisable values stored under ``"card"`` in config.json (metrics, data...).

    Returns:
        The folder path.
    """
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    name = effect_name(effect)
    init_args = {k: _jsonable(v, k) for k, v in effect.init_args.items()}
    config = {"effect": name, "init_args": init_args, "zoo_version": __version__, "card": _jsonable(metadata, "metadata")}
    state = {k: v.detach().contiguous().cpu() for k, v in effect.state_dict().items()}
    save_file(state, str(directory / WEIGHTS_NAME), metadata={"format": "pt", "effect": name})
    (directory / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
    if card is None and not (directory / CARD_NAME).exists():
        card = f"---\nlibrary_name: zoo\ntags: [audio, differentiable-dsp, {name}]\n---\n\n# {name}\n\nSaved by zoo {__version__}.\n"
    if card is not None:
        (directory / CARD_NAME).write_text(card)
    return directory


def _non_finite(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return any(_non_finite(v) for v in value)
    if isinstance(value, dict):
        return any(_non_finite(v) for v in value.values())
    return False


def check_init_args(cls: type, init_args: dict[str, Any], source: Any) -> None:
    """Check a config's ``init_args`` against ``cls.__init__``: unknown keys, NaN/Inf values.

    Raises:
        ValueError: naming ``source`` (the config file) and the offending key.
    """
    signature = inspect.signature(cls.__init__)
    params = signature.parameters
    takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    known = [k for k, p in params.items() if k != "self" and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)]
    for key, value in init_args.items():
        if key not in known and not takes_kwargs:
            import difflib

            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"Corrupt checkpoint config {source}: unknown key 'init_args.{key}' for {cls.__name__}{hint}; "
                f"expected some of {known}"
            )
        if _non_finite(value):
            raise ValueError(f"Corrupt checkpoint config {source}: 'init_args.{key}' is not finite ({value!r})")


def load_state(file: Path) -> dict[str, torch.Tensor]:
    """Load a safetensors file; a truncated or corrupt file, or non-finite weights, raise ValueError naming it."""
    from safetensors.torch import load_file

    try:
        state = load_file(str(file))
    except Exception as err:  # safetensors raises SafetensorError / OSError on bad headers
        raise ValueError(f"Corrupt or truncated weights file {file}: {err}") from err
    for key, value in state.items():
        if value.is_floating_point() or value.is_complex():
            if not bool(torch.isfinite(value).all()):
                raise ValueError(f"Corrupt weights file {file}: tensor {key!r} holds NaN or Inf")
    return state


def load_weights(effect: torch.nn.Module, state: dict[str, torch.Tensor], source: Any, *, strict: bool = True) -> None:
    """Load ``state`` into ``effect``; every mismatch is a ValueError naming ``source`` and the key."""
    own = effect.state_dict()
    for key, value in state.items():
        if key in own and tuple(own[key].shape) != tuple(value.shape):
            raise ValueError(
                f"Weights file {source} does not match {type(effect).__name__}: tensor {key!r} has shape "
                f"{tuple(value.shape)}, expected {tuple(own[key].shape)} (was it saved with other init_args?)"
            )
        if key in own and (own[key].is_floating_point() != value.is_floating_point()):
            raise ValueError(f"Weights file {source}: tensor {key!r} has dtype {value.dtype}, expected {own[key].dtype}")
    try:
        result = effect.load_state_dict(state, strict=False)
    except RuntimeError as err:
        raise ValueError(f"Weights file {source} does not load into {type(effect).__name__}: {err}") from err
    if strict and (result.missing_keys or result.unexpected_keys):
        raise ValueError(
            f"Weights of {source} do not match {type(effect).__name__}: missing {result.missing_keys}, "
            f"unexpected {result.unexpected_keys}"
        )


def build_effect(config: dict[str, Any], source: Any, **overrides: Any) -> torch.nn.Module:
    """The effect a checkpoint config describes (weights not loaded); ValueError names ``source``."""
    cls = effect_class(config["effect"])
    check_init_args(cls, config["init_args"], source)
    try:
        return cls(**{**config["init_args"], **overrides})
    except (TypeError, ValueError) as err:
        raise ValueError(f"Checkpoint config {source} does not build a {cls.__name__}: {err}") from err
