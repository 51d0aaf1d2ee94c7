"""Result dtypes and accuracy per dtype; float16/bfloat16 are computed in float32 and cast back."""

import pytest
import torch

from zoo.filters import allpole, lfilter, linear_recurrence, lpc_from_reflection, sosfilt
from zoo.filters.reference import allpole_loop

TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-12, torch.complex64: 1e-5, torch.complex128: 1e-12}


def _inputs(dtype, time_varying=True, order=3, n=2, t=100):
    torch.manual_seed(0)
    x = torch.randn(n, t, dtype=torch.complex128 if dtype.is_complex else torch.float64)
    a = lpc_from_reflection(0.8 * torch.tanh(torch.randn(*((n, t) if time_varying else (n,)), order, dtype=torch.float64)))
    if dtype.is_complex:
        a = a * torch.exp(0.2j * torch.randn_like(a))
    zi = torch.randn(n, order, dtype=x.dtype)
    return x, a, zi


@pytest.mark.parametrize("dtype", list(TOLERANCE))
@pytest.mark.parametrize("time_varying", [True, False])
def test_allpole_dtypes(dtype, time_varying):
    x, a, zi = _inputs(dtype, time_varying)
    y, zf = allpole(x.to(dtype), a.to(dtype), zi.to(dtype), return_zf=True)
    assert y.dtype == dtype and zf.dtype == dtype
    expected = allpole_loop(x, a, zi)
    tol = TOLERANCE[dtype]
    torch.testing.assert_close(y.to(expected.dtype), expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", list(TOLERANCE))
def test_gradient_dtypes(dtype):
    x, a, zi = (t.to(dtype).requires_grad_() for t in _inputs(dtype))
    y = allpole(x, a, zi)
    grads = torch.autograd.grad(y.abs().pow(2).sum(), (x, a, zi))
    assert [g.dtype for g in grads] == [dtype] * 3
    x64, a64, zi64 = (t.detach().to(torch.complex128 if dtype.is_complex else torch.float64).requires_grad_() for t in (x, a, zi))
    expected = torch.autograd.grad(allpole_loop(x64, a64, zi64).abs().pow(2).sum(), (x64, a64, zi64))
    tol = 100 * TOLERANCE[dtype]
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got.to(want.dtype), want, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_is_computed_in_float32(dtype):
    x, a, zi = _inputs(torch.float32)
    xl, al, zil = x.to(dtype), a.to(dtype), zi.to(dtype)
    y, zf = allpole(xl, al, zil, return_zf=True)
    assert y.dtype == dtype and zf.dtype == dtype
    # identical to the float32 computation on the same (rounded) inputs, rounded once at the end
    y32 = allpole(xl.float(), al.float(), zil.float())
    torch.testing.assert_close(y, y32.to(dtype), rtol=0, atol=0)
    # and gradients flow back in the input dtype
    xl.requires_grad_()
    al.requires_grad_()
    gx, ga = torch.autograd.grad(allpole(xl, al).float().sum(), (xl, al))
    assert gx.dtype == dtype and ga.dtype == dtype


def test_mixed_dtypes_promote():
    x, a, zi = _inputs(torch.float64)
    assert allpole(x.float(), a).dtype == torch.float64
    assert allpole(x, a.float(), zi.float()).dtype == torch.float64
    assert allpole(x.half(), a.float()).dtype == torch.float32
    assert allpole(x.float(), a.to(torch.complex64)).dtype == torch.complex64
    assert allpole(x.to(torch.bfloat16), a.to(torch.bfloat16)).dtype == torch.bfloat16


@pytest.mark.parametrize("dtype", [torch.float32, torch.complex64, torch.float16, torch.bfloat16])
def test_other_functions_keep_dtype(dtype):
    x = torch.randn(2, 50).to(dtype)
    a = torch.full((2, 50), 0.5).to(dtype)
    assert linear_recurrence(a, x).dtype == dtype
    b = torch.tensor([1.0, 0.5, 0.25]).to(dtype)
    assert lfilter(b, torch.tensor([-0.5, 0.1]).to(dtype), x).dtype == dtype
    sos = torch.tensor([[1.0, 0.5, 0.25, 1.0, -0.5, 0.1]]).to(dtype)
    assert sosfilt(sos, x).dtype == dtype
