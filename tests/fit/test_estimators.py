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
    from zoo.effects.phaser import Phaser

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
