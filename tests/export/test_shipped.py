"""The shipped checkpoints exported through `zoo export` equal `zoo apply` (the effect's own stream)
at the block sizes of docs/realtime.md, and the files run in a fresh interpreter without zoo."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch

from zoo import hub
from zoo.export import export_command

from _export_helpers import effect_stream, module_stream, relative_error, test_signal

SHIPPED = ["phaser-pedalboard", "compressor-pedalboard"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("exported")
    files = {}
    for name in SHIPPED:
        files[name] = folder / f"{name}.pt"
        export_command(name, "torchscript", files[name])
    return files


@pytest.mark.parametrize("name", SHIPPED)
def test_equals_zoo_apply_at_block_sizes(name, exported):
    torch.set_num_threads(1)
    effect = hub.from_pretrained(name)
    loaded = torch.jit.load(str(exported[name]))
    x = test_signal(effect.sample_rate, 3.0)
    for block in (64, 128, 512, 2048):
        ref = effect_stream(effect, x, block)
        assert relative_error(module_stream(loaded, x, block), ref) < 1e-4, block


@pytest.mark.parametrize("name", SHIPPED)
def test_equals_zoo_apply_over_30_seconds(name, exported):
    """The full-length check at 2048-sample blocks (all block sizes over 30 s: benchmarks/realtime.py)."""
    effect = hub.from_pretrained(name)
    loaded = torch.jit.load(str(exported[name]))
    x = test_signal(effect.sample_rate, 30.0, seed=3)
    assert relative_error(module_stream(loaded, x, 2048), effect_stream(effect, x, 2048)) < 1e-4


@pytest.mark.parametrize("name", SHIPPED)
def test_runs_in_a_fresh_interpreter_without_zoo(name, exported, tmp_path):
    effect = hub.from_pretrained(name)
    x = test_signal(effect.sample_rate, 0.5, seed=5)
    torch.save(x, tmp_path / "input.pt")
    torch.save(effect_stream(effect, x, 300).float(), tmp_path / "reference.pt")
    script = textwrap.dedent(f"""
        import sys, torch
        torch.set_num_threads(1)  # as a real-time host runs it (docs/realtime.md)
        model = torch.jit.load({str(exported[name])!r})
        x = torch.load("input.pt")
        ref = torch.load("reference.pt")
        out = torch.cat([model(x[:, i:i + 300]) for i in range(0, x.shape[1], 300)], 1)
        assert "zoo" not in sys.modules, "zoo was imported"
        assert out.dtype == torch.float32 and out.shape == x.shape
        err = float((out - ref).abs().max() / ref.abs().max())
        assert err < 1e-4, err
        print("ok", model.sample_rate, err)
    """)
    done = subprocess.run([sys.executable, "-I", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("ok")


def test_metadata_travels_in_the_file(exported):
    import json

    extra = {"metadata.json": ""}
    torch.jit.load(str(exported["compressor-pedalboard"]), _extra_files=extra)
    meta = json.loads(extra["metadata.json"])
    assert meta["effect"] == "compressor" and meta["sample_rate"] == 44100.0
    assert set(meta["controls"]) == {"threshold_db", "ratio", "release_coef", "makeup_gain_db"}
