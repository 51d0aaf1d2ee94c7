"""The TB-303 voice DSP: oracle loop, TD/FS agreement, gradients, stability, argument checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from zoo.effects.synth import SynthVoice, pole_radius_and_freq
from zoo.effects.synth_functional import (
    CUTOFF_RANGE_HZ,
    PARAM_RANGES,
    coeff_coefficients,
    controls_at_fs_frames,
    cutoff_hz_from_raw,
    decay_envelope,
    global_from_raw,
    lp_coefficients,
    raw_from_global,
    saw_square_oscillator,
    synth_voice,
)
from zoo.filters import fs_num_frames, max_pole_radius

SR = 48000.0


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def oracle_voice(f0, n_on, num_samples, sample_rate, controls, control_hop, filter_type, g, sharpness):
    """Slow float64 loop: oscillator, envelope, per-sample coefficients, biquad difference equation, tanh."""
    frames = controls.shape[0]
    pos = np.arange(frames) * control_hop
    n = np.arange(num_samples)
    ctrl = np.stack([np.interp(n, pos, controls[:, p]) for p in range(controls.shape[1])], axis=-1)
    out = np.zeros(num_samples)
    x1 = x2 = v1 = v2 = 0.0
    for i in range(num_samples):
        theta = 2 * math.pi * i * f0 / sample_rate + g["phase_rad"]
        sq = math.tanh(sharpness * math.sin(theta))
        saw = sq * (1 + math.cos(theta)) / 2
        osc = g["osc_mix"] * saw + (1 - g["osc_mix"]) * sq
        env = ((n_on - i) / n_on) ** g["env_exponent"] if i < n_on else 0.0
        s = g["osc_gain"] * env * osc
        if filter_type == "lp":
            lo, hi = CUTOFF_RANGE_HZ
            fc = lo * (hi / lo) ** _sigmoid(ctrl[i, 0])
            w0 = 2 * math.pi * fc / sample_rate
            alpha = math.sin(w0) / (2 * g["q"])
            a0 = 1 + alpha
            b0, b1, b2 = (1 - math.cos(w0)) / 2 / a0, (1 - math.cos(w0)) / a0, (1 - math.cos(w0)) / 2 / a0
            a1, a2 = -2 * math.cos(w0) / a0, (1 - alpha) / a0
        else:
            b0, b1, b2 = ctrl[i, :3]
            a1 = 2 * math.tanh(ctrl[i, 3])
            a2 = ((2 - abs(a1)) * math.tanh(ctrl[i, 4]) + abs(a1)) / 2
            a1, a2 = 0.999 * a1, 0.999**2 * a2
        v = b0 * s + b1 * x1 + b2 * x2 - a1 * v1 - a2 * v2
        x2, x1, v2, v1 = x1, s, v1, v
        out[i] = math.tanh(g["dist_gain"] * v)
    return out


GLOBALS = {"osc_mix": 0.3, "env_exponent": 1.7, "osc_gain": 0.8, "dist_gain": 2.5, "q": 3.0, "phase_rad": 0.4}


@pytest.mark.parametrize("filter_type", ["lp", "coeff"])
def test_voice_matches_float64_loop(filter_type):
    torch.manual_seed(0)
    num_samples, hop = 700, 32
    frames = 700 // hop + 1
    voice = SynthVoice(SR, filter_type, control_hop=hop, **GLOBALS).double()
    n_ctrl = voice.n_filter_controls
    controls = torch.randn(2, frames, n_ctrl, dtype=torch.float64).cumsum(1) * 0.3
    f0 = torch.tensor([110.0, 330.0], dtype=torch.float64)
    n_on = torch.tensor([500, 900])
    with torch.no_grad():
        y = voice(f0, n_on, num_samples, controls)
        g = {k: float(v) for k, v in voice.own_globals().items()}
    for i in range(2):
        k = 0.5 * math.pi * 12000.0 / (float(f0[i]) * math.log10(float(f0[i])))
        ref = oracle_voice(float(f0[i]), int(n_on[i]), num_samples, SR, controls[i].numpy(), hop, filter_type, g, k)
        np.testing.assert_allclose(y[i].numpy(), ref, atol=1e-9, rtol=1e-7)


def test_globals_round_trip_and_ranges():
    for name, (lo, hi) in PARAM_RANGES.items():
        raw = torch.tensor([-1e4, -3.0, 0.0, 3.0, 1e4])
        value = global_from_raw(raw, name)
        assert bool((value >= lo).all()) and bool((value <= hi).all())
        mid = torch.tensor((lo + hi) / 2)
        torch.testing.assert_close(global_from_raw(raw_from_global(mid, name), name), mid)
    cutoff = cutoff_hz_from_raw(torch.tensor([-1e4, 0.0, 1e4]))
    torch.testing.assert_close(cutoff[[0, 2]], torch.tensor(CUTOFF_RANGE_HZ))
    torch.testing.assert_close(cutoff[1], torch.tensor(math.sqrt(CUTOFF_RANGE_HZ[0] * CUTOFF_RANGE_HZ[1])))


def test_oscillator_shapes_square_and_saw():
    f0 = torch.tensor([100.0], dtype=torch.float64)
    n = 480  # one period
    square = saw_square_oscillator(f0, n, SR, 0.0, sharpness=1e4)[0]
    saw = saw_square_oscillator(f0, n, SR, 1.0, sharpness=1e4)[0]
    assert torch.allclose(square[1:239], torch.ones(238, dtype=torch.float64), atol=1e-3)
    assert torch.allclose(square[241:479], -torch.ones(238, dtype=torch.float64), atol=1e-3)
    # saw: a falling ramp-like shape from 1 to -1 over the period, with a jump back at the period end
    assert saw[1] > 0.99 and saw[-1] < -0.99 and bool((saw[1:].diff() <= 1e-9).all())


def test_envelope_values_and_safe_gradient():
    alpha = torch.tensor([2.0, 0.5], dtype=torch.float64, requires_grad=True)
    n_on = torch.tensor([4, 10])
    env = decay_envelope(n_on, 8, alpha)
    expected0 = torch.tensor([1, (3 / 4) ** 2, (2 / 4) ** 2, (1 / 4) ** 2, 0, 0, 0, 0], dtype=torch.float64)
    torch.testing.assert_close(env[0].detach(), expected0)
    env.sum().backward()
    assert torch.isfinite(alpha.grad).all()


@pytest.mark.parametrize("filter_type", ["lp", "coeff"])
def test_td_and_fs_agree_for_slow_controls(filter_type):
    num_samples = 6000
    f0 = torch.tensor([110.0, 220.0], dtype=torch.float64)
    n_on = torch.tensor([8000, 8000])
    ramp = torch.linspace(0, 1, 188, dtype=torch.float64)
    if filter_type == "lp":
        controls = torch.stack([0.5 - 0.5 * ramp, 0.5 - ramp]).unsqueeze(-1)
    else:
        base = torch.tensor([0.3, 0.6, 0.3, -0.8, 0.3], dtype=torch.float64)
        controls = (base + 0.2 * ramp[:, None]).expand(2, 188, 5)
    errors = []
    for n_win in (256, 1024):
        voice = SynthVoice(SR, filter_type, n_win=n_win, q=1.0, dist_gain=0.5, env_exponent=0.5).double()
        y_td = voice(f0, n_on, num_samples, controls, method="td")
        y_fs = voice(f0, n_on, num_samples, controls, method="fs")
        inner = slice(n_win, num_samples - n_win)  # the FS start/end frames see reflect padding
        errors.append(float((y_td.detach() - y_fs.detach())[:, inner].norm() / y_td.detach()[:, inner].norm()))
    assert errors[0] < 0.03 and errors[1] < 0.005, errors


def test_fs_frame_controls_sit_on_frame_centres():
    controls = torch.arange(10, dtype=torch.float64).reshape(1, 10, 1)  # value = frame index, hop 32
    at = controls_at_fs_frames(controls, 32, 300, hop=64)
    assert at.shape == (1, fs_num_frames(300, 64), 1)
    torch.testing.assert_close(at[0, :, 0], torch.tensor([0.0, 2.0, 4.0, 6.0, 8.0], dtype=torch.float64))


@pytest.mark.parametrize("scale", [1.0, 10.0, 1e4])
def test_filters_are_stable_for_arbitrary_raw_inputs(scale):
    torch.manual_seed(1)
    raw = torch.randn(64, 200, 5) * scale
    _, a = coeff_coefficients(raw)
    assert float(max_pole_radius(a).max()) < 1.0
    for q_raw in (-1e4, 0.0, 1e4):
        q = global_from_raw(torch.tensor(q_raw), "q")
        _, a = lp_coefficients(cutoff_hz_from_raw(raw[..., 0]), q, SR)
        assert float(max_pole_radius(a).max()) < 1.0
    voice = SynthVoice(SR, "coeff")
    radius, _ = pole_radius_and_freq(voice.coefficients(raw)[1], SR)
    # <= rho = 0.999 in exact arithmetic; float32 coefficients move a double root by ~sqrt(eps) = 3e-4.
    assert float(radius.max()) < 0.9995


@pytest.mark.parametrize("filter_type", ["lp", "coeff"])
def test_gradcheck_voice_controls_and_globals(filter_type):
    torch.manual_seed(2)
    hop, num_samples = 8, 40
    voice = SynthVoice(SR, filter_type, control_hop=hop, dist_gain=1.5).double()
    controls = (0.3 * torch.randn(2, 6, voice.n_filter_controls, dtype=torch.float64)).requires_grad_()
    f0 = torch.tensor([1000.0, 2500.0], dtype=torch.float64)
    n_on = torch.tensor([30, 50])
    osc_mix = torch.tensor([0.3, 0.7], dtype=torch.float64, requires_grad=True)
    env = torch.tensor([1.5, 0.7], dtype=torch.float64, requires_grad=True)
    gain = torch.tensor([0.5, 0.9], dtype=torch.float64, requires_grad=True)
    phase = torch.tensor([0.1, -0.4], dtype=torch.float64, requires_grad=True)
    inputs = [controls, osc_mix, env, gain, phase]
    if filter_type == "lp":
        inputs.append(torch.tensor([1.2, 4.0], dtype=torch.float64, requires_grad=True))

    def fn(c, m, e, g, p, *q):
        params = {"osc_mix": m, "env_exponent": e, "osc_gain": g, "phase_rad": p}
        if q:
            params["q"] = q[0]
        return voice(f0, n_on, num_samples, c, params)

    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-6)


def test_gradcheck_functional_voice_coefficients():
    torch.manual_seed(3)
    num_samples = 32
    f0 = torch.tensor([3000.0], dtype=torch.float64)
    n_on = torch.tensor([20])
    b = (0.3 * torch.randn(1, num_samples, 3, dtype=torch.float64)).requires_grad_()
    a = (0.3 * torch.randn(1, num_samples, 2, dtype=torch.float64)).requires_grad_()
    dist = torch.tensor([1.3], dtype=torch.float64, requires_grad=True)

    def fn(b, a, dist):
        return synth_voice(f0, n_on, num_samples, SR, b, a, 0.4, 1.2, 0.7, dist, 0.2)

    assert torch.autograd.gradcheck(fn, (b, a, dist), eps=1e-6, atol=1e-6)


def test_fs_path_is_differentiable():
    voice = SynthVoice(SR, "coeff", method="fs", n_win=128).double()
    controls = (0.3 * torch.randn(1, 20, 5, dtype=torch.float64)).requires_grad_()
    y = voice(torch.tensor([440.0], dtype=torch.float64), torch.tensor([500]), 600, controls)
    y.square().sum().backward()
    assert torch.isfinite(controls.grad).all() and controls.grad.abs().sum() > 0
    for name, p in voice.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="filter_type"):
        SynthVoice(SR, "hp")
    with pytest.raises(ValueError, match="method"):
        SynthVoice(SR, "lp", "stft")
    with pytest.raises(ValueError, match="n_win"):
        SynthVoice(SR, "lp", n_win=1)
    voice = SynthVoice(SR, "coeff")
    with pytest.raises(ValueError, match="filter_controls"):
        voice(torch.tensor([100.0]), torch.tensor([10]), 64, torch.zeros(1, 3, 1))
    with pytest.raises(ValueError, match="global_params"):
        voice(torch.tensor([100.0]), torch.tensor([10]), 64, torch.zeros(1, 3, 5), {"q": torch.ones(1)})
    with pytest.raises(ValueError, match="f0_hz"):
        saw_square_oscillator(torch.tensor(100.0), 64, SR, 0.5)
    with pytest.raises(TypeError, match="num_samples"):
        saw_square_oscillator(torch.tensor([100.0]), 64.0, SR, 0.5)
    with pytest.raises(ValueError, match="sample_rate"):
        saw_square_oscillator(torch.tensor([100.0]), 64, -1.0, 0.5)
    with pytest.raises(ValueError, match="name"):
        global_from_raw(torch.zeros(1), "cutoff")
    with pytest.raises(ValueError, match="raw"):
        coeff_coefficients(torch.zeros(3, 4))
