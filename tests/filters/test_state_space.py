"""The scans of the exported modules against float64 sample loops (the oracle)."""

from __future__ import annotations

import pytest
import torch

from zoo.export.compressor import smooth, smooth_until_consistent
from zoo.filters.state_space import ltv_scan, one_pole_scan


def _loop_state_space(a, u, s0):
    s, out = s0.clone(), []
    for n in range(u.shape[1]):
        s = torch.einsum("ij,rj->ri", a[n], s) + u[:, n]
        out.append(s)
    return torch.stack(out, 1)


def _loop_smoother(g, zi, at, rt):
    prev, out = float(zi), []
    for target in g.tolist():
        coef = at if target < prev else rt
        prev = prev + coef * (target - prev)
        out.append(prev)
    return torch.tensor(out, dtype=torch.float64)


@pytest.mark.parametrize("n_time", [1, 2, 7, 63, 500, 2049])
def test_ltv_scan_equals_loop(n_time):
    gen = torch.Generator().manual_seed(n_time)
    a = 0.35 * torch.randn(n_time, 5, 5, generator=gen, dtype=torch.float64)
    u = torch.randn(3, n_time, 5, generator=gen, dtype=torch.float64)
    s0 = torch.randn(3, 5, generator=gen, dtype=torch.float64)
    out = torch.jit.script(ltv_scan)(a, u, s0)
    assert out.shape == (3, n_time, 5)
    torch.testing.assert_close(out, _loop_state_space(a, u, s0), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n_time", [1, 3, 64, 777])
def test_one_pole_scan_equals_loop_zero_and_unit_poles(n_time):
    gen = torch.Generator().manual_seed(n_time)
    pole = torch.rand(n_time, generator=gen, dtype=torch.float64)
    pole[::7] = 0.0
    pole[::5] = 1.0
    drive = torch.randn(n_time, generator=gen, dtype=torch.float64)
    y0 = torch.tensor(0.7, dtype=torch.float64)
    ref, s = [], 0.7
    for p, d in zip(pole.tolist(), drive.tolist()):
        s = p * s + d
        ref.append(s)
    out = torch.jit.script(one_pole_scan)(pole, drive, y0)
    torch.testing.assert_close(out, torch.tensor(ref, dtype=torch.float64), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("max_iterations", [0, 1, 8])
def test_mask_iteration_is_exact_with_and_without_fallback(max_iterations):
    gen = torch.Generator().manual_seed(0)
    g = torch.exp(-torch.rand(3000, generator=gen, dtype=torch.float64).cumsum(0).remainder(3.0))  # saw-like gain
    zi, at, rt = torch.tensor(1.0, dtype=torch.float64), torch.tensor(0.3, dtype=torch.float64), torch.tensor(0.01, dtype=torch.float64)
    ref = _loop_smoother(g, zi, 0.3, 0.01)
    out, scans = smooth(g, zi, at, rt, max_iterations)
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-12)
    # scripted: TorchScript's fuser evaluates exp/log with fast approximations (~1e-8 relative)
    scripted, _ = torch.jit.script(smooth)(g, zi, at, rt, max_iterations)
    torch.testing.assert_close(scripted, ref, rtol=1e-6, atol=1e-9)
    assert scans <= max_iterations + 1
    torch.testing.assert_close(smooth_until_consistent(g, zi, at, rt), ref, rtol=1e-10, atol=1e-12)
