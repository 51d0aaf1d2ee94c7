"""What ``zoo report`` can describe: a shipped checkpoint, a checkpoint folder, or a Lightning run.

`load_source` turns the command's CHECKPOINT_OR_RUN argument into a `Source`: the effect (weights
loaded, eval mode), its card, its training ``data`` spec, and the run's ``metrics.csv`` if any.

* a shipped checkpoint name (``zoo list``) or a checkpoint folder (config.json + model.safetensors):
  its README.md is the card, ``audio/`` holds the fit's clips, a ``metrics.csv`` in the folder (or
  one level below) gives the fit curve;
* a Lightning run folder (``trainer.default_root_dir`` of ``zoo train``) or a ``.ckpt`` inside one:
  a checkpoint folder inside the run is used when there is one; otherwise the effect is rebuilt
  from the run's ``config.yaml`` (LightningCLI's copy of the recipe: ``model.effect``) and the
  ``effect.*`` weights of the ``.ckpt`` (``checkpoints/last.ckpt`` first). ``metrics.csv``
  (CSVLogger) gives the fit curve.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import hub

__all__ = ["Source", "load_source", "read_metrics_csv"]


@dataclass
class Source:
    """A loaded effect and what the page says about it.

    Attributes:
        name: shown as the page's title (checkpoint or run folder name).
        effect: the effect, eval mode.
        effect_name: its registry name (`zoo.hub.EFFECTS`).
        card_markdown: the model card (README.md), or None.
        data_spec: the training ``data`` spec (class_path + init_args), or None.
        test_metrics: the card's held-out test metrics (name -> value).
        folder: the checkpoint folder, or None for a bare Lightning checkpoint.
        metrics_csv: the run's Lightning CSVLogger ``metrics.csv``, or None.
    """

    name: str
    effect: Any
    effect_name: str
    card_markdown: str | None = None
    data_spec: dict[str, Any] | None = None
    test_metrics: dict[str, float] = field(default_factory=dict)
    folder: Path | None = None
    metrics_csv: Path | None = None


def _newest(paths: list[Path]) -> Path | None:
    return max(paths, key=lambda p: p.stat().st_mtime) if paths else None


def _find_metrics(folder: Path) -> Path | None:
    return _newest([p for pattern in ("metrics.csv", "*/metrics.csv", "*/*/metrics.csv", "*/*/*/metrics.csv") for p in folder.glob(pattern)])


def _checkpoint_source(folder: Path, name: str, metrics_csv: Path | None = None) -> Source:
    config = hub.read_config(folder)
    effect = hub.from_pretrained(folder).eval()
    card = config.get("card") if isinstance(config.get("card"), dict) else {}
    readme = folder / hub.CARD_NAME
    metrics = {k: float(v) for k, v in (card.get("test_metrics") or {}).items() if isinstance(v, (int, float))}
    return Source(
        name=name, effect=effect, effect_name=config["effect"],
        card_markdown=readme.read_text(encoding="utf-8", errors="replace") if readme.is_file() else None,
        data_spec=card.get("data") if isinstance(card.get("data"), dict) else None,
        test_metrics=metrics, folder=folder, metrics_csv=metrics_csv or _find_metrics(folder),
    )


def _run_source(run: Path, ckpt: Path | None) -> Source:
    metrics_csv = _find_metrics(run)
    inner = sorted(p.parent for p in run.rglob(hub.CONFIG_NAME) if (p.parent / hub.WEIGHTS_NAME).is_file())
    if ckpt is None and inner:
        return _checkpoint_source(inner[0], run.name, metrics_csv)
    if ckpt is None:
        ckpt = run / "checkpoints" / "last.ckpt"
        ckpt = ckpt if ckpt.is_file() else _newest(list(run.rglob("*.ckpt")))
        if ckpt is None:
            raise ValueError(f"{run} holds neither a checkpoint folder (config.json + model.safetensors) nor a .ckpt: pass a checkpoint")
    from ..run_export import effect_from_run

    effect, files = effect_from_run(ckpt)  # config.yaml + .ckpt (weights_only), as `zoo apply` reads a run
    config = files.extra["run_config"]
    model = config.get("model") or {}
    name = hub.effect_name(effect)
    method = model.get("test_method") or model.get("method")
    if method:
        effect.method = method
    if model.get("double"):
        effect.double()
    data = config.get("data")
    return Source(name=run.name, effect=effect.eval(), effect_name=name, data_spec=data if isinstance(data, dict) else None,
                  folder=None, metrics_csv=metrics_csv)


def load_source(checkpoint_or_run: str) -> Source:
    """Load what ``zoo report CHECKPOINT_OR_RUN`` describes (see the module docstring).

    Raises:
        ValueError: nothing loadable at ``checkpoint_or_run`` (the message says what is accepted).
        ImportError: a Lightning ``.ckpt`` without the training extras.
    """
    shipped = hub.list_checkpoints()
    if checkpoint_or_run in shipped:
        return _checkpoint_source(Path(hub.resolve_checkpoint(checkpoint_or_run)), checkpoint_or_run)
    path = Path(checkpoint_or_run)
    if path.is_file() and path.suffix == ".ckpt":
        run = path.parent.parent if path.parent.name == "checkpoints" else path.parent
        return _run_source(run, path)
    if path.is_dir() and (path / hub.CONFIG_NAME).is_file():
        return _checkpoint_source(path, path.resolve().name)
    if path.is_dir() and (_find_metrics(path) or next(path.rglob("*.ckpt"), None) or next(path.rglob(hub.CONFIG_NAME), None)):
        return _run_source(path, None)
    what = "is not a checkpoint folder or a run folder" if path.exists() else "does not exist"
    raise ValueError(
        f"{checkpoint_or_run!r} {what}: pass a shipped checkpoint ({', '.join(shipped) or 'none found'}), "
        "a checkpoint folder (config.json + model.safetensors), or a `zoo train` run folder or .ckpt"
    )


def read_metrics_csv(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Loss and metric series of a Lightning CSVLogger ``metrics.csv``: name -> (steps, values).

    Columns ``epoch``, ``step`` and the learning rates (``lr-*``) are left out; empty cells (a row
    logs only some columns) are skipped.

    Raises:
        ValueError: the file has no ``step`` column.
    """
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or "step" not in reader.fieldnames:
            raise ValueError(f"{path} is not a Lightning metrics.csv: expected a 'step' column, found {reader.fieldnames}")
        names = [n for n in reader.fieldnames if n not in ("epoch", "step") and not n.startswith("lr-")]
        points: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
        for row in reader:
            for name in names:
                cell = row.get(name) or ""
                try:
                    value, step = float(cell), float(row["step"])
                except ValueError:
                    continue
                if math.isfinite(value):
                    points[name].append((step, value))
    return {n: (np.array([s for s, _ in p]), np.array([v for _, v in p])) for n, p in points.items() if p}
