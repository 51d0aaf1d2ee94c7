"""The fine-tune recipes as shipped: the README's command, with nothing overridden but the run length.

The README tells a user to run ``zoo train -c recipes/finetune/<effect>.yaml --data.init_args.root
my_dry_wet_folder`` on their own recordings. These tests do exactly that in a subprocess (the
installed ``zoo`` entry point), on a 20 s generated pair rendered by pedalboard, adding only
``--trainer.max_steps`` (time), ``--logger csv`` (no W&B files) and the run folder. Then the run is
exported with ``zoo export-checkpoint`` and applied with ``zoo apply``: the whole user loop.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("lightning.pytorch")
pytest.importorskip("pedalboard")

from zoo import hub  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
FINETUNE = sorted((REPO / "recipes" / "finetune").glob("*.yaml"))
ZOO = [sys.executable, "-m", "zoo.cli"]


@pytest.mark.parametrize("recipe", FINETUNE, ids=lambda p: p.name)
def test_recipe_names_a_shipped_checkpoint_and_matches_its_config(recipe: Path) -> None:
    config = yaml.safe_load(recipe.read_text())
    name = config["model"]["pretrained"]
    shipped = hub.list_checkpoints()
    assert name in shipped, f"{recipe.name} names {name!r}, not a shipped checkpoint ({sorted(shipped)})"
    saved = shipped[name]["init_args"]
    for key, value in config["model"]["effect"]["init_args"].items():
        assert key in saved, key
        expected = saved[key]
        assert (list(value) if isinstance(value, (list, tuple)) else value) == expected, (recipe.name, key)
    data_rate = config["data"]["init_args"].get("sample_rate")
    assert data_rate in (None, saved["sample_rate"]), "data and checkpoint sample rates differ"


def test_readme_names_the_commands_tested_here() -> None:
    readme = (REPO / "README.md").read_text()
    commands = re.findall(r"zoo train -c recipes/finetune/(\w+)\.yaml --data\.init_args\.root (\S+)", readme)
    assert ("compressor", "my_dry_wet_folder") in commands


def _pair(folder: Path, effect: dict, sample_rate: int, seconds: float = 20.0) -> None:
    import soundfile as sf

    from zoo.data.generate import drum_hits, plucked_phrase
    from zoo.data.render import RealEffect, render_effect

    dry = 0.6 * plucked_phrase(sample_rate, seconds, seed=3) + 0.3 * drum_hits(sample_rate, seconds, seed=4)
    dry = (0.8 * dry / np.abs(dry).max()).astype(np.float32)
    wet = render_effect(dry[None], sample_rate, RealEffect.from_config(effect))[0]
    (folder / "dry").mkdir(parents=True)
    (folder / "wet").mkdir(parents=True)
    sf.write(str(folder / "dry" / "take.wav"), dry, sample_rate)
    sf.write(str(folder / "wet" / "take.wav"), wet, sample_rate)


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.mark.slow
@pytest.mark.parametrize(
    ("effect", "render", "rate", "steps"),
    [
        ("compressor", {"kind": "compressor", "threshold_db": -30.0, "ratio": 6.0, "attack_ms": 3.0, "release_ms": 150.0}, 44100, 40),
        # a unit close to the shipped fit (fine-tuning adapts a model to a similar device)
        ("phaser", {"kind": "phaser", "rate_hz": 0.6, "depth": 0.7, "centre_frequency_hz": 900.0, "feedback": 0.2, "mix": 0.5}, 44100, 3),
    ],
)
def test_readme_finetune_command_then_export_and_apply(tmp_path: Path, effect: str, render: dict, rate: int, steps: int) -> None:
    import soundfile as sf

    _pair(tmp_path / "my_dry_wet_folder", render, rate)
    _run(ZOO + ["train", "-c", str(REPO / "recipes" / "finetune" / f"{effect}.yaml"),
                "--data.init_args.root", "my_dry_wet_folder",
                "--trainer.max_steps", str(steps), "--logger", "csv", "--trainer.default_root_dir", "run",
                "--trainer.enable_progress_bar", "false"], tmp_path)
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()
    _run(ZOO + ["export-checkpoint", "run", "--out", "my-effect"], tmp_path)
    card = (tmp_path / "my-effect" / "README.md").read_text()
    assert "zoo export-checkpoint run --out my-effect" in card and "Learned parameters" in card
    dry = str(tmp_path / "my_dry_wet_folder" / "dry" / "take.wav")
    _run(ZOO + ["apply", "my-effect", dry, "from_folder.wav", "--no-progress"], tmp_path)
    from zoo.cli import main  # the same command in-process (saves two interpreter starts)

    for source, out in (("run/checkpoints/last.ckpt", "from_ckpt.wav"), ("run", "from_run.wav")):
        assert main(["apply", str(tmp_path / source), dry, str(tmp_path / out), "--no-progress"]) == 0
    a = sf.read(str(tmp_path / "from_folder.wav"))[0]
    for other in ("from_ckpt.wav", "from_run.wav"):
        np.testing.assert_array_equal(a, sf.read(str(tmp_path / other))[0])
    wet = sf.read(str(tmp_path / "my_dry_wet_folder" / "wet" / "take.wav"))[0]
    esr = float(np.sum((a - wet) ** 2) / np.sum(wet**2))
    assert np.isfinite(esr) and esr < 1.0, esr  # a fine-tuned model, not noise


@pytest.mark.slow
def test_readme_synth_finetune_command(tmp_path: Path) -> None:
    """recipes/finetune/synth.yaml as shipped (its own model.pretrained), on a generated 303 loop + MIDI."""
    import soundfile as sf

    from zoo.data.midi import write_midi_notes

    sample_rate, step = 48000, 0.125
    t = np.arange(int(12 * step * sample_rate)) / sample_rate
    sf.write(str(tmp_path / "loop.wav"), (0.3 * np.tanh(3 * np.sin(2 * np.pi * 110 * t))).astype(np.float32), sample_rate)
    write_midi_notes(tmp_path / "loop.mid", [(45 + (i % 5), i * step, i * step + 0.8 * step, 100) for i in range(11)])
    _run(ZOO + ["train", "-c", str(REPO / "recipes" / "finetune" / "synth.yaml"),
                "--data.init_args.audio_path", "loop.wav", "--data.init_args.midi_path", "loop.mid",
                "--trainer.max_steps", "2", "--logger", "csv", "--trainer.default_root_dir", "run",
                "--trainer.enable_progress_bar", "false"], tmp_path)
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()
    _run(ZOO + ["export-checkpoint", "run", "--out", "my-synth"], tmp_path)
    assert hub.from_pretrained(tmp_path / "my-synth").sample_rate == 48000


def test_docs_and_recipes_name_only_existing_checkpoints() -> None:
    """Every `checkpoints/<name>` in the README, docs and recipes exists (the old fine-tune paths did not)."""
    files = [REPO / "README.md", *(REPO / "recipes").rglob("*.md"), *(REPO / "recipes").rglob("*.yaml"), *(REPO / "docs").rglob("*.md")]
    for file in files:
        for name in re.findall(r"checkpoints/([A-Za-z0-9_\-]+)", file.read_text()):
            if name in ("my-effect", "my-fx", "name", "last"):
                continue
            assert (REPO / "checkpoints" / name).is_dir(), f"{file.relative_to(REPO)} names checkpoints/{name}"
