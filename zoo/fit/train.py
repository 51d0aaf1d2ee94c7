"""The gradient phase of `zoo fit`: the recipes' machinery (`EffectModule`, auraloss's ESR, the CSV
logger, Lightning checkpoints), on `zoo.lightning.fit_data.PairDataModule`.

Stops at the time budget (Lightning's ``max_time``) or ``max_steps``; validates every
``val_every`` steps and keeps the best validation weights; ``last.ckpt`` (every ``val_every`` steps)
lets a killed fit resume at the step where it stopped.
"""

from __future__ import annotations

import functools
import math
import time
from datetime import timedelta
from pathlib import Path
from typing import Callable

import torch

__all__ = ["train"]


def _progress_callback(log: Callable[[str], None], deadline: float, every_s: float = 5.0):
    import lightning.pytorch as pl

    class Progress(pl.Callback):
        """One line every few seconds: phase, step, best validation loss, ETA."""

        def __init__(self) -> None:
            self.best = math.inf
            self.last = 0.0

        def on_validation_end(self, trainer, pl_module) -> None:
            value = trainer.callback_metrics.get("val/esr")
            if value is not None and not trainer.sanity_checking:
                self.best = min(self.best, float(value))

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            now = time.monotonic()
            if now - self.last >= every_s:
                self.last = now
                eta = max(0.0, deadline - now)
                best = f"{100 * self.best:.3f} %" if math.isfinite(self.best) else "-"
                loss = trainer.callback_metrics.get("train/loss")
                loss_text = f"{100 * float(loss):.3f} %" if loss is not None else "-"
                log(f"train: step {trainer.global_step}, train ESR {loss_text}, best val ESR {best}, "
                    f"ETA {int(eta // 60)}:{int(eta % 60):02d}")

    return Progress()


def train(effect, dry, wet, sample_rate: int, val_start: int, fit_stop: int, work_dir: Path, seconds: float,
          seed: int, log: Callable[[str], None], *, lr: float = 3e-3, max_steps: int | None = None,
          resume_ckpt: str | None = None, val_every: int = 10) -> dict:
    """Train ``effect`` in place; returns {"steps", "best_val_esr", "best_ckpt"}; loads the best weights."""
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    from ..lightning.fit_data import PairDataModule
    from ..lightning.losses import ESRLoss
    from ..lightning.module import EffectModule, effect_state_dict

    import logging
    import warnings

    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)  # no GPU/TPU banners among the progress lines
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    pl.seed_everything(seed, workers=True, verbose=False)
    work_dir = Path(work_dir)
    ckpt_dir = work_dir / "lightning"
    data = PairDataModule(dry, wet, sample_rate, val_start, fit_stop)
    # a short linear warm-up: Adam's first steps move every parameter by ~lr whatever its gradient,
    # which would throw a searched LFO off its phase
    warmup = functools.partial(torch.optim.lr_scheduler.LinearLR, start_factor=0.02, total_iters=25)
    module = EffectModule(effect, loss=ESRLoss(), optimizer=functools.partial(torch.optim.Adam, lr=lr),
                          lr_scheduler=warmup, lr_scheduler_interval="step")
    best_cb = ModelCheckpoint(dirpath=str(ckpt_dir), filename="best", monitor="val/loss", mode="min", save_top_k=1,
                              save_last=True, every_n_epochs=val_every)
    deadline = time.monotonic() + max(1.0, seconds)
    trainer = pl.Trainer(
        accelerator="cpu", devices=1, max_epochs=-1 if max_steps is None else max_steps,
        max_steps=-1 if max_steps is None else max_steps, max_time=timedelta(seconds=max(1.0, seconds)),
        check_val_every_n_epoch=val_every, num_sanity_val_steps=0, enable_progress_bar=False,
        enable_model_summary=False, logger=CSVLogger(str(work_dir), name="logs", version=0),
        callbacks=[best_cb, _progress_callback(log, deadline)], log_every_n_steps=1, deterministic=True,
    )
    trainer.fit(module, datamodule=data, ckpt_path=resume_ckpt)
    best_path = best_cb.best_model_path or ""
    if best_path and Path(best_path).is_file():
        effect.load_state_dict(effect_state_dict(best_path))
    best = float(best_cb.best_model_score) if best_cb.best_model_score is not None else math.nan
    return {"steps": int(trainer.global_step), "best_val_esr": best, "best_ckpt": best_path}
