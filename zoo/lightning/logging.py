"""Experiment tracking: a logger factory (W&B offline by default, CSV/TensorBoard fallback) and media.

`make_logger` picks the tracker:

- ``"wandb"``: Lightning's ``WandbLogger``, **offline by default**. The mode is ``online`` only when
  the caller passes ``online=True`` (``zoo train --wandb_online``) or the user has set
  ``WANDB_MODE=online``; otherwise ``WANDB_MODE=offline`` is exported (so DDP ranks inherit it) and
  runs land in ``<save_dir>/wandb/offline-run-*``, ready for ``wandb sync <that folder>``.
- ``"csv"``: ``CSVLogger`` plus ``TensorBoardLogger`` when tensorboard is installed.
- ``"tensorboard"``: ``TensorBoardLogger`` only.
- ``"auto"`` (default): ``"wandb"`` if wandb is installed, else ``"csv"``.
- ``"none"``: no logger.

`log_audio`, `log_figure` and `log_scalars` send media to every logger of a Trainer in its own
format: ``wandb.Audio``/``wandb.Image`` for W&B, ``add_audio``/``add_figure`` for TensorBoard,
and ``.wav``/``.png`` files under ``<log_dir>/media/`` for CSV.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import numpy as np

try:
    from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger, WandbLogger
except ImportError as error:  # pragma: no cover
    raise ImportError("zoo.lightning needs PyTorch Lightning: pip install 'allpole-zoo[train]'") from error

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["LOGGER_KINDS", "make_logger", "resolve_wandb_mode", "log_audio", "log_figure", "log_scalars", "figure_to_array"]

#: Accepted values of ``kind`` in `make_logger` (and of ``zoo train --logger``).
LOGGER_KINDS: tuple[str, ...] = ("auto", "wandb", "csv", "tensorboard", "none")


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def resolve_wandb_mode(online: bool | None = None) -> str:
    """Decide the W&B mode and export it as ``WANDB_MODE``.

    Args:
        online: True forces ``"online"``; False forces ``"offline"``; None (default) keeps a
            user-set ``WANDB_MODE`` and otherwise chooses ``"offline"``.

    Returns:
        ``"online"``, ``"offline"`` or ``"disabled"``.
    """
    if online is True:
        mode = "online"
    elif online is False:
        mode = "offline"
    else:
        mode = os.environ.get("WANDB_MODE", "").strip().lower() or "offline"
        if mode in ("run", "dryrun"):  # wandb's legacy spellings
            mode = "online" if mode == "run" else "offline"
        if mode not in ("online", "offline", "disabled"):
            raise ValueError(f"Unexpected value for `WANDB_MODE`: expected online, offline or disabled, found {mode!r}")
    os.environ["WANDB_MODE"] = mode
    return mode


def make_logger(
    kind: str = "auto",
    save_dir: str | os.PathLike = "runs",
    *,
    name: str | None = None,
    project: str = "zoo",
    online: bool | None = None,
    version: str | None = None,
) -> Logger | list[Logger] | None:
    """Build the Trainer logger(s).

    Args:
        kind: one of `LOGGER_KINDS`. Default ``"auto"``.
        save_dir: root folder; W&B writes to ``<save_dir>/wandb``, CSV/TensorBoard to
            ``<save_dir>/<name>/version_<n>``. Default ``"runs"``.
        name: run name (W&B) / experiment folder (CSV, TensorBoard). Default None (``"zoo"``).
        project: W&B project. Default ``"zoo"``.
        online: W&B mode, see `resolve_wandb_mode`. Default None (offline unless WANDB_MODE=online).
        version: W&B run id / CSV version. Default None (new).

    Returns:
        A logger, a list of loggers, or None for ``"none"``.

    Raises:
        ValueError: unknown ``kind``.
        ImportError: ``kind="wandb"`` without wandb installed.
    """
    if kind not in LOGGER_KINDS:
        raise ValueError(f"Unexpected value for `logger`: expected one of {LOGGER_KINDS}, found {kind!r}")
    if kind == "none":
        return None
    if kind == "auto":
        kind = "wandb" if _installed("wandb") else "csv"
    save_dir = Path(save_dir)
    if kind == "wandb":
        if not _installed("wandb"):
            raise ImportError("`logger: wandb` needs wandb: pip install 'allpole-zoo[train]' (or choose `--logger csv`)")
        mode = resolve_wandb_mode(online)
        save_dir.mkdir(parents=True, exist_ok=True)
        return WandbLogger(
            name=name,
            save_dir=str(save_dir),
            project=project,
            id=version,
            offline=mode != "online",
            mode=mode,
        )
    if kind == "tensorboard":
        if not _installed("tensorboard") and not _installed("tensorboardX"):
            raise ImportError("`logger: tensorboard` needs tensorboard: pip install 'allpole-zoo[train]'")
        return TensorBoardLogger(str(save_dir), name=name or "zoo", version=version)
    loggers: list[Logger] = [CSVLogger(str(save_dir), name=name or "zoo", version=version)]
    if _installed("tensorboard") or _installed("tensorboardX"):
        loggers.append(TensorBoardLogger(str(save_dir), name=name or "zoo", version=loggers[0].version))
    return loggers if len(loggers) > 1 else loggers[0]


# --------------------------------------------------------------------------------------------------
# Media
# --------------------------------------------------------------------------------------------------


def _as_list(loggers: Logger | Iterable[Logger] | None) -> list[Logger]:
    if loggers is None:
        return []
    if isinstance(loggers, Logger):
        return [loggers]
    return list(loggers)


def _safe(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", key)


def _media_dir(logger: Logger) -> Path | None:
    log_dir = getattr(logger, "log_dir", None) or getattr(logger, "save_dir", None)
    if log_dir is None:
        return None
    path = Path(log_dir) / "media"
    path.mkdir(parents=True, exist_ok=True)
    return path


def figure_to_array(figure: "Figure") -> np.ndarray:
    """Render a matplotlib figure to an (H, W, 3) uint8 RGB array (Agg canvas, no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def log_audio(
    loggers: Logger | Iterable[Logger] | None,
    key: str,
    clips: Mapping[str, np.ndarray],
    sample_rate: int,
    step: int,
) -> None:
    """Log named audio clips (1-D float arrays in [-1, 1]) under ``key`` to every logger.

    W&B gets one ``wandb.Audio`` list (captions = the clip names), TensorBoard one ``add_audio``
    per clip, CSV a ``.wav`` file per clip in ``<log_dir>/media``.
    """
    clips = {name: np.clip(np.asarray(clip, dtype=np.float32).reshape(-1), -1.0, 1.0) for name, clip in clips.items()}
    for logger in _as_list(loggers):
        if isinstance(logger, WandbLogger):
            logger.log_audio(
                key=key,
                audios=list(clips.values()),
                step=step,
                sample_rate=[int(sample_rate)] * len(clips),
                caption=list(clips),
            )
        elif isinstance(logger, TensorBoardLogger):
            for name, clip in clips.items():
                logger.experiment.add_audio(f"{key}/{name}", clip[None], global_step=step, sample_rate=int(sample_rate))
        elif isinstance(logger, CSVLogger):
            folder = _media_dir(logger)
            if folder is None:
                continue
            import soundfile

            for name, clip in clips.items():
                soundfile.write(str(folder / f"{_safe(key)}_{_safe(name)}_step{step}.wav"), clip, int(sample_rate))


def log_figure(loggers: Logger | Iterable[Logger] | None, key: str, figure: "Figure", step: int) -> None:
    """Log a matplotlib figure as an image (W&B ``wandb.Image``, TensorBoard ``add_figure``, CSV ``.png``)."""
    image = None
    for logger in _as_list(loggers):
        if isinstance(logger, WandbLogger):
            image = figure_to_array(figure) if image is None else image
            logger.log_image(key=key, images=[image], step=step)
        elif isinstance(logger, TensorBoardLogger):
            logger.experiment.add_figure(key, figure, global_step=step, close=False)
        elif isinstance(logger, CSVLogger):
            folder = _media_dir(logger)
            if folder is not None:
                figure.savefig(folder / f"{_safe(key)}_step{step}.png", dpi=80)


def log_scalars(loggers: Logger | Iterable[Logger] | None, metrics: Mapping[str, float], step: int) -> None:
    """Log plain scalars (e.g. learned parameters) to every logger."""
    metrics = {k: float(v) for k, v in metrics.items()}
    if not metrics:
        return
    for logger in _as_list(loggers):
        logger.log_metrics(metrics, step=step)
