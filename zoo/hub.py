"""Find, load and publish effects: config.json + model.safetensors + a README.md model card (the
folder format itself, and `save_pretrained`, are `zoo.checkpoint`'s; re-exported here).

A checkpoint folder holds exactly the files the Hugging Face Hub expects for a PyTorch model:

* ``config.json``: ``{"effect": <registry name>, "init_args": {...}, "zoo_version": ...}`` plus
  free-form metadata (``"card"``: what it models, metrics, sample rate...);
* ``model.safetensors``: the effect's ``state_dict`` (safetensors only: nothing is unpickled);
* ``README.md``: the model card.

`from_pretrained` accepts a shipped checkpoint name (``zoo list``), a local folder, a Lightning
``.ckpt`` or ``zoo train`` run folder (see `zoo.run_export`), or a Hub repo id (resolved with
``hf_hub_download``, so ``HF_HUB_OFFLINE=1`` and a prepared cache work without a network; pin a
``revision`` for reproducible downloads). Loading is strict: missing or unexpected weights, a
shape mismatch, non-finite weights, and unknown or mistyped keys in config.json all raise
``ValueError`` naming the file and the key. Only safetensors weights are read (nothing is
unpickled; ``.ckpt`` files are read with ``torch.load(weights_only=True)``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from . import resources
from .checkpoint import (  # noqa: F401  (the folder format, re-exported: zoo.hub.save_pretrained ...)
    CARD_NAME,
    CONFIG_NAME,
    WEIGHTS_NAME,
    build_effect,
    check_init_args,
    load_state,
    load_weights,
    save_pretrained,
)
from .effects.registry import EFFECTS, effect_class, effect_name  # noqa: F401  (the registry, re-exported)

#: placeholder Hugging Face Hub repo ids of the shipped checkpoints (not yet published: see README)
HUB_REPOS: dict[str, str] = {
    "phaser-pedalboard": "allpole-zoo/phaser-pedalboard",
    "compressor-pedalboard": "allpole-zoo/compressor-pedalboard",
    "synth-ladder303": "allpole-zoo/synth-ladder303",
}


def checkpoints_dir() -> Path | None:
    """The folder of shipped checkpoints (inside the installed package, or the checkout's), or None."""
    return resources.checkpoints_dir()


#: the shipped checkpoints' folder at import time (prefer `checkpoints_dir()`, which follows
#: ``ZOO_CHECKPOINTS_DIR``); a path that does not exist when this install carries none
CHECKPOINTS_DIR = checkpoints_dir() or Path(__file__).resolve().parent / "checkpoints"


def _resolve(repo_id_or_path: str | os.PathLike, filename: str, **hub_kwargs: Any) -> Path:
    path = Path(repo_id_or_path)
    if path.is_dir():
        file = path / filename
        if not file.is_file():
            raise FileNotFoundError(f"Missing {filename} in checkpoint folder {path}")
        return file
    if not looks_like_repo_id(str(repo_id_or_path)):
        raise FileNotFoundError(
            f"Checkpoint {str(repo_id_or_path)!r} not found: not a shipped checkpoint name (zoo list), not an existing "
            "folder, and not a Hub repo id (user/name)"
        )
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
    """The parsed config.json of a checkpoint (folder or Hub repo id).

    Raises:
        ValueError: the file is not JSON, or lacks ``effect``/``init_args``, or names an unknown
            effect, or its ``init_args`` is not an object (the message names the file and the key).
    """
    file = _resolve(repo_id_or_path, CONFIG_NAME, **hub_kwargs)
    try:
        config = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"Corrupt checkpoint config {file}: {err}") from err
    except OSError as err:
        raise ValueError(f"Unreadable checkpoint config {file}: {err}") from err
    if not isinstance(config, dict) or "effect" not in config or "init_args" not in config:
        raise ValueError(f"Corrupt checkpoint config {file}: expected keys 'effect' and 'init_args'")
    if not isinstance(config["effect"], str) or config["effect"] not in EFFECTS:
        raise ValueError(
            f"Corrupt checkpoint config {file}: key 'effect' is {config['effect']!r}, expected one of {sorted(EFFECTS)}"
        )
    if not isinstance(config["init_args"], dict):
        raise ValueError(f"Corrupt checkpoint config {file}: key 'init_args' must be an object, found {type(config['init_args']).__name__}")
    return config


def from_pretrained(
    repo_id_or_path: str | os.PathLike,
    *,
    revision: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
    strict: bool = True,
    map_location: str | torch.device = "cpu",
    effect_type: type | None = None,
    **overrides: Any,
) -> torch.nn.Module:
    """Build an effect from a checkpoint: a shipped name, a folder, a Lightning run, or a Hub repo id.

    Args:
        repo_id_or_path: a shipped checkpoint name (``"phaser-pedalboard"``, see ``zoo list``), a
            local folder with config.json + model.safetensors, a ``zoo train`` run folder or its
            ``.ckpt`` file, or a Hub repo id ``"user/repo"``.
        revision: Hub branch, tag or commit (ignored for local paths). Pin a commit for reproducibility.
        cache_dir, local_files_only, token: passed to ``huggingface_hub.hf_hub_download``.
        strict: raise if the weights do not match the effect's parameters exactly.
        map_location: device for the weights.
        effect_type: if given, the checkpoint must hold this Effect class (else TypeError), e.g.
            ``from_pretrained(path, effect_type=Phaser)``.
        **overrides: constructor arguments replacing the saved ones (e.g. ``method="fs"``).

    Raises:
        FileNotFoundError / OSError: files cannot be found or downloaded.
        ValueError: corrupt config or weights, or (``strict``) mismatching weights, naming file and key.
        TypeError: the checkpoint holds another effect than ``effect_type``.
    """
    from . import run_export

    source = resolve_checkpoint(str(repo_id_or_path))
    if run_export.is_lightning_run(source):
        effect, _ = run_export.effect_from_run(source, strict=strict, **overrides)
    else:
        hub_kwargs: dict[str, Any] = {}
        if not Path(source).is_dir():
            hub_kwargs = dict(revision=revision, cache_dir=cache_dir, local_files_only=local_files_only, token=token)
        config = read_config(source, **hub_kwargs)
        effect = build_effect(config, _resolve(source, CONFIG_NAME, **hub_kwargs), **overrides)
        weights_file = _resolve(source, WEIGHTS_NAME, **hub_kwargs)
        load_weights(effect, load_state(weights_file), weights_file, strict=strict)
    if effect_type is not None and not isinstance(effect, effect_type):
        raise TypeError(f"{str(repo_id_or_path)!r} holds a {type(effect).__name__}, not a {effect_type.__name__}")
    return effect.to(map_location)


def push_to_hub(
    directory: str | os.PathLike | torch.nn.Module,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool | None = None,
    revision: str | None = None,
    commit_message: str = "Upload zoo effect",
    create_pr: bool = False,
) -> str:
    """Upload a checkpoint folder to the Hub: config.json, model.safetensors, the README.md card, its
    PNGs, and the listening page (index.html + its clips and images) when the folder has one.

    The folder is checked first (config, weights: safetensors only, nothing else is uploaded). An
    effect instead of a folder is saved to a temporary folder (`save_pretrained`) and uploaded.

    Returns:
        The commit URL.
    """
    from huggingface_hub import HfApi

    if isinstance(directory, torch.nn.Module):
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            folder = save_pretrained(directory, Path(tmp) / "checkpoint")
            return push_to_hub(folder, repo_id, token=token, private=private, revision=revision,
                               commit_message=commit_message, create_pr=create_pr)

    directory = Path(directory)
    for required in (CONFIG_NAME, WEIGHTS_NAME):
        if not (directory / required).is_file():
            raise FileNotFoundError(f"Missing {required} in {directory}: not a checkpoint folder")
    build_effect(read_config(directory), directory / CONFIG_NAME)
    load_state(directory / WEIGHTS_NAME)
    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
    info = api.upload_folder(
        repo_id=repo_id,
        folder_path=str(directory),
        repo_type="model",
        revision=revision,
        commit_message=commit_message,
        allow_patterns=[CONFIG_NAME, WEIGHTS_NAME, CARD_NAME, "*.png", "*.md", "index.html", "audio/*.wav", "listen/*",
                        "audio/*.flac", "report/**"],
        create_pr=create_pr,
    )
    return str(getattr(info, "commit_url", info))


def list_checkpoints(root: str | os.PathLike | None = None, *, errors: str = "raise") -> dict[str, dict[str, Any]]:
    """Checkpoint folders under ``root`` (default: the shipped checkpoints) -> their config.

    Args:
        root: a folder of checkpoint folders. Default `checkpoints_dir()`.
        errors: "raise" (a corrupt config raises ValueError), "skip" (left out) or "report" (kept
            as ``{"error": message}`` so that listings can show it).
    """
    if errors not in ("raise", "skip", "report"):
        raise ValueError(f"Unexpected value for `errors`: expected 'raise', 'skip' or 'report', found {errors!r}")
    root = checkpoints_dir() if root is None else Path(root)
    found: dict[str, dict[str, Any]] = {}
    if root is None or not root.is_dir():
        return found
    for folder in sorted(p for p in root.iterdir() if (p / CONFIG_NAME).is_file()):
        try:
            found[folder.name] = read_config(folder)
        except ValueError as err:
            if errors == "raise":
                raise
            if errors == "report":
                found[folder.name] = {"error": str(err)}
    return found


def resolve_checkpoint(name_or_path: str) -> str:
    """A shipped checkpoint name (``zoo list``), a folder, a run, or a Hub repo id, as a loadable string.

    A shipped name wins over a relative folder of the same name only when no such folder exists.
    """
    if Path(name_or_path).exists():
        return name_or_path
    root = checkpoints_dir()
    if root is not None and (root / name_or_path / CONFIG_NAME).is_file():
        return str(root / name_or_path)
    return name_or_path


def looks_like_repo_id(name: str) -> bool:
    """``"user/repo"`` (one slash, no path that exists here): what `from_pretrained` sends to the Hub."""
    parts = name.split("/")
    return len(parts) == 2 and all(parts) and not Path(name).exists() and not name.startswith((".", "/", "~"))
