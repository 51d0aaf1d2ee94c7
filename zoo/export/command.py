"""``zoo export CHECKPOINT --format torchscript|onnx|neutone --out FILE``: a fitted effect for real-time use.

The output is written through a temporary file renamed into place (`zoo._io.atomic_path`), and an
existing file is replaced only with ``force``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["FORMATS", "export_command"]

#: output formats and their usual file extensions
FORMATS = {"torchscript": ".pt", "onnx": ".onnx", "neutone": ".nm"}


def export_command(checkpoint: str, fmt: str, out: str | Path, *, force: bool = False, block_size: int = 512,
                   channels: int = 2) -> dict[str, Any]:
    """Export a checkpoint (anything `zoo.hub.from_pretrained` takes) as a streaming real-time model.

    Args:
        checkpoint: shipped checkpoint name, checkpoint folder, ``zoo train`` run or Hub repo id.
        fmt: ``"torchscript"``, ``"onnx"`` or ``"neutone"``.
        out: the file to write (for ONNX also ``<out>.json``, the metadata sidecar).
        force: replace an existing file.
        block_size: ONNX only: the block length (samples) the graph is built for. Default 512.
        channels: ONNX only: the channel count the graph is built for. Default 2.

    Returns:
        The export's metadata (JSON-serialisable).

    Raises:
        ValueError: an unknown format, an output that exists without ``force``, the synth in another
            format than TorchScript (it has no audio stream; its TorchScript file renders one note), or a
            structure the format cannot express.
        FileNotFoundError: an unknown checkpoint.
        ImportError: ``neutone`` without neutone-sdk installed.
    """
    from .._io import atomic_path, check_output
    from ..commands import load_effect
    from ..hub import resolve_checkpoint

    if fmt not in FORMATS:
        raise ValueError(f"Unexpected value for --format: expected one of {', '.join(FORMATS)}, found {fmt!r}")
    out = Path(out)
    check_output(out, force=force)
    if fmt == "onnx":
        check_output(Path(str(out) + ".json"), force=force)
    effect = load_effect(checkpoint)
    kind = type(effect).__name__
    if kind == "SynthModel" and fmt == "torchscript":
        return _export_synth(effect, checkpoint, out)
    if kind not in ("Phaser", "Compressor"):
        raise ValueError(
            f"{checkpoint!r} is a {kind}: it re-synthesises notes from f0 and note-on times and has no audio input to "
            f"stream, so it has no {fmt} export"
            + ("; it exports as a per-note TorchScript renderer: --format torchscript" if kind == "SynthModel" else "")
        )
    folder = Path(resolve_checkpoint(checkpoint))
    card_folder = folder if folder.is_dir() else None
    name = folder.name if card_folder is not None else str(checkpoint)
    if fmt == "torchscript":
        from .formats import save_torchscript

        with atomic_path(out) as tmp:
            meta = save_torchscript(effect, tmp, source=str(checkpoint))
    elif fmt == "onnx":
        from .formats import save_onnx

        with atomic_path(out) as tmp, atomic_path(Path(str(out) + ".json")) as tmp_json:
            meta = save_onnx(effect, tmp, source=str(checkpoint), block_size=block_size, channels=channels,
                             sidecar=tmp_json)
    else:
        from .neutone import save_neutone

        with atomic_path(out) as tmp:
            meta = save_neutone(effect, tmp, name=name, card_folder=card_folder)
    return meta


def _export_synth(effect, checkpoint: str, out: Path) -> dict[str, Any]:
    """The synth's per-note TorchScript renderer (`zoo.export.synth`), traced for its training note length."""
    import json

    import torch

    from .._io import atomic_path
    from ..hub import read_config, resolve_checkpoint
    from .synth import default_note_samples, trace_synth

    folder = Path(resolve_checkpoint(checkpoint))
    card = read_config(folder)["card"] if folder.is_dir() else {}
    traced, meta = trace_synth(effect, default_note_samples(card, effect.sample_rate))
    meta["source"] = str(checkpoint)
    with atomic_path(out) as tmp:
        torch.jit.save(traced, str(tmp), _extra_files={"metadata.json": json.dumps(meta, indent=1)})
    return meta
