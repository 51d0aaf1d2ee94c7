"""Shipped checkpoints made by `zoo fit`: recipes with a ``fit:`` section (``recipes/pretrained/<name>.yaml``).

Such a recipe names a real effect and the dry material; `build_fitted` renders the pair (no download),
runs `zoo fit` on it exactly as a user would (same checks, estimators, search, gradient phase and
held-out split) and writes the checkpoint folder with its card; `evaluate_fitted` recomputes the
card's held-out metrics from the folder alone (regenerating the pair from the card's ``data`` spec)::

    fit: {effect: phaser, minutes: 8, seed: 0, holdout: 0.25}
    data:
      class_path: zoo.fit.recipe.RenderedPair
      init_args:
        effect: {kind: phaser, rate_hz: 0.6, ...}   # a zoo.data.render.RealEffect config
        material: capture                           # `zoo capture-signal`, or a zoo.data material name
        sample_rate: 44100

The ``data`` spec has the shape of a data module spec, so the listening page and ``zoo demo`` find the
real effect in ``init_args.effect`` as for every other checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

__all__ = ["PAIR_CLASS", "is_fit_recipe", "render_pair", "build_fitted", "evaluate_fitted", "fitted_card"]

#: the ``data.class_path`` of a fitted checkpoint's card (a description; nothing is imported from it)
PAIR_CLASS = "zoo.fit.recipe.RenderedPair"


def is_fit_recipe(spec: Mapping[str, Any] | None) -> bool:
    """Whether a recipe (or a card's ``data`` spec) describes a `zoo fit` checkpoint."""
    if not isinstance(spec, Mapping):
        return False
    return "fit" in spec or spec.get("class_path") == PAIR_CLASS


def render_pair(data_spec: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, int]:
    """The dry material and the real effect's output for a ``RenderedPair`` spec: (dry (T,), wet (T,), rate Hz).

    Raises:
        ValueError: an unknown material or a bad effect config (from `zoo.data`).
        ImportError: without pedalboard (the ``dev`` extra).
    """
    from ..data.generate import generate_material
    from ..data.render import render_effect
    from .capture import capture_signal

    args = dict(data_spec.get("init_args") or {})
    rate = int(args["sample_rate"])
    material = args.get("material", "capture")
    if material == "capture":
        dry = capture_signal(rate)
    else:
        dry = generate_material(material, rate, float(args["duration_s"]), seed=int(args.get("seed", 0)))
    dry = np.asarray(dry, dtype=np.float32)
    wet = np.asarray(render_effect(dry, rate, args["effect"]), dtype=np.float32)
    return dry, wet, rate


def _write_pair(folder: Path, dry: np.ndarray, wet: np.ndarray, rate: int) -> tuple[Path, Path]:
    import soundfile as sf

    paths = folder / "dry.wav", folder / "wet.wav"
    for path, audio in zip(paths, (dry, wet)):
        sf.write(str(path), audio, rate, subtype="FLOAT")
    return paths


def fitted_card(name: str, summary: Mapping[str, Any], data_spec: Mapping[str, Any], note: str = "") -> str:
    """The README.md of a shipped fitted checkpoint: `zoo fit`'s card with the rebuild command and the data."""
    from . import card

    args = data_spec["init_args"]
    material = "zoo capture-signal" if args.get("material", "capture") == "capture" else args["material"]
    summary = dict(summary, dry=f"{material} ({args['sample_rate']} Hz, generated)",
                   wet=f"the dry rendered by {json.dumps(args['effect'])}")
    text = card.card_text(summary["effect"], ["python", "-m", "zoo.pretrained", "build", name], summary)
    head, _, rest = text.partition("\n# ")
    title = rest.split("\n", 1)[1] if "\n" in rest else ""
    intro = (f"# {name}\n\nBuilt by `python -m zoo.pretrained build {name}` from "
             f"`recipes/pretrained/{name}.yaml`: the pair is generated and rendered (no download), then fitted "
             "by `zoo fit` exactly as a user's recording would be. `python -m zoo.pretrained evaluate "
             f"checkpoints/{name}` recomputes the held-out metrics below from this folder.\n")
    metrics = ("\n## Test metrics\n\nThe held-out tail, as `python -m zoo.pretrained evaluate` prints them "
               "(fractions, not %):\n\n| metric | value |\n|---|---|\n"
               f"| esr | {summary['heldout_esr']:.6g} |\n| mrstft | {summary['heldout_mrstft']:.6g} |\n")
    extra = f"\n## Notes\n\n{note}\n" if note else ""
    return f"{head}\n{intro}{title}{metrics}{extra}"


def build_fitted(name: str, recipe: Mapping[str, Any], out: Path, *, minutes: float | None = None,
                 max_steps: int | None = None, note: str = "",
                 log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Render the recipe's pair, `zoo fit` it and write the checkpoint folder ``out`` (replaced).

    Args:
        name: the checkpoint's name (for the card).
        recipe: the parsed recipe (``fit`` and ``data`` sections).
        out: the folder to write (an existing one is replaced once the new one is complete).
        minutes, max_steps: override the recipe's budget and gradient-phase length (smoke runs).
        note: a paragraph for the card's notes.
        log: progress lines (default: `zoo fit`'s, on stderr).

    Returns:
        `zoo fit`'s summary.
    """
    from .. import hub
    from .._io import atomic_dir
    from .command import fit_command

    fit = dict(recipe["fit"])
    data_spec = recipe["data"]
    dry, wet, rate = render_pair(data_spec)
    options: dict[str, Any] = {"minutes": float(minutes if minutes is not None else fit.get("minutes", 5.0)),
                               "seed": int(fit.get("seed", 0)), "holdout": float(fit.get("holdout", 0.25)),
                               "max_steps": max_steps if max_steps is not None else fit.get("max_steps"),
                               "command": ["python", "-m", "zoo.pretrained", "build", name]}
    if log is not None:
        options["log"] = log
    with tempfile.TemporaryDirectory() as tmp:
        dry_path, wet_path = _write_pair(Path(tmp), dry, wet, rate)
        summary = fit_command(fit["effect"], dry_path, wet_path, Path(tmp) / "fit", **options)
        # the pair lived in a temporary folder: its findings name the files only
        summary["notes"] = [note.replace(f"{dry_path.parent}{os.sep}", "") for note in summary.get("notes", [])]
        model = hub.from_pretrained(Path(tmp) / "fit")
        metrics = {"esr": float(summary["heldout_esr"]), "mrstft": float(summary["heldout_mrstft"])}
        learned = {k: float(v) for k, v in summary["learned"].items() if isinstance(v, (int, float))}
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_dir(out) as staging:
            hub.save_pretrained(
                model, staging, card=fitted_card(name, summary, data_spec, note),
                recipe=f"recipes/pretrained/{name}.yaml", command=f"python -m zoo.pretrained build {name}",
                data=dict(data_spec), fit={k: v for k, v in summary.items() if k not in ("dry", "wet")},
                test_metrics=metrics, learned_parameters=learned, train_seconds=float(summary["elapsed_s"]),
            )
            if (Path(tmp) / "fit" / "fit.png").is_file():
                shutil.copyfile(Path(tmp) / "fit" / "fit.png", Path(staging) / "fit.png")
    return summary


def evaluate_fitted(folder: str | Path) -> dict[str, float]:
    """Recompute a fitted checkpoint's held-out ESR and MR-STFT from its folder.

    The pair is regenerated from the card's ``data`` spec and read back through `zoo fit`'s checks
    (as the fit read it); the model runs over the whole recording from t = 0 and the tail after
    ``card.fit.fit_stop_s`` is scored.
    """
    from .. import hub
    from .checks import load_pair
    from .command import _mrstft
    from .search import esr, run_from_zero

    import torch

    card = hub.read_config(folder)["card"]
    dry, wet, rate = render_pair(card["data"])
    with tempfile.TemporaryDirectory() as tmp:
        data = load_pair(*_write_pair(Path(tmp), dry, wet, rate))
    n = data.num_samples
    fit_stop = int(round(n * (1.0 - float(card["fit"]["holdout"]))))
    model = hub.from_pretrained(folder).eval()
    pred = run_from_zero(model, data.dry)
    tail = slice(fit_stop, n)
    return {"esr": esr(torch.from_numpy(pred[tail]), torch.from_numpy(data.wet[tail])),
            "mrstft": _mrstft(pred[tail], data.wet[tail])}
