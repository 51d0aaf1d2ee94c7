"""LightningDataModules over :mod:`zoo.data`, with type-hinted signatures for LightningCLI.

Every module takes ``batch_size``, ``num_workers`` (default 0) and ``seed``, and builds its datasets
in :meth:`setup`. The training loader shuffles with a ``torch.Generator`` seeded from ``seed`` (and
seeds numpy and ``random`` in each worker), so the order of batches is the same on every run;
validation and test loaders never shuffle.

YAML example (LightningCLI)::

    data:
      class_path: zoo.lightning.datamodules.RenderedEffectDataModule
      init_args:
        effect: {kind: phaser, rate_hz: 0.6, depth: 0.8, feedback: 0.3}
        material: chirp_train
        duration_s: 30.0
        sample_rate: 44100
        segment_samples: 44100
        batch_size: 4

Modules:

- :class:`RenderedEffectDataModule`: generated material through a real pedalboard effect; needs
  no download (the default for recipes and tests).
- :class:`PairedFolderDataModule`: any folder of dry/wet recordings.
- :class:`SynthNotesDataModule`: TB-303-style notes, generated or cut from a loop with MIDI.
- :class:`SignalTrainLA2ADataModule`: the SignalTrain LA2A dataset, by path.
- :class:`SmallStoneDataModule`: the EHX Small Stone recordings, by path, with the paper's protocol.
"""

from __future__ import annotations

# `base` imports Lightning (with a helpful error without it), so it comes first.
from .base import _STAGE_SPLITS, _ZooDataModule  # noqa: F401 - private names stay importable from here
from .effects import (
    DEFAULT_EFFECT,
    PairedFolderDataModule,
    RenderedEffectDataModule,
    SignalTrainLA2ADataModule,
    SmallStoneDataModule,
)
from .loaders import EpochSeededSampler, ResumableLoader, _seed_worker  # noqa: F401
from .synth import SynthNotesDataModule

__all__ = [
    "DEFAULT_EFFECT",
    "EpochSeededSampler",
    "ResumableLoader",
    "PairedFolderDataModule",
    "RenderedEffectDataModule",
    "SynthNotesDataModule",
    "SignalTrainLA2ADataModule",
    "SmallStoneDataModule",
]
