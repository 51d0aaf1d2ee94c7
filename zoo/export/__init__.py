"""Real-time use of a fitted effect: stateful streaming modules that run with torch alone.

``zoo export CHECKPOINT --format torchscript|onnx|neutone --out FILE`` (`command.export_command`)
writes one of:

* TorchScript (`formats.save_torchscript`): ``forward(block)`` float32 (C, T) -> (C, T), the filter
  and LFO/envelope states carried between calls, ``reset()``, ``sample_rate``; any block length;
* ONNX (`formats.save_onnx`): the stateless ``(block, state) -> (out, new_state)`` for one block
  length and channel count, the state layout in the model's metadata and a JSON sidecar;
* Neutone FX (`neutone.save_neutone`): a neutone-sdk ``.nm`` with four knobs.

The modules (`phaser.PhaserStream`, `compressor.CompressorStream`, built by
`build.streaming_module`) are TorchScript code on the scans of `scan`; docs/realtime.md has the
methods, the state layouts and the measured speed.
"""

from .build import EXPORTABLE, streaming_module
from .command import FORMATS, export_command

__all__ = ["EXPORTABLE", "FORMATS", "export_command", "streaming_module"]
