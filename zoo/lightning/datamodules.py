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

import random
from typing import Any, Literal, Optional, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

try:
    import lightning.pytorch as pl
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError("zoo.lightning.datamodules needs PyTorch Lightning: pip install 'allpole-zoo[train]'") from error

from zoo.data._checks import check_fractions, check_int, check_nan_policy, check_seed
from zoo.data.datasets import (
    PairedSegments,
    RenderedEffectDataset,
    SignalTrainLA2A,
    SmallStone,
    SynthNotesDataset,
    TB303Notes,
)

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

#: Effect rendered by :class:`RenderedEffectDataModule` when none is given: a slow phaser with
#: some feedback, in the range of the Small Stone settings.
DEFAULT_EFFECT: dict[str, Any] = {
    "kind": "phaser",
    "rate_hz": 0.6,
    "depth": 0.8,
    "centre_frequency_hz": 1000.0,
    "feedback": 0.3,
    "mix": 0.5,
}

_STAGE_SPLITS = {
    "fit": ("train", "val"),
    "validate": ("val",),
    "test": ("test",),
    "predict": ("test",),
    None: ("train", "val", "test"),
}


def _seed_worker(worker_id: int) -> None:
    """Seed numpy and ``random`` in a DataLoader worker from its torch seed (set by the loader)."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)



class EpochSeededSampler(torch.utils.data.Sampler[int]):
    """A random permutation per epoch, drawn from ``seed + epoch`` (``set_epoch``), not from a
    generator's running state: resuming at epoch k reproduces epoch k's order exactly. With
    ``shuffle=False`` the order is 0, 1, 2, ... in every epoch.

    To resume mid-epoch, `skip` drops the first items of the next iteration only (see
    `ResumableLoader`), so the batches that follow are exactly those of an uninterrupted run.

    Args:
        num_items: dataset length.
        seed: base seed.
        shuffle: permute (True) or keep the dataset order. Default True.
    """

    def __init__(self, num_items: int, seed: int, shuffle: bool = True) -> None:
        self.num_items = int(num_items)
        self.seed = int(seed)
        self.shuffle = bool(shuffle)
        self.epoch = 0
        self._skip = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def skip(self, epoch: int, items: int) -> None:
        """Make the next iteration epoch ``epoch``'s order without its first ``items`` items."""
        self.epoch = int(epoch)
        self._skip = int(items)

    def order(self, epoch: int) -> list[int]:
        """Epoch ``epoch``'s order of the dataset indices."""
        if not self.shuffle:
            return list(range(self.num_items))
        generator = torch.Generator()
        generator.manual_seed(self.seed * 1_000_003 + int(epoch))
        return torch.randperm(self.num_items, generator=generator).tolist()

    def __iter__(self):
        skip, self._skip = self._skip, 0
        return iter(self.order(self.epoch)[skip:])

    def __len__(self) -> int:
        return self.num_items


class ResumableLoader(DataLoader):
    """The training `DataLoader` of the zoo's data modules: its position survives a checkpoint.

    Lightning stores ``state_dict()`` in every checkpoint and calls ``load_state_dict`` before the
    first batch of a resumed run (loaders with this interface are "stateful" to Lightning). The
    state is the sampler's epoch and the number of batches of that epoch the training loop has
    consumed, read from the trainer's progress at save time; on resume the sampler skips those
    batches, so a run resumed after a kill sees exactly the batches, in the same order, that an
    uninterrupted run sees (shuffled or not). The worker seeds are drawn from ``(seed, epoch)`` too.

    Args:
        dataset: the training set.
        sampler: its `EpochSeededSampler`.
        seed: seed of the loader's generator (worker seeds), combined with the epoch.
        trainer_fn: a callable returning the attached Lightning trainer (or None).
        **kwargs: the other `DataLoader` arguments (``batch_size``, ``drop_last``, ...).
    """

    def __init__(self, dataset: Dataset, sampler: Any, seed: int, trainer_fn: Any, **kwargs: Any) -> None:
        super().__init__(dataset, sampler=sampler, **kwargs)
        # Lightning may rebuild the loader around a distributed wrapper of the sampler (DDP); the
        # mid-epoch position is then not restored (Lightning's own behaviour).
        self.epoch_sampler = sampler if isinstance(sampler, EpochSeededSampler) else None
        self.seed = int(seed)
        self.trainer_fn = trainer_fn

    def __iter__(self):
        if self.generator is not None and self.epoch_sampler is not None:
            self.generator.manual_seed(self.seed * 1_000_003 + self.epoch_sampler.epoch)
        return super().__iter__()

    def _consumed_batches(self) -> int:
        trainer = self.trainer_fn()
        if trainer is None:
            return 0
        progress = trainer.fit_loop.epoch_loop.batch_progress
        total, current = progress.total, progress.current
        consumed = current.completed
        # Saved from on_train_batch_end (periodic checkpoints): that batch has been stepped on but
        # not yet counted as completed; Lightning counts it on restore (see TrainingEpochLoop.
        # update_restart_stage), and so do we.
        if total.ready == total.started == total.processed == total.completed + 1:
            consumed += 1
        return int(consumed)

    def state_dict(self) -> dict[str, int]:
        """``{"epoch", "batches"}``: where the training loop is in the current epoch."""
        if self.epoch_sampler is None:
            return {}
        return {"epoch": int(self.epoch_sampler.epoch), "batches": self._consumed_batches()}

    def load_state_dict(self, state: dict[str, int]) -> None:
        if self.epoch_sampler is None or "epoch" not in state:
            return
        epoch, batches = int(state["epoch"]), int(state["batches"])
        if batches >= len(self):  # saved at the end of an epoch: the next one starts afresh
            epoch, batches = epoch + 1, 0
        self.epoch_sampler.skip(epoch, batches * int(self.batch_size))


class _ZooDataModule(pl.LightningDataModule):
    """Shared loader logic: subclasses implement ``_build(split) -> Dataset``."""

    def __init__(
        self,
        batch_size: int,
        num_workers: int,
        seed: int,
        shuffle: bool = True,
        drop_last: bool = False,
        pin_memory: bool = False,
    ) -> None:
        super().__init__()
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.num_workers = check_int(num_workers, "num_workers", minimum=0)
        self.seed = check_seed(seed)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.pin_memory = bool(pin_memory)
        self.datasets: dict[str, Dataset] = {}

    def _build(self, split: str) -> Dataset:  # pragma: no cover - abstract
        raise NotImplementedError

    def setup(self, stage: Optional[str] = None) -> None:
        """Build the datasets the stage needs (once; later calls reuse them).

        Args:
            stage: ``"fit"``, ``"validate"``, ``"test"``, ``"predict"`` or ``None`` (all splits).
        """
        for split in _STAGE_SPLITS.get(stage, ("train", "val", "test")):
            if split not in self.datasets:
                self.datasets[split] = self._build(split)

    def _dataset(self, split: str) -> Dataset:
        if split not in self.datasets:
            self.datasets[split] = self._build(split)
        return self.datasets[split]

    def _loader(self, split: str, shuffle: bool, drop_last: bool) -> DataLoader:
        seed = self.seed + {"train": 0, "val": 1, "test": 2}[split]
        generator = torch.Generator()
        generator.manual_seed(seed)
        dataset = self._dataset(split)
        # The shuffle order is a function of (seed, epoch) alone, so a run resumed from a checkpoint
        # sees the same batches as an uninterrupted one (Lightning calls `set_epoch` every epoch).
        options = dict(
            batch_size=self.batch_size,
            drop_last=drop_last,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            generator=generator,
            worker_init_fn=_seed_worker if self.num_workers > 0 else None,
            persistent_workers=self.num_workers > 0,
        )
        if split != "train":
            return DataLoader(dataset, **options)
        # The training loader is resumable mid-epoch, shuffled or not (see ResumableLoader).
        sampler = EpochSeededSampler(len(dataset), seed, shuffle=shuffle)
        return ResumableLoader(dataset, sampler, seed, trainer_fn=lambda: getattr(self, "trainer", None), **options)

    def train_dataloader(self) -> DataLoader:
        """Training batches, shuffled by a generator seeded with ``seed``."""
        return self._loader("train", self.shuffle, self.drop_last)

    def val_dataloader(self) -> DataLoader:
        """Validation batches, in order."""
        return self._loader("val", False, False)

    def test_dataloader(self) -> DataLoader:
        """Test batches, in order."""
        return self._loader("test", False, False)

    def predict_dataloader(self) -> DataLoader:
        """The test split, in order."""
        return self._loader("test", False, False)

    @property
    def sample_rate(self) -> int | None:
        """Sample rate (Hz) of the data, once known (after :meth:`setup` for file datasets)."""
        for ds in self.datasets.values():
            rate = getattr(ds, "sample_rate", None)
            if rate is not None:
                return int(rate)
        return getattr(self, "_sample_rate", None)


class PairedFolderDataModule(_ZooDataModule):
    """Dry/wet recordings from a folder, segmented and split by time.

    The folder holds ``dry/<name>.wav`` with ``wet/<name>.wav``, or ``<name>_dry.wav`` with
    ``<name>_wet.wav`` (see :func:`zoo.data.layouts.find_paired_files`). Each recording is split
    into contiguous train/val/test ranges (see :class:`zoo.data.datasets.PairedSegments`).

    Args:
        root: The folder.
        segment_samples: Segment length (samples); ``None`` makes each split range of each file one item. Default 44100.
        hop_samples: Distance between segment starts (samples). Default ``None``: ``segment_samples``.
        split_fractions: (train, val, test) fractions of each recording, in time order. Default (0.8, 0.1, 0.1).
        split_ranges_s: Explicit ``{split: [start_s, stop_s or null]}`` ranges instead of fractions. Default ``None``.
        sample_rate: Resample files to this rate (Hz). Default ``None``: the files' own rate.
        channels: Convert audio to this many channels. Default ``None``: keep.
        pad_last: Also yield the zero-padded last partial segment of each range. Default ``False``.
        preload: Load files into memory instead of reading segments on demand. Default ``False``.
        dry_dir: Sub-folder of dry files. Default ``"dry"``.
        wet_dir: Sub-folder of wet files. Default ``"wet"``.
        dry_suffix: Dry file suffix in the flat layout. Default ``"_dry"``.
        wet_suffix: Wet file suffix in the flat layout. Default ``"_wet"``.
        nan: A NaN or Inf sample in a file: ``"error"`` (a ``ValueError`` naming the file and the
            first frame) or ``"zero"`` (replaced by 0, with a warning). Default ``"error"``.
        batch_size: Batch size. Default 4.
        num_workers: DataLoader workers. Default 0.
        seed: Seed of the training order. Default 0.
        shuffle: Shuffle training segments. Default ``True``.
        drop_last: Drop the last incomplete training batch. Default ``False``.

    Shape:
        batch["input"]: ``(B, C, segment_samples)``; batch["target"]: ``(B, C', segment_samples)``.

    Warns:
        UserWarning: a silent wet file (peak at or below -90 dBFS) in the training data, named.
    """

    def __init__(
        self,
        root: str,
        segment_samples: Optional[int] = 44100,
        hop_samples: Optional[int] = None,
        split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
        split_ranges_s: Optional[dict[str, tuple[float, Optional[float]]]] = None,
        sample_rate: Optional[int] = None,
        channels: Optional[int] = None,
        pad_last: bool = False,
        preload: bool = False,
        dry_dir: str = "dry",
        wet_dir: str = "wet",
        dry_suffix: str = "_dry",
        wet_suffix: str = "_wet",
        nan: str = "error",
        batch_size: int = 4,
        num_workers: int = 0,
        seed: int = 0,
        shuffle: bool = True,
        drop_last: bool = False,
    ) -> None:
        super().__init__(batch_size, num_workers, seed, shuffle, drop_last)
        self.save_hyperparameters()
        self.root = str(root)
        self._kwargs = dict(
            segment_samples=segment_samples,
            hop_samples=hop_samples,
            split_fractions=check_fractions(split_fractions),
            split_ranges_s=split_ranges_s,
            sample_rate=sample_rate,
            channels=channels,
            pad_last=pad_last,
            preload=preload,
            dry_dir=dry_dir,
            wet_dir=wet_dir,
            dry_suffix=dry_suffix,
            wet_suffix=wet_suffix,
            nan=check_nan_policy(nan),
        )
        self._sample_rate = sample_rate

    def _build(self, split: str) -> Dataset:
        return PairedSegments(self.root, split=split, **self._kwargs)


class RenderedEffectDataModule(_ZooDataModule):
    """Generated dry material rendered through a real effect: no download, fully reproducible.

    The material is generated once from ``seed``, rendered in one pass (cached in memory and in
    ``cache_dir`` if given) and split by time into train/val/test.

    Args:
        effect: Effect config, e.g. ``{"kind": "compressor", "threshold_db": -20, "ratio": 4}``
            (see :class:`zoo.data.render.RealEffect`). Default ``None``: :data:`DEFAULT_EFFECT`, a phaser.
        material: Dry material, a key of :data:`zoo.data.generate.MATERIALS`. Default ``"chirp_train"``.
        material_kwargs: Options of the material generator. Default ``None``.
        duration_s: Length of the generated signal (s). Default 30.
        sample_rate: Sample rate (Hz). Default 44100.
        channels: Channel count. Default 1.
        segment_samples: Segment length (samples); ``None`` makes each split one item. Default 44100.
        hop_samples: Distance between segment starts (samples). Default ``None``: ``segment_samples``.
        split_fractions: (train, val, test) fractions, in time order. Default (0.8, 0.1, 0.1).
        split_ranges_s: Explicit ``{split: [start_s, stop_s or null]}`` ranges instead. Default ``None``.
        pad_last: Also yield the zero-padded last partial segment. Default ``False``.
        cache_dir: Folder for cached renders. Default ``None``: no disk cache.
        batch_size: Batch size. Default 4.
        num_workers: DataLoader workers. Default 0.
        seed: Seed of the material and of the training order. Default 0.
        shuffle: Shuffle training segments. Default ``True``.
        drop_last: Drop the last incomplete training batch. Default ``False``.

    Shape:
        batch["input"], batch["target"]: ``(B, channels, segment_samples)``.
    """

    def __init__(
        self,
        effect: Optional[dict[str, Any]] = None,
        material: str = "chirp_train",
        material_kwargs: Optional[dict[str, Any]] = None,
        duration_s: float = 30.0,
        sample_rate: int = 44100,
        channels: int = 1,
        segment_samples: Optional[int] = 44100,
        hop_samples: Optional[int] = None,
        split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
        split_ranges_s: Optional[dict[str, tuple[float, Optional[float]]]] = None,
        pad_last: bool = False,
        cache_dir: Optional[str] = None,
        batch_size: int = 4,
        num_workers: int = 0,
        seed: int = 0,
        shuffle: bool = True,
        drop_last: bool = False,
    ) -> None:
        super().__init__(batch_size, num_workers, seed, shuffle, drop_last)
        self.save_hyperparameters()
        from zoo.data.render import RealEffect

        # Validate now, so a bad config fails at instantiation rather than in setup().
        self.effect = RealEffect.from_config(dict(DEFAULT_EFFECT) if effect is None else effect)
        self._sample_rate = sample_rate
        self._kwargs = dict(
            material=material,
            material_kwargs=material_kwargs,
            duration_s=duration_s,
            sample_rate=sample_rate,
            seed=seed,
            channels=channels,
            cache_dir=cache_dir,
            segment_samples=segment_samples,
            hop_samples=hop_samples,
            split_fractions=check_fractions(split_fractions),
            split_ranges_s=split_ranges_s,
            pad_last=pad_last,
        )

    def _build(self, split: str) -> Dataset:
        return RenderedEffectDataset(self.effect, split=split, **self._kwargs)


class SynthNotesDataModule(_ZooDataModule):
    """TB-303-style notes for the subtractive synth, split by note (60/20/20 by default).

    Without ``audio_path``/``midi_path`` the notes are generated and rendered through pedalboard's
    swept ladder filter (:class:`zoo.data.datasets.SynthNotesDataset`); with both, they are cut from
    a recorded loop with its MIDI file (:class:`zoo.data.datasets.TB303Notes`), as in the paper.

    Args:
        num_notes: Number of generated notes (all splits). Default 200.
        sample_rate: Sample rate (Hz). Default 48000.
        note_samples: Note length (samples). Default 6000 (a 16th note at 48 kHz).
        split_fractions: (train, val, test) fractions of the notes. Default (0.6, 0.2, 0.2).
        shuffle_split: Assign notes to splits in a seeded random order (else in order). Default ``True``.
        waveform: Generated notes' oscillator: ``"random"``, ``"saw"``, ``"square"`` or ``"mix"``. Default ``"random"``.
        midi_range: Inclusive MIDI pitch range of generated notes. Default (36, 60).
        block_samples: Cutoff update interval of the rendering ladder (samples). Default 32.
        cache_dir: Folder for cached renders. Default ``None``.
        audio_path: A recorded loop to cut notes from. Default ``None``: generate notes.
        midi_path: The loop's MIDI file. Default ``None``.
        offset_s: Shift added to the MIDI times (s). Default 0.
        batch_size: Batch size. Default 34 (the paper's).
        num_workers: DataLoader workers. Default 0.
        seed: Seed of the notes, the split and the training order. Default 0.
        shuffle: Shuffle training notes. Default ``True``.
        drop_last: Drop the last incomplete training batch. Default ``False``.

    Shape:
        batch["target"]: ``(B, 1, note_samples)``; batch["f0_hz"], batch["note_on_samples"]: ``(B,)``.

    Raises:
        ValueError: if only one of ``audio_path`` and ``midi_path`` is given.
    """

    def __init__(
        self,
        num_notes: int = 200,
        sample_rate: int = 48000,
        note_samples: int = 6000,
        split_fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
        shuffle_split: bool = True,
        waveform: Literal["random", "saw", "square", "mix"] = "random",
        midi_range: tuple[int, int] = (36, 60),
        block_samples: int = 32,
        cache_dir: Optional[str] = None,
        audio_path: Optional[str] = None,
        midi_path: Optional[str] = None,
        offset_s: float = 0.0,
        batch_size: int = 34,
        num_workers: int = 0,
        seed: int = 0,
        shuffle: bool = True,
        drop_last: bool = False,
    ) -> None:
        super().__init__(batch_size, num_workers, seed, shuffle, drop_last)
        self.save_hyperparameters()
        if (audio_path is None) != (midi_path is None):
            raise ValueError(
                "Unexpected value for `audio_path`/`midi_path`: expected both (notes cut from a loop) or neither "
                f"(generated notes), found audio_path={audio_path!r}, midi_path={midi_path!r}"
            )
        self._sample_rate = sample_rate
        common = dict(
            sample_rate=sample_rate,
            note_samples=note_samples,
            split_fractions=check_fractions(split_fractions),
            shuffle_split=shuffle_split,
            seed=seed,
        )
        if audio_path is None:
            self._factory = lambda split: SynthNotesDataset(
                num_notes,
                split=split,
                waveform=waveform,
                midi_range=midi_range,
                block_samples=block_samples,
                cache_dir=cache_dir,
                **common,
            )
        else:
            self._factory = lambda split: TB303Notes(audio_path, midi_path, split=split, offset_s=offset_s, **common)

    def _build(self, split: str) -> Dataset:
        return self._factory(split)


class SignalTrainLA2ADataModule(_ZooDataModule):
    """SignalTrain LA2A v1.1 (Zenodo 3824876, 44.1 kHz, about 20 GB), found by path, not downloaded.

    Two ways to split:

    - ``split_by="subset"`` (default): the dataset's own ``Train/``, ``Val/``, ``Test/`` folders.
    - ``split_by="time"``: every selected file is split by time, e.g. the authors' LA-2A runs used
      one file, ``file_ids=[148]``, ``subsets=["Val"]``, with
      ``split_ranges_s={"train": [0, 300], "test": [300, 1200]}``.

    Args:
        root: Dataset root (holding ``Train/``, ``Val/``, ``Test/``).
        peak_reduction: Peak reduction to select (0-100; the paper: 25, 50, 75). Default 50.
        switch: 0 (compress) or 1 (limit). Default 0.
        file_ids: Ids to use. Default ``None``: all.
        split_by: ``"subset"`` or ``"time"``. Default ``"subset"``.
        train_subsets: Folders of the training split (``split_by="subset"``). Default ``("Train",)``.
        val_subsets: Folders of the validation split. Default ``("Val",)``.
        test_subsets: Folders of the test split. Default ``("Test",)``.
        subsets: Folders to use with ``split_by="time"``. Default ``None``: all.
        segment_samples: Segment length (samples); ``None`` makes each range of each file one item. Default 131072.
        hop_samples: Distance between segment starts (samples). Default ``None``: ``segment_samples``.
        split_fractions: Time fractions with ``split_by="time"``. Default (0.8, 0.1, 0.1).
        split_ranges_s: Explicit time ranges with ``split_by="time"``. Default ``None``.
        sample_rate: Resample to this rate (Hz). Default ``None``: 44.1 kHz as recorded.
        pad_last: Also yield the zero-padded last partial segment. Default ``False``.
        batch_size: Batch size. Default 4.
        num_workers: DataLoader workers. Default 0.
        seed: Seed of the training order. Default 0.
        shuffle: Shuffle training segments. Default ``True``.
        drop_last: Drop the last incomplete training batch. Default ``False``.

    Shape:
        batch["input"], batch["target"]: ``(B, 1, segment_samples)``.
    """

    def __init__(
        self,
        root: str,
        peak_reduction: Optional[float] = 50.0,
        switch: Optional[int] = 0,
        file_ids: Optional[list[int]] = None,
        split_by: Literal["subset", "time"] = "subset",
        train_subsets: Sequence[str] = ("Train",),
        val_subsets: Sequence[str] = ("Val",),
        test_subsets: Sequence[str] = ("Test",),
        subsets: Optional[list[str]] = None,
        segment_samples: Optional[int] = 131072,
        hop_samples: Optional[int] = None,
        split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
        split_ranges_s: Optional[dict[str, tuple[float, Optional[float]]]] = None,
        sample_rate: Optional[int] = None,
        pad_last: bool = False,
        batch_size: int = 4,
        num_workers: int = 0,
        seed: int = 0,
        shuffle: bool = True,
        drop_last: bool = False,
    ) -> None:
        super().__init__(batch_size, num_workers, seed, shuffle, drop_last)
        self.save_hyperparameters()
        if split_by not in ("subset", "time"):
            raise ValueError(f"Unexpected value for `split_by`: expected 'subset' or 'time', found {split_by!r}")
        self.root = str(root)
        self.split_by = split_by
        self._subsets = {"train": list(train_subsets), "val": list(val_subsets), "test": list(test_subsets)}
        self._time_subsets = subsets
        self._select = dict(peak_reduction=peak_reduction, switch=switch, file_ids=file_ids)
        self._kwargs = dict(
            segment_samples=segment_samples,
            hop_samples=hop_samples,
            sample_rate=sample_rate,
            pad_last=pad_last,
            channels=1,
        )
        self._time_kwargs = dict(split_fractions=check_fractions(split_fractions), split_ranges_s=split_ranges_s)
        self._sample_rate = sample_rate

    def _build(self, split: str) -> Dataset:
        if self.split_by == "subset":
            return SignalTrainLA2A(self.root, subsets=self._subsets[split], split="all", **self._select, **self._kwargs)
        return SignalTrainLA2A(
            self.root, subsets=self._time_subsets, split=split, **self._select, **self._kwargs, **self._time_kwargs
        )


class SmallStoneDataModule(_ZooDataModule):
    """EHX Small Stone phaser recordings, found by path, with the paper's protocol (Sec. 4.1).

    Train on the last ``train_duration_s`` of the chirp part (which ends at ``chirp_end_s``);
    validate and test on that segment plus the next ``test_duration_s`` of guitar, as one item each,
    so the LFO phase stays aligned with training. Layout: see :func:`zoo.data.layouts.small_stone_files`.

    Args:
        root: Folder with ``dry.wav`` and ``ss-a.wav`` ... ``ss-f.wav`` (or the authors' names).
        setting: ``"ss-a"`` ... ``"ss-f"``. Default ``"ss-a"``.
        dry_name: Dry file name. Default ``None``: ``dry.wav`` / ``dry.flac`` / ``input_dry.wav``.
        wet_names: Mapping setting -> wet file name. Default ``None``.
        chirp_end_s: End of the chirps in the recording (s). Default 60.
        train_duration_s: Training segment length (s). Default ``None``: the authors' value per setting.
        test_duration_s: Guitar added after the chirps for val/test (s). Default 10.
        split_ranges_s: Explicit ranges instead of the protocol. Default ``None``.
        segment_samples: Segment length (samples); ``None`` makes each split one item. Default ``None``.
        hop_samples: Distance between segment starts (samples). Default ``None``.
        sample_rate: Resample to this rate (Hz). Default ``None``: as recorded.
        batch_size: Batch size. Default 1.
        num_workers: DataLoader workers. Default 0.
        seed: Seed of the training order. Default 0.
        shuffle: Shuffle training segments. Default ``True``.
        drop_last: Drop the last incomplete training batch. Default ``False``.

    Shape:
        batch["input"], batch["target"]: ``(B, 1, T)``.
    """

    def __init__(
        self,
        root: str,
        setting: Literal["ss-a", "ss-b", "ss-c", "ss-d", "ss-e", "ss-f"] = "ss-a",
        dry_name: Optional[str] = None,
        wet_names: Optional[dict[str, str]] = None,
        chirp_end_s: float = 60.0,
        train_duration_s: Optional[float] = None,
        test_duration_s: float = 10.0,
        split_ranges_s: Optional[dict[str, tuple[float, Optional[float]]]] = None,
        segment_samples: Optional[int] = None,
        hop_samples: Optional[int] = None,
        sample_rate: Optional[int] = None,
        batch_size: int = 1,
        num_workers: int = 0,
        seed: int = 0,
        shuffle: bool = True,
        drop_last: bool = False,
    ) -> None:
        super().__init__(batch_size, num_workers, seed, shuffle, drop_last)
        self.save_hyperparameters()
        self.root = str(root)
        self._sample_rate = sample_rate
        self._kwargs = dict(
            setting=setting,
            dry_name=dry_name,
            wet_names=wet_names,
            chirp_end_s=chirp_end_s,
            train_duration_s=train_duration_s,
            test_duration_s=test_duration_s,
            split_ranges_s=split_ranges_s,
            segment_samples=segment_samples,
            hop_samples=hop_samples,
            sample_rate=sample_rate,
            channels=1,
        )

    def _build(self, split: str) -> Dataset:
        return SmallStone(self.root, split=split, **self._kwargs)
