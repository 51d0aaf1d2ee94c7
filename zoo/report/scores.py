"""How close our model is to the real effect on the page's clip: ESR and MR-STFT."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["esr", "mrstft"]


def esr(prediction: np.ndarray, target: np.ndarray) -> float:
    """Error-to-signal ratio sum((y_hat - y)^2) / sum(y^2); NaN when the lengths differ."""
    prediction, target = np.asarray(prediction, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if prediction.shape != target.shape:
        return float("nan")
    return float(np.sum((prediction - target) ** 2) / max(float(np.sum(target**2)), 1e-30))


def mrstft(prediction: np.ndarray, target: np.ndarray) -> float:
    """Multi-resolution STFT distance (auraloss, FFT sizes 1024/512/256, the paper's MSS).

    NaN when the lengths differ or auraloss is not installed (it comes with ``allpole-zoo[train]``).
    """
    if np.shape(prediction) != np.shape(target):
        return float("nan")
    try:
        import auraloss
    except ImportError:
        return float("nan")
    loss = auraloss.freq.MultiResolutionSTFTLoss(fft_sizes=[1024, 512, 256], hop_sizes=[256, 128, 64], win_lengths=[1024, 512, 256])
    as_tensor = lambda a: torch.from_numpy(np.asarray(a, dtype=np.float32)).reshape(1, 1, -1)  # noqa: E731
    with torch.no_grad():
        return float(loss(as_tensor(prediction), as_tensor(target)))
