"""Gradients: gradcheck, gradgradcheck and forward AD (float64, complex128), agreement with autograd
through the loop oracle, and torch.func.vmap of the functions and of their gradients."""

import pytest
import torch
from torch.autograd import gradcheck, gradgradcheck

from zoo.filters import allpole, lfilter, linear_recurrence, lpc_from_reflection, sosfilt
from zoo.filters.reference import allpole_loop

DTYPES = [torch.float64, torch.complex128]


def _stable(*shape: int, order: int, dtype=torch.float64) -> torch.Tensor:
    a = lpc_from_reflection(0.8 * torch.tanh(torch.randn(*shape, order, dtype=torch.float64)))
    if dtype.is_complex:
        a = a.to(dtype) * torch.exp(0.3j * torch.randn(*shape, order, dtype=torch.float64))
    return a.to(dtype)


def _leaf(t: torch.Tensor) -> torch.Tensor:
    return t.detach().requires_grad_()


def _check(fn, inputs, *, fwd_over_rev=True):
    """Reverse mode (fused kernels), forward mode, and second order (composed differentiable ops)."""
    assert gradcheck(fn, inputs, check_forward_ad=True, check_batched_grad=False)
    assert gradgradcheck(fn, inputs, check_fwd_over_rev=fwd_over_rev, check_batched_grad=False)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("time_varying", [True, False])
@pytest.mark.parametrize("order", [1, 3])
def test_allpole_gradcheck(dtype, time_varying, order):
    torch.manual_seed(order)
    n, t = 2, 9
    x = _leaf(torch.randn(n, t, dtype=dtype))
    a = _leaf(_stable(n, t, order=order, dtype=dtype) if time_varying else _stable(n, order=order, dtype=dtype))
    zi = _leaf(torch.randn(n, order, dtype=dtype))
    _check(allpole, (x, a, zi))


def test_allpole_gradcheck_shorter_than_order_and_broadcast():
    """T < M and broadcast leading dims (the expand in the public function must sum gradients back)."""
    torch.manual_seed(0)
    x = _leaf(torch.randn(3, 1, 2, dtype=torch.float64))
    a = _leaf(_stable(1, 2, 2, order=4))  # time-varying, shared over the first dim
    zi = _leaf(torch.randn(4, dtype=torch.float64))
    _check(allpole, (x, a, zi))
    _check(lambda x, a, zi: allpole(x, a, zi, return_zf=True)[1], (x, a, zi))


@pytest.mark.parametrize("dtype", DTYPES)
def test_allpole_final_state_gradcheck(dtype):
    torch.manual_seed(1)
    x = _leaf(torch.randn(2, 6, dtype=dtype))
    a = _leaf(_stable(2, 6, order=2, dtype=dtype))
    zi = _leaf(torch.randn(2, 2, dtype=dtype))
    _check(lambda x, a, zi: allpole(x, a, zi, return_zf=True), (x, a, zi))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("time_varying", [True, False])
def test_linear_recurrence_gradcheck(dtype, time_varying):
    torch.manual_seed(2)
    shape = (2, 8) if time_varying else (2,)
    a = _leaf(0.8 * torch.tanh(torch.randn(*shape, dtype=torch.float64)).to(dtype))
    x = _leaf(torch.randn(2, 8, dtype=dtype))
    zi = _leaf(torch.randn(2, dtype=dtype))
    _check(linear_recurrence, (a, x, zi))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("time_varying", [True, False])
def test_lfilter_gradcheck(dtype, time_varying):
    torch.manual_seed(3)
    n, t, k, m = 2, 7, 3, 2
    b = _leaf(torch.randn(n, t, k, dtype=dtype) if time_varying else torch.randn(k, dtype=dtype))
    a = _leaf(_stable(n, t, order=m, dtype=dtype) if time_varying else _stable(order=m, dtype=dtype))
    x = _leaf(torch.randn(n, t, dtype=dtype))
    zi = _leaf(torch.randn(n, k - 1 + m, dtype=dtype))
    _check(lfilter, (b, a, x, zi))


@pytest.mark.parametrize("time_varying", [True, False])
def test_sosfilt_gradcheck(time_varying):
    torch.manual_seed(4)
    n, t, s = 2, 6, 2
    lead = (n, t, s) if time_varying else (s,)
    a = _stable(*lead, order=2)
    sos = _leaf(torch.cat([torch.randn(*lead, 3, dtype=torch.float64), torch.ones(*lead, 1, dtype=torch.float64), a], -1))
    x = _leaf(torch.randn(n, t, dtype=torch.float64))
    zi = _leaf(torch.randn(n, s, 4, dtype=torch.float64))
    _check(sosfilt, (sos, x, zi))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("time_varying", [True, False])
def test_gradients_match_autograd_through_the_loop(dtype, time_varying):
    """First and second order gradients at a longer T, where gradcheck would be slow."""
    torch.manual_seed(5)
    n, t, m = 3, 200, 4
    x = _leaf(torch.randn(n, t, dtype=dtype))
    a = _leaf(_stable(n, t, order=m, dtype=dtype) if time_varying else _stable(n, order=m, dtype=dtype))
    zi = _leaf(torch.randn(n, m, dtype=dtype))
    weight = torch.randn(n, t, dtype=dtype)

    def loss(fn):
        y = fn(x, a, zi)
        return (y * weight).abs().pow(2).sum()

    grads = torch.autograd.grad(loss(allpole), (x, a, zi))
    expected = torch.autograd.grad(loss(allpole_loop), (x, a, zi))
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-10)

    # Hessian-vector product in x and a: the composed (create_graph) path
    v = [torch.randn_like(x), torch.randn_like(a)]

    def hvp(fn):
        gx, ga = torch.autograd.grad(loss(fn), (x, a), create_graph=True)
        inner = (gx * v[0].conj()).real.sum() + (ga * v[1].conj()).real.sum()
        return torch.autograd.grad(inner, (x, a, zi))

    for got, want in zip(hvp(allpole), hvp(allpole_loop)):
        torch.testing.assert_close(got, want, rtol=1e-8, atol=1e-9)


def test_forward_mode_matches_reverse_mode():
    """jvp via torch.func.jvp equals the Jacobian applied by vjp (a <u, J v> = <J^T u, v> check)."""
    torch.manual_seed(6)
    x = torch.randn(2, 50, dtype=torch.float64)
    a = _stable(2, 50, order=3)
    zi = torch.randn(2, 3, dtype=torch.float64)
    tangents = (torch.randn_like(x), torch.randn_like(a), torch.randn_like(zi))
    _, jv = torch.func.jvp(allpole, (x, a, zi), tangents)
    cot = torch.randn_like(x)
    _, vjp_fn = torch.func.vjp(allpole, x, a, zi)
    ju = vjp_fn(cot)
    lhs = (cot * jv).sum()
    rhs = sum((g * t).sum() for g, t in zip(ju, tangents))
    torch.testing.assert_close(lhs, rhs, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("time_varying", [True, False])
def test_vmap_of_function(time_varying):
    torch.manual_seed(7)
    v, n, t, m = 4, 2, 30, 3
    x = torch.randn(v, n, t, dtype=torch.float64)
    a = _stable(v, n, t, order=m) if time_varying else _stable(v, n, order=m)
    zi = torch.randn(v, n, m, dtype=torch.float64)
    y = torch.func.vmap(allpole)(x, a, zi)
    torch.testing.assert_close(y, allpole(x, a, zi))
    # an unbatched argument, and the batch dim in another place
    y = torch.func.vmap(allpole, in_dims=(1, None, None))(x.transpose(0, 1).contiguous(), a[0], zi[0])
    torch.testing.assert_close(y, torch.stack([allpole(x[i], a[0], zi[0]) for i in range(v)]))
    # vmap over the order-1 helper
    h = torch.func.vmap(linear_recurrence)(a[..., 0], x)
    torch.testing.assert_close(h, linear_recurrence(a[..., 0], x))


@pytest.mark.parametrize("time_varying", [True, False])
def test_vmap_of_grad(time_varying):
    torch.manual_seed(8)
    v, t, m = 3, 40, 2
    x = torch.randn(v, t, dtype=torch.float64)
    a = _stable(v, t, order=m) if time_varying else _stable(v, order=m)
    target = torch.randn(v, t, dtype=torch.float64)

    def loss(x, a, target):
        return (allpole(x, a) - target).pow(2).sum()

    grads = torch.func.vmap(torch.func.grad(loss, argnums=(0, 1)))(x, a, target)
    for i in range(v):
        xi, ai = x[i].clone().requires_grad_(), a[i].clone().requires_grad_()
        expected = torch.autograd.grad(loss(xi, ai, target[i]), (xi, ai))
        for got, want in zip(grads, expected):
            torch.testing.assert_close(got[i], want, rtol=1e-10, atol=1e-12)
    # Jacobians by forward and by reverse mode agree (vmap over jvp / vjp inside)
    jf = torch.func.jacfwd(lambda a: allpole(x[0, :8], a))(a[0, :8] if time_varying else a[0])
    jr = torch.func.jacrev(lambda a: allpole(x[0, :8], a))(a[0, :8] if time_varying else a[0])
    torch.testing.assert_close(jf, jr)


@pytest.mark.parametrize("time_varying", [True, False])
def test_backward_does_not_read_uninitialised_memory(monkeypatch, time_varying):
    """Regression: the fused backward once summed into torch.empty_like buffers (NaN * 0 = NaN, at
    random). Make every empty_like buffer NaN so that any such read shows deterministically."""
    real_empty_like = torch.empty_like
    monkeypatch.setattr(torch, "empty_like", lambda t, **kw: real_empty_like(t, **kw).fill_(float("nan")))
    torch.manual_seed(9)
    n, t, m = 3, 20, 3
    x = _leaf(torch.randn(n, t, dtype=torch.float64))
    a = _leaf(_stable(n, t, order=m) if time_varying else _stable(n, order=m))
    zi = _leaf(torch.randn(n, m, dtype=torch.float64))
    grads = torch.autograd.grad(allpole(x, a, zi).sum(), (x, a, zi))
    monkeypatch.undo()
    expected = torch.autograd.grad(allpole_loop(x, a, zi).sum(), (x, a, zi))
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
