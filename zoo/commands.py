"""The `zoo` command's non-training subcommands: list, apply, push, export-checkpoint, recipes.

Each is a plain function (usable from Python) that `zoo.cli` wires to argparse.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from . import hub


def load_effect(name_or_path: str, *, method: str | None = None, sample_rate: float | None = None):
    """An effect from a shipped checkpoint name, a checkpoint folder, a ``zoo train`` run (folder or
    ``.ckpt``), a Hub repo id, or a bare registered effect name (untrained defaults; ``sample_rate``
    then sets its rate).

    Raises:
        FileNotFoundError: ``name_or_path`` is none of these.
        ValueError: a corrupt checkpoint (naming the file and key) or an unknown ``method``.
    """
    from . import run_export

    resolved = hub.resolve_checkpoint(name_or_path)
    if name_or_path in hub.EFFECTS and resolved == name_or_path and not Path(name_or_path).exists():
        kwargs: dict[str, Any] = {}
        if sample_rate is not None:
            kwargs["sample_rate"] = sample_rate
        effect = hub.effect_class(name_or_path)(**kwargs)
    else:
        path = Path(resolved)
        if not path.exists() and not hub.looks_like_repo_id(resolved):
            shipped = ", ".join(hub.list_checkpoints(errors="skip")) or "none installed"
            raise FileNotFoundError(
                f"Unknown effect or checkpoint {name_or_path!r}: not a shipped checkpoint ({shipped}), an effect "
                f"({', '.join(hub.EFFECTS)}), a folder, a .ckpt file or a Hub repo id (user/name)"
            )
        if path.is_file() and not run_export.is_lightning_run(path):
            raise ValueError(
                f"{path} is a file but not a Lightning .ckpt: give a checkpoint folder (config.json + model.safetensors), "
                "a `zoo train` run folder or its .ckpt"
            )
        effect = hub.from_pretrained(resolved)
    if method is not None:
        if method not in getattr(effect, "methods", (method,)):
            raise ValueError(f"Unexpected value for --method: expected one of {list(effect.methods)}, found {method!r}")
        effect.method = method
    return effect.eval()


def list_command() -> str:
    """A table of the registered effects and the shipped checkpoints (a corrupt folder is shown, not fatal)."""
    lines = ["Effects (zoo apply <name> uses untrained defaults):"]
    for name, path in hub.EFFECTS.items():
        lines.append(f"  {name:<12} {path}")
    lines.append("")
    root = hub.checkpoints_dir()
    lines.append(f"Checkpoints ({root if root else 'none in this install'}; zoo apply <name> in.wav out.wav):")
    found = hub.list_checkpoints(errors="report")
    if not found:
        lines.append("  (none)")
    for name, config in found.items():
        if "error" in config:
            lines.append(f"  {name:<24} (unusable: {config['error']})")
            continue
        card = config.get("card", {}) if isinstance(config.get("card"), dict) else {}
        rate = config["init_args"].get("sample_rate", "?")
        metric = card.get("test_metrics", {}) if isinstance(card.get("test_metrics"), dict) else {}
        metric_text = ", ".join(f"{k}={v:.4g}" for k, v in metric.items() if isinstance(v, (int, float)))
        lines.append(f"  {name:<24} {config['effect']:<11} {rate} Hz  {metric_text}")
    return "\n".join(lines)


def _warn(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=3)


def _output_subtype(output_path: Path) -> str | None:
    """libsndfile subtype for the output (float wav), checking that the extension is writable."""
    import soundfile as sf

    suffix = output_path.suffix.lower().lstrip(".")
    formats = {k.lower() for k in sf.available_formats()}
    aliases = {"aif": "aiff", "oga": "ogg"}
    if not suffix or aliases.get(suffix, suffix) not in formats:
        raise ValueError(
            f"Unknown output format {output_path.suffix or '(no extension)'!r} for {output_path}: use .wav, .flac, .aiff or .ogg"
        )
    return "FLOAT" if suffix == "wav" else None


def check_finite_block(block: np.ndarray, offset: int, source: Path | str, nan: str, counter: dict[str, int]) -> np.ndarray:
    """Refuse (``nan="error"``) or zero (``nan="zero"``) non-finite samples; ``block`` is (frames, channels).

    Raises:
        ValueError: naming the file, the first bad frame and channel.
    """
    finite = np.isfinite(block)
    if finite.all():
        return block
    frame, channel = (int(i[0]) for i in np.nonzero(~finite))
    if nan == "error":
        raise ValueError(
            f"{source}: non-finite sample ({block[frame, channel]}) at frame {offset + frame}, channel {channel}; "
            "fix the file, or pass --nan zero to replace non-finite samples with zeros"
        )
    counter.setdefault("first", offset + frame)
    counter["count"] = counter.get("count", 0) + int((~finite).sum())
    return np.where(finite, block, 0.0).astype(block.dtype)


def apply_command(
    effect_name: str,
    input_path: str | Path,
    output_path: str | Path,
    *,
    block_size: int = 65536,
    method: str | None = None,
    resample: bool = False,
    progress: bool = True,
    force: bool = False,
    nan: str = "error",
    warn: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run an effect over an audio file of any length, block by block with the state carried.

    Memory stays flat: the file is read and written ``block_size`` frames at a time, and the
    effect's `stream` carries its filter states between blocks (the output equals one pass). The
    output is written to a temporary file beside ``output_path`` and renamed into place only when
    everything succeeded: an existing file is never truncated by a failed or interrupted run.

    Args:
        effect_name: checkpoint name/folder, ``zoo train`` run or ``.ckpt``, Hub repo id, or a
            registered effect name.
        input_path, output_path: audio files (anything soundfile reads/writes: wav, flac, ...).
            The output may not be the input (symlinks and relative paths are resolved).
        block_size: frames per block (>= 1).
        method: override the effect's implementation (e.g. "fs").
        resample: when the file's sample rate differs from the effect's, resample (soxr, streamed)
            instead of refusing.
        progress: show a progress bar.
        force: replace an existing output file.
        nan: "error" (default): a NaN/Inf input sample is an error naming its frame; "zero":
            replace them with zeros and warn.
        warn: called with each warning (default `warnings.warn`): truncated input, clipped output,
            zeroed samples.

    Raises:
        FileNotFoundError: missing input or unknown effect.
        ValueError: output is the input, exists without ``force``, or has an unknown extension;
            its folder is missing; unreadable or empty input; non-finite input; sample-rate
            mismatch without ``resample``; an effect that cannot stream.
    """
    import soundfile as sf
    import soxr

    from ._io import atomic_path, check_output
    from .data.audio_io import audio_info, wav_missing_bytes

    warn = warn or _warn
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise ValueError(f"Unexpected value for --block-size: expected an integer >= 1, found {block_size!r}")
    if nan not in ("error", "zero"):
        raise ValueError(f"Unexpected value for --nan: expected 'error' or 'zero', found {nan!r}")
    input_path, output_path = Path(input_path), Path(output_path)
    info_in = audio_info(input_path)
    if info_in.num_frames == 0:
        raise ValueError(f"{input_path} holds no audio frames (header only?); give a file with audio in it")
    check_output(output_path, force=force, inputs=[input_path])
    subtype = _output_subtype(output_path)
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
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=info.frames, unit="frame", unit_scale=True, desc=f"zoo apply {effect_name}")
    start = time.perf_counter()
    peak = 0.0
    clipped = 0
    frames_read = 0
    zeroed: dict[str, int] = {}
    try:
        with atomic_path(output_path) as tmp:
            with sf.SoundFile(str(tmp), "w", samplerate=info.samplerate, channels=channels, subtype=subtype,
                              format=None) as out, sf.SoundFile(str(input_path)) as source:
                while True:
                    block = source.read(block_size, dtype="float32", always_2d=True)
                    last = len(block) < block_size or source.tell() >= info.frames
                    if len(block):
                        block = check_finite_block(block, frames_read, input_path, nan, zeroed)
                    frames_read += len(block)
                    frames_in_block = len(block)
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
                    if len(y) and not np.isfinite(y).all():
                        raise ValueError(
                            f"The effect produced non-finite output near frame {frames_read} of {input_path} "
                            "(an unstable checkpoint?); nothing was written"
                        )
                    out.write(y)
                    if len(y):
                        peak = max(peak, float(np.abs(y).max()))
                        if subtype != "FLOAT":
                            clipped += int((np.abs(y) > 1.0).sum())
                    if bar is not None:
                        bar.update(frames_in_block)
                    if last:
                        break
    finally:
        if bar is not None:
            bar.close()
    missing = wav_missing_bytes(input_path)
    if missing:
        warn(f"{input_path}: the file is truncated ({missing} bytes of its audio data are missing); "
             f"processed the {frames_read} frames that are there")
    elif frames_read < info.frames:
        warn(f"{input_path}: the header announces {info.frames} frames but only {frames_read} could be read "
             "(truncated file?); the output holds what was read")
    if zeroed:
        warn(f"{input_path}: replaced {zeroed['count']} non-finite samples with zeros (first at frame {zeroed['first']})")
    if clipped:
        warn(f"{output_path}: {clipped} samples above full scale (peak {peak:.3f}) were clipped by the "
             f"{output_path.suffix} format; write a .wav (32-bit float) to keep them")
    return {
        "effect": type(effect).__name__,
        "frames": frames_read,
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


def push_all_command(repo_prefix: str, *, token: str | None = None, private: bool | None = None,
                     revision: str | None = None) -> dict[str, str]:
    """Upload every shipped checkpoint to ``<repo_prefix>/<name>``; returns name -> commit URL."""
    urls = {}
    for name, config in hub.list_checkpoints().items():
        urls[name] = push_command(name, f"{repo_prefix.rstrip('/')}/{name}", token=token, private=private, revision=revision)
    return urls
