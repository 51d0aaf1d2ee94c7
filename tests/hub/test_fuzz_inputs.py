"""Fuzz: random and mutated bytes as the audio file, config.json and model.safetensors always end in a
clear error (or a valid result), never a traceback. Seeded, so a failure reproduces.

`zoo apply` must return 0 or 2 (never raise); `from_pretrained` must succeed or raise ValueError /
FileNotFoundError / OSError with a message naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from zoo import hub
from zoo.cli import main

CASES = 100
RATE = 8000


def _mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One of: flip bytes, truncate, insert junk, duplicate a slice, pure random bytes."""
    kind = int(rng.integers(5))
    array = bytearray(data)
    if kind == 0 and array:
        for _ in range(int(rng.integers(1, 9))):
            array[int(rng.integers(len(array)))] = int(rng.integers(256))
        return bytes(array)
    if kind == 1:
        return bytes(array[: int(rng.integers(0, max(1, len(array))))])
    if kind == 2:
        at = int(rng.integers(0, len(array) + 1))
        return bytes(array[:at] + rng.bytes(int(rng.integers(1, 64))) + array[at:])
    if kind == 3 and len(array) > 4:
        a, b = sorted(int(v) for v in rng.integers(0, len(array), 2))
        return bytes(array[:b] + array[a:b] + array[b:])
    return rng.bytes(int(rng.integers(0, 512)))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from zoo.effects import Compressor

    return hub.save_pretrained(Compressor(sample_rate=RATE, threshold_db=-20.0), tmp_path_factory.mktemp("fuzz") / "ckpt")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "in.wav"
    audio = (0.3 * np.random.default_rng(0).standard_normal((800, 2))).astype(np.float32)
    sf.write(str(path), audio, RATE, subtype="FLOAT")
    return path


def _apply_status(capsys: pytest.CaptureFixture, effect: str, source: Path, out: Path) -> int:
    code = main(["apply", effect, str(source), str(out), "--no-progress", "--force"])
    err = capsys.readouterr().err
    assert code in (0, 2), err
    assert "Traceback" not in err
    if code == 2:
        lines = [line for line in err.splitlines() if line.strip() and "warning" not in line]
        assert len(lines) == 1 and lines[0].startswith("zoo apply: "), err
    return code


def test_fuzz_audio_file_for_zoo_apply(tmp_path: Path, clip: Path, capsys: pytest.CaptureFixture) -> None:
    rng = np.random.default_rng(1234)
    original = clip.read_bytes()
    outcomes = []
    for case in range(CASES):
        source = tmp_path / f"case{case}.wav"
        source.write_bytes(_mutate(original, rng))
        outcomes.append(_apply_status(capsys, "compressor", source, tmp_path / "out.wav"))
    assert outcomes.count(2) >= 10  # the fuzzer does reach the error paths


def _check_load(folder: Path) -> str:
    try:
        hub.from_pretrained(folder)
    except (ValueError, FileNotFoundError, OSError) as err:
        message = str(err)
        assert message and ("config.json" in message or "model.safetensors" in message), message
        return "error"
    return "ok"


@pytest.mark.parametrize("target", ["config.json", "model.safetensors"])
def test_fuzz_checkpoint_files_for_from_pretrained_and_apply(
    tmp_path: Path, checkpoint: Path, clip: Path, capsys: pytest.CaptureFixture, target: str
) -> None:
    import shutil

    rng = np.random.default_rng(99 if target == "config.json" else 100)
    original = (checkpoint / target).read_bytes()
    outcomes = {"ok": 0, "error": 0}
    for case in range(CASES):
        folder = tmp_path / f"c{case}"
        shutil.copytree(checkpoint, folder)
        if target == "config.json" and case % 2:
            # Structure-aware half: valid JSON with mutated values and keys.
            config = json.loads(original)
            key = list(config["init_args"])[int(rng.integers(len(config["init_args"])))]
            config["init_args"][key] = [None, "x", -1e308, float("inf"), [1], {"a": 1}, True, 0][int(rng.integers(8))]
            if rng.random() < 0.3:
                config["init_args"][f"{key}_typo"] = 1
            (folder / target).write_text(json.dumps(config))
        else:
            (folder / target).write_bytes(_mutate(original, rng))
        outcomes[_check_load(folder)] += 1
        _apply_status(capsys, str(folder), clip, tmp_path / "out.wav")
        shutil.rmtree(folder)
    assert outcomes["error"] >= 10
