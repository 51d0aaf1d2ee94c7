"""Callbacks: `LastCheckpoint` (``last.ckpt`` whenever training stops, and periodically), and
`MediaLogger` (audio, spectrograms, learned controls, learned parameters at validation end).

`LastCheckpoint` writes ``<dirpath>/last.ckpt``, atomically (a temporary file renamed into place, so
a kill during the write leaves the previous one intact):

- every ``every_n_steps`` optimiser steps or ``every_n_seconds`` of training, whichever comes first
  (SIGKILL cannot be caught, so this bounds what a kill loses);
- when training stops for any reason: ``max_steps`` (mid-epoch included), ``max_epochs``,
  ``max_time``, early stopping, and Ctrl-C (KeyboardInterrupt). Not after an error such as
  `NonFiniteLossError`: the state of a failed step is not worth resuming from. Nothing is written
  under ``fast_dev_run`` (as for Lightning's ``ModelCheckpoint``).

The checkpoint holds what an exact resume needs: weights, optimiser and scheduler, the loops'
progress, the RNG states (see `EffectModule.on_save_checkpoint`) and, for the zoo's data modules,
the training sampler's epoch and position (see `zoo.lightning.datamodules.ResumableLoader`).

`MediaLogger` keeps the first validation batch, runs the effect on it at the end of validation
(with the module's validation method) and logs, through `zoo.lightning.logging`:

- ``media/audio``: input (when there is one), target and prediction of the first items;
- ``media/spectrogram``: log-magnitude spectrograms of target and prediction (matplotlib PNG);
- ``media/controls``: each curve of ``effect.control_curves(batch)`` (the phaser's LFO, the
  compressor's gain curve, the synth's cutoff trajectory), one panel per curve;
- ``params/<name>``: ``effect.learned_parameters()`` as scalars.

Effects that do not implement ``control_curves`` or ``learned_parameters`` are skipped silently.
Only rank 0 logs; the sanity check is skipped.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any, Mapping, Optional

import numpy as np
import torch
from torch import Tensor

try:
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import Callback
except ImportError as error:  # pragma: no cover
    raise ImportError("zoo.lightning needs PyTorch Lightning: pip install 'allpole-zoo[train]'") from error

from .logging import log_audio, log_figure, log_scalars

__all__ = ["LastCheckpoint", "MediaLogger"]


class LastCheckpoint(Callback):
    """Write ``last.ckpt`` periodically and whenever training stops (see the module docstring).

    Args:
        dirpath: folder of ``last.ckpt``. Default None: ``<trainer.default_root_dir>/checkpoints``
            (`zoo.lightning.cli.ZooCLI` sets it to ``checkpoint.dirpath``).
        every_n_steps: save every this many optimiser steps; None or 0 turns it off. Default 100.
        every_n_seconds: save when this much time (s) has passed since the last save; None or 0
            turns it off. Default 60.
        filename: the file name. Default ``"last.ckpt"`` (what ``ckpt_path="last"`` finds).

    Raises:
        ValueError: a negative ``every_n_steps`` or ``every_n_seconds``, or a ``filename`` that
            does not end in ``.ckpt``.
    """

    def __init__(
        self,
        dirpath: Optional[str] = None,
        every_n_steps: Optional[int] = 100,
        every_n_seconds: Optional[float] = 60.0,
        filename: str = "last.ckpt",
    ) -> None:
        super().__init__()
        if every_n_steps is not None and (isinstance(every_n_steps, bool) or int(every_n_steps) != every_n_steps or every_n_steps < 0):
            raise ValueError(f"Unexpected value for `every_n_steps`: expected an integer >= 0 or None, found {every_n_steps!r}")
        if every_n_seconds is not None and not (math.isfinite(float(every_n_seconds)) and float(every_n_seconds) >= 0):
            raise ValueError(f"Unexpected value for `every_n_seconds`: expected a finite number >= 0 (s) or None, found {every_n_seconds!r}")
        if not str(filename).endswith(".ckpt") or os.sep in str(filename):
            raise ValueError(f"Unexpected value for `filename`: expected a file name ending in .ckpt, found {filename!r}")
        self.dirpath = None if dirpath is None else str(dirpath)
        self.every_n_steps = int(every_n_steps or 0)
        self.every_n_seconds = float(every_n_seconds or 0.0)
        self.filename = str(filename)
        self._saved_step: Optional[int] = None
        self._saved_time = time.monotonic()

    def path(self, trainer: "pl.Trainer") -> Path:
        """Where ``last.ckpt`` goes for this trainer."""
        folder = self.dirpath if self.dirpath is not None else os.path.join(trainer.default_root_dir, "checkpoints")
        return Path(folder) / self.filename

    @staticmethod
    def _active(trainer: "pl.Trainer") -> bool:
        # as ModelCheckpoint: nothing from fast_dev_run (a smoke test) or the sanity check
        return not trainer.fast_dev_run and not trainer.sanity_checking

    def save(self, trainer: "pl.Trainer") -> Path:
        """Write the checkpoint now (every rank must call it; rank 0 writes). Returns its path."""
        path = self.path(trainer)
        temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
        if trainer.is_global_zero:
            path.parent.mkdir(parents=True, exist_ok=True)
        trainer.save_checkpoint(temporary)
        if trainer.is_global_zero:
            os.replace(temporary, path)
        self._saved_step = trainer.global_step
        self._saved_time = time.monotonic()
        return path

    def on_train_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        self._saved_step = trainer.global_step  # a resumed run starts from a saved state
        self._saved_time = time.monotonic()

    def on_train_batch_end(
        self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if not self._active(trainer) or trainer.global_step == self._saved_step:
            return
        due = self.every_n_steps > 0 and trainer.global_step - (self._saved_step or 0) >= self.every_n_steps
        if not due and self.every_n_seconds > 0:
            due = time.monotonic() - self._saved_time >= self.every_n_seconds
            if trainer.world_size > 1:  # ranks must agree, or save_checkpoint's barrier hangs
                due = trainer.strategy.broadcast(due)
        if due:
            self.save(trainer)

    def on_train_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        # max_steps, max_epochs, max_time and early stopping all end here
        if self._active(trainer) and (trainer.global_step != self._saved_step or not self.path(trainer).exists()):
            self.save(trainer)

    def on_exception(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", exception: BaseException) -> None:
        if isinstance(exception, KeyboardInterrupt) and self._active(trainer) and trainer.global_step != self._saved_step:
            self.save(trainer)


def _slice_batch(batch: Mapping[str, Any], max_items: int) -> dict[str, Any]:
    size = batch["target"].shape[0]
    out = {}
    for key, value in batch.items():
        if isinstance(value, Tensor) and value.dim() > 0 and value.shape[0] == size:
            out[key] = value[:max_items].detach().cpu().clone()
        elif isinstance(value, Tensor):
            out[key] = value.detach().cpu().clone()
        else:
            out[key] = value
    return out


def _to(batch: Mapping[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: (v.to(device) if isinstance(v, Tensor) else v) for k, v in batch.items()}


def _spectrogram_db(x: np.ndarray, n_fft: int) -> np.ndarray:
    x = torch.as_tensor(x, dtype=torch.float32)
    n_fft = max(16, min(n_fft, 2 ** int(math.floor(math.log2(max(16, x.numel()))))))
    spec = torch.stft(x, n_fft, hop_length=n_fft // 4, window=torch.hann_window(n_fft), return_complex=True).abs()
    return (20 * torch.log10(spec + 1e-7)).numpy()


class MediaLogger(Callback):
    """Log audio, spectrograms, learned control curves and learned parameters at validation end.

    Args:
        every_n_epochs: log every n validation epochs (n >= 1). Default 1.
        max_items: how many items of the first validation batch to log. Default 2.
        max_seconds: clip length limit for audio and spectrograms (s). Default 5.0.
        n_fft: FFT size of the spectrograms. Default 1024.
        audio: log audio. Default True.
        spectrograms: log spectrogram images. Default True.
        controls: log ``control_curves`` plots. Default True.
        parameters: log ``learned_parameters`` scalars. Default True.

    Raises:
        ValueError: ``every_n_epochs`` or ``max_items`` below 1, or ``max_seconds`` <= 0.
    """

    def __init__(
        self,
        every_n_epochs: int = 1,
        max_items: int = 2,
        max_seconds: float = 5.0,
        n_fft: int = 1024,
        audio: bool = True,
        spectrograms: bool = True,
        controls: bool = True,
        parameters: bool = True,
    ) -> None:
        super().__init__()
        if every_n_epochs < 1:
            raise ValueError(f"Unexpected value for `every_n_epochs`: expected >= 1, found {every_n_epochs}")
        if max_items < 1:
            raise ValueError(f"Unexpected value for `max_items`: expected >= 1, found {max_items}")
        if max_seconds <= 0:
            raise ValueError(f"Unexpected value for `max_seconds`: expected > 0 (s), found {max_seconds}")
        self.every_n_epochs = int(every_n_epochs)
        self.max_items = int(max_items)
        self.max_seconds = float(max_seconds)
        self.n_fft = int(n_fft)
        self.audio = audio
        self.spectrograms = spectrograms
        self.controls = controls
        self.parameters = parameters
        self._batch: dict[str, Any] | None = None
        self._validations = 0

    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._batch = None

    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if self._batch is None and trainer.is_global_zero and not trainer.sanity_checking and isinstance(batch, Mapping):
            self._batch = _slice_batch(batch, self.max_items)

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero or self._batch is None:
            return
        self._validations += 1
        if (self._validations - 1) % self.every_n_epochs:
            return
        batch, self._batch = self._batch, None
        if not trainer.loggers:
            return
        self.log_batch(trainer, pl_module, batch)

    @torch.no_grad()
    def log_batch(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Mapping[str, Any]) -> None:
        """Run the effect on ``batch`` and log its media at the trainer's global step."""
        effect = pl_module.effect
        step = trainer.global_step
        device_batch = _to(batch, pl_module.device)
        if hasattr(pl_module, "prepare_batch"):
            device_batch = pl_module.prepare_batch(device_batch)
        method = getattr(pl_module, "val_method", None)
        was_training = pl_module.training
        pl_module.eval()
        try:
            if hasattr(pl_module, "use_method"):
                with pl_module.use_method(method):
                    prediction = effect.forward_batch(device_batch).float().cpu()
            else:
                prediction = effect.forward_batch(device_batch).float().cpu()
        finally:
            pl_module.train(was_training)
        sample_rate = int(round(getattr(effect, "sample_rate", 44100)))
        limit = int(self.max_seconds * sample_rate)
        target = device_batch["target"].float().cpu()
        source = batch.get("input")
        if self.audio:
            for i in range(target.shape[0]):
                clips = {}
                if isinstance(source, Tensor) and source.dim() == 3:
                    clips["input"] = source[i, 0, :limit].float().numpy()
                clips["target"] = target[i, 0, :limit].numpy()
                clips["prediction"] = prediction[i, 0, :limit].numpy()
                log_audio(trainer.loggers, f"media/audio_{i}", clips, sample_rate, step)
        if self.spectrograms:
            figure = self._spectrogram_figure(target[:, 0, :limit].numpy(), prediction[:, 0, :limit].numpy(), sample_rate)
            log_figure(trainer.loggers, "media/spectrogram", figure, step)
            _close(figure)
        if self.controls:
            curves = _call_optional(effect.control_curves, device_batch)
            if curves:
                figure = self._curves_figure(curves)
                log_figure(trainer.loggers, "media/controls", figure, step)
                _close(figure)
        if self.parameters:
            params = _call_optional(effect.learned_parameters)
            if params:
                scalars = {}
                for name, value in params.items():
                    try:
                        scalars[f"params/{name}"] = float(value)
                    except (TypeError, ValueError):
                        continue
                log_scalars(trainer.loggers, scalars, step)

    def _spectrogram_figure(self, target: np.ndarray, prediction: np.ndarray, sample_rate: int):
        from matplotlib.figure import Figure

        rows = target.shape[0]
        figure = Figure(figsize=(9, 2.6 * rows), layout="constrained")
        axes = figure.subplots(rows, 2, squeeze=False)
        for i in range(rows):
            for j, (title, x) in enumerate((("target", target[i]), ("prediction", prediction[i]))):
                spec = _spectrogram_db(x, self.n_fft)
                duration = x.shape[-1] / sample_rate
                axes[i, j].imshow(
                    spec,
                    origin="lower",
                    aspect="auto",
                    extent=(0.0, duration, 0.0, sample_rate / 2),
                    vmin=spec.max() - 90,
                    vmax=spec.max(),
                    cmap="magma",
                )
                axes[i, j].set_title(f"{title} [{i}]", fontsize=9)
                axes[i, j].set_xlabel("time (s)", fontsize=8)
                axes[i, j].set_ylabel("frequency (Hz)", fontsize=8)
        return figure

    @staticmethod
    def _curves_figure(curves: Mapping[str, tuple[Tensor, Tensor]]):
        from matplotlib.figure import Figure

        figure = Figure(figsize=(6, 2.4 * len(curves)), layout="constrained")
        axes = figure.subplots(len(curves), 1, squeeze=False)[:, 0]
        for ax, (name, (x, y)) in zip(axes, curves.items()):
            x = torch.as_tensor(x).detach().float().cpu().reshape(-1).numpy()
            y = torch.as_tensor(y).detach().float().cpu().reshape(-1).numpy()
            ax.plot(x, y, linewidth=1.2)
            ax.set_title(name, fontsize=9)
            ax.grid(alpha=0.3)
        return figure


def _call_optional(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except NotImplementedError:
        return None


def _close(figure: Any) -> None:
    figure.clear()
