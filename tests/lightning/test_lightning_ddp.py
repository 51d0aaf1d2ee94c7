"""Training runs unchanged under DDP: 2 CPU processes (gloo) through `python -m zoo.cli train`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pl = pytest.importorskip("lightning.pytorch")
if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
    pytest.skip("torch.distributed with gloo is needed", allow_module_level=True)

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DumpWeights(pl.Callback):
    """Each rank writes its final effect weights to <default_root_dir>/rank<r>.pt."""

    def on_fit_end(self, trainer, pl_module):
        path = Path(trainer.default_root_dir) / f"rank{trainer.global_rank}.pt"
        torch.save({k: v.detach().cpu() for k, v in pl_module.effect.state_dict().items()}, path)


@pytest.mark.slow
def test_ddp_two_cpu_processes(tmp_path):
    root = tmp_path / "run"
    config = {
        "trainer": {
            "accelerator": "cpu",
            "devices": 2,
            "strategy": {"class_path": "lightning.pytorch.strategies.DDPStrategy", "init_args": {"process_group_backend": "gloo"}},
            "max_steps": 3,
            "default_root_dir": str(root),
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "limit_val_batches": 1,
            "callbacks": [{"class_path": "test_lightning_ddp.DumpWeights"}],
        },
        "model": {
            "effect": {"class_path": "test_lightning_toy.ToyGainFilter", "init_args": {"sample_rate": 8000}},
            "optimizer": {"class_path": "torch.optim.Adam", "init_args": {"lr": 0.05}},
        },
        "data": {"class_path": "test_lightning_toy.ToyData", "init_args": {"items": 8, "num_samples": 512, "batch_size": 2, "shuffle": True}},
        "logger": "csv",
    }
    path = tmp_path / "ddp.yaml"
    path.write_text(json.dumps(config))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), str(REPO), env.get("PYTHONPATH", "")])
    env.update({"OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "PL_DISABLE_FORK": "1"})
    result = subprocess.run(
        [sys.executable, "-m", "zoo.cli", "train", "-c", str(path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    weights = [torch.load(root / f"rank{r}.pt") for r in (0, 1)]
    initial = {k: v.detach() for k, v in __import__("test_lightning_toy").ToyGainFilter().state_dict().items()}
    for name in weights[0]:
        assert torch.equal(weights[0][name], weights[1][name]), name  # DDP keeps ranks in sync
        assert not torch.equal(weights[0][name], initial[name])  # and it trained
    checkpoint = torch.load(root / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["global_step"] == 3
    for name, value in weights[0].items():
        assert torch.equal(checkpoint["state_dict"][f"effect.{name}"], value)
