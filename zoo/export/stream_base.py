"""`StreamingModule`: the stateful block interface every exported effect shares (TorchScript code).

A subclass holds ``state`` (float64 (S,), empty at rest until the first block) and
``default_controls`` (float64 (4,), the fitted values of its four controls) and implements
``state_size(channels)``, ``initial_state(channels)`` and the stateless
``step(block, state, controls) -> (out, new_state)``; this class turns them into ``forward(block)``,
``forward_controls(block, controls)`` and ``reset()``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["StreamingModule"]


class StreamingModule(nn.Module):
    """Block in, block out, the state carried between calls (see the module docstring)."""

    @torch.jit.export
    def reset(self) -> None:
        """Forget the stream: the next block starts a new signal at rest."""
        self.state = torch.zeros(0, dtype=torch.float64)

    @torch.jit.export
    def forward_controls(self, block: Tensor, controls: Tensor) -> Tensor:
        """`forward` with other controls (4,) float64 (the subclass says which)."""
        if block.dim() != 2:
            raise ValueError("Unexpected shape for `block`: expected (channels, samples)")
        if block.shape[1] == 0:
            return block.to(torch.float32)
        size = self.state_size(block.shape[0])
        if self.state.shape[0] != size:
            self.state = self.initial_state(block.shape[0])
        y, self.state = self.step(block, self.state, controls)
        return y

    def forward(self, block: Tensor) -> Tensor:
        """float32 (C, T) -> (C, T), the state carried to the next call."""
        return self.forward_controls(block, self.default_controls)
