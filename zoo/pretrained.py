"""Build, evaluate and describe the pretrained checkpoints shipped in ``checkpoints/``.

Every checkpoint is made by one recipe, ``recipes/pretrained/<name>.yaml``, with one command::

    python -m zoo.pretrained build phaser-pedalboard      # or: make checkpoints

which trains with `zoo.lightning.cli` (the same code path as ``zoo train``), evaluates the final
weights on the recipe's held-out test split, regenerated from the recipe's data config, and writes
``checkpoints/<name>/`` (config.json, model.safetensors, README.md card with the metrics and the
learned parameters). ``python -m zoo.pretrained evaluate <folder>`` recomputes the card's metrics
from the files alone, which is what the tests check.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import time
from pathlib import Path
from typing import Any, Mapping

import torch

from . import hub
from .fit.recipe import build_fitted, evaluate_fitted, fitted_card, is_fit_recipe

def recipes_dir() -> Path:
    """``recipes/pretrained`` of this install (package data in a wheel, the checkout's folder otherwise)."""
    from .resources import recipes_dir as shipped_recipes

    root = shipped_recipes()
    if root is None:
        raise ValueError("This installation carries no recipes (recipes/pretrained); use a checkout or the wheel")
    return root / "pretrained"

PRETRAINED = ("phaser-pedalboard", "compressor-pedalboard", "synth-ladder303")

#: what a reader of each card should know about its numbers
NOTES = {
    "phaser-pedalboard": (
        "pedalboard's Phaser (JUCE's dsp::Phaser) was rendered at rate 0.6 Hz, depth 0.8, centre "
        "1000 Hz, feedback 0, mix 0.5; the fit was not told these settings: it estimated the LFO from "
        "the audio and chose the structure on validation. The held-out tail (the last 25 % of the "
        "capture signal, in its music section) was never seen by the fit, its search or its early "
        "stopping; the model runs over the whole recording from t = 0, so the LFO phase carries on."
    ),
    "compressor-pedalboard": (
        "pedalboard's compressor (JUCE) uses its own level detector and ballistics, so the learned "
        "threshold, ratio and times are those of the Zoelzer compressor that best matches it, not "
        "JUCE's settings (the targets were rendered with threshold -24 dB, ratio 4, attack 5 ms, "
        "release 100 ms). The test split is the last 20 % of the clip, unseen in training."
    ),
    "synth-ladder303": (
        "The paper's metric for the synth is the multi-resolution STFT distance (MSS, auraloss). ESR "
        "compares waveforms sample by sample and is not meaningful for a re-synthesised oscillator "
        "whose phase is free; it is reported for completeness. Test notes are held out (60/20/20 split)."
    ),
}


def instantiate(spec: Mapping[str, Any]) -> Any:
    """Build ``{"class_path": "pkg.mod.Class", "init_args": {...}}`` (nested specs included)."""
    module_name, _, class_name = spec["class_path"].rpartition(".")
    if not module_name.startswith(("zoo.", "torch.", "lightning.")):
        raise ValueError(f"Refusing to import {spec['class_path']!r}: only zoo, torch and lightning classes")
    cls = getattr(importlib.import_module(module_name), class_name)
    args = {k: instantiate(v) if isinstance(v, Mapping) and "class_path" in v else v for k, v in (spec.get("init_args") or {}).items()}
    return cls(**args)


def read_recipe(name: str) -> dict[str, Any]:
    import yaml

    path = recipes_dir() / f"{name}.yaml"
    if not path.is_file():
        raise ValueError(f"Unexpected checkpoint name {name!r}: no recipe {path}; expected one of {PRETRAINED}")
    return yaml.safe_load(path.read_text())


@torch.no_grad()
def evaluate(effect: torch.nn.Module, data_spec: Mapping[str, Any], *, method: str | None = None, double: bool = False,
             split: str = "test") -> dict[str, float]:
    """ESR, multi-resolution STFT distance and L1 of ``effect`` on a data module's split.

    Args:
        effect: the effect (its ``forward_batch`` is called on every batch).
        data_spec: the data module spec (class_path + init_args), regenerated deterministically.
        method: implementation to evaluate with (default: the effect's own).
        double: evaluate in float64.
        split: "test" or "val".

    Returns:
        ``{"esr": ..., "mrstft": ..., "l1": ...}`` averaged over the split's samples.
    """
    import auraloss

    datamodule = instantiate(data_spec)
    datamodule.setup("test" if split == "test" else "validate")
    loader = datamodule.test_dataloader() if split == "test" else datamodule.val_dataloader()
    dtype = torch.float64 if double else torch.float32
    effect = effect.to(dtype).eval()
    previous = effect.method
    if method is not None:
        effect.method = method
    err = energy = l1 = 0.0
    count = 0
    mrstft_sum = 0.0
    batches = 0
    try:
        for batch in loader:
            batch = {k: v.to(dtype) if torch.is_tensor(v) and v.is_floating_point() else v for k, v in batch.items()}
            pred = effect.forward_batch(batch)
            target = batch["target"]
            err += float((pred - target).pow(2).sum())
            energy += float(target.pow(2).sum())
            l1 += float((pred - target).abs().sum())
            count += target.numel()
            n = target.shape[-1]
            sizes = [s for s in (2048, 1024, 512, 256, 128) if s <= n][:3] or [max(16, 2 ** int(math.log2(n)))]
            loss = auraloss.freq.MultiResolutionSTFTLoss(fft_sizes=sizes, hop_sizes=[s // 4 for s in sizes], win_lengths=sizes)
            mrstft_sum += float(loss(pred.float(), target.float()))
            batches += 1
    finally:
        effect.method = previous
    return {"esr": err / max(energy, 1e-30), "mrstft": mrstft_sum / max(batches, 1), "l1": l1 / max(count, 1)}


def _card(name: str, recipe: Mapping[str, Any], metrics: Mapping[str, float], params: Mapping[str, float],
          train_seconds: float, config_data: Mapping[str, Any]) -> str:
    effect_spec = recipe["model"]["effect"]
    data = recipe["data"]["init_args"]
    rate = effect_spec["init_args"].get("sample_rate")
    rows = "\n".join(f"| {k} | {v:.6g} |" for k, v in params.items() if isinstance(v, (int, float)))
    metric_rows = "\n".join(f"| {k} | {v:.6g} |" for k, v in metrics.items())
    target = data.get("effect", "303-style notes through pedalboard's LadderFilter (envelope-swept cutoff)")
    return f"""---
library_name: zoo
license: mit
tags: [audio, differentiable-dsp, all-pole, {recipe['model']['effect']['class_path'].rsplit('.', 1)[-1].lower()}]
---

# {name}

**What it models.** `{effect_spec['class_path']}` fitted to a real DSP effect: {target}.
Implementation: time-domain all-pole filters with exact gradients (Yu et al., *Differentiable
All-pole Filters for Time-varying Audio Systems*, DAFx 2024), method `{effect_spec['init_args'].get('method')}`.

**Sample rate.** {rate} Hz.

**Training data.** Generated deterministically (seed {recipe.get('seed_everything', 0)}), no download:
`{recipe['data']['class_path']}` with `{json.dumps(data)}`.

**Recipe.** `recipes/pretrained/{name}.yaml`; reproduce with `python -m zoo.pretrained build {name}`
(training took {train_seconds:.0f} s on a 2-core CPU).

**Test metrics** (held-out split of the same generated data, recomputed by
`python -m zoo.pretrained evaluate checkpoints/{name}`):

| metric | value |
|---|---|
{metric_rows}

{NOTES.get(name, "")}

**Learned parameters:**

| parameter | value |
|---|---|
{rows}

**Use.**

```python
import torch
effect = torch.hub.load("<this repo>", "{name.split('-')[0]}", source="local")  # or zoo.hub.from_pretrained("checkpoints/{name}")
```

**Licence.** MIT (weights and code).
"""


def build(name: str, *, out_root: str | Path | None = None, max_steps: int | None = None, logger: str = "csv",
          minutes: float | None = None) -> Path:
    """Train ``recipes/pretrained/<name>.yaml`` and write ``checkpoints/<name>/``.

    A recipe with a ``fit:`` section is built by `zoo fit` (`zoo.fit.recipe`); ``minutes`` overrides
    its budget (smoke runs). The others train with `zoo train`'s LightningCLI.
    """
    recipe = read_recipe(name)
    if is_fit_recipe(recipe):
        out = Path(out_root or hub.checkpoints_dir() or "checkpoints") / name
        build_fitted(name, recipe, out, minutes=minutes, max_steps=max_steps, note=NOTES.get(name, ""))
        return out
    from .lightning.cli import train

    argv = ["-c", str(recipes_dir() / f"{name}.yaml"), "--logger", logger]
    if max_steps is not None:
        argv += ["--trainer.max_steps", str(max_steps), "--trainer.max_epochs", "-1"]
    start = time.perf_counter()
    cli = train(argv)
    seconds = time.perf_counter() - start
    effect = cli.model.effect.float().cpu()
    model_cfg = recipe["model"]
    double = bool(model_cfg.get("double", False))
    metrics = evaluate(effect, recipe["data"], method=model_cfg.get("test_method"), double=double)
    effect = effect.float()
    params = {k: float(v) for k, v in effect.learned_parameters().items() if isinstance(v, (int, float)) or (torch.is_tensor(v) and v.numel() == 1)}
    out = Path(out_root or hub.checkpoints_dir() or "checkpoints") / name
    hub.save_pretrained(
        effect,
        out,
        card=_card(name, recipe, metrics, params, seconds, recipe["data"]),
        recipe=f"recipes/pretrained/{name}.yaml",
        command=f"python -m zoo.pretrained build {name}",
        data=recipe["data"],
        test_method=model_cfg.get("test_method"),
        double=double,
        test_metrics=metrics,
        learned_parameters=params,
        train_seconds=seconds,
    )
    return out


def write_card(folder: str | Path) -> None:
    """Re-render a checkpoint's README.md from its config.json and recipe (no training)."""
    folder = Path(folder)
    config = hub.read_config(folder)
    card = config["card"]
    name = folder.name
    if is_fit_recipe(card.get("data")):
        text = fitted_card(name, {**card["fit"], "dry": "", "wet": ""}, card["data"], NOTES.get(name, ""))
        (folder / hub.CARD_NAME).write_text(text)
        return
    text = _card(name, read_recipe(name), card["test_metrics"], card["learned_parameters"], card["train_seconds"], card["data"])
    (folder / hub.CARD_NAME).write_text(text)


def evaluate_checkpoint(folder: str | Path) -> dict[str, float]:
    """Recompute a checkpoint's test metrics from its folder (config.json + model.safetensors)."""
    config = hub.read_config(folder)
    card = config["card"]
    if is_fit_recipe(card.get("data")):
        return evaluate_fitted(folder)
    effect = hub.from_pretrained(folder)
    return evaluate(effect, card["data"], method=card.get("test_method"), double=bool(card.get("double")))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m zoo.pretrained", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="train a recipe and write checkpoints/<name>")
    b.add_argument("names", nargs="*", default=list(PRETRAINED), help=f"default: all of {PRETRAINED}")
    b.add_argument("--out", default=None, help="output root (default: checkpoints/)")
    b.add_argument("--max-steps", type=int, default=None, help="override the recipe's length (smoke runs)")
    b.add_argument("--minutes", type=float, default=None, help="override a fit recipe's budget (smoke runs)")
    e = sub.add_parser("evaluate", help="recompute a checkpoint folder's test metrics")
    e.add_argument("folder")
    c = sub.add_parser("card", help="re-render a checkpoint folder's README.md card")
    c.add_argument("folder")
    args = parser.parse_args(argv)
    if args.command == "build":
        for name in args.names:
            out = build(name, out_root=args.out, max_steps=args.max_steps, minutes=args.minutes)
            print(f"{name}: wrote {out}  {json.loads((out / hub.CONFIG_NAME).read_text())['card']['test_metrics']}")
    elif args.command == "card":
        write_card(args.folder)
    else:
        print(json.dumps(evaluate_checkpoint(args.folder), indent=2))


if __name__ == "__main__":
    main()
