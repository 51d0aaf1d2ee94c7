"""allpole / linear_recurrence / lfilter / sosfilt against the float64 loop oracle (zoo.filters.reference)."""

import math

import pytest
import torch

from zoo.filters import allpole, lfilter, linear_recurrence, lpc_from_reflection, sosfilt
from zoo.filters.reference import allpole_loop, fir_loop

DTYPE = torch.float64


def stable_coefficients(*shape: int, order: int, radius: float = 0.9, dtype=DTYPE) -> torch.Tensor:
    """Random coefficients whose poles lie inside |z| < 1 (step-up from |k| < radius)."""
    return lpc_from_reflection(torch.tanh(torch.randn(*shape, order, dtype=dtype)) * radius)


def oracle(x, a, zi=None):
    """Broadcast x, a, zi like `allpole` does, then run the loop oracle on (N, T)."""
    time_varying = a.dim() == x.dim() + 1
    order = a.shape[-1]
    a_lead = a.shape[:-2] if time_varying else a.shape[:-1]
    shapes = [x.shape[:-1], a_lead] + ([] if zi is None else [zi.shape[:-1]])
    lead = torch.broadcast_shapes(*shapes)
    n_time = x.shape[-1]
    rows = math.prod(lead)
    x2 = x.expand(*lead, n_time).reshape(rows, n_time)
    if time_varying:
        a2 = a.expand(*lead, n_time, order).reshape(rows, n_time, order)
    else:
        a2 = a.expand(*lead, order).reshape(rows, order)
    zi2 = None if zi is None else zi.expand(*lead, order).reshape(rows, order)
    return allpole_loop(x2, a2, zi2).reshape(*lead, n_time)


@pytest.mark.parametrize("order", [1, 2, 3, 8])
@pytest.mark.parametrize("time_varying", [True, False])
@pytest.mark.parametrize("with_zi", [True, False])
def test_allpole_matches_loop(order, time_varying, with_zi):
    torch.manual_seed(order)
    x = torch.randn(3, 64, dtype=DTYPE)
    a = stable_coefficients(3, 64, order=order) if time_varying else stable_coefficients(3, order=order)
    zi = torch.randn(3, order, dtype=DTYPE) if with_zi else None
    torch.testing.assert_close(allpole(x, a, zi), oracle(x, a, zi), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.complex128])
def test_allpole_complex_matches_loop(dtype):
    torch.manual_seed(1)
    x = torch.randn(2, 40, dtype=dtype)
    a = 0.3 * torch.randn(2, 40, 3, dtype=dtype)
    zi = torch.randn(2, 3, dtype=dtype)
    torch.testing.assert_close(allpole(x, a, zi), allpole_loop(x, a, zi), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "x_shape, a_shape, zi_shape",
    [
        ((4, 2, 32), (3,), None),  # one time-invariant filter for every row
        ((4, 2, 32), (2, 3), (4, 1, 3)),  # time-invariant a per channel, zi per batch item
        ((4, 2, 32), (1, 1, 32, 3), (2, 3)),  # time-varying a shared across the batch
        ((1, 32), (5, 32, 2), (5, 1, 2)),  # x broadcast against a, zi adds a dim
        ((32,), (3,), (6, 3)),  # zi sets the batch
        ((2, 1, 32), (1, 3, 2), None),  # outer-product broadcast of TI a
    ],
)
def test_allpole_broadcasting(x_shape, a_shape, zi_shape):
    torch.manual_seed(2)
    x = torch.randn(*x_shape, dtype=DTYPE)
    a = stable_coefficients(*a_shape[:-1], order=a_shape[-1])
    zi = None if zi_shape is None else torch.randn(*zi_shape, dtype=DTYPE)
    y = allpole(x, a, zi)
    expected = oracle(x, a, zi)
    assert y.shape == expected.shape
    torch.testing.assert_close(y, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("n_time", [1, 2, 3])
@pytest.mark.parametrize("time_varying", [True, False])
def test_allpole_shorter_than_order(n_time, time_varying):
    """T < M: the initial state supplies every past output, and zf keeps the older ones."""
    torch.manual_seed(3)
    order = 5
    x = torch.randn(2, n_time, dtype=DTYPE)
    a = stable_coefficients(2, n_time, order=order) if time_varying else stable_coefficients(2, order=order)
    zi = torch.randn(2, order, dtype=DTYPE)
    y, zf = allpole(x, a, zi, return_zf=True)
    torch.testing.assert_close(y, oracle(x, a, zi), rtol=1e-10, atol=1e-12)
    # zf[k] = y[T-1-k]: the newest outputs first, then the still-relevant part of zi.
    torch.testing.assert_close(zf, torch.cat([y.flip(-1), zi], dim=-1)[..., :order])


@pytest.mark.parametrize("time_varying", [True, False])
def test_allpole_empty_time(time_varying):
    x = torch.randn(3, 0, dtype=DTYPE)
    a = torch.zeros(3, 0, 2, dtype=DTYPE) if time_varying else torch.zeros(3, 2, dtype=DTYPE)
    zi = torch.randn(3, 2, dtype=DTYPE)
    y, zf = allpole(x, a, zi, return_zf=True)
    assert y.shape == (3, 0)
    torch.testing.assert_close(zf, zi)


def test_linear_recurrence_matches_loop():
    torch.manual_seed(4)
    x = torch.randn(3, 50, dtype=DTYPE)
    a = torch.tanh(torch.randn(3, 50, dtype=DTYPE))
    zi = torch.randn(3, dtype=DTYPE)
    h = linear_recurrence(a, x, zi)
    expected = []
    prev = zi
    for n in range(50):
        prev = a[:, n] * prev + x[:, n]
        expected.append(prev)
    torch.testing.assert_close(h, torch.stack(expected, -1), rtol=1e-10, atol=1e-12)
    # time-invariant a (one per row) equals the same recursion with a constant pole
    a_ti = torch.tensor([0.5, -0.3, 0.9], dtype=DTYPE)
    torch.testing.assert_close(linear_recurrence(a_ti, x, zi), linear_recurrence(a_ti[:, None].expand(3, 50), x, zi))


@pytest.mark.parametrize("b_tv, a_tv", [(True, True), (False, False), (True, False), (False, True)])
def test_lfilter_matches_fir_then_loop(b_tv, a_tv):
    torch.manual_seed(5)
    n, t, k, m = 2, 40, 3, 2
    x = torch.randn(n, t, dtype=DTYPE)
    b = torch.randn(n, t, k, dtype=DTYPE) if b_tv else torch.randn(n, k, dtype=DTYPE)
    a = stable_coefficients(n, t, order=m) if a_tv else stable_coefficients(n, order=m)
    zi = torch.randn(n, k - 1 + m, dtype=DTYPE)
    v = fir_loop(x, b, zi[:, : k - 1])
    expected = allpole_loop(v, a, zi[:, k - 1 :])
    torch.testing.assert_close(lfilter(b, a, x, zi), expected, rtol=1e-10, atol=1e-12)


def test_sosfilt_is_a_cascade_of_lfilters():
    torch.manual_seed(6)
    n, t, s = 2, 40, 3
    x = torch.randn(n, t, dtype=DTYPE)
    b = torch.randn(n, t, s, 3, dtype=DTYPE)
    a = stable_coefficients(n, t, s, order=2)
    a0 = 1.0 + torch.rand(n, t, s, 1, dtype=DTYPE)
    sos = torch.cat([b * a0, a0, a * a0], dim=-1)  # (n, t, s, 6), a0 != 1 on purpose
    zi = torch.randn(n, s, 4, dtype=DTYPE)
    y = x
    for i in range(s):
        v = fir_loop(y, b[:, :, i], zi[:, i, :2])
        y = allpole_loop(v, a[:, :, i], zi[:, i, 2:])
    torch.testing.assert_close(sosfilt(sos, x, zi), y, rtol=1e-10, atol=1e-12)


def test_multithreaded_kernels_match_loop():
    """conftest.py runs the kernels on one thread; here the rows are split over two (prange)."""
    numba = pytest.importorskip("numba")
    torch.manual_seed(7)
    x = torch.randn(16, 300, dtype=DTYPE, requires_grad=True)
    a = stable_coefficients(16, 300, order=3).requires_grad_()
    zi = torch.randn(16, 3, dtype=DTYPE, requires_grad=True)
    previous = numba.get_num_threads()
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    try:
        y = allpole(x, a, zi)
        grads = torch.autograd.grad(y.pow(2).sum(), (x, a, zi))
    finally:
        numba.set_num_threads(previous)
    expected = allpole_loop(x, a, zi)
    torch.testing.assert_close(y, expected, rtol=1e-10, atol=1e-12)
    for got, want in zip(grads, torch.autograd.grad(expected.pow(2).sum(), (x, a, zi))):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-10)


KERNEL_ORDERS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16]  # every unrolled order, and 9 (generic)
KERNEL_LENGTHS = [1, 4, 5, 9, 16, 17, 24, 33, 50]  # around M and 2M, where the kernels switch loops


@pytest.mark.parametrize("order", KERNEL_ORDERS)
@pytest.mark.parametrize("rows", [1, 2, 3, 5])
@pytest.mark.parametrize("n_time", KERNEL_LENGTHS)
def test_unrolled_and_generic_row_kernels_match_the_oracle(order, rows, n_time):
    """Every kernel variant (serial/parallel, single row/pair, unrolled or generic order)."""
    gen = torch.Generator().manual_seed(order * 100 + rows * 10 + n_time)
    x = torch.randn(rows, n_time, dtype=torch.float64, generator=gen)
    a = 0.3 * torch.randn(rows, n_time, order, dtype=torch.float64, generator=gen) / order
    zi = torch.randn(rows, order, dtype=torch.float64, generator=gen)
    torch.testing.assert_close(allpole(x, a, zi), allpole_loop(x, a, zi), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(allpole(x.float(), a.float(), zi.float()), allpole_loop(x, a, zi).float(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("order", KERNEL_ORDERS)
@pytest.mark.parametrize("rows", [1, 2, 3, 5])
@pytest.mark.parametrize("n_time", KERNEL_LENGTHS)
def test_fused_backward_kernel_variants_match_autograd_of_the_oracle(order, rows, n_time):
    """dL/dx, dL/da, dL/dzi from every fused-backward variant equal autograd through the loop."""
    gen = torch.Generator().manual_seed(order * 1000 + rows * 10 + n_time)
    x = torch.randn(rows, n_time, dtype=torch.float64, generator=gen, requires_grad=True)
    a = (0.3 * torch.randn(rows, n_time, order, dtype=torch.float64, generator=gen) / order).requires_grad_()
    zi = torch.randn(rows, order, dtype=torch.float64, generator=gen, requires_grad=True)
    weight = torch.randn(rows, n_time, dtype=torch.float64, generator=gen)
    ours = torch.autograd.grad((allpole(x, a, zi) * weight).sum(), (x, a, zi))
    oracle = torch.autograd.grad((allpole_loop(x, a, zi) * weight).sum(), (x, a, zi))
    for got, want in zip(ours, oracle):
        torch.testing.assert_close(got, want, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("order", [1, 2, 3, 8, 16])
@pytest.mark.parametrize("rows", [1, 3])
def test_kernel_variants_in_complex128_match_the_oracle(order, rows):
    """The conjugations of the unrolled backward (conj(a), conj(y)) against autograd of the loop."""
    gen = torch.Generator().manual_seed(order * 7 + rows)
    n_time = 3 * order + 5
    x = torch.randn(rows, n_time, dtype=torch.complex128, generator=gen, requires_grad=True)
    a = (0.3 * torch.randn(rows, n_time, order, dtype=torch.complex128, generator=gen) / order).requires_grad_()
    zi = torch.randn(rows, order, dtype=torch.complex128, generator=gen, requires_grad=True)
    weight = torch.randn(rows, n_time, dtype=torch.complex128, generator=gen)
    y = allpole(x, a, zi)
    expected = allpole_loop(x, a, zi)
    torch.testing.assert_close(y, expected, rtol=1e-12, atol=1e-12)
    ours = torch.autograd.grad((y * weight).real.sum(), (x, a, zi))
    oracle = torch.autograd.grad((expected * weight).real.sum(), (x, a, zi))
    for got, want in zip(ours, oracle):
        torch.testing.assert_close(got, want, rtol=1e-11, atol=1e-11)


def _reverse_loop(g: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """u[n] = g[n] - sum_i conj(a[n+i, i-1]) u[n+i], a beyond the end = 0: a plain Python loop."""
    rows, n_time, order = a.shape
    u = torch.zeros_like(g)
    for b in range(rows):
        for n in range(n_time - 1, -1, -1):
            acc = g[b, n]
            for i in range(1, order + 1):
                if n + i < n_time:
                    acc = acc - a[b, n + i, i - 1].conj() * u[b, n + i]
            u[b, n] = acc
    return u


@pytest.mark.parametrize("order", KERNEL_ORDERS)
@pytest.mark.parametrize("rows", [1, 2, 3])
@pytest.mark.parametrize("n_time", [1, 5, 17, 40])
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
def test_reverse_kernel_variants_match_a_loop(order, rows, n_time, dtype):
    """The adjoint op (used by double backward and forward mode), every kernel variant."""
    from zoo.filters import _ops

    gen = torch.Generator().manual_seed(order * 31 + rows * 7 + n_time)
    g = torch.randn(rows, n_time, dtype=dtype, generator=gen)
    a = 0.3 * torch.randn(rows, n_time, order, dtype=dtype, generator=gen) / order
    expected = _reverse_loop(g, a)
    torch.testing.assert_close(_ops.allpole_reverse_cpu(g, a), expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(_ops.allpole_reverse(g, a), expected, rtol=1e-12, atol=1e-12)
