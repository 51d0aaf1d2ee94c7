"""Save, load and publish effects: config.json + model.safetensors + a README.md model card.

A checkpoint folder holds exactly the files the Hugging Face Hub expects for a PyTorch model:

* ``config.json``: ``{"effect": <registry name>, "init_args": {...}, "zoo_version": ...}`` plus
  free-form metadata (``"card"``: what it models, metrics, sample rate...);
* ``model.safetensors``: the effect's ``state_dict`` (safetensors only: nothing is unpickled);
* ``README.md``: the model card.

`from_pretrained` accepts a local folder or a Hub repo id (resolved with ``hf_hub_download``, so
``HF_HUB_OFFLINE=1`` and a prepared cache work without a network). Loading is strict by default:
missing or unexpected weights raise an error naming them.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from typing import Any

import torch

from . import __version__

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"

#: registry name -> "module:Class"; every entry is an `zoo.effects.base.Effect` subclass.
EFFECTS: dict[str, str] = {
    "phaser": "zoo.effects.phaser:Phaser",
    "compressor": "zoo.effects.compressor:Compressor",
    "synth": "zoo.effects.synth:SynthModel",
    "synth_lstm": "zoo.effects.synth:LSTMSynth",
}

#: folder holding the pretrained checkpoints shipped in this repository
CHECKPOINTS_DIR = Path(__file__).resolve().parent.parent / "checkpoints"


def effect_class(name: str) -> type:
    """The Effect class registered under ``name`` (see `EFFECTS`)."""
    if name not in EFFECTS:
        raise ValueError(f"Unexpected effect name {name!r}: expected one of {sorted(EFFECTS)}")
    module_name, class_name = EFFECTS[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def effect_name(effect: torch.nn.Module) -> str:
    for name, path in EFFECTS.items():
        module_name, class_name = path.split(":")
        if type(effect).__module__ == module_name and type(effect).__name__ == class_name:
            return name
    raise ValueError(f"{type(effect).__name__} is not a registered effect (see zoo.hub.EFFECTS)")


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


def _resolve(repo_id_or_path: str | os.PathLike, filename: str, **hub_kwargs: Any) -> Path:
    path = Path(repo_id_or_path)
    if path.is_dir():
        file = path / filename
        if not file.is_file():
            raise FileNotFoundError(f"Missing {filename} in checkpoint folder {path}")
        return file
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(str(repo_id_or_path), filename, **hub_kwargs))
    except Exception as err:  # network, offline mode without cache, missing repo or file
        raise OSError(
            f"Could not get {filename} of {str(repo_id_or_path)!r}: it is not a local folder, and the Hugging "
            f"Face Hub lookup failed ({type(err).__name__}: {err}). Offline, set HF_HUB_OFFLINE=1 and make sure "
            "the repo is in the Hub cache, or pass a local folder."
        ) from err


def read_config(repo_id_or_path: str | os.PathLike, **hub_kwargs: Any) -> dict[str, Any]:
    """The parsed config.json of a checkpoint (folder or Hub repo id)."""
    file = _resolve(repo_id_or_path, CONFIG_NAME, **hub_kwargs)
    try:
        config = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"Corrupt checkpoint config {file}: {err}") from err
    if not isinstance(config, dict) or "effect" not in config or "init_args" not in config:
        raise ValueError(f"Corrupt checkpoint config {file}: expected keys 'effect' and 'init_args'")
    return config


def load_state(file: Path) -> dict[str, torch.Tensor]:
    """Load a safetensors file; a truncated or corrupt file raises ValueError naming it."""
    from safetensors.torch import load_file

    try:
        return load_file(str(file))
    except Exception as err:  # safetensors raises SafetensorError / OSError on bad headers
        raise ValueError(f"Corrupt or truncated weights file {file}: {err}") from err


def from_pretrained(
    repo_id_or_path: str | os.PathLike,
    *,
    revision: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
    strict: bool = True,
    map_location: str | torch.device = "cpu",
    **overrides: Any,
) -> torch.nn.Module:
    """Build an effect from a checkpoint folder or a Hugging Face Hub repo id.

    Args:
        repo_id_or_path: a local folder with config.json + model.safetensors, or ``"user/repo"``.
        revision: Hub branch, tag or commit (ignored for folders).
        cache_dir, local_files_only, token: passed to ``huggingface_hub.hf_hub_download``.
        strict: raise if the weights do not match the effect's parameters exactly.
        map_location: device for the weights.
        **overrides: constructor arguments replacing the saved ones (e.g. ``method="fs"``).

    Raises:
        FileNotFoundError / OSError: files cannot be found or downloaded.
        ValueError: corrupt config or weights, or (``strict``) mismatching weights.
    """
    hub_kwargs: dict[str, Any] = {}
    if not Path(repo_id_or_path).is_dir():
        hub_kwargs = dict(revision=revision, cache_dir=cache_dir, local_files_only=local_files_only, token=token)
    config = read_config(repo_id_or_path, **hub_kwargs)
    cls = effect_class(config["effect"])
    effect = cls(**{**config["init_args"], **overrides})
    state = load_state(_resolve(repo_id_or_path, WEIGHTS_NAME, **hub_kwargs))
    result = effect.load_state_dict(state, strict=False)
    if strict and (result.missing_keys or result.unexpected_keys):
        raise ValueError(
            f"Weights of {repo_id_or_path} do not match {cls.__name__}: missing {result.missing_keys}, "
            f"unexpected {result.unexpected_keys}"
        )
    return effect.to(map_location)


def push_to_hub(
    directory: str | os.PathLike,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool | None = None,
    revision: str | None = None,
    commit_message: str = "Upload zoo effect",
    create_pr: bool = False,
) -> str:
    """Upload a checkpoint folder (config.json, model.safetensors, README.md, PNGs) to the Hub.

    Returns:
        The commit URL.
    """
    from huggingface_hub import HfApi

    directory = Path(directory)
    for required in (CONFIG_NAME, WEIGHTS_NAME):
        if not (directory / required).is_file():
            raise FileNotFoundError(f"Missing {required} in {directory}: not a checkpoint folder")
    read_config(directory)
    load_state(directory / WEIGHTS_NAME)
    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
    info = api.upload_folder(
        repo_id=repo_id,
        folder_path=str(directory),
        repo_type="model",
        revision=revision,
        commit_message=commit_message,
        allow_patterns=[CONFIG_NAME, WEIGHTS_NAME, CARD_NAME, "*.png", "*.wav", "*.md"],
        create_pr=create_pr,
    )
    return str(getattr(info, "commit_url", info))


def list_checkpoints(root: str | os.PathLike | None = None) -> dict[str, dict[str, Any]]:
    """Checkpoint folders under ``root`` (default: the repo's checkpoints/) -> their config."""
    root = CHECKPOINTS_DIR if root is None else Path(root)
    found = {}
    if root.is_dir():
        for folder in sorted(p for p in root.iterdir() if (p / CONFIG_NAME).is_file()):
            found[folder.name] = read_config(folder)
    return found


def resolve_checkpoint(name_or_path: str) -> str:
    """A shipped checkpoint name (``checkpoints/<name>``), a folder, or a Hub repo id, as a loadable string."""
    if (CHECKPOINTS_DIR / name_or_path / CONFIG_NAME).is_file():
        return str(CHECKPOINTS_DIR / name_or_path)
    return name_or_path
