"""Checkpoint loading: every malformed config or weight is a ValueError naming the file and key;
`zoo list` survives a corrupt folder; the CLI reports a corrupt checkpoint in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from zoo import hub
from zoo.cli import main

RATE = 16000


def _saved(tmp_path: Path) -> Path:
    from zoo.effects import Compressor

    return hub.save_pretrained(Compressor(sample_rate=RATE, threshold_db=-20.0), tmp_path / "ckpt")


def _edit_config(folder: Path, edit) -> None:
    config = json.loads((folder / "config.json").read_text())
    edit(config)
    (folder / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda c: c["init_args"].update(treshold_db=-3.0), r"unknown key 'init_args.treshold_db'.*did you mean 'threshold_db'"),
        (lambda c: c["init_args"].update(colour="red"), r"unknown key 'init_args.colour'"),
        (lambda c: c["init_args"].update(ratio="four"), r"config.json"),
        (lambda c: c["init_args"].update(ratio=float("nan")), r"'init_args.ratio' is not finite"),
        (lambda c: c.update(effect="reverb"), r"key 'effect' is 'reverb'"),
        (lambda c: c.update(init_args=[1, 2]), r"'init_args' must be an object"),
        (lambda c: c.pop("effect"), r"expected keys 'effect' and 'init_args'"),
    ],
)
def test_malformed_config_names_file_and_key(tmp_path: Path, edit, expected: str) -> None:
    folder = _saved(tmp_path)
    _edit_config(folder, edit)
    with pytest.raises(ValueError, match=expected) as info:
        hub.from_pretrained(folder)
    assert "config.json" in str(info.value)


def test_weight_shape_mismatch_and_nan_weights(tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    folder = _saved(tmp_path)
    state = load_file(str(folder / "model.safetensors"))
    key = next(iter(state))
    save_file({**state, key: torch.zeros(3, 2)}, str(folder / "model.safetensors"))
    with pytest.raises(ValueError, match=rf"model.safetensors.*{key}.*shape \(3, 2\)"):
        hub.from_pretrained(folder)
    save_file({**state, key: torch.full_like(state[key], float("nan"))}, str(folder / "model.safetensors"))
    with pytest.raises(ValueError, match=rf"model.safetensors.*{key}.*NaN"):
        hub.from_pretrained(folder)


def test_cli_reports_a_corrupt_checkpoint_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = _saved(tmp_path)
    _edit_config(folder, lambda c: c["init_args"].update(bogus=1))
    sf.write(str(tmp_path / "in.wav"), np.zeros((1600, 1), np.float32), RATE)
    code = main(["apply", str(folder), str(tmp_path / "in.wav"), str(tmp_path / "o.wav")])
    err = capsys.readouterr().err
    assert code == 2 and "init_args.bogus" in err and len(err.strip().splitlines()) == 1


def test_list_survives_a_corrupt_folder(tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    good = _saved(tmp_path / "zoo")
    good.rename(tmp_path / "zoo" / "good-one")
    (tmp_path / "zoo" / "broken").mkdir()
    (tmp_path / "zoo" / "broken" / "config.json").write_text("{oops")
    monkeypatch.setenv("ZOO_CHECKPOINTS_DIR", str(tmp_path / "zoo"))
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "good-one" in out and "compressor" in out
    assert "broken" in out and "unusable" in out and "config.json" in out
    assert list(hub.list_checkpoints(errors="skip")) == ["good-one"]
    with pytest.raises(ValueError, match="broken"):
        hub.list_checkpoints()
