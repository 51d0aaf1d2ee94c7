"""Tracking: W&B offline by default (run dir holds keys, audio, images), CSV fallback, the `zoo` command."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

pytest.importorskip("lightning.pytorch")

from zoo.cli import build_parser, main  # noqa: E402
from zoo.lightning.logging import make_logger, resolve_wandb_mode  # noqa: E402

TOY_CONFIG = {
    "trainer": {
        "max_epochs": 2,
        "accelerator": "cpu",
        "devices": 1,
        "enable_progress_bar": False,
        "log_every_n_steps": 1,
    },
    "model": {
        "effect": {"class_path": "test_lightning_toy.ToyGainFilter", "init_args": {"sample_rate": 8000}},
        "optimizer": {"class_path": "torch.optim.Adam", "init_args": {"lr": 0.02}},
    },
    "data": {"class_path": "test_lightning_toy.ToyData", "init_args": {"items": 4, "num_samples": 1024, "batch_size": 2}},
}


def _config(tmp_path: Path, **top) -> Path:
    config = json.loads(json.dumps(TOY_CONFIG))
    config["trainer"]["default_root_dir"] = str(tmp_path / "run")
    config.update(top)
    path = tmp_path / "toy.yaml"
    path.write_text(json.dumps(config))
    return path


def test_wandb_mode_is_offline_unless_asked(monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    assert resolve_wandb_mode() == "offline" and os.environ["WANDB_MODE"] == "offline"
    monkeypatch.setenv("WANDB_MODE", "online")
    assert resolve_wandb_mode() == "online"
    monkeypatch.setenv("WANDB_MODE", "online")
    assert resolve_wandb_mode(False) == "offline"
    monkeypatch.setenv("WANDB_MODE", "bogus")
    with pytest.raises(ValueError, match="WANDB_MODE"):
        resolve_wandb_mode()
    with pytest.raises(ValueError, match="`logger`"):
        make_logger("nope")


def test_wandb_offline_run_holds_keys_audio_images(tmp_path, monkeypatch):
    wandb = pytest.importorskip("wandb")
    from zoo.lightning.cli import train

    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DISABLE_GIT", "true")
    cli = train(["-c", str(_config(tmp_path))])
    wandb.finish()
    assert os.environ["WANDB_MODE"] in ("offline", "dryrun")
    runs = list((tmp_path / "run" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, list((tmp_path / "run").rglob("*"))[:20]
    run = runs[0]
    media = run / "files" / "media"
    assert list((media / "audio").rglob("*.wav")), "no audio logged"
    assert len(list((media / "images").rglob("*.png"))) >= 2, "no spectrogram/control images"
    keys = ("train/loss", "val/loss", "val/esr", "val/mrstft", "val/l1_pre", "media/audio_0",
            "media/spectrogram", "media/controls", "params/gain", "lr-Adam")
    # W&B's service process writes the .wandb log asynchronously: give it time on a loaded machine.
    deadline = time.monotonic() + 60
    while True:
        blob = b"".join(p.read_bytes() for p in run.glob("*.wandb"))
        if all(key.encode() in blob for key in keys) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    for key in keys:
        assert key.encode() in blob, key
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()
    assert cli.trainer.global_step == 4


def test_csv_logger_fallback_writes_metrics_and_media(tmp_path):
    from zoo.lightning.cli import train

    train(["-c", str(_config(tmp_path, logger="csv")), "--trainer.max_epochs", "1"])
    metrics = list((tmp_path / "run").rglob("metrics.csv"))
    assert metrics and "val/esr" in metrics[0].read_text()
    media = list((tmp_path / "run").rglob("media/*"))
    assert any(p.suffix == ".wav" for p in media) and any(p.suffix == ".png" for p in media)
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()


def test_auto_resume_continues_from_last(tmp_path):
    from zoo.lightning.cli import train

    config = str(_config(tmp_path, logger="none"))
    train(["-c", config, "--trainer.max_epochs", "1", "--auto_resume", "true"])  # no last.ckpt yet: fresh
    cli = train(["-c", config, "--trainer.max_epochs", "2", "--auto_resume", "true"])
    assert cli.trainer.global_step == 4  # 2 from the first run + 2 resumed, not 4 + 4


def test_zoo_command_dispatch(capsys):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    assert {"train", "list", "apply", "push", "demo"} <= set(sub.choices)
    assert main(["list"]) == 0
    assert "compressor" in capsys.readouterr().out
    assert main([]) == 1
    with pytest.raises(SystemExit) as info:
        main(["train", "--help"])
    assert info.value.code == 0
    assert "--trainer.max_steps" in capsys.readouterr().out
