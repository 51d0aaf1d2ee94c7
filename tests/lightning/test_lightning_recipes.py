"""Every shipped recipe parses (`--print_config`) and runs `fast_dev_run` on small synthetic audio.

Dataset recipes that expect real recordings get tiny generated files in the layout their data
module documents; the overrides (sample rate, lengths, paths) go in a second config file, as a user
would pass them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("lightning.pytorch")
pytest.importorskip("jsonargparse")
pytest.importorskip("pedalboard")

from zoo.lightning.cli import ZooCLI  # noqa: E402

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
# `zoo fit` recipes (a `fit:` section, see zoo.fit.recipe) are not LightningCLI configs; tests/fit covers them
ALL_RECIPES = sorted(str(p.relative_to(RECIPES)) for p in RECIPES.rglob("*.yaml") if "\nfit:" not in p.read_text())
EXPECTED = {
    "phaser/pedalboard.yaml",
    "phaser/small_stone.yaml",
    "phaser/paired_folder.yaml",
    "compressor/pedalboard.yaml",
    "compressor/digital.yaml",
    "compressor/signaltrain_la2a.yaml",
    "synth/ladder_303.yaml",
    "synth/tb303_midi.yaml",
    "finetune/phaser.yaml",
    "finetune/compressor.yaml",
    "finetune/synth.yaml",
}
SR = 8000


def test_recipe_list_is_complete():
    assert EXPECTED <= set(ALL_RECIPES)


@pytest.mark.parametrize("recipe", ALL_RECIPES)
def test_recipe_print_config(recipe, capsys):
    with pytest.raises(SystemExit) as info:
        ZooCLI(args=["fit", "-c", str(RECIPES / recipe), "--print_config"])
    assert info.value.code in (0, None)
    out = capsys.readouterr().out
    assert "model:" in out and "effect:" in out and "class_path: zoo.effects." in out
    assert "save_last: true" in out


def _write(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    import soundfile

    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), audio.astype(np.float32), sample_rate)


def _dry_wet(seconds: float, sample_rate: int = SR, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    dry = 0.3 * rng.standard_normal(int(seconds * sample_rate))
    wet = np.convolve(dry, [0.5, 0.3, 0.1])[: dry.size]
    return dry, wet


def _paired_folder(root: Path) -> Path:
    dry, wet = _dry_wet(2.0)
    _write(root / "dry" / "take.wav", dry, SR)
    _write(root / "wet" / "take.wav", wet, SR)
    return root


def _tb303_loop(root: Path) -> tuple[Path, Path]:
    from zoo.data.midi import write_midi_notes

    sample_rate, step = 48000, 0.125
    t = np.arange(int(10 * step * sample_rate)) / sample_rate
    audio = 0.3 * np.tanh(3 * np.sin(2 * np.pi * 110 * t))
    audio_path = root / "loop.wav"
    _write(audio_path, audio, sample_rate)
    notes = [(45 + (i % 5), i * step, i * step + 0.8 * step, 100) for i in range(9)]
    midi_path = write_midi_notes(root / "loop.mid", notes)
    return audio_path, Path(midi_path)


def _pretrained(effect_cls, kwargs: dict, folder: Path) -> Path:
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file(effect_cls(**kwargs).state_dict(), str(folder / "model.safetensors"))
    return folder


PHASER = {"sample_rate": SR, "hop": 80}
SMALL_SYNTH = {"encoder_width": 8, "encoder_layers": 1}


def _overrides(recipe: str, tmp: Path) -> dict:
    short = {"sample_rate": SR, "duration_s": 1.0}
    if recipe == "phaser/pedalboard.yaml":
        return {
            "model": {"effect": {"init_args": PHASER}},
            "data": {"init_args": {**short, "split_ranges_s": {"train": [0, 0.5], "val": [0, 0.75], "test": [0, 1]}}},
        }
    if recipe == "phaser/small_stone.yaml":
        dry, wet = _dry_wet(2.0)
        _write(tmp / "ss" / "dry.wav", dry, SR)
        _write(tmp / "ss" / "ss-a.wav", wet, SR)
        return {
            "model": {"effect": {"init_args": PHASER}},
            "data": {"init_args": {"root": str(tmp / "ss"), "chirp_end_s": 1.0, "train_duration_s": 0.5, "test_duration_s": 0.5}},
        }
    if recipe in ("phaser/paired_folder.yaml", "finetune/phaser.yaml"):
        out = {
            "model": {"effect": {"init_args": PHASER}},
            "data": {"init_args": {"root": str(_paired_folder(tmp / "paired")), "sample_rate": SR}},
        }
        if recipe.startswith("finetune"):  # weights of the recipe's own structure (the shipped checkpoint's)
            import yaml

            from zoo.effects.phasers import Phaser

            own = yaml.safe_load((RECIPES / recipe).read_text())["model"]["effect"]["init_args"]
            out["model"]["pretrained"] = str(_pretrained(Phaser, {**own, **PHASER}, tmp / "checkpoints" / "phaser"))
        return out
    if recipe == "pretrained/compressor-pedalboard.yaml":
        return {
            "model": {"effect": {"init_args": {"sample_rate": SR}}},
            "data": {"init_args": {**short, "split_ranges_s": {"train": [0, 0.8], "val": [0.8, 1.0], "test": [0.8, 1.0]}}},
        }
    if recipe == "pretrained/synth-ladder303.yaml":
        return {
            "model": {"effect": {"init_args": SMALL_SYNTH}},
            "data": {"init_args": {"num_notes": 5, "batch_size": 2}},
        }
    if recipe == "compressor/pedalboard.yaml":
        return {"model": {"effect": {"init_args": {"sample_rate": SR}}}, "data": {"init_args": short}}
    if recipe == "compressor/digital.yaml":
        return {
            "model": {"effect": {"init_args": {"sample_rate": SR}}, "target_effect": {"init_args": {"sample_rate": SR}}},
            "data": {"init_args": short},
        }
    if recipe == "compressor/signaltrain_la2a.yaml":
        dry, wet = _dry_wet(2.0)
        _write(tmp / "la2a" / "Val" / "input_148_.wav", dry, SR)
        _write(tmp / "la2a" / "Val" / "target_148_LA2A_2c__0__50.wav", wet, SR)
        return {
            "model": {"effect": {"init_args": {"sample_rate": SR}}},
            "data": {
                "init_args": {
                    "root": str(tmp / "la2a"),
                    "split_ranges_s": {"train": [0, 1.0], "val": [1.0, 1.5], "test": [1.0, 2.0]},
                }
            },
        }
    if recipe == "finetune/compressor.yaml":
        from zoo.effects.compressors import Compressor

        return {
            "model": {
                "effect": {"init_args": {"sample_rate": SR}},
                "pretrained": str(_pretrained(Compressor, {"sample_rate": SR}, tmp / "checkpoints" / "comp")),
            },
            "data": {"init_args": {"root": str(_paired_folder(tmp / "paired")), "sample_rate": SR, "segment_samples": 1000}},
        }
    if recipe == "synth/ladder_303.yaml":
        return {
            "model": {"effect": {"init_args": SMALL_SYNTH}},
            "data": {"init_args": {"num_notes": 5, "batch_size": 2}},
        }
    if recipe in ("synth/tb303_midi.yaml", "finetune/synth.yaml"):
        audio_path, midi_path = _tb303_loop(tmp / "303")
        out = {
            "model": {"effect": {"init_args": SMALL_SYNTH}},
            "data": {"init_args": {"audio_path": str(audio_path), "midi_path": str(midi_path), "batch_size": 2}},
        }
        if recipe.startswith("finetune"):
            from zoo.effects.synth import SynthModel

            kwargs = {"sample_rate": 48000, "filter_type": "lp", **SMALL_SYNTH}
            out["model"]["pretrained"] = str(_pretrained(SynthModel, kwargs, tmp / "checkpoints" / "synth"))
        return out
    raise AssertionError(f"no test overrides for new recipe {recipe}: add them here")


@pytest.mark.parametrize("recipe", ALL_RECIPES)
def test_recipe_fast_dev_run(recipe, tmp_path):
    overrides = _overrides(recipe, tmp_path)
    overrides.setdefault("trainer", {}).update(
        {"fast_dev_run": True, "accelerator": "cpu", "devices": 1, "default_root_dir": str(tmp_path / "run"),
         "enable_progress_bar": False}
    )
    overrides["logger"] = "csv"
    override_file = tmp_path / "override.yaml"
    override_file.write_text(json.dumps(overrides))  # JSON is YAML
    cli = ZooCLI(args=["fit", "-c", str(RECIPES / recipe), "-c", str(override_file)])
    assert cli.trainer.state.finished
    assert cli.trainer.global_step == 1
    assert np.isfinite(float(cli.trainer.callback_metrics["train/loss"]))
