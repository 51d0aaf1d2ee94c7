"""Phaser TD implementations against a float64 sample-by-sample oracle (the stage equations + the
delay-free feedback loop solved per sample), and the regrouped-vs-exact difference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal
import torch

from zoo.effects.phasers import allpass_cascade_exact, allpass_polynomials, phaser
from zoo.filters import allpole, fir, interpolate_controls, num_frames
from zoo.models.lfo import allpass_coefficient, half_angle_from_break_hz


def phaser_loop(x, p, g1, g2, biquad_b, biquad_a, num_stages):
    """Oracle: y_k[n] = p[n](x_k[n] + y_k[n-1]) - x_k[n-1], u = x + g2 y_K, out = BQ{g1 x + y_K}.

    x (N, T), p (N, T) numpy float64. At each n the chain output is affine in u[n]
    (y_K = c u[n] + d, from the stage states), so the delay-free loop is solved per sample.
    """
    x = np.asarray(x, dtype=np.float64)
    p = np.broadcast_to(np.asarray(p, dtype=np.float64), x.shape)
    rows, n_time = x.shape
    x_prev = np.zeros((rows, num_stages))
    y_prev = np.zeros((rows, num_stages))
    out = np.zeros_like(x)
    for n in range(n_time):
        pn = p[:, n]
        c, d = np.ones(rows), np.zeros(rows)
        for k in range(num_stages):
            c, d = pn * c, pn * d + pn * y_prev[:, k] - x_prev[:, k]
        u = (x[:, n] + g2 * d) / (1.0 - g2 * c)
        xin = u
        for k in range(num_stages):
            yk = pn * (xin + y_prev[:, k]) - x_prev[:, k]
            x_prev[:, k], y_prev[:, k] = xin, yk
            xin = yk
        out[:, n] = g1 * x[:, n] + xin
    return scipy.signal.lfilter(biquad_b, np.concatenate([[1.0], biquad_a]), out, axis=-1)


def esr(y, ref):
    y, ref = np.asarray(y), np.asarray(ref)
    return float(((y - ref) ** 2).sum() / (ref**2).sum())


def lfo_trajectory(rate_hz, n_time, sample_rate, hop, low_hz=100.0, high_hz=2000.0):
    """Audio-rate p from a cosine LFO through the default mapping (break frequency low..high Hz)."""
    d_low, d_high = half_angle_from_break_hz(low_hz, sample_rate), half_angle_from_break_hz(high_hz, sample_rate)
    t_s = torch.arange(num_frames(n_time, hop), dtype=torch.float64) * hop / sample_rate
    frames = allpass_coefficient(d_low + (d_high - d_low) * 0.5 * (1 + torch.cos(2 * math.pi * rate_hz * t_s)))
    return interpolate_controls(frames[:, None], hop, n_time)[:, 0]


BQ_B = torch.tensor([0.8, 0.1, -0.2], dtype=torch.float64)
BQ_A = torch.tensor([-0.5, 0.3], dtype=torch.float64)


@pytest.mark.parametrize("num_stages", [1, 2, 4, 6])
@pytest.mark.parametrize("g2", [0.0, 0.7])
def test_td_exact_matches_loop_fast_p(num_stages, g2):
    gen = torch.Generator().manual_seed(num_stages)
    n_time = 1500
    x = torch.randn(2, 3, n_time, dtype=torch.float64, generator=gen)
    # Fast, deep modulation (and i.i.d. jumps on one item): the regime where regrouping fails.
    t = torch.arange(n_time, dtype=torch.float64)
    p = torch.stack([0.95 * torch.sin(t / 15.0), 1.9 * torch.rand(n_time, generator=gen, dtype=torch.float64) - 0.95])
    y = phaser(x, 44100, p, 0.7, g2, BQ_B, BQ_A, method="td_exact", num_stages=num_stages)
    ref = phaser_loop(x.reshape(6, n_time).numpy(), p.repeat_interleave(3, 0).numpy(), 0.7, g2, BQ_B.numpy(), BQ_A.numpy(), num_stages)
    y, ref = y.reshape(2, 3, n_time).numpy(), ref.reshape(2, 3, n_time)
    # Direct-form recursions of high order lose digits under extreme modulation (documented).
    np.testing.assert_allclose(y[0], ref[0], rtol=0, atol=(1e-10 if num_stages <= 4 else 1e-8) * np.abs(ref[0]).max())
    tol = 1e-10 if num_stages <= 4 else 1e-6
    np.testing.assert_allclose(y[1], ref[1], rtol=0, atol=tol * np.abs(ref[1]).max())


def test_td_exact_per_item_parameters():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 1, 400, dtype=torch.float64, generator=gen)
    p = 0.9 * torch.rand(2, 400, dtype=torch.float64, generator=gen)
    g1, g2 = torch.tensor([0.3, -1.0], dtype=torch.float64), torch.tensor([0.2, 0.8], dtype=torch.float64)
    b = torch.stack([BQ_B, torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)])
    a = torch.stack([BQ_A, torch.tensor([0.2, 0.1], dtype=torch.float64)])
    y = phaser(x, 44100, p, g1, g2, b, a)
    for i in range(2):
        ref = phaser_loop(x[i].numpy(), p[i : i + 1].numpy(), g1[i].item(), g2[i].item(), b[i].numpy(), a[i].numpy(), 4)
        np.testing.assert_allclose(y[i].numpy(), ref, atol=1e-11)


def test_exact_fraction_reduces_to_frozen_polynomials_for_constant_p():
    p = torch.full((3, 50), 0.83, dtype=torch.float64)
    p[1] = -0.4
    den, num = allpass_cascade_exact(p, 4)
    den0, num0 = allpass_polynomials(p, 4)
    torch.testing.assert_close(den, den0, rtol=0, atol=1e-14)
    torch.testing.assert_close(num, num0, rtol=0, atol=1e-14)


def test_exact_fraction_identities():
    """D monic, N_0 = p^K, and A (1 - g2 A)^{-1} x = (D - g2 N)^{-1} N x (one FIR + one all-pole)."""
    gen = torch.Generator().manual_seed(3)
    n_time, g2, k = 800, 0.6, 4
    p = 0.95 * torch.sin(torch.arange(n_time, dtype=torch.float64) / 9.0)
    den, num = allpass_cascade_exact(p, k)
    assert torch.all(den[:, 0] == 1)
    torch.testing.assert_close(num[:, 0], p**k, rtol=1e-12, atol=1e-14)
    x = torch.randn(n_time, dtype=torch.float64, generator=gen)
    e = den - g2 * num
    direct = allpole(fir(x, num / e[:, :1]), e[:, 1:] / e[:, :1])
    # Through the module path with g1 = 0 and an identity biquad: out = y_K (td_exact is the
    # state-space form, exact to ~1e-15; the difference is the composed recursion's rounding).
    one, zero = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    staged = phaser(x[None, None], 1.0, p, 0.0, g2, one, zero)[0, 0]
    torch.testing.assert_close(direct, staged, rtol=0, atol=1e-10)
    ref = phaser_loop(x[None].numpy(), p[None].numpy(), 0.0, g2, one.numpy(), zero.numpy(), k)[0]
    assert esr(staged, ref) < 1e-26


def test_regrouped_equals_exact_for_constant_p():
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(2, 2, 3000, dtype=torch.float64, generator=gen)
    p = torch.tensor([[0.97], [-0.3]], dtype=torch.float64).expand(2, 3000)
    ye = phaser(x, 44100, p, 0.5, 0.6, BQ_B, BQ_A, method="td_exact")
    yr = phaser(x, 44100, p, 0.5, 0.6, BQ_B, BQ_A, method="td_regrouped")
    # A 4-fold pole at 0.97 in direct form: ~1e-10 relative is what float64 allows.
    torch.testing.assert_close(yr, ye, rtol=0, atol=1e-8)
    ref = phaser_loop(x[0].numpy(), p[:1].numpy(), 0.5, 0.6, BQ_B.numpy(), BQ_A.numpy(), 4)
    np.testing.assert_allclose(yr[0].numpy(), ref, atol=1e-8)
    np.testing.assert_allclose(ye[0].numpy(), ref, atol=1e-8)


def test_regrouped_differs_for_fast_p():
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(1, 1, 2000, dtype=torch.float64, generator=gen)
    p = 0.9 * torch.sin(torch.arange(2000, dtype=torch.float64) / 30.0)
    ye = phaser(x, 44100, p, 0.5, 0.5, BQ_B, BQ_A, method="td_exact")
    yr = phaser(x, 44100, p, 0.5, 0.5, BQ_B, BQ_A, method="td_regrouped")
    ref = phaser_loop(x[0].numpy(), p[None].numpy(), 0.5, 0.5, BQ_B.numpy(), BQ_A.numpy(), 4)
    assert esr(ye[0], ref) < 1e-20
    assert esr(yr[0], ref) > 1e-2


# (g2, LFO rate Hz) -> ESR(regrouped, exact) as documented in zoo/effects/phaser.py.
DOCUMENTED = {(0.0, 0.5): 3.5e-5, (0.6, 0.5): 1.1e-4, (0.6, 2.0): 3.8e-2, (0.6, 20.0): 48.0}


def test_regrouped_vs_exact_documented_numbers():
    sample_rate = 44100
    x = torch.randn(1, 1, sample_rate, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    one, zero = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    measured = {}
    for (g2, rate_hz), documented in DOCUMENTED.items():
        p = lfo_trajectory(rate_hz, sample_rate, sample_rate, hop=441)
        ye = phaser(x, sample_rate, p, 0.5, g2, one, zero, method="td_exact")
        yr = phaser(x, sample_rate, p, 0.5, g2, one, zero, method="td_regrouped")
        measured[(g2, rate_hz)] = esr(yr, ye)
    for key, documented in DOCUMENTED.items():
        assert documented / 3 < measured[key] < documented * 3, (key, measured[key], documented)
    assert measured[(0.6, 0.5)] < measured[(0.6, 2.0)] < measured[(0.6, 20.0)]


def test_td_exact_slow_lfo_matches_loop_long():
    """A realistic slow sweep close to p = 1 over 0.5 s: exact to the oracle, regrouped close."""
    sample_rate, n_time = 44100, 22050
    x = torch.randn(1, 1, n_time, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    p = lfo_trajectory(0.5, n_time, sample_rate, hop=441)
    ye = phaser(x, sample_rate, p, 0.5, 0.6, BQ_B, BQ_A, method="td_exact")
    ref = phaser_loop(x[0].numpy(), p[None].numpy(), 0.5, 0.6, BQ_B.numpy(), BQ_A.numpy(), 4)
    assert esr(ye[0], ref) < 1e-20
