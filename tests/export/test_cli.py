"""``zoo export``: a user's mistake prints one line ``zoo export: ...`` and exits 2; success writes the file."""

from __future__ import annotations

import pytest
import torch

from zoo.cli import main


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("zoo export: ")
    return err[0]


def test_unknown_format(tmp_path, capsys):
    assert main(["export", "compressor-pedalboard", "--format", "tflite", "--out", str(tmp_path / "x")]) == 2
    assert "torchscript, onnx, neutone" in _error_line(capsys)


def test_existing_output_needs_force(tmp_path, capsys):
    out = tmp_path / "comp.pt"
    out.write_bytes(b"keep me")
    assert main(["export", "compressor-pedalboard", "--format", "torchscript", "--out", str(out)]) == 2
    assert "--force" in _error_line(capsys)
    assert out.read_bytes() == b"keep me"
    assert main(["export", "compressor-pedalboard", "--format", "torchscript", "--out", str(out), "--force"]) == 0
    model = torch.jit.load(str(out))
    assert model(torch.zeros(2, 64)).shape == (2, 64)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["comp.pt"]  # no temporary file left


@pytest.mark.parametrize("fmt", ["onnx", "neutone"])
def test_synth_is_refused_in_one_line_but_for_torchscript(tmp_path, capsys, fmt):
    assert main(["export", "synth-ladder303", "--format", fmt, "--out", str(tmp_path / "s.x")]) == 2
    line = _error_line(capsys)
    assert "no audio input" in line and fmt in line and "--format torchscript" in line
    assert not any(tmp_path.iterdir())


def test_unknown_checkpoint(tmp_path, capsys):
    assert main(["export", "no-such-effect", "--format", "onnx", "--out", str(tmp_path / "x.onnx")]) == 2
    assert "no-such-effect" in _error_line(capsys)


def test_onnx_writes_model_and_sidecar(tmp_path, capsys):
    out = tmp_path / "comp.onnx"
    assert main(["export", "compressor-pedalboard", "--format", "onnx", "--out", str(out), "--block-size", "128",
                 "--channels", "1"]) == 0
    assert out.is_file() and (tmp_path / "comp.onnx.json").is_file()
    assert "wrote" in capsys.readouterr().out
