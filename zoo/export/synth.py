"""The synth as TorchScript: note in (the target's analysis, f0, note-on), audio out, with torch alone.

The synth (`SynthModel`, paper Sec. 4.2) re-synthesises a note: its encoder reads the target note's
log-mel spectrogram and predicts the voice's frame controls and globals; the voice (oscillator,
time-varying filter on the all-pole layer, distortion) renders it. It has no audio input to stream,
so its export is a per-note renderer, traced (`torch.jit.trace`) through the pure-PyTorch paths: the
voice's composed TD path (not the fused Numba kernel) and ``zoo.filters`` on ``backend="torch"``.
The file runs without zoo::

    synth = torch.jit.load("synth.pt")
    audio = synth(target, f0_hz, note_on_samples)   # (1, N) float32, (1,), (1,) int64 -> (1, N)

Notes are ``note_samples`` long (the trace is built for that length; the chunked scan's loop counts
depend on it); ``synth.sample_rate`` and ``synth.note_samples`` are attributes. Batches of notes:
a leading dimension B works, (B, N), (B,), (B,).
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["SynthNote", "trace_synth", "default_note_samples"]


class SynthNote(nn.Module):
    """``forward(target (B, N), f0_hz (B,), note_on_samples (B,)) -> (B, N)``: one call of the synth's TD path."""

    def __init__(self, model: nn.Module, note_samples: int) -> None:
        super().__init__()
        self.model = model
        self.note_samples = int(note_samples)

    def forward(self, target: Tensor, f0_hz: Tensor, note_on_samples: Tensor) -> Tensor:
        audio = target.unsqueeze(1)
        params, frames = self.model.predict(audio)
        return self.model.voice(f0_hz.to(target.dtype), note_on_samples, self.note_samples, frames, params, method="td")


def default_note_samples(card: dict | None, sample_rate: float) -> int:
    """The note length the checkpoint was trained on (its card's data spec), else one second."""
    spec = ((card or {}).get("data") or {}).get("init_args") or {}
    value = spec.get("note_samples")
    return int(value) if isinstance(value, int) and value > 0 else int(round(sample_rate))


@torch.no_grad()
def trace_synth(model: nn.Module, note_samples: int) -> tuple[torch.jit.ScriptModule, dict[str, Any]]:
    """Trace the synth for notes of ``note_samples`` samples; returns (traced module, metadata).

    Raises:
        ValueError: ``note_samples`` < 256, or the trace still holds a zoo custom op (it would not
            load without zoo).
    """
    from ..filters import use_backend

    if int(note_samples) < 256:
        raise ValueError(f"Unexpected value for the note length: expected >= 256 samples, found {note_samples}")
    model = model.float().eval()
    voice = model.voice
    fused = getattr(voice, "fused", False)
    voice.fused = False  # the composed TD path: plain tensor ops once the all-pole layer is on the torch backend
    try:
        wrapper = SynthNote(model, note_samples).eval()
        gen = torch.Generator().manual_seed(0)
        example = (0.1 * torch.randn(1, int(note_samples), generator=gen), torch.tensor([110.0]),
                   torch.tensor([int(note_samples) // 2]))
        with use_backend("torch"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on Python ints taken from shapes
            traced = torch.jit.trace(wrapper, example, check_trace=False)
    finally:
        voice.fused = fused
    graph = str(traced.inlined_graph)
    if "zoo::" in graph or "prim::PythonOp" in graph:
        raise ValueError("the synth's trace holds a zoo custom op or a Python op; it would not run without zoo")
    scripted = torch.jit.script(_SynthFile(traced, float(model.sample_rate), int(note_samples)))
    meta = {"effect": "synth", "format": "torchscript", "sample_rate": float(model.sample_rate),
            "note_samples": int(note_samples), "filter_type": getattr(model, "filter_type", None),
            "interface": "forward(target (B, N) float32, f0_hz (B,), note_on_samples (B,) int64) -> (B, N); "
                         "N = note_samples (the trace's length)"}
    return scripted, meta


class _SynthFile(nn.Module):
    """The traced renderer with its ``sample_rate`` and ``note_samples`` as attributes of the saved file."""

    def __init__(self, traced: torch.jit.ScriptModule, sample_rate: float, note_samples: int) -> None:
        super().__init__()
        self.renderer = traced
        self.sample_rate = sample_rate
        self.note_samples = note_samples

    def forward(self, target: Tensor, f0_hz: Tensor, note_on_samples: Tensor) -> Tensor:
        return self.renderer(target, f0_hz, note_on_samples)
