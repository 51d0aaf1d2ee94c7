"""A data module for one in-memory dry/wet pair, as `zoo fit` uses it.

Train: the training part [0, val_start) as one item (the LFO and every filter state run from t = 0,
as on the recording). Validation: [val_start - preroll, fit_stop), with its ``"offset"`` so that a
time-varying effect sees its absolute time; the preroll lets the filters settle (it is scored too).
Each epoch is one batch of one item.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

import lightning.pytorch as pl

__all__ = ["PairDataModule"]


class _Items(Dataset):
    def __init__(self, items: list[dict[str, torch.Tensor]]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.items[index]


def _item(dry: np.ndarray, wet: np.ndarray, start: int, stop: int) -> dict[str, torch.Tensor]:
    return {
        "input": torch.from_numpy(np.ascontiguousarray(dry[start:stop], dtype=np.float32))[None],
        "target": torch.from_numpy(np.ascontiguousarray(wet[start:stop], dtype=np.float32))[None],
        "offset": torch.tensor(start, dtype=torch.int64),
    }


class PairDataModule(pl.LightningDataModule):
    """One pair in memory: see the module docstring.

    Args:
        dry, wet: mono (T,) arrays of one sample rate.
        sample_rate: Hz.
        val_start: first sample of the validation part (end of the training part).
        fit_stop: end of the validation part (the held-out tail starts there and is never served).
        preroll_s: settling time before the validation part (s). Default 0.25.
    """

    def __init__(self, dry: np.ndarray, wet: np.ndarray, sample_rate: int, val_start: int, fit_stop: int,
                 preroll_s: float = 0.25) -> None:
        super().__init__()
        if not 0 < val_start < fit_stop <= len(dry):
            raise ValueError(f"Unexpected split: expected 0 < val_start < fit_stop <= {len(dry)}, found {val_start}, {fit_stop}")
        self.sample_rate = int(sample_rate)
        start = max(0, val_start - int(preroll_s * sample_rate))
        self.train_items = [_item(dry, wet, 0, val_start)]
        self.val_items = [_item(dry, wet, start, fit_stop)]

    def train_dataloader(self) -> DataLoader:
        return DataLoader(_Items(self.train_items), batch_size=1, shuffle=False, num_workers=0)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(_Items(self.val_items), batch_size=1, shuffle=False, num_workers=0)
