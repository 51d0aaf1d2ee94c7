"""The `zoo` command's non-training subcommands: list, apply, push, demo.

Each is a plain function (usable from Python) that `zoo.cli` wires to argparse.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import hub


def load_effect(name_or_path: str, *, method: str | None = None, sample_rate: float | None = None):
    """An effect from a shipped checkpoint name, a checkpoint folder, a Hub repo id, or a bare
    registered effect name (untrained defaults; ``sample_rate`` then sets its rate)."""
    if name_or_path in hub.EFFECTS and not (hub.CHECKPOINTS_DIR / name_or_path).is_dir():
        kwargs: dict[str, Any] = {}
        if sample_rate is not None:
            kwargs["sample_rate"] = sample_rate
        effect = hub.effect_class(name_or_path)(**kwargs)
    else:
        effect = hub.from_pretrained(hub.resolve_checkpoint(name_or_path))
    if method is not None:
        effect.method = method
    return effect.eval()


def list_command() -> str:
    """A table of the registered effects and the shipped checkpoints."""
    lines = ["Effects (zoo apply <name> uses untrained defaults):"]
    for name, path in hub.EFFECTS.items():
        lines.append(f"  {name:<12} {path}")
    lines.append("")
    lines.append("Checkpoints (checkpoints/<name>; zoo apply <name> in.wav out.wav):")
    found = hub.list_checkpoints()
    if not found:
        lines.append("  (none)")
    for name, config in found.items():
        card = config.get("card", {})
        rate = config["init_args"].get("sample_rate", "?")
        metric = card.get("test_metrics", {})
        metric_text = ", ".join(f"{k}={v:.4g}" for k, v in metric.items() if isinstance(v, (int, float)))
        lines.append(f"  {name:<24} {config['effect']:<11} {rate} Hz  {metric_text}")
    return "\n".join(lines)


def apply_command(
    effect_name: str,
    input_path: str | Path,
    output_path: str | Path,
    *,
    block_size: int = 65536,
    method: str | None = None,
    resample: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Run an effect over an audio file of any length, block by block with the state carried.

    Memory stays flat: the file is read and written ``block_size`` frames at a time, and the
    effect's `stream` carries its filter states between blocks (the output equals one pass).

    Args:
        effect_name: checkpoint name/folder/Hub repo id, or a registered effect name.
        input_path, output_path: audio files (anything soundfile reads/writes: wav, flac, ...).
        block_size: frames per block.
        method: override the effect's implementation (e.g. "fs").
        resample: when the file's sample rate differs from the effect's, resample (soxr, streamed)
            instead of refusing.
        progress: show a progress bar.

    Raises:
        ValueError: sample-rate mismatch without ``resample``, or an effect that cannot stream.
    """
    import soundfile as sf
    import soxr

    input_path, output_path = Path(input_path), Path(output_path)
    if not input_path.is_file():
        raise FileNotFoundError(f"Input audio file not found: {input_path}")
    info = sf.info(str(input_path))
    effect = load_effect(effect_name, method=method, sample_rate=info.samplerate)
    if not effect.supports_streaming:
        raise ValueError(
            f"{effect_name!r} ({type(effect).__name__}) does not process arbitrary audio block by block "
            "(the synth re-synthesises notes from target audio); use an audio effect: phaser or compressor"
        )
    effect_rate = int(round(effect.sample_rate))
    if info.samplerate != effect_rate and not resample:
        raise ValueError(
            f"Sample rate of {input_path} is {info.samplerate} Hz but the effect runs at {effect_rate} Hz; "
            "pass --resample to resample (the output is written at the input's rate)"
        )
    channels = info.channels
    to_effect = soxr.ResampleStream(info.samplerate, effect_rate, channels, dtype="float32") if info.samplerate != effect_rate else None
    to_file = soxr.ResampleStream(effect_rate, info.samplerate, channels, dtype="float32") if to_effect else None
    dtype = next(effect.parameters()).dtype if any(True for _ in effect.parameters()) else torch.float32
    effect.reset_stream()
    n_blocks = max(1, math.ceil(info.frames / block_size))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=info.frames, unit="frame", unit_scale=True, desc=f"zoo apply {effect_name}")
    start = time.perf_counter()
    peak = 0.0
    with sf.SoundFile(str(output_path), "w", samplerate=info.samplerate, channels=channels, subtype="FLOAT" if output_path.suffix.lower() == ".wav" else None) as out:
        for index, block in enumerate(sf.blocks(str(input_path), blocksize=block_size, dtype="float32", always_2d=True)):
            last = index == n_blocks - 1
            if to_effect is not None:
                block = to_effect.resample_chunk(block, last=last)
            if len(block):
                x = torch.from_numpy(np.ascontiguousarray(block.T))[None].to(dtype)
                with torch.no_grad():
                    y = effect.stream(x)[0].T.to(torch.float32).numpy()
            else:
                y = np.zeros((0, channels), dtype=np.float32)
            if to_file is not None:
                y = to_file.resample_chunk(np.ascontiguousarray(y), last=last)
            out.write(y)
            peak = max(peak, float(np.abs(y).max()) if len(y) else 0.0)
            if bar is not None:
                bar.update(min(block_size, info.frames - index * block_size))
    if bar is not None:
        bar.close()
    return {
        "effect": type(effect).__name__,
        "frames": info.frames,
        "sample_rate": info.samplerate,
        "channels": channels,
        "seconds": time.perf_counter() - start,
        "peak": peak,
    }


def push_command(folder: str | Path, repo_id: str, *, token: str | None = None, private: bool | None = None,
                 revision: str | None = None) -> str:
    """Upload a checkpoint folder (config.json, model.safetensors, README.md) to the Hugging Face Hub."""
    folder = Path(hub.resolve_checkpoint(str(folder)))
    return hub.push_to_hub(folder, repo_id, token=token, private=private, revision=revision)
