"""Shipped checkpoints built by `zoo fit` (`zoo.fit.recipe`): the build runs, and its card's metrics are reproducible.

The build is run as `python -m zoo.pretrained build` runs it, on the shipped recipe, with only the
budget shrunk (a full build is 6 minutes); its held-out metrics are then recomputed from the folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("pedalboard")
pytest.importorskip("lightning.pytorch")

from zoo import hub  # noqa: E402
from zoo.fit.capture import capture_signal  # noqa: E402
from zoo.fit.recipe import PAIR_CLASS, is_fit_recipe, render_pair  # noqa: E402
from zoo.pretrained import build, evaluate_checkpoint, read_recipe, write_card  # noqa: E402


def test_the_phaser_recipe_is_a_fit_recipe_at_44k() -> None:
    recipe = read_recipe("phaser-pedalboard")
    assert is_fit_recipe(recipe) and recipe["fit"]["effect"] == "phaser"
    assert recipe["data"]["class_path"] == PAIR_CLASS and recipe["data"]["init_args"]["sample_rate"] == 44100
    assert not is_fit_recipe(read_recipe("compressor-pedalboard"))


def test_render_pair_is_deterministic_and_uses_the_capture_signal() -> None:
    spec = {"class_path": PAIR_CLASS, "init_args": {"effect": {"kind": "phaser", "rate_hz": 1.0}, "material": "capture",
                                                     "sample_rate": 8000}}
    dry, wet, rate = render_pair(spec)
    dry2, wet2, _ = render_pair(spec)
    assert rate == 8000 and (dry == capture_signal(8000)).all()
    assert (wet == wet2).all() and (dry == dry2).all() and not (wet == dry).all()


@pytest.mark.slow
def test_build_of_the_shipped_recipe_with_a_short_budget(tmp_path: Path) -> None:
    out = build("phaser-pedalboard", out_root=tmp_path, minutes=0.25, max_steps=2)
    assert out == tmp_path / "phaser-pedalboard"
    files = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "README.md", "fit.png"} <= files
    assert not any(name.startswith(".") or name.endswith((".ckpt", ".json.tmp")) for name in files)
    config = json.loads((out / "config.json").read_text())
    card = config["card"]
    assert config["init_args"]["sample_rate"] == 44100
    assert card["data"]["init_args"]["effect"]["kind"] == "phaser"
    assert card["fit"]["fit_stop_s"] == pytest.approx(0.75 * card["fit"]["duration_s"], abs=1e-3)
    assert card["command"] == "python -m zoo.pretrained build phaser-pedalboard"
    assert "dry" not in card["fit"]  # no temporary paths in the shipped config
    # the card's metrics come back from the folder alone, and the card shows them
    metrics = evaluate_checkpoint(out)
    for key in ("esr", "mrstft"):
        assert metrics[key] == pytest.approx(card["test_metrics"][key], rel=2e-3, abs=1e-7), key
    readme = (out / "README.md").read_text()
    assert f"| esr | {card['test_metrics']['esr']:.6g} |" in readme
    assert "python -m zoo.pretrained build phaser-pedalboard" in readme
    (out / "README.md").write_text("stale")
    write_card(out)
    assert (out / "README.md").read_text() == readme
    # the effect loads as every checkpoint does
    assert hub.effect_name(hub.from_pretrained(out)) == "phaser"
