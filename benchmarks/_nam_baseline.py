"""Neural Amp Modeler (NAM) baseline for `benchmarks/fit.py`: the same pair, the same time budget.

NAM 0.13 no longer ships its classic architectures, so this builds the classic "feather" WaveNet
(two layer arrays of 8 and 4 channels, kernel 3, dilations 1..512, tanh, head scale 0.02: 3,637
parameters, receptive field 4,093 samples) through NAM's own config parser, and trains it as
NAM's trainer does: random windows of ``receptive_field - 1 + 8192`` samples from the training part
of the recording, batch 16, Adam (lr 4e-3) with an exponential decay, MSE loss, until the time
budget is spent. The held-out ESR runs the model over the whole recording (NAM pads the start)
and scores the same tail our fits are scored on.

Install with ``pip install 'allpole-zoo[bench]'`` (benchmark-only extra: it pulls transformers,
librosa and pytorch-lightning).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

DILATIONS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]


def feather_config(sample_rate: float, channels: tuple[int, int] = (8, 4)) -> dict[str, Any]:
    """NAM's classic two-array WaveNet config ("feather" = (8, 4); "standard" was (16, 8))."""
    first, second = channels
    return {
        "layers_configs": [
            {"input_size": 1, "condition_size": 1, "channels": first, "kernel_size": 3, "dilations": DILATIONS,
             "activation": "Tanh", "head": {"out_channels": second, "kernel_size": 1, "bias": False}},
            {"input_size": first, "condition_size": 1, "channels": second, "kernel_size": 3, "dilations": DILATIONS,
             "activation": "Tanh", "head": {"out_channels": 1, "kernel_size": 1, "bias": True}},
        ],
        "head_scale": 0.02,
        "sample_rate": float(sample_rate),
    }


def train_nam(
    dry: np.ndarray,
    wet: np.ndarray,
    sample_rate: int,
    *,
    train_frames: int,
    score_from: int,
    budget_s: float,
    seed: int = 0,
    channels: tuple[int, int] = (8, 4),
    batch_size: int = 16,
    window: int = 8192,
) -> dict[str, float]:
    """Train NAM's feather WaveNet on ``dry[:train_frames] -> wet[:train_frames]`` for ``budget_s``.

    Args:
        dry, wet: mono float arrays of the whole recording, (T,).
        sample_rate: Hz.
        train_frames: the fit sees frames [0, train_frames).
        score_from: held-out ESR over frames [score_from, T).
        budget_s: wall-clock training budget (seconds).

    Returns:
        ``{"esr": held-out ESR, "params": parameter count, "steps": optimiser steps, "seconds": ...}``.
    """
    from nam.models.wavenet import WaveNet

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = WaveNet.init_from_config(feather_config(sample_rate, channels))
    rf = model.receptive_field
    x = torch.from_numpy(np.asarray(dry, dtype=np.float32))
    y = torch.from_numpy(np.asarray(wet, dtype=np.float32))
    optimizer = torch.optim.Adam(model.parameters(), lr=4e-3)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.999)
    length = rf - 1 + window
    if train_frames < length:
        raise ValueError(f"train_frames {train_frames} shorter than one NAM window ({length})")
    start = time.perf_counter()
    steps = 0
    model.train()
    while time.perf_counter() - start < budget_s:
        starts = rng.integers(0, train_frames - length + 1, size=batch_size)
        xb = torch.stack([x[s:s + length] for s in starts])
        yb = torch.stack([y[s + rf - 1:s + length] for s in starts])
        prediction = model(xb, pad_start=False)
        loss = torch.nn.functional.mse_loss(prediction, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        steps += 1
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        prediction = model(x[None], pad_start=True)[0].numpy()
    target = np.asarray(wet[score_from:], dtype=np.float64)
    error = prediction[score_from:].astype(np.float64) - target
    esr = float(np.sum(error**2) / max(np.sum(target**2), 1e-30))
    return {"esr": esr, "params": float(sum(p.numel() for p in model.parameters())), "steps": float(steps), "seconds": seconds}
