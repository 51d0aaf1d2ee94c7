"""ONNX export: the stateless graph run by onnxruntime equals the effect's stream, block by block,
with the state carried by the caller; its state layout travels in the model and the sidecar."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from zoo.effects.compressors import Compressor
from zoo.effects.phasers import Phaser
from zoo.export.build import streaming_module
from zoo.export.formats import save_onnx

from _export_helpers import effect_stream, relative_error, test_signal


def _run(path, x: np.ndarray, block: int, state: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    outs = []
    for i in range(0, x.shape[1] - block + 1, block):
        out, state = session.run(None, {"block": x[:, i : i + block], "state": state})
        outs.append(out)
    return np.concatenate(outs, 1)


@pytest.mark.parametrize("effect", [
    Phaser(44100, lfo="sweep", num_stages=6, stage_form="tpt", feedback_delay=1, g2=0.5),
    Phaser(22050, num_stages=4, g2=0.7, lfo_rate_hz=3.0),
    Compressor(44100, threshold_db=-24.0, ratio=6.0, attack_ms=1.0, release_ms=80.0, knee_db=3.0),
    Compressor(44100, detector="peak", smoothing="level", threshold_db=-20.0, ratio=4.0),
], ids=["phaser-sweep-tpt", "phaser-paper", "compressor-paper", "compressor-peak-level"])
def test_onnx_equals_stream(effect, tmp_path):
    block = 500
    path = tmp_path / "model.onnx"
    meta = save_onnx(effect.eval(), path, source="test", block_size=block, channels=2)
    x = test_signal(effect.sample_rate, 0.5)
    x = x[:, : (x.shape[1] // block) * block]
    ref = effect_stream(effect, x, block)
    state = streaming_module(effect).initial_state(2).numpy()
    out = _run(path, x.numpy(), block, state)
    assert relative_error(torch.from_numpy(out).double(), ref) < 1e-4
    assert meta["state_size"] == state.shape[0] == sum(f["size"] for f in meta["state_layout"])
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert json.loads(props["zoo"])["state_layout"] == meta["state_layout"]
    assert json.loads((tmp_path / "model.onnx.json").read_text())["block_size"] == block


def test_feedback_compressor_runs_as_an_onnx_loop(tmp_path):
    """The feedback topology's per-sample loop is an ONNX Loop over the block: exact (and slow)."""
    effect = Compressor(44100, topology="feedback", detector="peak", smoothing="level", threshold_db=-20.0).eval()
    block = 256
    save_onnx(effect, tmp_path / "fb.onnx", source="test", block_size=block, channels=2)
    x = test_signal(44100, 0.25)
    x = x[:, : (x.shape[1] // block) * block]
    state = streaming_module(effect).initial_state(2).numpy()
    out = _run(tmp_path / "fb.onnx", x.numpy(), block, state)
    assert relative_error(torch.from_numpy(out).double(), effect_stream(effect, x, block)) < 1e-4
