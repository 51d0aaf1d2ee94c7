"""A short fit with the real effects measurably lowers the loss (small, CPU, generated audio)."""

from __future__ import annotations

import functools

import pytest
import torch

pl = pytest.importorskip("lightning.pytorch")
pytest.importorskip("pedalboard")

from zoo.lightning import EffectModule  # noqa: E402
from zoo.lightning.datamodules import RenderedEffectDataModule, SynthNotesDataModule  # noqa: E402
from zoo.lightning.losses import ESRLoss, L1Loss, MRSTFTLoss  # noqa: E402


def _fit_and_compare(module: EffectModule, data: pl.LightningDataModule, steps: int, tmp_path) -> tuple[float, float]:
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))

    def loss() -> float:
        with torch.no_grad():
            return float(module.loss(module(batch), module.prepare_batch(batch)["target"]))

    before = loss()
    pl.seed_everything(0)
    trainer = pl.Trainer(
        accelerator="cpu",
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        gradient_clip_val=0.5,
        default_root_dir=str(tmp_path),
    )
    trainer.fit(module, data)
    return before, loss()


def test_phaser_fit_lowers_esr(tmp_path):
    from zoo.effects.phasers import Phaser

    sr = 8000
    data = RenderedEffectDataModule(
        effect={"kind": "phaser", "rate_hz": 1.0, "depth": 0.8, "centre_frequency_hz": 800.0, "feedback": 0.0, "mix": 0.5},
        material="chirp_train", duration_s=1.0, sample_rate=sr, segment_samples=None,
        split_ranges_s={"train": [0, 0.5], "val": [0, 0.75], "test": [0, 1]}, batch_size=1, shuffle=False,
    )
    module = EffectModule(
        Phaser(sr, hop=80), loss=ESRLoss(), double=True, optimizer=functools.partial(torch.optim.Adam, lr=1e-2)
    )
    before, after = _fit_and_compare(module, data, 25, tmp_path)
    assert after < 0.9 * before, (before, after)


def test_compressor_fit_lowers_loss_against_digital_target(tmp_path):
    from zoo.effects.compressors import Compressor

    sr = 8000
    data = RenderedEffectDataModule(
        effect={"kind": "compressor", "threshold_db": 0.0, "ratio": 1.0}, material="music_mix",
        duration_s=1.0, sample_rate=sr, segment_samples=None, batch_size=1, shuffle=False,
    )
    teacher = Compressor(sr, threshold_db=-20.0, ratio=3.0, attack_ms=1.0, release_ms=100.0, rms_coef=0.03)
    module = EffectModule(
        Compressor(sr), loss=L1Loss(pre_emphasis="compressor"), target_effect=teacher,
        optimizer=functools.partial(torch.optim.Adam, lr=5e-2),
    )
    before, after = _fit_and_compare(module, data, 25, tmp_path)
    assert after < 0.8 * before, (before, after)


def test_synth_fit_lowers_mrstft(tmp_path):
    from zoo.effects.synth import SynthModel

    data = SynthNotesDataModule(num_notes=5, batch_size=3, shuffle=False)
    module = EffectModule(
        SynthModel(48000, encoder_width=8, encoder_layers=1), loss=MRSTFTLoss(),
        optimizer=functools.partial(torch.optim.AdamW, lr=3e-3),
    )
    before, after = _fit_and_compare(module, data, 10, tmp_path)
    assert after < 0.95 * before, (before, after)
