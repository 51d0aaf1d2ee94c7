"""Data modules of the effects: paired folders, rendered material, SignalTrain LA2A, Small Stone."""

from __future__ import annotations

from typing import Any, Literal, Optional, Sequence

from torch.utils.data import Dataset

from zoo.data._checks import check_fractions, check_nan_policy
from zoo.data.datasets import PairedSegments, RenderedEffectDataset, SignalTrainLA2A, SmallStone

from .base import _ZooDataModule

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
