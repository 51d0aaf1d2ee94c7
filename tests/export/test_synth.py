"""The synth's TorchScript export: a per-note renderer that runs without zoo and equals the effect."""

from __future__ import annotations

import json
import subprocess
import sys

import torch

from zoo import hub
from zoo.cli import main

SCRIPT = """
import json, sys, torch
model = torch.jit.load(sys.argv[1])
data = torch.load(sys.argv[2])
out = model(data["target"], data["f0_hz"], data["note_on_samples"])
torch.save(out, sys.argv[3])
print(json.dumps({"zoo": "zoo" in sys.modules, "rate": model.sample_rate, "n": model.note_samples}))
"""


def test_synth_torchscript_renders_notes_without_zoo(tmp_path, capsys) -> None:
    out = tmp_path / "synth.pt"
    assert main(["export", "synth-ladder303", "--format", "torchscript", "--out", str(out)]) == 0
    extra = {"metadata.json": ""}
    torch.jit.load(str(out), _extra_files=extra)
    meta = json.loads(extra["metadata.json"])
    n = meta["note_samples"]
    assert meta["effect"] == "synth" and n == 6000 and meta["sample_rate"] == 48000.0
    gen = torch.Generator().manual_seed(3)
    data = {"target": 0.1 * torch.randn(2, n, generator=gen), "f0_hz": torch.tensor([55.0, 146.8]),
            "note_on_samples": torch.tensor([1500, 5200])}
    torch.save(data, tmp_path / "in.pt")
    (tmp_path / "run.py").write_text(SCRIPT)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    run = subprocess.run([sys.executable, "-I", str(tmp_path / "run.py"), str(out), str(tmp_path / "in.pt"),
                          str(tmp_path / "y.pt")], cwd=outside, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    info = json.loads(run.stdout.strip().splitlines()[-1])
    assert info == {"zoo": False, "rate": 48000.0, "n": n}
    y = torch.load(tmp_path / "y.pt")
    effect = hub.from_pretrained("synth-ladder303").eval()
    with torch.no_grad():
        ref = effect(data["target"][:, None], data["f0_hz"], data["note_on_samples"])[:, 0]
    # the export runs the composed TD path on the torch backend; the effect its fused Numba voice (float32)
    assert y.shape == ref.shape and float((y - ref).abs().max() / ref.abs().max()) < 1e-3
