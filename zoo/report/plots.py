"""The page's figures as PNG bytes: spectrograms, learned control curves and the fit curve.

Every function draws with matplotlib's Agg backend (no display needed) and returns the bytes of a
PNG file, ready for `zoo.report.Image`.
"""

from __future__ import annotations

import io
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["png_bytes", "spectrogram_axes", "spectrograms_png", "curves_png", "fit_curve_png", "curve_labels"]

#: control-curve name -> (x label, y label); other names get ("time (s)", name)
_CURVE_LABELS: dict[str, tuple[str, str]] = {
    "lfo": ("time (s)", "LFO s(t)"),
    "allpass_coef": ("time (s)", "all-pass coefficient p"),
    "break_hz": ("time (s)", "all-pass break frequency (Hz)"),
    "static_curve": ("input level (dB)", "output level (dB)"),
    "gain_reduction": ("time (s)", "gain (dB)"),
    "cutoff_hz": ("time (s)", "filter cutoff (Hz)"),
    "pole_radius": ("time (s)", "pole radius"),
    "pole_freq_hz": ("time (s)", "pole frequency (Hz)"),
}


def curve_labels(name: str) -> tuple[str, str]:
    """(x label, y label) with units for a curve of ``Effect.control_curves()``."""
    return _CURVE_LABELS.get(name, ("time (s)", name))


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png_bytes(figure: Any, *, dpi: int = 80) -> bytes:
    """A matplotlib figure as PNG bytes; the figure is closed."""
    plt = _pyplot()
    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=dpi)
    finally:
        plt.close(figure)
    return buffer.getvalue()


def spectrogram_axes(ax: Any, audio: np.ndarray, sample_rate: int, title: str) -> None:
    """Draw the spectrogram of mono ``audio`` (T,) on ``ax`` (0 to 8 kHz, dB, magma)."""
    audio = np.asarray(audio, dtype=np.float64)
    audio = audio.mean(axis=0) if audio.ndim == 2 else audio
    # a whisper of noise keeps log(0) out of digital silence
    noise = 1e-6 * np.random.default_rng(0).standard_normal(len(audio))
    ax.specgram(audio + noise, NFFT=1024, Fs=sample_rate, noverlap=768, cmap="magma", vmin=-140)
    ax.set_title(title, fontsize=8)
    ax.set_ylim(0, min(8000, sample_rate / 2))
    ax.set_xlabel("time (s)", fontsize=7)
    ax.set_ylabel("frequency (Hz)", fontsize=7)
    ax.tick_params(labelsize=6)


def spectrograms_png(panels: Sequence[tuple[str, np.ndarray, int]]) -> bytes:
    """One row of spectrograms, one panel per ``(title, audio (T,) or (C, T), sample_rate)``."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 2.8), squeeze=False)
    for ax, (title, audio, rate) in zip(axes[0], panels):
        spectrogram_axes(ax, audio, rate, title)
    fig.tight_layout()
    return png_bytes(fig)


def curves_png(curves: Mapping[str, tuple[Any, Any]]) -> bytes:
    """One panel per learned control curve ``name -> (x, y)`` (1-D arrays or tensors)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(curves), figsize=(4.2 * len(curves), 2.8), squeeze=False)
    for ax, (name, (xs, ys)) in zip(axes[0], curves.items()):
        x_label, y_label = curve_labels(name)
        ax.plot(np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64), lw=1.2)
        if name == "static_curve":
            ax.plot(np.asarray(xs, dtype=np.float64), np.asarray(xs, dtype=np.float64), lw=0.8, ls="--", color="grey", label="unity")
            ax.legend(fontsize=6)
        ax.set_title(name, fontsize=8)
        ax.set_xlabel(x_label, fontsize=7)
        ax.set_ylabel(y_label, fontsize=7)
        ax.tick_params(labelsize=6)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return png_bytes(fig)


def fit_curve_png(series: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> bytes:
    """Loss and metrics against the training step (log scale where every value is positive).

    Args:
        series: name (e.g. ``"train/loss"``, ``"val/esr"``) -> (steps, values), as returned by
            `zoo.report.sources.read_metrics_csv`.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8.0, 3.2))
    positive = True
    for name, (steps, values) in series.items():
        ax.plot(steps, values, lw=1.2, marker="." if len(steps) < 30 else None, label=name)
        positive = positive and bool(np.all(np.asarray(values) > 0))
    if positive:
        ax.set_yscale("log")
    ax.set_xlabel("step", fontsize=8)
    ax.set_ylabel("loss / metric", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return png_bytes(fig)
