"""The contract every effect in the zoo fulfils.

An effect is plain differentiable DSP: an ``nn.Module`` whose learnable parameters are named and
bounded (unconstrained tensors mapped to physical ranges), built on `zoo.filters`. It has a
time-domain (TD) implementation on the all-pole layer and a frequency-sampling (FS) twin, chosen
by ``method`` and switchable after training (the paper tests FS-trained models with TD inference).

Batches are dicts of tensors (see `zoo.data`): ``"input"`` (B, C, T) dry audio for audio effects,
``"target"`` (B, C, T) the audio to match, plus effect-specific conditioning (the synth's
``"f0_hz"`` (B,) and ``"note_on_samples"`` (B,)). ``forward_batch`` maps a batch to a prediction
shaped like ``batch["target"]``; the LightningModules in `zoo.lightning` call only this.
"""

from __future__ import annotations

from typing import Mapping

import torch
from torch import Tensor, nn


class Effect(nn.Module):
    """Base class: a differentiable audio effect with a TD and an FS implementation.

    Subclasses set ``methods`` (the allowed values of ``method``) and implement ``forward_batch``,
    ``learned_parameters`` and ``control_curves``.
    """

    methods: tuple[str, ...] = ("td", "fs")

    def __init__(self, sample_rate: float, method: str) -> None:
        super().__init__()
        if sample_rate <= 0:
            raise ValueError(f"Unexpected value for `sample_rate`: expected > 0 (Hz), found {sample_rate}")
        self.sample_rate = float(sample_rate)
        self.method = method

    @property
    def method(self) -> str:
        return self._method

    @method.setter
    def method(self, value: str) -> None:
        if value not in self.methods:
            raise ValueError(f"Unexpected value for `method`: expected one of {self.methods}, found {value!r}")
        self._method = value

    def forward_batch(self, batch: Mapping[str, Tensor]) -> Tensor:
        """Prediction for a batch dict, shaped like ``batch["target"]``."""
        raise NotImplementedError

    @torch.no_grad()
    def learned_parameters(self) -> dict[str, float]:
        """The global parameters in physical units (e.g. ``{"ratio": 4.0, "attack_ms": 3.1}``)."""
        raise NotImplementedError

    @torch.no_grad()
    def control_curves(self, batch: Mapping[str, Tensor] | None = None) -> dict[str, tuple[Tensor, Tensor]]:
        """Named curves for plotting learned controls: ``{"name": (x_values, y_values)}`` (1-D tensors).

        E.g. the phaser's LFO (time s -> all-pass coefficient), the compressor's static gain curve
        (input dB -> output dB), the synth's cutoff trajectory (time s -> Hz, for the first item of
        ``batch``).
        """
        raise NotImplementedError


def check_audio(x: Tensor, name: str = "x") -> Tensor:
    """Check that ``x`` is floating (B, C, T) audio; raise a clear error otherwise."""
    if not isinstance(x, Tensor):
        raise TypeError(f"Unexpected type for `{name}`: expected a torch.Tensor, found {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"Unexpected dtype for `{name}`: expected a floating point dtype, found {x.dtype}")
    if x.dim() != 3:
        raise ValueError(f"Unexpected shape for `{name}`: expected (B, C, T), found {tuple(x.shape)}")
    return x
