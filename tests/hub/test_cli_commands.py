"""The `zoo` command: list, apply (block streaming, rates, channels), demo, push argument wiring."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from zoo import hub
from zoo.cli import main
from zoo.commands import apply_command

CHECKPOINT = "compressor-pedalboard"
needs_checkpoint = pytest.mark.skipif(
    not (hub.CHECKPOINTS_DIR / CHECKPOINT / "config.json").is_file(), reason="checkpoint not built"
)


def _write_clip(path: Path, rate: int, seconds: float = 1.5, channels: int = 2) -> np.ndarray:
    rng = np.random.default_rng(0)
    n = int(rate * seconds)
    env = np.repeat(rng.uniform(0.02, 0.9, size=(n // 2000 + 1, 1)), 2000, axis=0)[:n]
    audio = (rng.standard_normal((n, channels)) * 0.3 * env).astype(np.float32)
    sf.write(str(path), audio, rate, subtype="FLOAT" if path.suffix == ".wav" else None)
    return audio


def test_list_shows_effects_and_checkpoints(capsys: pytest.CaptureFixture) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in hub.EFFECTS:
        assert name in out
    for name in hub.list_checkpoints():
        assert name in out


@needs_checkpoint
def test_apply_streams_and_equals_one_pass(tmp_path: Path) -> None:
    clip = _write_clip(tmp_path / "in.wav", 44100)
    info = apply_command(CHECKPOINT, tmp_path / "in.wav", tmp_path / "out.wav", block_size=10007, progress=False)
    assert info["frames"] == len(clip) and info["channels"] == 2
    out, rate = sf.read(str(tmp_path / "out.wav"), dtype="float32", always_2d=True)
    assert rate == 44100 and out.shape == clip.shape
    effect = hub.from_pretrained(hub.CHECKPOINTS_DIR / CHECKPOINT)
    with torch.no_grad():
        one_pass = effect(torch.from_numpy(clip.T.copy())[None])[0].numpy().T
    np.testing.assert_allclose(out, one_pass, atol=2e-5, rtol=0)
    assert not np.allclose(out, clip)


@needs_checkpoint
def test_apply_refuses_or_resamples_other_rates(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _write_clip(tmp_path / "in.wav", 22050, seconds=1.0, channels=1)
    assert main(["apply", CHECKPOINT, str(tmp_path / "in.wav"), str(tmp_path / "out.wav"), "--no-progress"]) == 2
    assert "22050 Hz" in capsys.readouterr().err
    assert main(["apply", CHECKPOINT, str(tmp_path / "in.wav"), str(tmp_path / "out.wav"), "--resample", "--no-progress"]) == 0
    out, rate = sf.read(str(tmp_path / "out.wav"), always_2d=True)
    assert rate == 22050 and out.shape[1] == 1 and abs(out.shape[0] - 22050) <= 64


def test_apply_refuses_missing_file_and_non_streaming_effect(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["apply", "compressor", str(tmp_path / "nope.wav"), str(tmp_path / "o.wav")]) == 2
    assert "nope.wav" in capsys.readouterr().err
    _write_clip(tmp_path / "in.wav", 48000, seconds=0.2, channels=1)
    assert main(["apply", "synth", str(tmp_path / "in.wav"), str(tmp_path / "o.wav"), "--no-progress"]) == 2
    assert "block by block" in capsys.readouterr().err


def test_apply_untrained_effect_at_the_files_rate(tmp_path: Path) -> None:
    _write_clip(tmp_path / "in.flac", 16000, seconds=0.5, channels=2)
    assert main(["apply", "phaser", str(tmp_path / "in.flac"), str(tmp_path / "out.wav"), "--block-size", "3000", "--no-progress"]) == 0
    assert sf.info(str(tmp_path / "out.wav")).frames == 8000


@pytest.mark.skipif(len(hub.list_checkpoints()) < 3, reason="checkpoints not built")
def test_demo_writes_wavs_png_and_table(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["demo", "--out", str(tmp_path / "demo"), "--duration", "1.0"]) == 0
    out = capsys.readouterr().out
    assert "| checkpoint |" in out
    assert (tmp_path / "demo" / "demo.png").stat().st_size > 10_000
    for name in hub.list_checkpoints():
        assert (tmp_path / "demo" / f"{name}_model.wav").is_file()
