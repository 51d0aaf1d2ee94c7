"""`ZooCLI`: the LightningCLI behind ``zoo train`` (and ``python -m zoo.lightning.cli``).

Usage::

    zoo train -c recipes/phaser/pedalboard.yaml                     # = fit
    zoo train -c recipes/phaser/pedalboard.yaml --print_config      # resolved config, no run
    zoo train -c recipes/phaser/pedalboard.yaml --trainer.max_steps 200 --model.double true
    zoo train -c recipes/phaser/pedalboard.yaml --ckpt_path last    # resume from last.ckpt
    zoo train -c recipes/phaser/pedalboard.yaml --last_checkpoint.every_n_steps 20  # save more often
    zoo train -c recipes/phaser/pedalboard.yaml --auto_resume true  # same; no-op on the first run
    zoo train -c recipes/phaser/pedalboard.yaml --logger csv        # no W&B
    zoo train -c recipes/phaser/pedalboard.yaml --wandb_online true # stream to W&B
    python -m zoo.lightning.cli test -c recipes/phaser/pedalboard.yaml --ckpt_path runs/.../last.ckpt

What it adds to LightningCLI:

- ``model`` is always `EffectModule` (``model.effect`` picks the effect by class path) and ``data``
  any ``LightningDataModule`` by class path.
- ``seed_everything`` defaults to 0; ``trainer.default_root_dir`` to ``runs/default``.
- ``checkpoint.*``: a ``ModelCheckpoint`` that is always present (the best/top-k checkpoints), with
  ``dirpath`` defaulting to ``<default_root_dir>/checkpoints``.
- ``last_checkpoint.*``: `LastCheckpoint`, which writes ``<checkpoint.dirpath>/last.ckpt`` (so
  ``--ckpt_path last`` finds it whatever the logger), atomically, every
  ``last_checkpoint.every_n_steps`` steps (default 100) or ``last_checkpoint.every_n_seconds``
  (default 60), and whenever training stops (max_steps, max_epochs, max_time, early stopping,
  Ctrl-C). ``checkpoint.save_last`` (default true) switches it on or off; the ``ModelCheckpoint``
  itself never writes ``last.ckpt``, so that two callbacks never write the same file. A run
  resumed with ``--ckpt_path last`` after a kill repeats the uninterrupted run from the saved step
  on: same batches (shuffled or not, with the zoo's data modules), same RNG states, same logged
  steps.
- Progress: `EpochProgress` (one line per epoch, throttled; `zoo.lightning.progress`) unless
  ``trainer.enable_progress_bar`` is false or a progress bar is configured in ``trainer.callbacks``.
- ``media.*``: the `MediaLogger` callback (audio, spectrograms, learned controls).
- ``logger`` (``auto``/``wandb``/``csv``/``tensorboard``/``none``), ``wandb_online``,
  ``wandb_project``, ``run_name``: the tracker, built by `zoo.lightning.logging.make_logger` into
  ``<default_root_dir>`` (W&B offline unless ``--wandb_online true`` or ``WANDB_MODE=online``).
  An explicit ``trainer.logger`` in the config wins. A ``LearningRateMonitor`` is added whenever
  there is a logger.
- ``auto_resume``: resume from ``last.ckpt`` when one exists (``ckpt_path: last``).

Early stopping is not on by default: the paper's phaser and compressor fit one recording for a
fixed number of iterations. Recipes with a held-out split (synth, fine-tuning) add
``lightning.pytorch.callbacks.EarlyStopping`` on ``val/loss`` under ``trainer.callbacks``.

The optimiser and LR scheduler are ``model.optimizer`` / ``model.lr_scheduler`` (class path + init
args), not LightningCLI's top-level ``optimizer:`` groups, so that configs and Python code build the
module the same way (see `zoo.lightning.module`).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any, Optional, Sequence

try:
    from lightning.pytorch import LightningDataModule, Trainer
    from lightning.pytorch.callbacks import Callback, LearningRateMonitor, ModelCheckpoint, ProgressBar
    from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
except ImportError as error:  # pragma: no cover
    raise ImportError("`zoo train` needs PyTorch Lightning and jsonargparse: pip install 'allpole-zoo[train]'") from error

from .callbacks import LastCheckpoint, MediaLogger
from .logging import LOGGER_KINDS, make_logger
from .progress import EpochProgress
from .module import EffectModule

__all__ = ["ZooCLI", "train", "main"]

DEFAULT_ROOT_DIR = "runs/default"


class ZooCLI(LightningCLI):
    """LightningCLI for `EffectModule` with the zoo's defaults (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("model_class", EffectModule)
        kwargs.setdefault("datamodule_class", LightningDataModule)
        kwargs.setdefault("subclass_mode_data", True)
        kwargs.setdefault("seed_everything_default", 0)
        kwargs.setdefault("auto_configure_optimizers", False)
        kwargs.setdefault("save_config_kwargs", {"overwrite": True})
        kwargs.setdefault("trainer_defaults", {"default_root_dir": DEFAULT_ROOT_DIR})
        self._fit_prog = kwargs.pop("fit_prog", None)
        super().__init__(*args, **kwargs)

    def _add_subcommands(self, parser: LightningArgumentParser, **kwargs: Any) -> None:
        super()._add_subcommands(parser, **kwargs)
        if self._fit_prog and "fit" in self._subcommand_parsers:
            # `zoo train` runs LightningCLI's `fit`: its usage lines and tips must name `zoo train`
            # (`zoo fit` is another command: fitting a recording with estimators).
            self._subcommand_parsers["fit"].prog = self._fit_prog

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.set_defaults({"checkpoint.save_last": True})
        parser.add_lightning_class_args(LastCheckpoint, "last_checkpoint")
        parser.add_lightning_class_args(MediaLogger, "media")
        parser.add_argument(
            "--logger",
            type=str,
            default="auto",
            help=f"Experiment tracker, one of {LOGGER_KINDS} (auto: wandb if installed, else CSV + TensorBoard). "
            "An explicit trainer.logger wins.",
        )
        parser.add_argument("--wandb_online", type=bool, default=False, help="Stream to W&B (default: offline run).")
        parser.add_argument("--wandb_project", type=str, default="zoo", help="W&B project name.")
        parser.add_argument("--run_name", type=Optional[str], default=None, help="Run name for the logger.")
        parser.add_argument(
            "--auto_resume",
            type=bool,
            default=False,
            help="Resume from <checkpoint.dirpath>/last.ckpt when it exists (same as --ckpt_path last).",
        )

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand] if self.subcommand else self.config
        if config.get("logger") not in LOGGER_KINDS:
            raise ValueError(f"Unexpected value for `logger`: expected one of {LOGGER_KINDS}, found {config.get('logger')!r}")
        root = config.trainer.default_root_dir or DEFAULT_ROOT_DIR
        config.trainer.default_root_dir = root
        if config.checkpoint.get("dirpath") is None:
            config.checkpoint.dirpath = str(Path(root) / "checkpoints")
        if config.last_checkpoint.get("dirpath") is None:
            config.last_checkpoint.dirpath = config.checkpoint.dirpath
        if config.get("auto_resume") and self.subcommand == "fit" and config.get("ckpt_path") is None:
            config.ckpt_path = "last"

    def _instantiate_trainer(self, config: dict[str, Any], callbacks: list[Callback]) -> Trainer:
        cli_config = self.config[self.subcommand] if self.subcommand else self.config
        logger = config.get("logger")
        if logger is None or logger is True:
            logger = make_logger(
                cli_config.get("logger", "auto"),
                config.get("default_root_dir") or DEFAULT_ROOT_DIR,
                name=cli_config.get("run_name"),
                project=cli_config.get("wandb_project", "zoo"),
                online=True if cli_config.get("wandb_online") else None,
            )
            config["logger"] = logger if logger is not None else False
        if config["logger"] not in (False, None) and not config.get("fast_dev_run"):
            present = config.get("callbacks") or []
            present = present if isinstance(present, list) else [present]
            if not any(isinstance(c, LearningRateMonitor) for c in present + callbacks):
                callbacks = [*callbacks, LearningRateMonitor(logging_interval="step")]
        # one plain line per epoch instead of Lightning's bar (one bar per one-batch epoch = per step)
        present = config.get("callbacks") or []
        present = present if isinstance(present, list) else [present]
        if config.get("enable_progress_bar", True) is not False and not any(
            isinstance(c, ProgressBar) for c in present + callbacks
        ):
            callbacks = [*callbacks, EpochProgress()]
        # last.ckpt is LastCheckpoint's, switched by checkpoint.save_last; a ModelCheckpoint that
        # saved it too would add last-v1.ckpt beside it (its version counter).
        save_last = bool(cli_config.checkpoint.get("save_last"))
        for callback in callbacks:
            if isinstance(callback, ModelCheckpoint):
                callback.save_last = False
        if not save_last:
            callbacks = [c for c in callbacks if not isinstance(c, LastCheckpoint)]
        return super()._instantiate_trainer(config, callbacks)


def train(argv: Sequence[str] | None = None) -> ZooCLI:
    """Run ``fit`` with `ZooCLI`: ``train(["-c", "recipes/phaser/pedalboard.yaml"])``.

    Args:
        argv: the arguments after ``zoo train`` (LightningCLI ``fit`` options). Default: none.

    Returns:
        The CLI object (``cli.trainer``, ``cli.model``, ``cli.datamodule``).
    """
    args = list(argv or [])
    with warnings.catch_warnings():
        # sys.argv still holds `zoo train ...` (the DDP launcher re-runs it), so LightningCLI warns
        # that both args and sys.argv are set; here that is intended.
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
        # Lightning logs every log_every_n_steps global steps across epochs; its warning that a
        # one-batch epoch is shorter than the interval does not apply to our one-recording recipes.
        warnings.filterwarnings("ignore", message="The number of training batches")
        return ZooCLI(args=["fit", *args], fit_prog="zoo train")


def main(argv: Sequence[str] | None = None) -> None:
    """Full LightningCLI with subcommands: ``python -m zoo.lightning.cli {fit,validate,test,predict} ...``."""
    ZooCLI(args=list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":  # pragma: no cover
    main()
