"""The base of the zoo's data modules: datasets built per stage, seeded loaders, ``sample_rate``."""

from __future__ import annotations

from typing import Optional

import torch
from torch.utils.data import DataLoader, Dataset

try:
    import lightning.pytorch as pl
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError("zoo.lightning.datamodules needs PyTorch Lightning: pip install 'allpole-zoo[train]'") from error

from zoo.data._checks import check_int, check_seed

from .loaders import EpochSeededSampler, ResumableLoader, _seed_worker

_STAGE_SPLITS = {
    "fit": ("train", "val"),
    "validate": ("val",),
    "test": ("test",),
    "predict": ("test",),
    None: ("train", "val", "test"),
}


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
