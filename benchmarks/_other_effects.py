"""Targets from DSP implementations other than pedalboard (JUCE), for `benchmarks/fit.py --source other`.

`zoo fit` is judged on effects it was not built against; these two are written independently of
both JUCE and our models:

- ``classic_phaser``: an analogue-style phaser (MXR Phase 90 / Small Stone family): K first-order
  all-passes whose break frequency a *triangle* LFO sweeps *linearly in Hz* between ``low_hz`` and
  ``high_hz`` (our model sweeps in log frequency with a sine/triangle mix), bilinear all-pass
  coefficients, feedback from the last stage through a one-sample delay, output (x + chain) / 2 or
  a given mix. A Numba sample loop.
- ``sox_effect``: SoX (`apt install sox`): ``compand`` (its own envelope follower and transfer
  function) and ``phaser`` (a modulated *delay line* with feedback, not all-pass stages).
- ``torchcomp_compressor``: `torchcomp` (a separate package): an RMS detector (one-pole average of
  x^2, 10 ms), `torchcomp.compexp_gain` (hard-knee compressor, attack/release one-pole on the gain),
  make-up gain.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["classic_phaser", "torchcomp_compressor", "sox_effect", "draw_other", "render_other"]


@njit(cache=True)
def _phaser_loop(x, sample_rate, rate_hz, low_hz, high_hz, stages, feedback, mix, phase0):
    y = np.empty_like(x)
    state_x = np.zeros(stages)
    state_y = np.zeros(stages)
    last = 0.0
    for n in range(x.shape[0]):
        cycle = (rate_hz * n / sample_rate + phase0) % 1.0
        tri = 4.0 * cycle - 1.0 if cycle < 0.5 else 3.0 - 4.0 * cycle  # -1..1
        f = low_hz + 0.5 * (tri + 1.0) * (high_hz - low_hz)
        t = math.tan(math.pi * f / sample_rate)
        a = (t - 1.0) / (t + 1.0)
        u = x[n] + feedback * last
        for k in range(stages):
            out = a * u + state_x[k] - a * state_y[k]
            state_x[k] = u
            state_y[k] = out
            u = out
        last = u
        y[n] = (1.0 - mix) * x[n] + mix * u
    return y


def classic_phaser(x: np.ndarray, sample_rate: int, *, rate_hz: float, low_hz: float, high_hz: float, stages: int,
                   feedback: float, mix: float = 0.5, phase: float = 0.0) -> np.ndarray:
    """(T,) float32 -> (T,) float32; see the module docstring."""
    y = _phaser_loop(np.asarray(x, np.float64), float(sample_rate), rate_hz, low_hz, high_hz, int(stages), feedback, mix,
                     phase)
    return y.astype(np.float32)


def torchcomp_compressor(x: np.ndarray, sample_rate: int, *, threshold_db: float, ratio: float, attack_ms: float,
                         release_ms: float, makeup_db: float = 0.0, rms_ms: float = 10.0) -> np.ndarray:
    """(T,) float32 -> (T,) float32; see the module docstring."""
    import torch
    import torchcomp

    signal = torch.from_numpy(np.asarray(x, np.float64))[None]
    rms = torchcomp.avg(signal.square().clamp_min(1e-10), torchcomp.ms2coef(torch.tensor(rms_ms), sample_rate))
    gain = torchcomp.compexp_gain(rms.clamp_min(1e-10), threshold_db, ratio, -200.0, 0.999,
                                  torchcomp.ms2coef(torch.tensor(attack_ms), sample_rate),
                                  torchcomp.ms2coef(torch.tensor(release_ms), sample_rate))
    return (signal * gain * 10 ** (makeup_db / 20))[0].numpy().astype(np.float32)


def draw_other(effect: str, rng: np.random.Generator) -> dict:
    logu = lambda lo, hi: float(np.exp(rng.uniform(np.log(lo), np.log(hi))))  # noqa: E731
    if effect == "phaser":
        low = logu(100, 800)
        return dict(rate_hz=logu(0.1, 5.0), low_hz=low, high_hz=low * logu(3, 12), stages=int(rng.choice([4, 6, 8, 12])),
                    feedback=float(rng.uniform(-0.7, 0.7)), mix=float(rng.uniform(0.3, 1.0)),
                    phase=float(rng.uniform(0, 1)))
    return dict(threshold_db=float(rng.uniform(-40, -5)), ratio=logu(1.5, 20), attack_ms=logu(0.5, 50),
                release_ms=logu(20, 500), makeup_db=float(rng.uniform(0, 6)))


def render_other(effect: str, settings: dict, x: np.ndarray, sample_rate: int) -> np.ndarray:
    fn = classic_phaser if effect == "phaser" else torchcomp_compressor
    return fn(x, sample_rate, **settings)


def sox_effect(x: np.ndarray, sample_rate: int, args: list[str]) -> np.ndarray:
    """Run ``sox dry.wav wet.wav <args>`` (32-bit float files); (T,) float32, trimmed/padded to len(x)."""
    import subprocess
    import tempfile
    from pathlib import Path

    import soundfile as sf

    with tempfile.TemporaryDirectory() as tmp:
        dry, wet = Path(tmp) / "dry.wav", Path(tmp) / "wet.wav"
        sf.write(str(dry), np.asarray(x, np.float32), sample_rate, subtype="FLOAT")
        subprocess.run(["sox", "-q", str(dry), "-b", "32", "-e", "floating-point", str(wet), *args], check=True)
        y = sf.read(str(wet), dtype="float32")[0]
    return np.pad(y, (0, max(0, len(x) - len(y))))[: len(x)]
