"""The page's audio: pick the clips (a user file, a fit's audio/, or regenerated material) and run
the model on them.

Which dry clip, in order (`performance`):

1. ``input_path``: the user's file, mono, resampled to the effect's rate, its first 10 s. The real
   effect is rendered on it when the checkpoint names one (``data`` spec with a pedalboard effect).
2. ``audio_dir/dry.wav`` and ``audio_dir/target.wav`` (what ``zoo fit`` stores in a checkpoint).
3. A generated clip (plucked phrase + drums, as ``zoo demo`` always used), through the real effect
   named by the ``data`` spec when there is one. The synth instead re-synthesises 303-style notes
   rendered by pedalboard's ladder filter.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from .page import MAX_CLIP_S

__all__ = ["Performance", "generated_dry_clip", "real_effect_config", "load_clip", "run_audio_effect", "run_synth", "performance"]

#: registry names of effects that re-synthesise notes instead of processing a dry signal
SYNTH_EFFECTS = ("synth", "synth_lstm")


@dataclass
class Performance:
    """One effect run on one clip: the audio, the learned controls and the time it took.

    Attributes:
        sample_rate: (Hz).
        prediction: our model's output, (T,).
        dry: the input, (T,); for the synth, the notes' unfiltered source. None if unknown.
        target: the real effect's output (for the synth, the target notes), (T,), or None.
        curves: `Effect.control_curves` as numpy arrays, name -> (x, y).
        learned: `Effect.learned_parameters` (physical units).
        run_s: seconds our model took (after a warm-up call).
        origin: where the clips come from, in words.
        synth: whether the effect re-synthesises notes (then ``target`` is what it heard).
    """

    sample_rate: int
    prediction: np.ndarray
    dry: np.ndarray | None
    target: np.ndarray | None
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    learned: dict[str, float] = field(default_factory=dict)
    run_s: float = float("nan")
    origin: str = ""
    synth: bool = False


def generated_dry_clip(sample_rate: int, duration_s: float, seed: int) -> np.ndarray:
    """A plucked phrase over drum hits, peak 0.8, (T,) float32 (the demo's dry material)."""
    from ..data.generate import drum_hits, plucked_phrase

    guitar = plucked_phrase(sample_rate, duration_s, seed=seed)
    drums = drum_hits(sample_rate, duration_s, seed=seed + 1)
    mix = 0.7 * guitar + 0.5 * drums
    return (mix / max(1e-9, float(np.abs(mix).max())) * 0.8).astype(np.float32)


def real_effect_config(data_spec: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The real effect (``{"kind": ..., ...}``) a ``data`` spec renders its targets with, or None."""
    if not isinstance(data_spec, Mapping):
        return None
    effect = (data_spec.get("init_args") or {}).get("effect")
    return dict(effect) if isinstance(effect, Mapping) and "kind" in effect else None


def load_clip(path: str | Path, sample_rate: int, *, max_s: float = MAX_CLIP_S) -> np.ndarray:
    """The first ``max_s`` seconds of an audio file, mono, resampled to ``sample_rate``, (T,).

    Raises:
        FileNotFoundError: no such file.
        ValueError: unreadable or empty file (the message names it).
    """
    from ..data.audio_io import audio_info, load_audio

    info = audio_info(path)
    audio, _ = load_audio(path, sample_rate, channels=1, stop=min(info.num_frames, int(max_s * info.sample_rate)))
    audio = audio[0, : int(max_s * sample_rate)]
    if audio.size == 0:
        raise ValueError(f"Unexpected length for audio file {path}: expected some samples, found none")
    return audio


def _numpy_curves(curves: Mapping[str, tuple[Any, Any]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {k: (np.asarray(torch.as_tensor(x).double().cpu()), np.asarray(torch.as_tensor(y).double().cpu())) for k, (x, y) in curves.items()}


@torch.no_grad()
def run_audio_effect(effect: torch.nn.Module, dry: np.ndarray, target: np.ndarray | None = None, *, origin: str = "") -> Performance:
    """Run an audio effect (phaser, compressor...) on a mono clip ``dry`` (T,)."""
    dtype = next(effect.parameters()).dtype
    x = torch.from_numpy(np.ascontiguousarray(dry, dtype=np.float32))[None, None].to(dtype)
    effect(x[..., :512])  # load the compiled kernels first: time the processing only
    start = time.perf_counter()
    prediction = effect(x)[0, 0].float().numpy()
    seconds = time.perf_counter() - start
    return Performance(
        sample_rate=int(round(effect.sample_rate)), prediction=prediction, dry=np.asarray(dry, dtype=np.float32),
        target=None if target is None else np.asarray(target, dtype=np.float32),
        curves=_numpy_curves(effect.control_curves({"input": x})), learned=dict(effect.learned_parameters()),
        run_s=seconds, origin=origin,
    )


@torch.no_grad()
def run_synth(effect: torch.nn.Module, *, num_notes: int = 8, seed: int = 0) -> Performance:
    """Re-synthesise ``num_notes`` 303-style notes rendered by pedalboard's ladder (needs pedalboard)."""
    from ..data.generate import acid_notes, acid_source
    from ..data.render import render_acid_note

    rate = int(round(effect.sample_rate))
    notes = acid_notes(rate, num_notes, seed=seed + 7)
    targets = np.stack([render_acid_note(n, rate) for n in notes]).astype(np.float32)
    dtype = next(effect.parameters()).dtype
    batch = {
        "target": torch.from_numpy(targets)[:, None].to(dtype),
        "f0_hz": torch.tensor([n.f0_hz for n in notes], dtype=dtype),
        "note_on_samples": torch.tensor([n.note_on_samples for n in notes]),
    }
    effect.forward_batch({k: v[:1] for k, v in batch.items()})  # warm-up (kernel load)
    start = time.perf_counter()
    prediction = effect.forward_batch(batch)[:, 0].reshape(-1).float().numpy()
    seconds = time.perf_counter() - start
    learned = dict(effect.learned_parameters())  # the synth's: mean predicted globals of this pass
    return Performance(
        sample_rate=rate, prediction=prediction, dry=np.concatenate([acid_source(n, rate) for n in notes]).astype(np.float32),
        target=targets.reshape(-1), curves=_numpy_curves(effect.control_curves({k: v[:1] for k, v in batch.items()})),
        learned=learned, run_s=seconds, synth=True,
        origin=f"{num_notes} generated 303-style notes (seed {seed + 7}) through pedalboard's LadderFilter; the model hears each target note and re-synthesises it",
    )


def _render_real(dry: np.ndarray, rate: int, real_config: Mapping[str, Any] | None) -> tuple[np.ndarray | None, str]:
    if real_config is None:
        return None, "no real effect is known for this checkpoint"
    from ..data.render import RealEffect, render_effect

    try:
        target = render_effect(dry[None], rate, RealEffect.from_config(real_config))[0]
    except ImportError:
        return None, "the real effect needs pedalboard (pip install 'allpole-zoo[train]')"
    settings = ", ".join(f"{k}={v}" for k, v in real_config.items() if k != "kind")
    return target, f"real effect: pedalboard {real_config['kind']} ({settings})"


def performance(
    effect: torch.nn.Module,
    *,
    effect_name: str,
    input_path: str | Path | None = None,
    audio_dir: str | Path | None = None,
    data_spec: Mapping[str, Any] | None = None,
    duration_s: float = 4.0,
    seed: int = 0,
) -> Performance:
    """Pick the clips (see the module docstring) and run ``effect`` on them.

    Args:
        effect: the effect, in eval mode.
        effect_name: its registry name (`zoo.hub.EFFECTS`), to tell the synth apart.
        input_path: a dry audio file; its first 10 s are used. Default None.
        audio_dir: a folder with ``dry.wav`` and ``target.wav``. Default None.
        data_spec: the checkpoint's training ``data`` spec (class_path + init_args). Default None.
        duration_s: length of a generated clip (s), > 0. Default 4.0.
        seed: seed of the generated material. Default 0.

    Raises:
        ValueError: ``input_path`` given for the synth, a bad ``duration_s``, or unreadable audio.
        FileNotFoundError: ``input_path`` does not exist.
    """
    rate = int(round(effect.sample_rate))
    if effect_name in SYNTH_EFFECTS:
        if input_path is not None:
            raise ValueError("--input is not supported for the synth: it re-synthesises notes of known pitch; leave --input out")
        return run_synth(effect, seed=seed)
    real_config = real_effect_config(data_spec)
    if input_path is not None:
        dry = load_clip(input_path, rate)
        target, note = _render_real(dry, rate, real_config)
        return run_audio_effect(effect, dry, target, origin=f"dry: {Path(input_path).name} (first {len(dry) / rate:.1f} s, mono, {rate} Hz); {note}")
    if audio_dir is not None and (Path(audio_dir) / "dry.wav").is_file() and (Path(audio_dir) / "target.wav").is_file():
        dry = load_clip(Path(audio_dir) / "dry.wav", rate)
        target = load_clip(Path(audio_dir) / "target.wav", rate)
        n = min(len(dry), len(target))
        return run_audio_effect(effect, dry[:n], target[:n], origin=f"the recording this checkpoint was fitted to ({Path(audio_dir).name}/dry.wav and target.wav, first {n / rate:.1f} s)")
    if not 0 < duration_s:
        raise ValueError(f"Unexpected value for `duration_s`: expected > 0 (s), found {duration_s}")
    dry = generated_dry_clip(rate, duration_s, seed)
    target, note = _render_real(dry, rate, real_config)
    return run_audio_effect(effect, dry, target, origin=f"dry: a generated plucked phrase over drums ({duration_s:g} s, seed {seed}), unseen in training; {note}")
