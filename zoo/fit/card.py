"""The checkpoint folder's card (README.md), figure (fit.png) and audio excerpts (audio/)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np

__all__ = ["card_text", "write_card", "write_figure", "write_excerpts"]

_WHAT = {
    "phaser": "a phaser: K first-order all-pass stages swept by an LFO in log frequency, with feedback, a "
              "dry/wet mix and an output biquad (`zoo.effects.Phaser`, device structures of `zoo fit`)",
    "compressor": "a dynamic range compressor: level detector, attack/release ballistics, static curve "
                  "(threshold, ratio, knee) and make-up gain (`zoo.effects.Compressor`)",
}


def write_card(path: Path, effect_name: str, command: list[str], summary: dict) -> None:
    """Write `card_text` to ``path``."""
    path.write_text(card_text(effect_name, command, summary))


def card_text(effect_name: str, command: list[str], summary: dict) -> str:
    """The README.md card of a fitted folder (markdown), from `zoo fit`'s summary."""
    lines = [
        "---", "library_name: zoo", f"tags: [audio, differentiable-dsp, {effect_name}, zoo-fit]", "---", "",
        f"# {effect_name} fitted with `zoo fit`", "",
        f"Models {_WHAT[effect_name]}.", "",
        "## Command", "", "```", " ".join(shlex.quote(c) for c in command), "```", "",
        "## Data", "",
        f"- dry: `{summary['dry']}`; wet: `{summary['wet']}`; {summary['sample_rate']} Hz, "
        f"{summary['duration_s']:.2f} s (mono).",
        f"- training: 0-{summary['val_start_s']:.2f} s; validation (model selection): "
        f"{summary['val_start_s']:.2f}-{summary['fit_stop_s']:.2f} s; held out: {summary['fit_stop_s']:.2f} s-end "
        f"(the last {100 * summary['holdout']:.0f} %).",
        f"- latency compensated: {summary['latency_samples']} samples; polarity flipped: "
        f"{'yes' if summary['polarity_flipped'] else 'no'}; capture signal recognised: "
        f"{'yes' if summary.get('capture') else 'no'}.",
    ]
    for note in summary.get("notes", []):
        lines.append(f"- check: {note}")
    lines += [
        "", "## Held-out metrics", "",
        "The fitted model runs over the whole recording from t = 0 (as `zoo apply` does); the held-out tail is scored.", "",
        "| metric | untrained default | fitted |", "|---|---|---|",
        f"| ESR | {100 * summary['untrained_esr']:.3f} % | {100 * summary['heldout_esr']:.3f} % |",
        f"| MR-STFT | {summary['untrained_mrstft']:.4f} | {summary['heldout_mrstft']:.4f} |", "",
        f"Structure chosen on validation: `{json.dumps(summary['structure'])}`; "
        f"search {summary['search_s']:.0f} s, gradient phase {summary['train_steps']} steps, "
        f"total {summary['elapsed_s']:.0f} s.", "",
        "## Learned parameters (physical units)", "", "| parameter | value |", "|---|---|",
    ]
    for k, v in summary["learned"].items():
        lines.append(f"| {k} | {v:.6g} |")
    lines += ["", "![fit](fit.png)", "", "Use it: `zoo apply THIS_FOLDER in.wav out.wav`.", ""]
    return "\n".join(lines)


def write_figure(path: Path, effect, target: np.ndarray, before: np.ndarray, after: np.ndarray,
                 sample_rate: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    n_fft = 2048
    sigs = ((axes[0, 0], target, "target (held out)"), (axes[0, 1], after, "fitted model"),
            (axes[1, 0], after - target, "error: fitted - target"))
    specs = [_spectrogram_db(sig, n_fft) for _, sig, _ in sigs]
    top = max(float(np.max(s)) for s in specs)  # one colour scale: the error is shown relative to the target
    duration = len(target) / sample_rate
    for (ax, _sig, title), spec in zip(sigs, specs):
        ax.imshow(spec.T, origin="lower", aspect="auto", cmap="magma", vmin=top - 100.0, vmax=top,
                  extent=(0.0, duration, 0.0, sample_rate / 2))
        ax.set_title(title)
        ax.set_xlabel("time in the held-out tail (s)")
        ax.set_ylabel("Hz")
    curves = effect.control_curves()
    ax = axes[1, 1]
    if "break_hz" in curves:
        t, f = curves["break_hz"]
        ax.plot(t.numpy(), f.detach().numpy())
        ax.set_yscale("log")
        ax.set_xlabel("time (s)")
        ax.set_ylabel("break frequency (Hz)")
        ax.set_title("learned LFO sweep")
    else:
        x_db, y_db = curves["static_curve"]
        ax.plot(x_db.numpy(), y_db.detach().numpy(), label="fitted")
        ax.plot(x_db.numpy(), x_db.numpy(), "--", color="gray", label="unity")
        ax.set_xlabel("input level (dB)")
        ax.set_ylabel("output level (dB)")
        ax.set_title("learned static curve")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _spectrogram_db(x: np.ndarray, n_fft: int) -> np.ndarray:
    hop = n_fft // 2
    x = np.asarray(x, np.float64)
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    n = 1 + (len(x) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * np.hanning(n_fft), axis=1)) ** 2
    return 10.0 * np.log10(spec + 1e-20)


def write_excerpts(folder: Path, dry: np.ndarray, target: np.ndarray, sample_rate: int, max_s: float = 10.0) -> None:
    """audio/dry.wav and audio/target.wav: the first <= 10 s of the held-out tail, at the effect's rate."""
    import soundfile as sf

    n = min(len(dry), int(max_s * sample_rate))
    (folder / "audio").mkdir(exist_ok=True)
    sf.write(str(folder / "audio" / "dry.wav"), dry[:n].astype(np.float32), int(sample_rate), subtype="FLOAT")
    sf.write(str(folder / "audio" / "target.wav"), target[:n].astype(np.float32), int(sample_rate), subtype="FLOAT")
