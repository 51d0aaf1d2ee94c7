"""The shipped checkpoints: they load (zoo.hub and torch.hub, offline) and reproduce their card's metric."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from zoo import hub
from zoo.pretrained import PRETRAINED, evaluate_checkpoint

REPO = Path(__file__).resolve().parents[2]
SHIPPED = [name for name in PRETRAINED if (hub.CHECKPOINTS_DIR / name / "config.json").is_file()]
HUB_ENTRY = {"phaser-pedalboard": "phaser", "compressor-pedalboard": "compressor", "synth-ladder303": "synth"}


def test_every_pretrained_checkpoint_is_shipped() -> None:
    assert SHIPPED == list(PRETRAINED)
    for name in SHIPPED:
        files = {p.name for p in (hub.CHECKPOINTS_DIR / name).iterdir()}
        assert {"config.json", "model.safetensors", "README.md"} <= files
        assert not any(f.endswith((".ckpt", ".pt", ".pth", ".bin", ".pkl")) for f in files)


@pytest.mark.parametrize("name", SHIPPED)
def test_checkpoint_reproduces_its_card_metrics(name: str) -> None:
    folder = hub.CHECKPOINTS_DIR / name
    card = json.loads((folder / "config.json").read_text())["card"]
    metrics = evaluate_checkpoint(folder)
    for key in ("esr", "mrstft"):
        assert metrics[key] == pytest.approx(card["test_metrics"][key], rel=2e-3, abs=1e-6), key
    assert (folder / "README.md").read_text().count(f"{card['test_metrics']['esr']:.6g}") >= 1


@pytest.mark.parametrize("name", SHIPPED)
def test_torch_hub_load_local(name: str) -> None:
    effect = torch.hub.load(str(REPO), HUB_ENTRY[name], source="local", trust_repo=True)
    reference = hub.from_pretrained(hub.CHECKPOINTS_DIR / name)
    for (key, p), (_, q) in zip(effect.state_dict().items(), reference.state_dict().items()):
        torch.testing.assert_close(p, q, rtol=0, atol=0, msg=key)
    untrained = torch.hub.load(str(REPO), HUB_ENTRY[name], source="local", pretrained=False, trust_repo=True)
    assert type(untrained) is type(effect)


def test_shipped_phaser_is_a_zoo_fit_at_44k_within_5_percent_on_unseen_audio() -> None:
    """Issue 15 item 8: built by `zoo fit` at 44.1 kHz; held-out ESR <= 5 % on a tail the fit never saw."""
    config = json.loads((hub.CHECKPOINTS_DIR / "phaser-pedalboard" / "config.json").read_text())
    card = config["card"]
    assert config["init_args"]["sample_rate"] == 44100
    assert card["command"] == "python -m zoo.pretrained build phaser-pedalboard"
    fit = card["fit"]
    assert fit["val_start_s"] < fit["fit_stop_s"] <= fit["duration_s"] * (1 - fit["holdout"]) + 1e-3
    assert fit["holdout"] >= 0.25 and card["test_metrics"]["esr"] <= 0.05
