"""EffectModule: training lowers the loss, method switching, float64, NaN guard, checkpoints, resume."""

from __future__ import annotations

import functools
import math

import pytest
import torch

pl = pytest.importorskip("lightning.pytorch")

from test_lightning_toy import ToyData, ToyGainFilter  # noqa: E402

from zoo.lightning import EffectModule, NonFiniteLossError, effect_state_dict, load_effect_weights  # noqa: E402
from zoo.lightning.losses import CompositeLoss, ESRLoss, MRSTFTLoss  # noqa: E402


def _trainer(tmp_path, **kwargs) -> pl.Trainer:
    defaults = dict(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(tmp_path),
        num_sanity_val_steps=0,
    )
    defaults.update(kwargs)
    return pl.Trainer(**defaults)


def _fixed_loss(module: EffectModule, data: ToyData) -> float:
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    with torch.no_grad():
        return float(module.loss(module(batch), module.prepare_batch(batch)["target"]))


def test_short_fit_lowers_the_loss(tmp_path):
    torch.manual_seed(0)
    data = ToyData(items=8, num_samples=1024)
    module = EffectModule(ToyGainFilter(), optimizer=functools.partial(torch.optim.Adam, lr=0.05))
    before = _fixed_loss(module, data)
    _trainer(tmp_path, max_steps=30, enable_checkpointing=False, limit_val_batches=0).fit(module, data)
    after = _fixed_loss(module, data)
    assert after < 0.5 * before


def test_test_method_switches_and_restores(tmp_path):
    seen = []

    class Spy(ToyGainFilter):
        def forward_batch(self, batch):
            seen.append(self.method)
            return super().forward_batch(batch)

    module = EffectModule(Spy(), method="fs", val_method="td", test_method="td")
    data = ToyData(items=4, num_samples=512)
    trainer = _trainer(tmp_path, max_steps=1, enable_checkpointing=False)
    trainer.fit(module, data)
    assert "fs" in seen and "td" in seen
    seen.clear()
    trainer.test(module, data, verbose=False)
    assert set(seen) == {"td"}
    assert module.effect.method == "fs"  # back to the training method
    assert {"test/loss", "test/esr", "test/mrstft", "test/l1_pre"} <= set(trainer.callback_metrics)


def test_bad_method_names_the_argument():
    with pytest.raises(ValueError, match="`test_method`"):
        EffectModule(ToyGainFilter(), test_method="nope")


def test_double_converts_effect_and_batches(tmp_path):
    module = EffectModule(ToyGainFilter(), double=True, loss=CompositeLoss([ESRLoss(), MRSTFTLoss(fft_sizes=[256], hop_sizes=[64], win_lengths=[256])]))
    assert all(p.dtype == torch.float64 for p in module.effect.parameters())
    batch = {"input": torch.randn(2, 1, 512), "target": torch.randn(2, 1, 512)}
    assert module(batch).dtype == torch.float64
    _trainer(tmp_path, max_steps=2, enable_checkpointing=False, limit_val_batches=0).fit(module, ToyData(items=4, num_samples=512))
    assert all(torch.isfinite(p).all() for p in module.effect.parameters())


def test_loss_stays_out_of_effect_and_checkpoint_loads_into_bare_effect(tmp_path):
    loss = CompositeLoss([ESRLoss(), MRSTFTLoss(fft_sizes=[256], hop_sizes=[64], win_lengths=[256])], [1.0, 0.5])
    module = EffectModule(ToyGainFilter(), loss=loss, optimizer=functools.partial(torch.optim.Adam, lr=0.05))
    trainer = _trainer(tmp_path, max_steps=3, limit_val_batches=0)
    trainer.fit(module, ToyData(items=4, num_samples=512))
    keys = set(module.effect.state_dict())
    assert keys == {"log_gain", "pole_logit"}
    assert not any("loss" in k or "stft" in k.lower() for k in keys)
    ckpt_path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(ckpt_path)
    state = effect_state_dict(ckpt_path)
    bare = ToyGainFilter()
    bare.load_state_dict(state, strict=True)
    for name, value in module.effect.state_dict().items():
        assert torch.equal(bare.state_dict()[name], value)
    checkpoint = torch.load(ckpt_path, weights_only=False)
    assert checkpoint["zoo"]["effect_class"].endswith("ToyGainFilter")
    assert all(k.startswith("effect.") for k in checkpoint["state_dict"])


def test_pretrained_safetensors_directory(tmp_path):
    from safetensors.torch import save_file

    source = ToyGainFilter(gain=0.9, pole=0.6)
    folder = tmp_path / "checkpoints" / "toy"
    folder.mkdir(parents=True)
    save_file(source.state_dict(), str(folder / "model.safetensors"))
    module = EffectModule(ToyGainFilter(), pretrained=str(folder))
    assert torch.equal(module.effect.log_gain, source.log_gain)
    assert module.pretrained_path.endswith("model.safetensors")
    with pytest.raises(FileNotFoundError, match="`pretrained`"):
        load_effect_weights(ToyGainFilter(), tmp_path / "missing")


def test_target_effect_replaces_targets_and_is_not_saved():
    teacher = ToyGainFilter(gain=0.8, pole=0.7)
    module = EffectModule(ToyGainFilter(), target_effect=teacher)
    batch = {"input": torch.randn(2, 1, 256), "target": torch.zeros(2, 1, 256)}
    prepared = module.prepare_batch(batch)
    torch.testing.assert_close(prepared["target"], teacher.forward_batch(batch))
    assert all(k.startswith("effect.") for k in module.state_dict())
    assert sum(p.numel() for p in module.parameters()) == 2


class _Exploding(ToyGainFilter):
    """Returns NaN from the third training call on."""

    calls = 0

    def forward_batch(self, batch):
        out = super().forward_batch(batch)
        if self.training:
            type(self).calls += 1
            if type(self).calls >= 3:
                return out * math.nan
        return out


def test_non_finite_loss_stops_before_checkpointing(tmp_path):
    from lightning.pytorch.callbacks import ModelCheckpoint

    ckpt_dir = tmp_path / "ckpt"
    module = EffectModule(_Exploding())
    trainer = _trainer(
        tmp_path,
        max_steps=10,
        limit_val_batches=0,
        callbacks=[ModelCheckpoint(dirpath=ckpt_dir, save_last=True, every_n_train_steps=1)],
    )
    with pytest.raises(NonFiniteLossError, match="float64") as info:
        trainer.fit(module, ToyData(items=4, num_samples=256, batch_size=1))
    assert "learning rate" in str(info.value)
    saved = torch.load(ckpt_dir / "last.ckpt", weights_only=False)
    assert saved["global_step"] == 2  # the two good steps; nothing from the NaN step
    assert all(torch.isfinite(v).all() for v in effect_state_dict(saved).values())


@pytest.mark.parametrize("shuffle", [False, True])
def test_resume_from_last_matches_uninterrupted(tmp_path, shuffle):
    from lightning.pytorch.callbacks import ModelCheckpoint

    def run(folder, max_epochs, ckpt_path=None):
        pl.seed_everything(0)
        module = EffectModule(ToyGainFilter(), optimizer=functools.partial(torch.optim.Adam, lr=0.02))
        trainer = _trainer(
            folder,
            max_epochs=max_epochs,
            callbacks=[ModelCheckpoint(dirpath=folder / "ckpt", save_last=True)],
        )
        trainer.fit(module, ToyData(items=8, num_samples=256, batch_size=2, shuffle=shuffle), ckpt_path=ckpt_path)
        return module.effect.state_dict(), trainer

    straight, _ = run(tmp_path / "a", 4)
    run(tmp_path / "b", 2)  # "killed" after two epochs
    resumed, trainer = run(tmp_path / "b", 4, ckpt_path="last")
    assert trainer.global_step == 16
    for name in straight:
        assert torch.equal(straight[name], resumed[name]), name


def test_resume_with_a_real_shuffled_datamodule_matches_uninterrupted(tmp_path):
    """The shipped data modules shuffle by (seed, epoch), so resuming reproduces the batch order."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    from zoo.effects.compressors import Compressor
    from zoo.lightning.datamodules import RenderedEffectDataModule

    def run(folder, max_epochs, ckpt_path=None):
        pl.seed_everything(0)
        module = EffectModule(
            Compressor(sample_rate=8000), optimizer=functools.partial(torch.optim.Adam, lr=0.05)
        )
        data = RenderedEffectDataModule(
            effect={"kind": "compressor", "threshold_db": -20.0, "ratio": 4.0, "attack_ms": 5.0, "release_ms": 50.0},
            material="music_mix", duration_s=2.0, sample_rate=8000, segment_samples=800, batch_size=2, shuffle=True,
        )
        trainer = _trainer(folder, max_epochs=max_epochs, callbacks=[ModelCheckpoint(dirpath=folder / "ckpt", save_last=True)])
        trainer.fit(module, data, ckpt_path=ckpt_path)
        return module.effect.state_dict(), trainer

    straight, _ = run(tmp_path / "a", 4)
    run(tmp_path / "b", 2)
    resumed, trainer = run(tmp_path / "b", 4, ckpt_path="last")
    assert trainer.global_step == 8 * 4  # 16 training segments of 800 samples / batch 2, 4 epochs
    for name in straight:
        assert torch.equal(straight[name], resumed[name]), name
