"""Cross-check against torchlpc.sample_wise_lpc, the paper authors' own layer.

torchlpc's conventions (read from its source, v0.7): x (B, T), a (B, T, M) time-varying only, a omits
a0 = 1, y[n] = x[n] - sum_i a[n, i-1] y[n-i]; zi (B, M) holds past outputs newest first (it is
flipped into a padded buffer, so zi[:, 0] = y[-1]) and zf = y[:, -M:].flip(1). Both match ours.
"""

import pytest
import torch

from zoo.filters import allpole, interpolate_controls, lpc_from_reflection

torchlpc = pytest.importorskip("torchlpc")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _inputs(order, dtype=torch.float64, n=3, t=200):
    torch.manual_seed(order)
    x = torch.randn(n, t, dtype=dtype)
    # Smooth (frame-rate, interpolated) coefficients: independent random coefficients at every sample
    # make a high-order time-varying filter grow without bound even when each step is stable.
    k = 0.9 * torch.tanh(torch.randn(n, 5, order, dtype=torch.float64))
    a = lpc_from_reflection(interpolate_controls(k, t // 4, t))
    if dtype.is_complex:
        a = a * torch.exp(0.3j * torch.randn_like(a))
    zi = torch.randn(n, order, dtype=dtype)
    return x, a.to(dtype), zi


@pytest.mark.parametrize("order", [1, 2, 4, 16])
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128, torch.float32])
def test_forward_and_final_state_match(order, dtype):
    x, a, zi = _inputs(order, dtype)
    y, zf = allpole(x, a, zi, return_zf=True)
    y_ref, zf_ref = torchlpc.sample_wise_lpc(x, a, zi, return_zf=True)
    tol = 1e-3 if dtype == torch.float32 else 1e-10
    torch.testing.assert_close(y, y_ref, rtol=tol, atol=tol)
    torch.testing.assert_close(zf, zf_ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("order", [1, 2, 4, 16])
def test_gradients_match(order):
    x, a, zi = (t.requires_grad_() for t in _inputs(order))
    weight = torch.randn_like(x)
    ours = torch.autograd.grad((allpole(x, a, zi) * weight).sum(), (x, a, zi))
    theirs = torch.autograd.grad((torchlpc.sample_wise_lpc(x, a, zi) * weight).sum(), (x, a, zi))
    for got, want in zip(ours, theirs):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-10)


def test_time_invariant_equals_torchlpc_on_expanded_coefficients():
    x, a, zi = _inputs(3)
    a_ti = a[:, 0]
    y_ref = torchlpc.sample_wise_lpc(x, a_ti[:, None].expand_as(a).contiguous(), zi)
    torch.testing.assert_close(allpole(x, a_ti, zi), y_ref, rtol=1e-10, atol=1e-10)
