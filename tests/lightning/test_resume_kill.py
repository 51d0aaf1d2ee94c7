"""Training survives a real SIGKILL: ``last.ckpt`` is written periodically (and whenever training
stops), and a run resumed from it logs the same losses, at the same steps, as an uninterrupted run.

The runs are real ``python -m zoo.lightning.cli fit`` subprocesses on tests/lightning/resume_toy.yaml
(the toy effect of test_lightning_toy.py on a rendered compressor, 16 steps per epoch, 40 steps).
The run to be killed pauses inside step 38 (`LastCheckpoint` saved step 35 before it, every 7
steps) and is killed there with SIGKILL, which no handler can catch.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pl = pytest.importorskip("lightning.pytorch")

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CONFIG = HERE / "resume_toy.yaml"


class PauseAtStep(pl.Callback):
    """Test helper: at the step named by $ZOO_TEST_PAUSE_AT_STEP, touch $ZOO_TEST_PAUSE_FILE and hang
    (so that the parent can SIGKILL the process at a known point). No-op without the variables."""

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        step = os.environ.get("ZOO_TEST_PAUSE_AT_STEP")
        if step is not None and trainer.global_step == int(step):
            Path(os.environ["ZOO_TEST_PAUSE_FILE"]).write_text(str(trainer.global_step))
            time.sleep(600)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOO_TEST_")}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(REPO), env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


def _command(root: Path, shuffle: bool, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "zoo.lightning.cli", "fit", "-c", str(CONFIG),
        "--trainer.default_root_dir", str(root),
        "--data.init_args.shuffle", str(shuffle).lower(),
        "--trainer.callbacks+=test_resume_kill.PauseAtStep",
        *extra,
    ]


def _losses(root: Path) -> dict[int, float]:
    """{step: train/loss} of the newest CSV log under ``root`` (a resumed run writes a new one)."""
    paths = sorted(root.rglob("metrics.csv"), key=lambda p: p.stat().st_mtime)
    assert paths, f"no metrics.csv under {root}"
    out: dict[int, float] = {}
    with open(paths[-1]) as f:
        for row in csv.DictReader(f):
            if row.get("train/loss"):
                step = int(row["step"])
                assert step not in out, f"step {step} logged twice"
                out[step] = float(row["train/loss"])
    return out


def _fit_in_process(root: Path, shuffle: bool, *extra: str) -> None:
    """The same run as `_command`'s, in this process (the CLI seeds everything itself)."""
    from zoo.lightning.cli import train

    argv = _command(root, shuffle, *extra)
    train(argv[argv.index("-c") :])


def _start_killable(root: Path, shuffle: bool, marker: Path) -> subprocess.Popen:
    return subprocess.Popen(
        _command(root, shuffle),
        env=_env(ZOO_TEST_PAUSE_AT_STEP="38", ZOO_TEST_PAUSE_FILE=str(marker)),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _kill_when_paused(process: subprocess.Popen, marker: Path) -> None:
    try:
        deadline = time.monotonic() + 240
        while not marker.exists():
            assert process.poll() is None, process.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "the run never reached the pause"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL


def test_resume_after_sigkill_reproduces_the_uninterrupted_run(tmp_path, monkeypatch):
    """Shuffled and in-order data. The two runs to be killed are subprocesses started together
    (the expensive part is their start-up); the reference and the resumed runs run in-process."""
    import torch

    monkeypatch.delenv("ZOO_TEST_PAUSE_AT_STEP", raising=False)
    modes = {"shuffle": True, "in-order": False}
    killed = {name: tmp_path / f"killed-{name}" for name in modes}
    markers = {name: tmp_path / f"paused-{name}" for name in modes}
    processes = {name: _start_killable(killed[name], shuffle, markers[name]) for name, shuffle in modes.items()}
    try:
        for name, shuffle in modes.items():
            straight = tmp_path / f"straight-{name}"
            _fit_in_process(straight, shuffle)
            reference = _losses(straight)
            assert sorted(reference) == list(range(40)), name  # one loss per step, steps 0 .. 39
            final = torch.load(straight / "checkpoints" / "last.ckpt", weights_only=False)
            assert final["global_step"] == 40  # max_steps stops mid-epoch (2.5 epochs): saved anyway

            # Killed inside step 38 (batch 5 of the third epoch): the periodic save at 35 is the last.
            _kill_when_paused(processes[name], markers[name])
            saved = torch.load(killed[name] / "checkpoints" / "last.ckpt", weights_only=False)
            assert saved["global_step"] == 35, name
            assert not list((killed[name] / "checkpoints").glob(".*tmp*"))  # no half-written file

            _fit_in_process(killed[name], shuffle, "--ckpt_path", "last")
            resumed = _losses(killed[name])
            assert sorted(resumed) == list(range(35, 40)), name  # logged from the saved step on
            for step in range(35, 40):
                assert resumed[step] == pytest.approx(reference[step], rel=1e-6), (name, step)
            final_resumed = torch.load(killed[name] / "checkpoints" / "last.ckpt", weights_only=False)
            assert final_resumed["global_step"] == 40
            for key, value in final["state_dict"].items():
                torch.testing.assert_close(final_resumed["state_dict"][key], value, rtol=1e-6, atol=0)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)


# ------------------------------------------------------------------ LastCheckpoint, in-process


def _toy_fit(tmp_path: Path, *callbacks, expect=None, **trainer_kwargs):
    import functools

    import torch
    from test_lightning_toy import ToyData, ToyGainFilter

    from zoo.lightning import EffectModule
    from zoo.lightning.callbacks import LastCheckpoint

    last = LastCheckpoint(dirpath=str(tmp_path / "ckpt"), every_n_steps=trainer_kwargs.pop("every_n_steps", 100),
                          every_n_seconds=trainer_kwargs.pop("every_n_seconds", 60.0))
    options = dict(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False, enable_model_summary=False,
                   default_root_dir=str(tmp_path), num_sanity_val_steps=0, enable_checkpointing=False)
    options.update(trainer_kwargs)
    trainer = pl.Trainer(callbacks=[last, *callbacks], **options)
    module = EffectModule(ToyGainFilter(), optimizer=functools.partial(torch.optim.Adam, lr=0.02))
    data = ToyData(items=16, num_samples=256, batch_size=2)
    if expect is None:
        trainer.fit(module, data)
    else:
        with pytest.raises(expect):
            trainer.fit(module, data)
    return trainer, tmp_path / "ckpt" / "last.ckpt"


def _saved_step(path: Path) -> int:
    import torch

    return int(torch.load(path, weights_only=False, map_location="cpu")["global_step"])


class _StopAt(pl.Callback):
    def __init__(self, step: int, how: str) -> None:
        self.step, self.how = step, how

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step == self.step:
            if self.how == "interrupt":
                raise KeyboardInterrupt
            if self.how == "error":
                raise RuntimeError("a bug")
            trainer.should_stop = True  # what EarlyStopping and max_time do


def test_last_checkpoint_at_max_steps_mid_epoch(tmp_path):
    trainer, path = _toy_fit(tmp_path, max_steps=5)  # 8 batches per epoch
    assert trainer.global_step == 5 and _saved_step(path) == 5


def test_last_checkpoint_on_early_stopping(tmp_path):
    from lightning.pytorch.callbacks import EarlyStopping

    # a loss that must fall by 10 per epoch: stops after the second epoch
    stop = EarlyStopping(monitor="train/loss", min_delta=10.0, patience=1, check_on_train_epoch_end=True)
    trainer, path = _toy_fit(tmp_path, stop, max_epochs=20, limit_val_batches=0)
    assert trainer.current_epoch < 20 and stop.stopped_epoch > 0
    assert _saved_step(path) == trainer.global_step == 16


def test_last_checkpoint_on_max_time(tmp_path):
    class Slow(pl.Callback):
        def on_train_batch_end(self, *args):
            time.sleep(0.3)

    trainer, path = _toy_fit(tmp_path, Slow(), max_time={"seconds": 1}, max_epochs=100, limit_val_batches=0)
    assert 0 < trainer.global_step < 8  # stopped by the clock, mid-epoch
    assert _saved_step(path) == trainer.global_step


def test_last_checkpoint_on_a_stop_request_and_on_ctrl_c(tmp_path):
    trainer, path = _toy_fit(tmp_path / "stop", _StopAt(3, "stop"), max_epochs=5, limit_val_batches=0)
    assert _saved_step(path) == trainer.global_step == 3
    # Lightning turns Ctrl-C into a graceful shutdown and exit code 1
    trainer, path = _toy_fit(tmp_path / "ctrl-c", _StopAt(3, "interrupt"), max_epochs=5, expect=SystemExit)
    assert _saved_step(path) == 3


def test_no_last_checkpoint_from_a_failed_step(tmp_path):
    trainer, path = _toy_fit(tmp_path, _StopAt(3, "error"), max_epochs=5, limit_val_batches=0, expect=RuntimeError)
    assert not path.exists()  # nothing periodic was due yet, and a crash is not a stop


def test_last_checkpoint_is_periodic_in_steps_and_in_time(tmp_path):
    class Spy(pl.Callback):  # after LastCheckpoint in the callback list: sees what it just wrote
        def __init__(self, path: Path) -> None:
            self.path, self.seen = path, {}

        def on_train_batch_end(self, trainer, *args):
            self.seen[trainer.global_step] = _saved_step(self.path) if self.path.exists() else None

    spy = Spy(tmp_path / "steps" / "ckpt" / "last.ckpt")
    _toy_fit(tmp_path / "steps", spy, max_steps=8, every_n_steps=3, every_n_seconds=None)
    assert spy.seen == {1: None, 2: None, 3: 3, 4: 3, 5: 3, 6: 6, 7: 6, 8: 6}

    class Slow(pl.Callback):
        def on_train_batch_end(self, *args):
            time.sleep(0.15)

    spy = Spy(tmp_path / "time" / "ckpt" / "last.ckpt")
    _toy_fit(tmp_path / "time", Slow(), spy, max_steps=4, every_n_steps=None, every_n_seconds=0.1)
    # the clock is checked at the end of each step: step 1 ends 0.15 s after the start, so every
    # step from the second one on finds 0.1 s passed since the previous save
    assert spy.seen[4] in (3, 4) and spy.seen[2] is not None


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"every_n_steps": -1}, "`every_n_steps`"),
        ({"every_n_steps": 2.5}, "`every_n_steps`"),
        ({"every_n_seconds": float("nan")}, "`every_n_seconds`"),
        ({"every_n_seconds": -1.0}, "`every_n_seconds`"),
        ({"filename": "last.pt"}, "`filename`"),
    ],
)
def test_last_checkpoint_arguments_are_checked(kwargs, match):
    from zoo.lightning.callbacks import LastCheckpoint

    with pytest.raises(ValueError, match=match):
        LastCheckpoint(**kwargs)
