"""The standard capture signal: play it through your gear, record the output, `zoo fit` the pair.

Layout (seconds at any rate; sections are deterministic, seed 0):

==============  ========  ==========================================================================
section         length    what `zoo fit` uses it for
==============  ========  ==========================================================================
sync marker     0.5 s     white noise, 0.25 s at -12 dBFS (seed 1234), then 0.25 s of silence:
                          recognised by cross-correlation, it aligns the pair (latency, polarity)
chirp train     6 s       log sweeps 20 Hz-Nyquist at -18..-1 dBFS (the paper's phaser data): every
                          frequency at every LFO phase, for the gradient phase
steady noise    5 s       pink noise at -18 dBFS RMS (seed 0): every frequency in every frame, so the
                          notch sweep can be read frame by frame (the phaser's LFO estimators)
level steps     8.4 s     a 500 Hz sine in 21 steps of 0.4 s from -60 to 0 dBFS: the compressor's
                          static curve (steady levels) and, at each step, attack and release
noise bursts    4 s       bursts of random length and level: more ballistics
music           10 s      `zoo.data.generate.music_mix`: plucks, bass, drums, quiet and loud
                          sections (the held-out tail of a default fit lies here)
==============  ========  ==========================================================================
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.generate import generate_material

__all__ = ["SECTIONS", "capture_signal", "write_capture_signal", "detect_capture"]

#: (name, length in s) in order
SECTIONS = (("sync", 0.5), ("chirps", 6.0), ("noise", 5.0), ("level_steps", 8.4), ("bursts", 4.0), ("music", 10.0))
MARKER_SEED = 1234


def _marker(sample_rate: int) -> np.ndarray:
    n = int(0.25 * sample_rate)
    noise = np.random.default_rng(MARKER_SEED).standard_normal(n)
    return (noise / np.sqrt(np.mean(noise**2)) * 10 ** (-12 / 20)).astype(np.float32)


def _level_steps(sample_rate: int, duration_s: float) -> np.ndarray:
    """A 500 Hz sine in 21 steps from -60 to 0 dBFS (peak), 10 ms fades between steps."""
    n_steps = 21
    step = int(round(duration_s / n_steps * sample_rate))
    t = np.arange(step * n_steps) / sample_rate
    levels_db = np.linspace(-60.0, 0.0, n_steps)
    gains = np.repeat(10 ** (levels_db / 20), step)
    ramp = max(1, int(0.01 * sample_rate))
    kernel = np.ones(ramp) / ramp
    gains = np.convolve(np.concatenate([np.full(ramp, gains[0]), gains]), kernel, mode="same")[ramp:]
    return (0.999 * np.sin(2 * np.pi * 500.0 * t) * gains).astype(np.float32)


def _pink_noise(sample_rate: int, n: int, rms_db: float = -18.0) -> np.ndarray:
    """Steady pink (1/f power, 20 Hz-Nyquist) noise, seed 0, at ``rms_db`` dBFS RMS, 10 ms fades."""
    spectrum = np.fft.rfft(np.random.default_rng(0).standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
    spectrum *= np.where(freqs >= 20.0, 1.0 / np.sqrt(np.maximum(freqs, 20.0)), 0.0)
    noise = np.fft.irfft(spectrum, n)
    noise *= 10 ** (rms_db / 20) / np.sqrt(np.mean(noise**2))
    ramp = max(1, int(0.01 * sample_rate))
    noise[:ramp] *= np.linspace(0.0, 1.0, ramp)
    noise[-ramp:] *= np.linspace(1.0, 0.0, ramp)
    return noise.astype(np.float32)


def capture_signal(sample_rate: int = 48000) -> np.ndarray:
    """The capture signal, (T,) float32 in [-1, 1]; see the module docstring for its layout."""
    sample_rate = int(sample_rate)
    parts = []
    for name, length in SECTIONS:
        n = int(round(length * sample_rate))
        if name == "sync":
            part = np.zeros(n, dtype=np.float32)
            marker = _marker(sample_rate)
            part[: len(marker)] = marker
        elif name == "chirps":
            part = generate_material("chirp_train", sample_rate, length, seed=0)
        elif name == "noise":
            part = _pink_noise(sample_rate, n)
        elif name == "level_steps":
            part = _level_steps(sample_rate, length)
        elif name == "bursts":
            part = generate_material("noise_bursts", sample_rate, length, seed=0)
        else:
            part = generate_material("music_mix", sample_rate, length, seed=0)
        parts.append(np.asarray(part, dtype=np.float32)[:n])
    return np.clip(np.concatenate(parts), -1.0, 1.0)


def section_ranges(sample_rate: int, start: int = 0) -> dict[str, tuple[int, int]]:
    out, pos = {}, start
    for name, length in SECTIONS:
        n = int(round(length * sample_rate))
        out[name] = (pos, pos + n)
        pos += n
    return out


def detect_capture(dry: np.ndarray, sample_rate: int) -> dict | None:
    """If ``dry`` starts with the capture signal's marker (within its first 2 s), its sections
    {name: (start, stop)} in samples; else None."""
    marker = _marker(sample_rate).astype(np.float64)
    head = np.asarray(dry[: int(2.0 * sample_rate)], dtype=np.float64)
    if len(head) < len(marker):
        return None
    size = 1 << int(np.ceil(np.log2(len(head) + len(marker))))
    r = np.fft.irfft(np.fft.rfft(head, size) * np.conj(np.fft.rfft(marker, size)), size)[: len(head) - len(marker) + 1]
    lag = int(np.argmax(np.abs(r)))
    seg = head[lag: lag + len(marker)]
    corr = float(r[lag] / (np.linalg.norm(seg) * np.linalg.norm(marker) + 1e-30))
    if abs(corr) < 0.9:
        return None
    return {"start": lag, "sections": section_ranges(sample_rate, lag)}


def write_capture_signal(out, sample_rate: int = 48000, *, force: bool = False) -> Path:
    """Write the capture signal to ``out`` (a wav file) through a temporary file; refuse to
    overwrite without ``force``."""
    import soundfile as sf

    from .._io import atomic_path, check_output

    path = check_output(out, force=force)
    audio = capture_signal(sample_rate)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), audio, int(sample_rate), subtype="FLOAT")
    return path
