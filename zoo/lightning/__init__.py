"""Training with PyTorch Lightning: `EffectModule`, losses, callbacks, loggers and the `zoo train` CLI.

This is the only package of the zoo that imports Lightning (``pip install 'allpole-zoo[train]'``).

- `EffectModule`: one LightningModule for every `zoo.effects.Effect` (TD/FS switch, float64,
  optimiser and scheduler from config, NaN/Inf guard).
- `zoo.lightning.losses`: ESR, DC, L1, multi-resolution STFT (auraloss), pre-emphasis, `CompositeLoss`.
- `MediaLogger`: audio, spectrograms and learned control curves at validation end.
- `make_logger`: W&B (offline by default), CSV and TensorBoard.
- `ZooCLI` / `train`: the LightningCLI behind ``zoo train -c recipes/<effect>/<dataset>.yaml``.
"""

from .callbacks import MediaLogger
from .logging import make_logger
from .losses import CompositeLoss, DCLoss, ESRLoss, L1Loss, MRSTFTLoss, PreEmphasis
from .module import EffectModule, NonFiniteLossError, effect_state_dict, load_effect_weights

__all__ = [
    "EffectModule",
    "NonFiniteLossError",
    "effect_state_dict",
    "load_effect_weights",
    "CompositeLoss",
    "DCLoss",
    "ESRLoss",
    "L1Loss",
    "MRSTFTLoss",
    "PreEmphasis",
    "MediaLogger",
    "make_logger",
    "ZooCLI",
    "train",
]


def __getattr__(name: str):
    # The CLI pulls in jsonargparse; import it only when asked for.
    if name in ("ZooCLI", "train"):
        from . import cli

        return getattr(cli, name)
    raise AttributeError(f"module 'zoo.lightning' has no attribute {name!r}")
