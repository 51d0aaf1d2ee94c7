"""zoo.lightning.datamodules: batches of the right shapes, determinism, and YAML instantiation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("lightning")
pytest.importorskip("pedalboard")

import lightning.pytorch as pl  # noqa: E402

from zoo.data import generate as g  # noqa: E402
from zoo.data.audio_io import save_audio  # noqa: E402
from zoo.data.midi import write_midi_notes  # noqa: E402
from zoo.lightning.datamodules import (  # noqa: E402
    PairedFolderDataModule,
    RenderedEffectDataModule,
    SignalTrainLA2ADataModule,
    SmallStoneDataModule,
    SynthNotesDataModule,
)

RATE = 8000


def _batches(loader) -> list[dict]:
    return list(loader)


def _rendered(**kwargs) -> RenderedEffectDataModule:
    base = dict(duration_s=3.0, sample_rate=RATE, segment_samples=1000, batch_size=4)
    return RenderedEffectDataModule(**{**base, **kwargs})


def test_rendered_effect_datamodule_shapes_and_splits():
    dm = _rendered(effect={"kind": "compressor", "threshold_db": -24.0, "ratio": 4.0}, material="music_mix")
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["input"].shape == (4, 1, 1000) and batch["target"].shape == (4, 1, 1000)
    assert batch["input"].dtype == torch.float32
    assert len(dm.datasets["train"]) == 19 and len(dm.datasets["val"]) == 2
    dm.setup("test")
    assert len(dm.datasets["test"]) == 2
    assert dm.sample_rate == RATE
    assert not torch.equal(batch["input"], batch["target"])


def test_default_effect_is_a_phaser_and_bad_configs_fail_early():
    dm = _rendered()
    assert dm.effect.kind == "phaser"
    with pytest.raises(ValueError, match="'rate'"):
        _rendered(effect={"kind": "phaser", "rate": 1.0})


def test_training_order_is_deterministic_given_the_seed():
    def order(seed, workers=0):
        dm = _rendered(seed=seed, num_workers=workers)
        dm.setup("fit")
        return torch.cat([b["target"] for b in dm.train_dataloader()])

    first = order(0)
    torch.testing.assert_close(first, order(0), rtol=0, atol=0)
    torch.testing.assert_close(first, order(0, workers=1), rtol=0, atol=0)
    assert not torch.equal(first, order(1))
    # Validation never shuffles: it walks the val range in time order.
    dm = _rendered()
    dm.setup("fit")
    starts = [s for _, s, _ in dm.datasets["val"].segments]
    val = torch.cat([b["input"] for b in dm.val_dataloader()])
    ds = dm.datasets["val"]
    torch.testing.assert_close(val, torch.stack([ds[i]["input"] for i in range(len(ds))]))
    assert starts == sorted(starts)


def test_paired_folder_datamodule(tmp_path):
    for name in ("a", "b"):
        x = g.chirp_train(RATE, 1.0, seed=ord(name))
        save_audio(tmp_path / "dry" / f"{name}.wav", x, RATE)
        save_audio(tmp_path / "wet" / f"{name}.wav", 0.5 * x, RATE)
    dm = PairedFolderDataModule(str(tmp_path), segment_samples=800, batch_size=3, split_fractions=(0.8, 0.2, 0.0))
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["input"].shape == (3, 1, 800)
    torch.testing.assert_close(batch["target"], 0.5 * batch["input"], atol=1e-6, rtol=0)
    assert len(dm.datasets["train"]) == 16 and len(dm.datasets["val"]) == 4
    dm.setup("test")
    assert len(dm.datasets["test"]) == 0


def test_synth_notes_datamodule_generated():
    dm = SynthNotesDataModule(num_notes=10, sample_rate=16000, note_samples=1000, batch_size=4)
    dm.setup()
    batch = next(iter(dm.train_dataloader()))
    assert batch["target"].shape == (4, 1, 1000)
    assert batch["f0_hz"].shape == (4,) and batch["note_on_samples"].shape == (4,)
    assert batch["note_on_samples"].dtype == torch.int64
    assert [len(dm.datasets[s]) for s in ("train", "val", "test")] == [6, 2, 2]
    with pytest.raises(ValueError, match="`audio_path`/`midi_path`"):
        SynthNotesDataModule(audio_path="loop.wav")


def test_synth_notes_datamodule_from_a_loop(tmp_path):
    audio, events = g.bass_line(16000, 2.0, seed=1, tempo_bpm=120.0)
    wav = save_audio(tmp_path / "loop.wav", audio, 16000)
    mid = write_midi_notes(
        tmp_path / "loop.mid",
        [(e.midi_pitch, e.onset_samples / 16000, (e.onset_samples + e.length_samples) / 16000, 100) for e in events],
    )
    dm = SynthNotesDataModule(
        sample_rate=16000, note_samples=1500, audio_path=str(wav), midi_path=str(mid), batch_size=2
    )
    dm.setup()
    batch = next(iter(dm.train_dataloader()))
    assert batch["target"].shape == (2, 1, 1500) and batch["midi_pitch"].shape == (2,)


def test_signaltrain_datamodule(tmp_path):
    rng = np.random.default_rng(0)
    for subset, file_id in (("Train", 1), ("Val", 2), ("Test", 3)):
        save_audio(tmp_path / subset / f"input_{file_id}_.wav", rng.uniform(-0.5, 0.5, 4000), RATE)
        for peak in (25, 50):
            save_audio(tmp_path / subset / f"target_{file_id}_LA2A_3c__0__{peak}.wav", np.full(4000, peak / 100), RATE)
    dm = SignalTrainLA2ADataModule(str(tmp_path), peak_reduction=25, segment_samples=1000, batch_size=2)
    dm.setup()
    assert [len(dm.datasets[s]) for s in ("train", "val", "test")] == [4, 4, 4]
    batch = next(iter(dm.train_dataloader()))
    assert batch["input"].shape == (2, 1, 1000) and torch.allclose(batch["target"], torch.tensor(0.25))
    timed = SignalTrainLA2ADataModule(
        str(tmp_path),
        split_by="time",
        subsets=["Val"],
        segment_samples=None,
        split_ranges_s={"train": (0.0, 0.25), "test": (0.25, None)},
        batch_size=1,
    )
    timed.setup()
    assert timed.datasets["train"][0]["input"].shape == (1, 2000)
    assert len(timed.datasets["val"]) == 0 and timed.datasets["test"][0]["input"].shape == (1, 2000)


def test_small_stone_datamodule(tmp_path):
    rate = 1000
    x = g.chirp_then_pluck(rate, 75.0, seed=0, chirp_s=60.0)
    save_audio(tmp_path / "dry.wav", x, rate)
    save_audio(tmp_path / "ss-e.wav", 0.5 * x, rate)
    dm = SmallStoneDataModule(str(tmp_path), setting="ss-e")
    dm.setup()
    assert next(iter(dm.train_dataloader()))["input"].shape == (1, 1, 5 * rate)
    assert next(iter(dm.test_dataloader()))["target"].shape == (1, 1, 15 * rate)


def test_yaml_instantiation_through_jsonargparse(tmp_path):
    jsonargparse = pytest.importorskip("jsonargparse")
    parser = jsonargparse.ArgumentParser()
    parser.add_subclass_arguments(pl.LightningDataModule, "data")
    config = parser.parse_string(
        """
data:
  class_path: zoo.lightning.datamodules.RenderedEffectDataModule
  init_args:
    effect: {kind: ladder, mode: LPF24, cutoff_hz: 800.0, resonance: 0.4}
    material: bass_line
    material_kwargs: {waveform: square}
    duration_s: 2.0
    sample_rate: 8000
    segment_samples: 2000
    split_ranges_s: {train: [0.0, 1.5], val: [1.5, null], test: [1.5, null]}
    batch_size: 2
"""
    )
    instantiate = getattr(parser, "instantiate", None) or parser.instantiate_classes
    dm = instantiate(config).data
    assert isinstance(dm, RenderedEffectDataModule) and dm.effect.parameters["cutoff_hz"] == 800.0
    dm.setup("fit")
    assert len(dm.datasets["train"]) == 6 and len(dm.datasets["val"]) == 2
    assert dm.hparams["material"] == "bass_line"


class _Gain(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.gain = torch.nn.Parameter(torch.ones(()))

    def training_step(self, batch, batch_idx):
        return torch.mean((self.gain * batch["input"] - batch["target"]) ** 2)

    def validation_step(self, batch, batch_idx):
        self.log("val_loss", torch.mean((self.gain * batch["input"] - batch["target"]) ** 2))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_trainer_fast_dev_run(tmp_path):
    dm = _rendered(effect={"kind": "ladder", "cutoff_hz": 1000.0})
    trainer = pl.Trainer(
        fast_dev_run=2,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(_Gain(), datamodule=dm)
    assert trainer.state.finished
