"""The all-pass primitives of `zoo.filters.allpass`: the CPU kernels against their composed twin
(the path of CUDA and other devices, functorch transforms and ``use_backend("torch")``), values and
gradients, and against a float64 sample loop."""

from __future__ import annotations

import pytest
import torch

from zoo.filters import allpass_chain, allpass_feedback_loop, use_backend

K = 4


def _chain_loop(x, coef, g2, zi, form, delay):
    """Oracle: the chain and its loop, one sample at a time (float64). DF1 state (u, y_1 .. y_K);
    TPT state (y_K, s_1 .. s_K)."""
    n_rows, n_time = x.shape
    out = torch.empty_like(x)
    zf = torch.empty_like(zi)
    for r in range(n_rows):
        s = zi[r].tolist()
        for n in range(n_time):
            c = coef[r, n].tolist()
            if form == "df1":
                y_prev = s[K]

                def run(u):
                    prev_in, ys = s[0], []
                    inp = u
                    for k in range(K):
                        yk = c[k] * (inp + s[k + 1]) - prev_in
                        prev_in = s[k + 1]
                        ys.append(yk)
                        inp = yk
                    return ys
            else:
                y_prev = s[0]

                def run(u):
                    ys, inp = [], u
                    for k in range(K):
                        v = c[k] * (inp - s[k + 1])
                        lp = v + s[k + 1]
                        ys.append(2 * lp - inp)
                        inp = ys[-1]
                    return ys
            if delay == 1:
                u = float(x[r, n]) + float(g2[r]) * y_prev
            else:  # y_K is affine in u: solve the loop
                y0, y1 = run(0.0)[-1], run(1.0)[-1]
                u = (float(x[r, n]) + float(g2[r]) * y0) / (1.0 - float(g2[r]) * (y1 - y0))
            ys = run(u)
            if form == "df1":
                s = [u, *ys]
            else:
                inputs = [u, *ys[:-1]]
                s = [ys[-1]] + [s[k + 1] + 2 * c[k] * (inputs[k] - s[k + 1]) for k in range(K)]
            out[r, n] = ys[-1]
        zf[r] = torch.tensor(s, dtype=x.dtype)
    return out, zf


def _inputs(form: str, n_rows=2, n_time=301, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n_rows, n_time, generator=gen, dtype=dtype)
    if form == "df1":
        coef = 1.6 * torch.rand(n_rows, n_time, K, generator=gen, dtype=dtype) - 0.8
    else:
        coef = 0.05 + 0.9 * torch.rand(n_rows, n_time, K, generator=gen, dtype=dtype)
    g2 = torch.rand(n_rows, generator=gen, dtype=dtype) - 0.5
    zi = 0.5 * torch.randn(n_rows, K + 1, generator=gen, dtype=dtype)
    return x, coef, g2, zi


@pytest.mark.parametrize("form", ["df1", "tpt"])
@pytest.mark.parametrize("delay", [0, 1])
def test_chain_kernel_and_composed_equal_the_sample_loop(form, delay):
    x, coef, g2, zi = _inputs(form, n_time=97)
    ref_y, ref_zf = _chain_loop(x, coef, g2, zi, form, delay)
    y, zf = allpass_chain(x, coef, g2, zi, form=form, feedback_delay=delay, return_zf=True)
    with use_backend("torch"):
        yc, zfc = allpass_chain(x, coef, g2, zi, form=form, feedback_delay=delay, return_zf=True)
    for got, got_zf in ((y, zf), (yc, zfc)):
        torch.testing.assert_close(got, ref_y, rtol=1e-9, atol=1e-9)
        torch.testing.assert_close(got_zf, ref_zf, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("form", ["df1", "tpt"])
@pytest.mark.parametrize("delay", [0, 1])
def test_chain_composed_gradients_equal_the_kernel_adjoint(form, delay):
    x, coef, g2, zi = _inputs(form, n_time=203, seed=3)
    weight = torch.randn(x.shape, dtype=x.dtype, generator=torch.Generator().manual_seed(9))

    def grads(composed: bool):
        leaves = [t.clone().requires_grad_() for t in (x, coef, g2, zi)]
        if composed:
            with use_backend("torch"):
                y, zf = allpass_chain(*leaves, form=form, feedback_delay=delay, return_zf=True)
        else:
            y, zf = allpass_chain(*leaves, form=form, feedback_delay=delay, return_zf=True)
        ((y * weight).sum() + zf.square().sum()).backward()
        return [t.grad for t in leaves]

    for native, composed in zip(grads(False), grads(True)):
        torch.testing.assert_close(composed, native, rtol=1e-8, atol=1e-9)


def test_loop_composed_equals_kernel_with_state_and_gradients():
    x, coef, g2, zi = _inputs("df1", n_time=400, seed=5)
    p = coef[..., 0]
    leaves_a = [t.clone().requires_grad_() for t in (x, p, g2, zi)]
    leaves_b = [t.clone().requires_grad_() for t in (x, p, g2, zi)]
    y, zf = allpass_feedback_loop(*leaves_a, num_stages=K, return_zf=True)
    with use_backend("torch"):
        yc, zfc = allpass_feedback_loop(*leaves_b, num_stages=K, return_zf=True)
    torch.testing.assert_close(yc, y, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(zfc, zf, rtol=1e-10, atol=1e-10)
    (y.sum() + zf.sum()).backward()
    (yc.sum() + zfc.sum()).backward()
    for a, b in zip(leaves_a, leaves_b):
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-8, atol=1e-9)


def test_loop_under_vmap_takes_the_composed_path():
    x, coef, g2, zi = _inputs("df1", n_rows=3, n_time=64, seed=7)
    p = coef[..., 0]

    def one(xr, pr, gr):
        return allpass_feedback_loop(xr[None], pr[None], gr[None], num_stages=K)[0]

    batched = torch.func.vmap(one)(x, p, g2)
    torch.testing.assert_close(batched, allpass_feedback_loop(x, p, g2, num_stages=K), rtol=1e-10, atol=1e-10)


def test_composed_loop_gradcheck_second_order_with_state():
    x, coef, g2, zi = _inputs("df1", n_rows=1, n_time=12, seed=11)
    p = 0.6 * coef[..., 0]
    leaves = [t.clone().requires_grad_() for t in (x, p, g2, zi)]

    def fn(*args):
        with use_backend("torch"):
            return allpass_feedback_loop(*args, num_stages=K)

    assert torch.autograd.gradgradcheck(fn, leaves)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_runs_on_the_device_without_host_copies(monkeypatch):  # pragma: no cover - GPU
    x, coef, g2, zi = _inputs("tpt", n_time=500, seed=2)
    ref = allpass_chain(x, coef, g2, zi, form="tpt", feedback_delay=1)

    def no_host(*args, **kwargs):
        raise AssertionError("a host round trip")

    monkeypatch.setattr(torch.Tensor, "cpu", no_host)
    monkeypatch.setattr(torch.Tensor, "numpy", no_host)
    out = allpass_chain(*(t.cuda() for t in (x, coef, g2, zi)), form="tpt", feedback_delay=1)
    assert out.is_cuda
    monkeypatch.undo()
    torch.testing.assert_close(out.cpu(), ref, rtol=1e-9, atol=1e-9)
