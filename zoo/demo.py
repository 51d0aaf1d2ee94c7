"""`zoo demo`: every pretrained effect on a generated dry clip, with before/after spectrograms.

Writes ``<out>/<checkpoint>_{dry,model,real}.wav``, ``<out>/demo.png`` (spectrograms of the dry
clip, our model's output and the real effect's output, plus each effect's learned controls), and
prints a table: how close each model is to the real effect it was trained on (ESR on this clip,
which none of them saw in training) and how fast it ran.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import hub


def _dry_clip(sample_rate: int, duration_s: float, seed: int) -> np.ndarray:
    from .data.generate import drum_hits, plucked_phrase

    guitar = plucked_phrase(sample_rate, duration_s, seed=seed)
    drums = drum_hits(sample_rate, duration_s, seed=seed + 1)
    mix = 0.7 * guitar + 0.5 * drums
    return (mix / max(1e-9, float(np.abs(mix).max())) * 0.8).astype(np.float32)


def _esr(pred: np.ndarray, target: np.ndarray) -> float:
    return float(np.sum((pred - target) ** 2) / max(np.sum(target**2), 1e-30))


def _mss(pred: np.ndarray, target: np.ndarray) -> float:
    """Multi-resolution STFT distance (auraloss, the paper's MSS); NaN without auraloss."""
    try:
        import auraloss
    except ImportError:
        return float("nan")
    loss = auraloss.freq.MultiResolutionSTFTLoss(fft_sizes=[1024, 512, 256], hop_sizes=[256, 128, 64], win_lengths=[1024, 512, 256])
    return float(loss(torch.from_numpy(pred)[None, None].float(), torch.from_numpy(target)[None, None].float()))


def _spectrogram(ax: Any, audio: np.ndarray, sample_rate: int, title: str) -> None:
    ax.specgram(audio + 1e-6 * np.random.default_rng(0).standard_normal(len(audio)), NFFT=1024, Fs=sample_rate, noverlap=768, cmap="magma", vmin=-140)
    ax.set_title(title, fontsize=8)
    ax.set_ylim(0, min(8000, sample_rate / 2))
    ax.tick_params(labelsize=6)


def run_demo(out_dir: str | Path = "out/demo", *, duration_s: float = 4.0, seed: int = 0) -> list[dict[str, Any]]:
    """Run every shipped checkpoint on generated audio; return the table rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .data.audio_io import save_audio
    from .data.render import RealEffect, render_acid_note, render_effect
    from .data.generate import acid_notes, acid_source

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    checkpoints = hub.list_checkpoints()
    if not checkpoints:
        raise RuntimeError(f"No checkpoints found in {hub.CHECKPOINTS_DIR}; build them with `make checkpoints`")
    rows: list[dict[str, Any]] = []
    fig, axes = plt.subplots(len(checkpoints), 4, figsize=(13, 2.6 * len(checkpoints)), squeeze=False)
    for row_axes, (name, config) in zip(axes, checkpoints.items()):
        effect = hub.from_pretrained(hub.CHECKPOINTS_DIR / name).eval()
        card = config.get("card", {})
        rate = int(round(effect.sample_rate))
        target_spec = card.get("data", {}).get("init_args", {}).get("effect")
        with torch.no_grad():
            if config["effect"] == "synth":
                # The synth re-synthesises notes: feed it 303-style notes rendered by the real ladder.
                notes = acid_notes(rate, 8, seed=seed + 7)
                real = np.concatenate([render_acid_note(n, rate) for n in notes]).astype(np.float32)
                dry = np.concatenate([acid_source(n, rate) for n in notes]).astype(np.float32)
                target = torch.from_numpy(np.stack([render_acid_note(n, rate) for n in notes]))[:, None].float()
                batch = {
                    "target": target,
                    "f0_hz": torch.tensor([n.f0_hz for n in notes], dtype=torch.float32),
                    "note_on_samples": torch.tensor([n.note_on_samples for n in notes]),
                }
                effect.forward_batch({k: v[:1] for k, v in batch.items()})  # warm-up (kernel load)
                start = time.perf_counter()
                pred = effect.forward_batch(batch)[:, 0].reshape(-1).numpy()
                seconds = time.perf_counter() - start
                curves = effect.control_curves({k: v[:1] for k, v in batch.items()})
            else:
                dry = _dry_clip(rate, duration_s, seed)
                x = torch.from_numpy(dry)[None, None].to(next(effect.parameters()).dtype)
                effect(x[..., :512])  # load the compiled kernels first: time the processing only
                start = time.perf_counter()
                pred = effect(x)[0, 0].float().numpy()
                seconds = time.perf_counter() - start
                real = render_effect(dry[None], rate, RealEffect.from_config(target_spec))[0] if target_spec else None
                curves = effect.control_curves()
        for suffix, audio in (("dry", dry), ("model", pred), ("real", real)):
            if audio is not None:
                save_audio(out / f"{name}_{suffix}.wav", np.asarray(audio, dtype=np.float32)[None], rate)
        _spectrogram(row_axes[0], dry, rate, f"{name}: dry")
        _spectrogram(row_axes[1], pred, rate, f"{name}: our model ({effect.method})")
        if real is not None:
            _spectrogram(row_axes[2], real, rate, f"{name}: real effect")
        else:
            row_axes[2].axis("off")
        curve_name, (xs, ys) = next(iter(curves.items()))
        row_axes[3].plot(xs.numpy(), ys.numpy(), lw=1)
        row_axes[3].set_title(f"learned: {curve_name}", fontsize=8)
        row_axes[3].tick_params(labelsize=6)
        rows.append(
            {
                "checkpoint": name,
                "effect": type(effect).__name__,
                "method": effect.method,
                "audio_s": len(pred) / rate,
                "run_s": seconds,
                "esr_vs_real": _esr(pred, real) if real is not None and len(real) == len(pred) else float("nan"),
                "mss_vs_real": _mss(pred, real) if real is not None and len(real) == len(pred) else float("nan"),
                "card_test_esr": card.get("test_metrics", {}).get("esr", float("nan")),
            }
        )
    fig.tight_layout()
    fig.savefig(out / "demo.png", dpi=80)
    plt.close(fig)
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| checkpoint | effect | method | audio (s) | run (s) | ESR vs real effect (this clip) "
        "| MSS vs real effect (this clip) | card test ESR |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['checkpoint']} | {r['effect']} | {r['method']} | {r['audio_s']:.2f} | {r['run_s']:.3f} | "
            f"{r['esr_vs_real']:.4f} | {r['mss_vs_real']:.4f} | {r['card_test_esr']:.4f} |"
        )
    return "\n".join(lines)
