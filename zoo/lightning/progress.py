"""`EpochProgress`: `zoo train`'s progress display, one line per epoch.

Our recipes fit one recording per epoch (one batch), so Lightning's bars (Rich or tqdm) draw one
new bar per step: thousands of lines in a log or a notebook. `EpochProgress` prints one plain line
when an epoch ends (at most one every ``min_interval_s`` seconds, and always the first, the last and
every epoch that ran validation), e.g.::

    epoch 120 | step 120/2000 | 6.1 step/s | train/loss 0.00712 | val/loss 0.00915 (best 0.00902) | ETA 5:08

Multi-batch epochs also get a line every ``min_interval_s`` seconds within the epoch, so a long epoch
shows it is alive. Lines go to stderr, so that stdout stays clean for ``--print_config``.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any, TextIO

from lightning.pytorch.callbacks.progress import ProgressBar

__all__ = ["EpochProgress"]


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "-"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class EpochProgress(ProgressBar):
    """One progress line per epoch (throttled), with the step, speed, losses and the ETA.

    Args:
        min_interval_s: the least time between two lines (s), >= 0. Default 2.0. The first epoch,
            the last one and epochs that ran validation always print.
        stream: where lines go. Default ``sys.stderr``.
    """

    def __init__(self, min_interval_s: float = 2.0, stream: TextIO | None = None) -> None:
        super().__init__()
        if not min_interval_s >= 0:
            raise ValueError(f"Unexpected value for min_interval_s: expected >= 0, found {min_interval_s}")
        self.min_interval_s = float(min_interval_s)
        self._stream = stream
        self._enabled = True
        self._start = 0.0
        self._start_step = 0
        self._last_line = -math.inf
        self._validated = False
        self._best_val = math.inf
        self.lines = 0
        self._epoch_lines = 0

    # ProgressBar's interface
    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def _print(self, text: str) -> None:
        if not self._enabled:
            return
        stream = self._stream or sys.stderr
        print(text, file=stream, flush=True)
        self.lines += 1
        self._last_line = time.monotonic()

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        self._start = time.monotonic()
        self._start_step = trainer.global_step
        self._last_line = time.monotonic()  # the first line comes at the first epoch's end

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking:
            return
        value = trainer.callback_metrics.get("val/loss")
        if value is not None and math.isfinite(float(value)):
            self._best_val = min(self._best_val, float(value))
        self._validated = True

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        total = self.total_train_batches
        if isinstance(total, (int, float)) and math.isfinite(total) and total > 1 and batch_idx + 1 < total:
            if time.monotonic() - self._last_line >= self.min_interval_s:
                self._print(self._line(trainer, pl_module, within=f" batch {batch_idx + 1}/{int(total)}"))

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        last = self._is_last_epoch(trainer)
        first = self._epoch_lines == 0
        if first or last or self._validated or time.monotonic() - self._last_line >= self.min_interval_s:
            self._print(self._line(trainer, pl_module))
            self._epoch_lines += 1
        self._validated = False

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        took = time.monotonic() - self._start
        self._print(f"done: {trainer.global_step} steps in {_clock(took)}"
                    + (f", best val/loss {self._best_val:.6g}" if math.isfinite(self._best_val) else ""))

    # the line
    @staticmethod
    def _is_last_epoch(trainer: Any) -> bool:
        max_steps = trainer.max_steps if trainer.max_steps and trainer.max_steps > 0 else None
        max_epochs = trainer.max_epochs if trainer.max_epochs is not None and trainer.max_epochs > 0 else None
        if max_steps is not None and trainer.global_step >= max_steps:
            return True
        return max_epochs is not None and trainer.current_epoch + 1 >= max_epochs

    def _line(self, trainer: Any, pl_module: Any, within: str = "") -> str:
        step = trainer.global_step
        elapsed = max(time.monotonic() - self._start, 1e-9)
        rate = (step - self._start_step) / elapsed
        max_steps = trainer.max_steps if trainer.max_steps and trainer.max_steps > 0 else None
        parts = [f"epoch {trainer.current_epoch}{within}", f"step {step}" + (f"/{max_steps}" if max_steps else "")]
        parts.append(f"{rate:.2f} step/s" if rate < 10 else f"{rate:.0f} step/s")
        metrics = trainer.callback_metrics
        for key in ("train/loss", "val/loss"):
            if key in metrics:
                text = f"{key} {float(metrics[key]):.6g}"
                if key == "val/loss" and math.isfinite(self._best_val):
                    text += f" (best {self._best_val:.6g})"
                parts.append(text)
        if max_steps and rate > 0:
            parts.append(f"ETA {_clock((max_steps - step) / rate)}")
        return " | ".join(parts)
