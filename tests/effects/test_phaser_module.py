"""Phaser module: the LFO controller, TD vs FS agreement and a short fit (the contract: test_contract.py)."""

from __future__ import annotations

import math

import pytest
import torch

from zoo.effects.phasers import Phaser, phaser
from zoo.filters import fs_num_frames, interpolate_controls, num_frames
from zoo.models.lfo import (
    DampedOscillator,
    LFOController,
    TanhMLP,
    allpass_coefficient,
    break_frequency_hz,
    half_angle_from_break_hz,
)


def esr(y, ref):
    return float(((y - ref) ** 2).sum() / (ref**2).sum())


# ------------------------------------------------------------------ LFO controller


def test_damped_oscillator_formula():
    osc = DampedOscillator(rate_hz=2.5, damping=0.3, phase_rad=0.4).double()
    s = osc(50, 100.0)
    t = torch.arange(50, dtype=torch.float64) / 100.0
    # Parameters are created in float32, so f0 = exp(log 2.5) carries float32 rounding.
    torch.testing.assert_close(s, torch.exp(-0.09 * t) * torch.cos(2 * math.pi * 2.5 * t + 0.4), rtol=1e-5, atol=1e-6)
    assert osc.rate_hz.item() == pytest.approx(2.5)


def test_mlp_structure_and_range():
    mlp = TanhMLP(width=5, depth=2)
    linears = [m for m in mlp.net if isinstance(m, torch.nn.Linear)]
    tanhs = [m for m in mlp.net if isinstance(m, torch.nn.Tanh)]
    assert [(l.in_features, l.out_features) for l in linears] == [(1, 5), (5, 5), (5, 1)]
    assert len(tanhs) == 3 and isinstance(mlp.net[-1], torch.nn.Tanh)
    assert sum(p.numel() for p in TanhMLP().parameters()) == 169  # 16 + 72 + 72 + 9 (with biases)
    out = mlp(torch.linspace(-50, 50, 101))
    assert out.shape == (101,) and out.abs().max() < 1


def test_allpass_mapping():
    d = torch.linspace(-0.7, 2.3, 301, dtype=torch.float64)
    p = allpass_coefficient(d)
    assert torch.isfinite(p).all() and p.abs().max() < 1
    for f in (50.0, 440.0, 5000.0):
        dd = torch.tensor(half_angle_from_break_hz(f, 44100.0), dtype=torch.float64)
        assert break_frequency_hz(allpass_coefficient(dd), 44100.0).item() == pytest.approx(f, rel=1e-9)


def test_controller_initial_range_and_errors():
    ctrl = LFOController(sample_rate=44100.0, break_hz_range=(100.0, 2000.0)).double()
    p = ctrl(500, 100.0)
    f_b = break_frequency_hz(p, 44100.0)
    assert p.shape == (500,) and f_b.min() > 100.0 - 1e-6 and f_b.max() < 2000.0 + 1e-6
    with pytest.raises(ValueError, match="break_hz_range"):
        LFOController(break_hz_range=(2000.0, 100.0))
    with pytest.raises(ValueError, match="rate_hz"):
        DampedOscillator(rate_hz=-1.0)
    with pytest.raises(ValueError, match="width"):
        TanhMLP(width=0)


# ------------------------------------------------------------------ contract


@pytest.mark.parametrize("method", ["td_exact", "td_regrouped", "fs"])
def test_every_parameter_learns_and_items_share_the_lfo(method):
    """Phaser-specific (the shared contract is tests/effects/test_contract.py)."""
    torch.manual_seed(0)
    model = Phaser(8000, hop=40, method=method, g2=0.3).double()
    x = torch.randn(2, 3, 1001, dtype=torch.float64)
    model.forward_batch({"input": x, "target": x}).square().mean().backward()
    for name, param in model.named_parameters():
        assert param.grad.abs().sum() > 0, name
    # Same LFO for every batch item and channel: identical inputs give identical outputs.
    same = model(x[:1, :1].expand(2, 2, -1).contiguous())
    torch.testing.assert_close(same[0, 0], same[1, 1])


def test_parameter_count_and_reports():
    model = Phaser(44100)
    assert model.hop == 441 and model.control_rate_hz == pytest.approx(100.0)
    # 169 MLP + 3 oscillator + bias + depth + g1 + g2 + 3 + 2 biquad = 181 learnable scalars; the paper's
    # 182 includes an LFO amplitude, which is redundant with the MLP's first layer.
    assert sum(p.numel() for p in model.parameters()) == 181
    params = model.learned_parameters()
    assert params["lfo_rate_hz"] == pytest.approx(1.0)
    assert params["g2"] == pytest.approx(0.1)
    assert params["biquad_b0"] == 1.0 and params["biquad_a1"] == 0.0
    assert set(params) >= {"lfo_rate_hz", "lfo_damping_sigma", "lfo_phase_rad", "g1", "g2", "biquad_a2"}
    curves = model.control_curves(duration_s=2.0)
    t_s, p = curves["allpass_coef"]
    assert t_s.shape == p.shape == (201,) and t_s[-1] == pytest.approx(2.0)
    assert p.abs().max() < 1
    assert set(curves) == {"lfo", "allpass_coef", "break_hz"}


def test_lfo_starts_at_sample_zero():
    model = Phaser(8000, hop=80, lfo_phase_rad=0.7).double()
    p_audio = model.allpass_trajectory(801)
    p_frames = model.allpass_frames(11)
    torch.testing.assert_close(p_audio[::80], p_frames)


def test_method_switch_and_errors():
    model = Phaser(8000, hop=40)
    model.method = "fs"
    with pytest.raises(ValueError, match="method"):
        model.method = "td"
    with pytest.raises(ValueError, match="hop"):
        Phaser(8000, hop=0)
    with pytest.raises(ValueError, match="g2"):
        Phaser(8000, g2=1.0)
    with pytest.raises(ValueError, match="num_stages"):
        Phaser(8000, num_stages=0)
    x = torch.randn(1, 1, 100)
    b, a = torch.tensor([1.0, 0, 0]), torch.zeros(2)
    with pytest.raises(ValueError, match="`p`"):
        phaser(x, 8000, torch.zeros(99), 1.0, 0.1, b, a)
    with pytest.raises(ValueError, match="`hop`"):
        phaser(x, 8000, torch.zeros(11), 1.0, 0.1, b, a, method="fs")
    with pytest.raises(ValueError, match="`p`"):
        phaser(x, 8000, torch.zeros(12), 1.0, 0.1, b, a, method="fs", hop=10)
    with pytest.raises(ValueError, match="biquad_a"):
        phaser(x, 8000, torch.zeros(100), 1.0, 0.1, b, torch.zeros(3))
    with pytest.raises(TypeError, match="g1"):
        phaser(x, 8000, torch.zeros(100), "1", 0.1, b, a)
    with pytest.raises(ValueError, match="x"):
        phaser(x[0], 8000, torch.zeros(100), 1.0, 0.1, b, a)


# ------------------------------------------------------------------ TD vs FS


def test_td_vs_fs_slow_lfo():
    """10 ms frames (window 40 ms), 0.5 Hz LFO, feedback on: FS approximates TD to ESR ~3e-4 here;
    much shorter frames truncate the all-pass impulse response and longer ones smear the sweep."""
    torch.manual_seed(0)
    sample_rate, hop = 16000, 160
    model = Phaser(sample_rate, hop=hop, lfo_rate_hz=0.5, g2=0.5, break_hz_range=(200.0, 2000.0)).double()
    x = torch.randn(1, 1, sample_rate, dtype=torch.float64)
    with torch.no_grad():
        y_td = model(x)
        model.method = "fs"
        y_fs = model(x)
    assert esr(y_fs, y_td) < 2e-3


# ------------------------------------------------------------------ fit


def test_short_fit_lowers_esr():
    torch.manual_seed(0)
    sample_rate, hop, n_time = 8000, 80, 4000
    target_model = Phaser(sample_rate, hop=hop, lfo_rate_hz=1.2, g1=0.6, g2=0.4, break_hz_range=(200.0, 1500.0))
    target_model = target_model.double()
    x = torch.randn(1, 1, n_time, dtype=torch.float64)
    with torch.no_grad():
        target = target_model(x)
    torch.manual_seed(1)
    model = Phaser(sample_rate, hop=hop, lfo_rate_hz=1.0, g1=1.0, g2=0.1, break_hz_range=(300.0, 1200.0)).double()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = ((model(x) - target) ** 2).sum() / (target**2).sum()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        opt.step()
        losses.append(loss.item())
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < 0.5 * losses[0], losses[::8]
