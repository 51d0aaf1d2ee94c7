"""Reproducible loading: per-epoch seeded shuffling that can resume mid-epoch, and seeded workers."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset


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
