"""A tiny effect and data module used by the tests of `zoo.lightning` (and their contract).

`ToyGainFilter` is a learnable gain and one-pole low-pass on the all-pole layer, with TD and FS
"methods"; `ToyData` renders its targets from a fixed-parameter twin. Both are importable by
subprocess runs of ``zoo train`` with ``PYTHONPATH=tests/lightning`` (class paths
``test_lightning_toy.ToyGainFilter`` / ``test_lightning_toy.ToyData``).
"""

from __future__ import annotations

import math
from typing import Mapping

import lightning.pytorch as pl
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from zoo.effects.base import Effect
from zoo.filters import allpole


class ToyGainFilter(Effect):
    """y = g * onepole(x), pole = sigmoid(pole_logit); TD runs the all-pole layer, FS an FFT approximation."""

    def __init__(self, sample_rate: float = 8000.0, method: str = "td", gain: float = 0.5, pole: float = 0.3) -> None:
        super().__init__(sample_rate, method)
        self.log_gain = nn.Parameter(torch.tensor(math.log(gain)))
        self.pole_logit = nn.Parameter(torch.tensor(math.log(pole / (1 - pole))))

    def forward_batch(self, batch: Mapping[str, Tensor]) -> Tensor:
        x = batch["input"]
        pole = torch.sigmoid(self.pole_logit).to(x.dtype)
        gain = self.log_gain.exp().to(x.dtype)
        if self.method == "td":
            y = allpole(x, (-pole).reshape(1).expand(*x.shape[:-1], 1))
        else:
            n = 2 * x.shape[-1]
            w = torch.exp(-2j * math.pi * torch.fft.rfftfreq(n, dtype=x.dtype))
            y = torch.fft.irfft(torch.fft.rfft(x, n) / (1 - pole * w), n)[..., : x.shape[-1]]
        return gain * y

    @torch.no_grad()
    def learned_parameters(self) -> dict[str, float]:
        return {"gain": float(self.log_gain.exp()), "pole": float(torch.sigmoid(self.pole_logit))}

    @torch.no_grad()
    def control_curves(self, batch=None):
        t = torch.linspace(0, 1, 50)
        return {"gain_over_time": (t, self.log_gain.exp() * torch.ones_like(t))}


class _Pairs(Dataset):
    def __init__(self, items: int, num_samples: int, seed: int, sample_rate: float) -> None:
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(items, 1, num_samples, generator=g) * 0.3
        teacher = ToyGainFilter(sample_rate, gain=0.8, pole=0.7)
        with torch.no_grad():
            self.y = teacher.forward_batch({"input": self.x})

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        return {"input": self.x[i], "target": self.y[i]}


class ToyData(pl.LightningDataModule):
    """Random-noise inputs, targets from ToyGainFilter(gain=0.8, pole=0.7)."""

    def __init__(
        self,
        items: int = 8,
        num_samples: int = 2048,
        batch_size: int = 4,
        sample_rate: float = 8000.0,
        shuffle: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.items, self.num_samples, self.batch_size = items, num_samples, batch_size
        self.sample_rate, self.shuffle, self.seed = sample_rate, shuffle, seed

    def setup(self, stage: str | None = None) -> None:
        self.train_set = _Pairs(self.items, self.num_samples, self.seed, self.sample_rate)
        self.val_set = _Pairs(max(2, self.items // 4), self.num_samples, self.seed + 1, self.sample_rate)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train_set, batch_size=self.batch_size, shuffle=self.shuffle)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, batch_size=self.batch_size)

    def test_dataloader(self) -> DataLoader:
        return self.val_dataloader()


def test_toy_effect_methods_agree():
    effect = ToyGainFilter()
    x = torch.randn(2, 1, 512, dtype=torch.float64)
    td = effect.double().forward_batch({"input": x})
    effect.method = "fs"
    fs = effect.forward_batch({"input": x})
    assert td.shape == x.shape
    torch.testing.assert_close(td, fs, atol=1e-6, rtol=1e-6)
