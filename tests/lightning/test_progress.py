"""`EpochProgress`: one-batch epochs print one line per epoch (not a bar per step), and `zoo train` uses it."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("lightning.pytorch")

import lightning.pytorch as pl  # noqa: E402

from zoo.lightning.module import EffectModule  # noqa: E402
from zoo.lightning.progress import EpochProgress  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from test_lightning_toy import ToyData, ToyGainFilter  # noqa: E402


def _fit(progress: EpochProgress, *, items: int, batch_size: int, max_steps: int, val_every: int, tmp_path) -> None:
    trainer = pl.Trainer(
        max_steps=max_steps, max_epochs=-1, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
        enable_model_summary=False, callbacks=[progress], check_val_every_n_epoch=val_every,
        num_sanity_val_steps=0, default_root_dir=str(tmp_path),
    )
    module = EffectModule(effect=ToyGainFilter())
    trainer.fit(module, datamodule=ToyData(items=items, num_samples=128, batch_size=batch_size))


def test_one_batch_epochs_print_one_line_per_epoch(tmp_path) -> None:
    stream = io.StringIO()
    _fit(EpochProgress(min_interval_s=0.0, stream=stream), items=2, batch_size=2, max_steps=12, val_every=4, tmp_path=tmp_path)
    lines = stream.getvalue().splitlines()
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert len(epochs) == 12, lines  # 12 one-batch epochs: one line each, no per-step bar
    assert [int(line.split()[1]) for line in epochs] == list(range(12))
    assert "step 12/12" in epochs[-1] and "ETA" in epochs[-1]
    assert "val/loss" in epochs[3] and "(best" in epochs[3]  # the 4th epoch validated
    assert lines[-1].startswith("done: 12 steps")


def test_lines_are_throttled_but_first_last_and_validated_epochs_print(tmp_path) -> None:
    stream = io.StringIO()
    _fit(EpochProgress(min_interval_s=3600.0, stream=stream), items=2, batch_size=2, max_steps=30, val_every=10,
         tmp_path=tmp_path)
    epochs = [int(line.split()[1]) for line in stream.getvalue().splitlines() if line.startswith("epoch ")]
    assert epochs == [0, 9, 19, 29]


def test_multi_batch_epochs_print_one_line_at_their_end(tmp_path) -> None:
    stream = io.StringIO()
    _fit(EpochProgress(min_interval_s=3600.0, stream=stream), items=8, batch_size=2, max_steps=12, val_every=100,
         tmp_path=tmp_path)
    epochs = [line for line in stream.getvalue().splitlines() if line.startswith("epoch ")]
    assert [line.split(" | ")[1] for line in epochs] == ["step 4/12", "step 12/12"]  # first and last epoch
    stream = io.StringIO()
    _fit(EpochProgress(min_interval_s=0.0, stream=stream), items=8, batch_size=2, max_steps=8, val_every=100,
         tmp_path=tmp_path)
    lines = [line.split(" | ")[0] for line in stream.getvalue().splitlines() if line.startswith("epoch ")]
    assert lines[:4] == ["epoch 0 batch 1/4", "epoch 0 batch 2/4", "epoch 0 batch 3/4", "epoch 0"]
    assert lines[-1] == "epoch 1" and all(line.startswith("epoch 1 batch ") for line in lines[4:-1])


def test_bad_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="min_interval_s"):
        EpochProgress(min_interval_s=-1)


def test_zoo_train_prints_epoch_lines_not_bars(tmp_path) -> None:
    """A shipped recipe, as a user runs it (only the steps shrunk): one line per epoch on stderr."""
    recipe = HERE.parents[1] / "recipes" / "compressor" / "pedalboard.yaml"
    pytest.importorskip("pedalboard")
    run = subprocess.run(
        [sys.executable, "-m", "zoo.cli", "train", "-c", str(recipe), "--trainer.max_steps", "6", "--logger", "csv",
         "--trainer.default_root_dir", str(tmp_path / "run"), "--data.init_args.duration_s", "2.0"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stderr.splitlines()
    assert any(line.startswith("epoch 0 | step 1/6") for line in lines), run.stderr[-2000:]
    assert any(line.startswith("epoch 5 | step 6/6") for line in lines)
    assert sum(line.startswith("epoch ") for line in lines) <= 6
    assert "━" not in run.stderr and "it/s" not in run.stderr  # no Rich/tqdm bar
    assert "smaller than the logging interval" not in run.stderr
