"""Turn a ``zoo train`` run (a Lightning run folder or ``.ckpt`` file) into an effect or a checkpoint folder.

A ``zoo train`` run writes ``<root>/checkpoints/{last,best}.ckpt`` and, through LightningCLI, the
resolved ``config.yaml`` of the run (under the logger's folder), plus ``metrics.csv`` with the CSV
logger. This module finds those files, rebuilds the effect from the config's ``model.effect``
(class path + init args, through the one effect registry, `zoo.effects.registry`), and loads the effect's
weights from the ``.ckpt`` with ``torch.load(weights_only=True)``: nothing arbitrary is unpickled.

`export_run` writes the same checkpoint folder `zoo fit` and the shipped checkpoints use
(config.json + model.safetensors + README.md card), so ``zoo apply``, ``zoo push`` and
``from_pretrained`` take it. Used by ``zoo export-checkpoint RUN --out DIR``.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

__all__ = ["RunFiles", "is_lightning_run", "find_run_files", "effect_from_run", "export_run"]

_EFFECT_PREFIX = "effect."


@dataclass
class RunFiles:
    """The files of one training run."""

    checkpoint: Path
    config: Path | None
    metrics: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def is_lightning_run(path: str | os.PathLike) -> bool:
    """True for a ``.ckpt`` file, or a folder holding ``checkpoints/*.ckpt`` (a ``zoo train`` run)."""
    path = Path(path)
    if path.is_file():
        return path.suffix == ".ckpt"
    return path.is_dir() and not (path / "config.json").is_file() and (
        any(path.glob("checkpoints/*.ckpt")) or any(path.glob("*.ckpt"))
    )


def _nearest(start: Path, name: str, stop: Path) -> Path | None:
    """``name`` in ``start`` or below it, else in the folders above ``start`` up to ``stop``."""
    found = sorted(start.rglob(name), key=lambda p: (len(p.parts), str(p)))
    if found:
        return found[-1] if name == "metrics.csv" else found[0]
    return None


def find_run_files(path: str | os.PathLike) -> RunFiles:
    """Locate a run's checkpoint (``last.ckpt`` preferred), ``config.yaml`` and ``metrics.csv``.

    Raises:
        FileNotFoundError: no ``.ckpt`` at ``path``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Run {path} not found: give a `zoo train` run folder (trainer.default_root_dir) or its .ckpt")
    if path.is_file():
        if path.suffix != ".ckpt":
            raise ValueError(f"{path} is not a Lightning checkpoint (.ckpt) nor a run folder")
        ckpt = path
        root = path.parent.parent if path.parent.name == "checkpoints" else path.parent
    else:
        candidates = sorted(path.glob("checkpoints/*.ckpt")) or sorted(path.glob("*.ckpt"))
        if not candidates:
            raise FileNotFoundError(f"No Lightning checkpoint (*.ckpt) in run folder {path}")
        last = [c for c in candidates if c.name == "last.ckpt"]
        ckpt = last[0] if last else max(candidates, key=lambda c: c.stat().st_mtime)
        root = path
    return RunFiles(checkpoint=ckpt, config=_nearest(root, "config.yaml", root), metrics=_nearest(root, "metrics.csv", root))


def _load_checkpoint(file: Path) -> dict[str, Any]:
    try:
        return torch.load(file, map_location="cpu", weights_only=True)
    except Exception as err:  # UnpicklingError for forbidden globals, zip/EOF errors for corrupt files
        raise ValueError(
            f"Cannot read Lightning checkpoint {file} safely (torch.load weights_only=True): {type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}"
        ) from err


def effect_weights(checkpoint: dict[str, Any], file: Path) -> dict[str, torch.Tensor]:
    """The ``effect.*`` weights of an EffectModule checkpoint, prefix removed."""
    state = checkpoint.get("state_dict") if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f"Lightning checkpoint {file} has no 'state_dict'")
    weights = {k[len(_EFFECT_PREFIX):]: v for k, v in state.items() if k.startswith(_EFFECT_PREFIX) and torch.is_tensor(v)}
    if not weights:
        raise ValueError(f"Lightning checkpoint {file} holds no effect weights (keys starting with 'effect.')")
    return weights


def _registry_name(class_path: str) -> str:
    from .effects.registry import EFFECTS

    module_name, _, class_name = class_path.rpartition(".")
    for name, entry in EFFECTS.items():
        entry_module, entry_class = entry.split(":")
        if entry_class == class_name and (module_name == entry_module or module_name.startswith(entry_module.rsplit(".", 1)[0])):
            return name
    raise ValueError(f"Run config names effect class {class_path!r}, which is not a registered effect ({sorted(EFFECTS)})")


def read_run_config(file: Path) -> dict[str, Any]:
    """The run's resolved LightningCLI config (``config.yaml``) as a dict."""
    import yaml

    try:
        config = yaml.safe_load(file.read_text())
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as err:
        raise ValueError(f"Corrupt run config {file}: {err}") from err
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict) or not isinstance(config["model"].get("effect"), dict):
        raise ValueError(f"Run config {file} has no model.effect (class_path + init_args): not a `zoo train` run")
    return config


def effect_config(run_config: dict[str, Any], source: Path) -> dict[str, Any]:
    """A checkpoint-style config (``{"effect": name, "init_args": {...}}``) from a run config."""
    spec = run_config["model"]["effect"]
    if "class_path" not in spec:
        raise ValueError(f"Run config {source}: model.effect has no class_path")
    return {"effect": _registry_name(str(spec["class_path"])), "init_args": dict(spec.get("init_args") or {})}


def effect_from_run(path: str | os.PathLike, *, strict: bool = True, **overrides: Any) -> tuple[torch.nn.Module, RunFiles]:
    """Rebuild a run's effect with its trained weights.

    Args:
        path: a run folder (``trainer.default_root_dir``) or one of its ``.ckpt`` files.
        strict: raise if the weights do not match the effect exactly.
        **overrides: constructor arguments replacing the run's.

    Returns:
        (effect in eval mode, the run's files).

    Raises:
        FileNotFoundError: no checkpoint, or no config.yaml next to it.
        ValueError: an unreadable checkpoint or config, or weights that don't match.
    """
    from .checkpoint import build_effect, load_weights

    files = find_run_files(path)
    if files.config is None:
        raise FileNotFoundError(
            f"No config.yaml found for {files.checkpoint}: the run's resolved config (written by `zoo train`) is needed "
            "to rebuild the effect; pass the run folder (trainer.default_root_dir)"
        )
    run_config = read_run_config(files.config)
    config = effect_config(run_config, files.config)
    files.extra["run_config"] = run_config
    effect = build_effect(config, files.config, **overrides)
    checkpoint = _load_checkpoint(files.checkpoint)
    files.extra["global_step"] = int(checkpoint.get("global_step", -1)) if isinstance(checkpoint, dict) else -1
    load_weights(effect, effect_weights(checkpoint, files.checkpoint), files.checkpoint, strict=strict)
    return effect.float().eval(), files


def read_metrics(file: Path | None) -> dict[str, Any]:
    """From a Lightning ``metrics.csv``: the last and best ``val/loss`` and the step count."""
    if file is None or not file.is_file():
        return {}
    best = last = None
    last_step = None
    with file.open(newline="") as handle:
        for row in csv.DictReader(handle):
            value = row.get("val/loss") or ""
            if row.get("step"):
                last_step = int(float(row["step"]))
            if value:
                number = float(value)
                if math.isfinite(number):
                    last = number
                    best = number if best is None else min(best, number)
    out: dict[str, Any] = {}
    if last is not None:
        out.update({"val_loss_last": last, "val_loss_best": best})
    if last_step is not None:
        out["steps"] = last_step
    return out


def _card(name: str, files: RunFiles, metrics: dict[str, Any], params: dict[str, float], command: str) -> str:
    run_config = files.extra.get("run_config", {})
    data = run_config.get("data", {})
    loss = (run_config.get("model", {}).get("loss") or {}).get("class_path", "the recipe's loss")
    rows = "\n".join(f"| {k} | {v:.6g} |" for k, v in params.items())
    metric_rows = "\n".join(f"| {k} | {v:.6g} |" for k, v in metrics.items() if isinstance(v, (int, float))) or "| (no metrics.csv) | |"
    return f"""---
library_name: zoo
tags: [audio, differentiable-dsp, all-pole, {name}]
---

# {name} (from a `zoo train` run)

**What it models.** A `{name}` effect trained by `zoo train` on
`{data.get('class_path', 'the run data')}` with
`{json.dumps(data.get('init_args', {}))[:600]}`.

**Made with.** `{command}`, from checkpoint `{files.checkpoint.name}` (global step {files.extra.get('global_step')}).

**Validation metrics** (the run's own `{loss}` on its validation split, from `metrics.csv`):

| metric | value |
|---|---|
{metric_rows}

**Learned parameters:**

| parameter | value |
|---|---|
{rows}

**Use.** `zoo apply <this folder> in.wav out.wav`, or `zoo.hub.from_pretrained("<this folder>")`.
"""


def export_run(path: str | os.PathLike, out: str | os.PathLike, *, force: bool = False) -> Path:
    """Write a ``zoo train`` run as a checkpoint folder (config.json + model.safetensors + README.md card).

    Raises:
        ValueError: ``out`` exists without ``force``, or the run can't be read.
    """
    from . import checkpoint
    from .effects.registry import effect_name
    from ._io import atomic_dir, check_output

    out = check_output(out, force=force, kind="folder")
    effect, files = effect_from_run(path)
    name = effect_name(effect)
    params = {
        k: float(v)
        for k, v in effect.learned_parameters().items()
        if isinstance(v, (int, float)) or (torch.is_tensor(v) and v.numel() == 1)
    }
    metrics = read_metrics(files.metrics)
    command = "zoo export-checkpoint " + shlex.quote(str(path)) + " --out " + shlex.quote(str(out))
    with atomic_dir(out) as tmp:
        checkpoint.save_pretrained(
            effect,
            tmp,
            card=_card(name, files, metrics, params, command),
            source_run=str(Path(path).resolve()),
            checkpoint=files.checkpoint.name,
            run_metrics=metrics,
            learned_parameters=params,
            command=command,
        )
    return out
