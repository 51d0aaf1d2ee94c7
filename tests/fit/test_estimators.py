"""The estimators on generated signals with known settings (rendered by pedalboard, a third-party
effect, and for the triangle LFO by our own device-structure phaser)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from zoo.data.generate import generate_material
from zoo.fit.capture import capture_signal, section_ranges
from zoo.fit.estimators import estimate_lfo_rate, estimate_static_curve, estimate_sweep

pedalboard = pytest.importorskip("pedalboard")
SR = 22050


@pytest.fixture(scope="module")
def music():
    return generate_material("music_mix", SR, 9.0, seed=4).astype(np.float32)


@pytest.mark.parametrize("rate_hz, depth, centre_hz, feedback, mix", [
    (0.35, 0.6, 400.0, 0.3, 0.8),
    (2.7, 0.4, 1500.0, -0.5, 0.5),
])
def test_lfo_rate_within_5_percent_pedalboard(music, rate_hz, depth, centre_hz, feedback, mix):
    wet = pedalboard.Phaser(rate_hz=rate_hz, depth=depth, centre_frequency_hz=centre_hz, feedback=feedback,
                            mix=mix)(music[None], SR)[0]
    rates = estimate_lfo_rate(music, wet, SR)
    assert abs(rates[0][0] - rate_hz) <= 0.05 * rate_hz, rates
    sweep = estimate_sweep(music, wet, SR, rates)
    assert abs(sweep["rate"] - rate_hz) <= 0.05 * rate_hz


def test_lfo_rate_and_shape_of_a_triangle_lfo(music):
    from zoo.effects.phasers import Phaser

    model = Phaser(SR, num_stages=8, lfo="sweep", stage_form="tpt", feedback_delay=1, signed_feedback=True,
                   lfo_rate_hz=1.3, lfo_shape=1.0, centre_hz=700.0, sweep_octaves=2.0, g2=0.4, g1=1.0)
    with torch.no_grad():
        wet = model(torch.from_numpy(music)[None, None])[0, 0].numpy()
    rates = estimate_lfo_rate(music, wet, SR)
    assert abs(rates[0][0] - 1.3) <= 0.05 * 1.3, rates
    sweep = estimate_sweep(music, wet, SR, rates, num_stages=8)
    assert sweep["shape"] == 1.0 and abs(math.log2(sweep["centre"] / 700.0)) < 0.5


@pytest.mark.parametrize("threshold_db, ratio", [(-30.0, 4.0), (-12.0, 10.0), (-38.0, 1.8)])
def test_static_curve_from_the_capture_level_steps(threshold_db, ratio):
    x = capture_signal(SR)
    lo, hi = section_ranges(SR)["level_steps"]
    wet = pedalboard.Compressor(threshold_db=threshold_db, ratio=ratio, attack_ms=5.0, release_ms=60.0)(x[None], SR)[0]
    est = estimate_static_curve(x[lo:hi], wet[lo:hi], SR, level="midpoint")
    assert abs(est["threshold_db"] - threshold_db) <= 3.0, est
    assert abs(est["ratio"] - ratio) <= 0.3 * ratio, est


def test_lfo_rate_refuses_material_without_broadband_frames() -> None:
    """A pure sine has energy in one band only: one clear line, not a singular-matrix traceback."""
    t = np.arange(4 * SR) / SR
    sine = (0.5 * np.sin(2 * np.pi * 500.0 * t)).astype(np.float32)
    with pytest.raises(ValueError, match="too few broadband frames"):
        estimate_lfo_rate(sine, 0.7 * sine, SR)


def test_lfo_rate_on_the_capture_signal_before_its_validation_part() -> None:
    """The fit estimates on [0, 0.6 T) of the capture signal: its steady-noise section carries the estimate."""
    render = pytest.importorskip("zoo.data.render")
    pytest.importorskip("pedalboard")
    x = capture_signal(SR)
    stop = int(0.6 * len(x))
    for rate in (0.15, 0.6, 2.5):
        y = render.render_effect(x, SR, {"kind": "phaser", "rate_hz": rate, "depth": 0.8, "centre_frequency_hz": 1000.0,
                                         "feedback": 0.0, "mix": 0.5})
        best = estimate_lfo_rate(x[:stop], y[:stop], SR)[0][0]
        assert best == pytest.approx(rate, rel=0.05), (rate, best)
