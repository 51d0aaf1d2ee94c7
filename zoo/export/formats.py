"""Writers of the exported files: TorchScript (``.pt``) and ONNX (``.onnx`` + ``.json`` sidecar).

Both start from `zoo.export.build.streaming_module`. The TorchScript file is the scripted stateful
module (any block length, any channel count); the ONNX graph is the stateless ``step`` traced for
one block length and channel count (the scans' chunk loops are unrolled for that length; the
compressor's mask iteration stays a data-dependent ONNX ``Loop``, and the feedback compressor's
per-sample loop an ONNX ``Loop`` over the block).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .build import streaming_module
from .metadata import describe

__all__ = ["script_module", "save_torchscript", "save_onnx", "OnnxStep"]


def script_module(effect_or_module) -> torch.jit.ScriptModule:
    """`torch.jit.script` of an effect's streaming module (or of a streaming module), without gradients."""
    module = effect_or_module
    if type(module).__name__ not in ("PhaserStream", "CompressorStream"):
        module = streaming_module(effect_or_module)
    for p in module.parameters():
        p.requires_grad_(False)
    return torch.jit.script(module)


def save_torchscript(effect, path: str | Path, *, source: str) -> dict[str, Any]:
    """Script the effect's streaming module and save it to ``path`` with ``metadata.json`` inside.

    Load it with ``torch.jit.load(path)`` (torch only); ``torch.jit.load(path, _extra_files={"metadata.json": ""})``
    also returns the metadata. Returns the metadata.
    """
    module = streaming_module(effect)
    meta = describe(effect, module, source=source, fmt="torchscript")
    scripted = script_module(module)
    torch.jit.save(scripted, str(path), _extra_files={"metadata.json": json.dumps(meta, indent=1)})
    return meta


class OnnxStep(nn.Module):
    """The stateless step of a streaming module, with the fitted controls: (block, state) -> (out, new_state)."""

    def __init__(self, core: nn.Module) -> None:
        super().__init__()
        self.core = core

    def forward(self, block: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        return self.core.step(block, state, self.core.default_controls)


def save_onnx(effect, path: str | Path, *, source: str, block_size: int = 512, channels: int = 2,
              sidecar: str | Path | None = None) -> dict[str, Any]:
    """Export the stateless step for blocks of ``block_size`` samples x ``channels`` to ONNX.

    The graph's inputs are ``block`` float32 (channels, block_size) and ``state`` float64
    (state_size,), outputs ``out`` and ``new_state``; the metadata (state layout included) is stored
    as ``metadata_props["zoo"]`` and written to ``sidecar`` (default ``<path>.json``). Returns it.

    The feedback-topology compressor's per-sample loop becomes an ONNX ``Loop`` over the block's
    samples (`zoo.export.compressor.feedback_loop`): exact, but far slower than the TorchScript file.

    Raises:
        ValueError: a block size / channel count < 1.
    """
    import onnx

    for name, value in (("block_size", block_size), ("channels", channels)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"Unexpected value for `{name}`: expected an integer >= 1, found {value!r}")
    core = streaming_module(effect)
    if hasattr(core, "loop_only"):
        core.loop_only = True
    step = OnnxStep(core).eval()
    block = torch.zeros(channels, block_size)
    state = core.initial_state(channels)
    meta = describe(effect, core, source=source, fmt="onnx", channels=channels, block_size=block_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings: the shapes are fixed on purpose
        torch.onnx.export(step, (block, state), str(path), dynamo=False, input_names=["block", "state"],
                          output_names=["out", "new_state"], opset_version=17)
    model = onnx.load(str(path))
    entry = model.metadata_props.add()
    entry.key, entry.value = "zoo", json.dumps(meta)
    onnx.save(model, str(path))
    Path(sidecar if sidecar is not None else str(path) + ".json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return meta
