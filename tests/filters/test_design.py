"""Design helpers: control interpolation, stable parameterisations, step-up recursion, RBJ low-pass,
pole radius."""

import math

import numpy as np
import pytest
import torch

from zoo.filters import (
    biquad_from_poles,
    biquad_triangle,
    interpolate_controls,
    is_stable,
    lpc_from_reflection,
    max_pole_radius,
    num_frames,
    rbj_lowpass,
)

signal = pytest.importorskip("scipy.signal")


# ------------------------------------------------------------------------------ interpolate_controls
@pytest.mark.parametrize("hop", [1, 3, 64])
def test_interpolate_controls_exact_at_frames_and_linear_between(hop):
    torch.manual_seed(0)
    controls = torch.randn(2, 5, 3, dtype=torch.float64)  # (B, F, P)
    out = interpolate_controls(controls, hop)
    assert out.shape == (2, 4 * hop + 1, 3)
    torch.testing.assert_close(out[:, ::hop], controls, rtol=0, atol=0)
    for m in range(4):
        for j in range(hop + 1):
            f = j / hop
            expected = (1 - f) * controls[:, m] + f * controls[:, m + 1]
            torch.testing.assert_close(out[:, m * hop + j], expected, rtol=1e-12, atol=1e-12)


def test_interpolate_controls_length_and_errors():
    controls = torch.arange(4.0).reshape(4, 1)  # frames at 0, 10, 20, 30
    out = interpolate_controls(controls, 10, length=25)
    assert out.shape == (25, 1)
    torch.testing.assert_close(out[:, 0], torch.arange(25.0) / 10)
    assert num_frames(25, 10) == 4 and num_frames(31, 10) == 4 and num_frames(32, 10) == 5
    assert interpolate_controls(torch.randn(num_frames(1000, 64), 2), 64, length=1000).shape == (1000, 2)
    with pytest.raises(ValueError, match="`length`"):
        interpolate_controls(controls, 10, length=32)
    with pytest.raises(ValueError, match="`hop`"):
        interpolate_controls(controls, 0)
    with pytest.raises(ValueError, match="`controls`"):
        interpolate_controls(torch.randn(5), 2)


def test_interpolate_controls_is_differentiable():
    controls = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda c: interpolate_controls(c, 4, length=7), (controls,))


# -------------------------------------------------------------------------- stable parameterisations
RAW_SCALES = [0.1, 1.0, 3.0, 10.0, 1e3]


@pytest.mark.parametrize("scale", RAW_SCALES)
def test_biquad_triangle_is_stable_for_any_input(scale):
    torch.manual_seed(1)
    raw = scale * torch.randn(5000, 2, dtype=torch.float64)
    a = biquad_triangle(raw)
    radius = max_pole_radius(a)
    if scale <= 3:
        assert bool((radius < 1).all())
    else:
        # tanh rounds to +-1 in float64 once |raw| > ~19, and the poles then sit on the triangle's
        # edge (|z| = 1 up to the rounding of the closed-form roots): stable only in exact arithmetic.
        assert bool((radius < 1 + 1e-6).all())
    a1, a2 = a[:, 0], a[:, 1]
    assert bool((a2.abs() <= 1).all()) and bool((a1.abs() <= 1 + a2 + 1e-12).all())


def test_biquad_triangle_covers_the_triangle():
    """Every point strictly inside the stability triangle is reachable (the map is onto)."""
    a1 = torch.tensor([-1.5, 0.0, 1.9, 0.3], dtype=torch.float64)
    a2 = torch.tensor([0.8, -0.9, 0.95, 0.0], dtype=torch.float64)
    # invert: a1 = 2 tanh(h1), a2 = ((2 - |a1|) tanh(h2) + |a1|) / 2
    h1 = torch.atanh(a1 / 2)
    h2 = torch.atanh((2 * a2 - a1.abs()) / (2 - a1.abs()))
    torch.testing.assert_close(biquad_triangle(torch.stack([h1, h2], -1)), torch.stack([a1, a2], -1))


@pytest.mark.parametrize("scale", RAW_SCALES)
def test_biquad_from_poles_is_stable_for_any_input(scale):
    torch.manual_seed(2)
    radius = torch.sigmoid(scale * torch.randn(2000, dtype=torch.float64)).clamp(max=1 - 1e-9)
    angle = scale * torch.randn(2000, dtype=torch.float64)
    a = biquad_from_poles(radius, angle)
    torch.testing.assert_close(max_pole_radius(a), radius, rtol=1e-6, atol=1e-6)
    assert bool(is_stable(a).all())


@pytest.mark.parametrize("order", [1, 2, 3, 8, 16])
@pytest.mark.parametrize("scale", [1.0, 1e3])
def test_lpc_from_reflection_is_stable_for_any_input(order, scale):
    torch.manual_seed(order)
    k = 0.9 * torch.tanh(scale * torch.randn(2000, order, dtype=torch.float64))
    radius = max_pole_radius(lpc_from_reflection(k))
    # |k| <= 0.9 does not keep the poles away from the unit circle at high order (they reach
    # 1 - 1e-11 at M = 16), and the companion-matrix eigenvalues are then only accurate to ~1e-14.
    assert bool((radius < (1.0 if order <= 8 else 1 + 1e-12)).all())


def _step_up_numpy(k: np.ndarray) -> np.ndarray:
    """Textbook step-up (Levinson) recursion, one order at a time."""
    a = np.zeros(0)
    for m, km in enumerate(k):
        a = np.concatenate([a + km * a[::-1], [km]]) if m else np.array([km])
    return a


@pytest.mark.parametrize("order", [1, 2, 5, 12])
def test_lpc_from_reflection_matches_numpy_step_up(order):
    rng = np.random.default_rng(order)
    k = np.tanh(rng.standard_normal((7, order)))
    got = lpc_from_reflection(torch.tensor(k)).numpy()
    np.testing.assert_allclose(got, np.stack([_step_up_numpy(row) for row in k]), rtol=1e-12, atol=1e-12)


def test_lpc_from_reflection_matches_scipy_levinson_roundtrip():
    """Step-down of the result gives the reflection coefficients back (poles fully determine k)."""
    k = np.array([0.5, -0.3, 0.7, 0.2])
    a = lpc_from_reflection(torch.tensor(k)).numpy()
    back = []
    cur = a.copy()
    for m in range(len(k) - 1, -1, -1):
        km = cur[m]
        back.append(km)
        cur = (cur[:m] - km * cur[:m][::-1]) / (1 - km * km)
    np.testing.assert_allclose(back[::-1], k, rtol=1e-12)


# ------------------------------------------------------------------------------------- rbj_lowpass
@pytest.mark.parametrize("cutoff_hz, q", [(100.0, 0.7071), (1000.0, 2.0), (8000.0, 0.5)])
def test_rbj_lowpass_matches_cookbook(cutoff_hz, q):
    sample_rate = 48000.0
    b, a = rbj_lowpass(torch.tensor(cutoff_hz, dtype=torch.float64), q, sample_rate)
    w0 = 2 * math.pi * cutoff_hz / sample_rate
    alpha = math.sin(w0) / (2 * q)
    cos_w0 = math.cos(w0)
    a0 = 1 + alpha
    np.testing.assert_allclose(b.numpy(), np.array([(1 - cos_w0) / 2, 1 - cos_w0, (1 - cos_w0) / 2]) / a0, rtol=1e-12)
    np.testing.assert_allclose(a.numpy(), np.array([-2 * cos_w0, 1 - alpha]) / a0, rtol=1e-12)


@pytest.mark.parametrize("cutoff_hz", [50.0, 1000.0, 12000.0])
def test_rbj_lowpass_frequency_response(cutoff_hz):
    sample_rate = 44100.0
    q = 1 / math.sqrt(2)
    b, a = rbj_lowpass(torch.tensor(cutoff_hz, dtype=torch.float64), q, sample_rate)
    den = np.concatenate([[1.0], a.numpy()])
    _, h = signal.freqz(b.numpy(), den, worN=[0.0, cutoff_hz, sample_rate / 2], fs=sample_rate)
    np.testing.assert_allclose(abs(h[0]), 1.0, rtol=1e-9)  # unity gain at DC
    np.testing.assert_allclose(abs(h[1]), 1 / math.sqrt(2), rtol=1e-6)  # -3 dB at the cutoff (Q = 1/sqrt 2)
    assert abs(h[2]) < 1e-9  # double zero at Nyquist
    assert bool(is_stable(a))


def test_rbj_lowpass_broadcasts_and_is_differentiable():
    cutoff = torch.tensor([[200.0], [2000.0]], dtype=torch.float64, requires_grad=True)
    q = torch.tensor([0.7, 1.0, 4.0], dtype=torch.float64, requires_grad=True)
    b, a = rbj_lowpass(cutoff, q, 16000.0)
    assert b.shape == (2, 3, 3) and a.shape == (2, 3, 2)
    assert torch.autograd.gradcheck(lambda c, q: rbj_lowpass(c, q, 16000.0), (cutoff, q))
    with pytest.raises(ValueError, match="`sample_rate`"):
        rbj_lowpass(cutoff, q, 0.0)


# --------------------------------------------------------------------------------- max_pole_radius
@pytest.mark.parametrize("order", [1, 2, 3, 6])
def test_max_pole_radius_matches_numpy_roots(order):
    rng = np.random.default_rng(order)
    a = rng.standard_normal((20, order)) * 0.7
    expected = np.array([np.abs(np.roots(np.concatenate([[1.0], row]))).max() for row in a])
    np.testing.assert_allclose(max_pole_radius(torch.tensor(a)).numpy(), expected, rtol=1e-8)
    assert max_pole_radius(torch.tensor(a)).dtype == torch.float64
    # time-varying layout (..., T, M) gives one radius per step
    assert max_pole_radius(torch.tensor(a).reshape(4, 5, order)).shape == (4, 5)


def test_max_pole_radius_complex_and_float32():
    a = torch.tensor([[-0.5j, 0.25]], dtype=torch.complex128)
    expected = np.abs(np.roots([1.0, -0.5j, 0.25])).max()
    np.testing.assert_allclose(max_pole_radius(a).numpy(), [expected], rtol=1e-10)
    assert max_pole_radius(a).dtype == torch.float64
    r32 = max_pole_radius(torch.tensor([[-1.2, 0.5, -0.1]], dtype=torch.float32))
    assert r32.dtype == torch.float32
    np.testing.assert_allclose(r32.numpy(), [np.abs(np.roots([1, -1.2, 0.5, -0.1])).max()], rtol=1e-5)
