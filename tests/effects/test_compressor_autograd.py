"""Compressor gradients: Algorithm 1 (AttackReleaseFunction) vs finite differences and plain autograd."""

from __future__ import annotations

import math

import pytest
import torch
from torch.autograd import gradcheck, gradgradcheck

from zoo.effects.compressors import AttackReleaseFunction, Compressor, attack_release_smoother, compressor

SR = 16000


def away_from_switches(n_rows=2, n_time=24, seed=0, margin=1e-3):
    """g, zi, at, rt (float64, requiring grad) with |g(n) - g_hat(n-1)| > margin everywhere, so that
    finite-difference steps never flip the attack/release branch."""
    gen = torch.Generator().manual_seed(seed)
    for _ in range(100):
        g = 0.2 + 0.8 * torch.rand(n_rows, n_time, dtype=torch.float64, generator=gen)
        zi = 0.5 + 0.5 * torch.rand(n_rows, dtype=torch.float64, generator=gen)
        at = 0.3 + 0.3 * torch.rand(n_rows, dtype=torch.float64, generator=gen)
        rt = 0.05 + 0.1 * torch.rand(n_rows, dtype=torch.float64, generator=gen)
        y, mask = AttackReleaseFunction.apply(g, zi, at, rt)
        prev = torch.cat([zi[:, None], y[:, :-1]], -1)
        if (g - prev).abs().min() > margin and 0 < mask.sum() < mask.numel():
            return [t.requires_grad_() for t in (g, zi, at, rt)]
    raise RuntimeError("no input away from the switch points")


def smoother_loop(g, zi, at, rt):
    """Eq. 21 written with plain torch ops, one sample at a time (autograd through the loop)."""
    prev = zi
    out = []
    for n in range(g.shape[-1]):
        coef = torch.where(g[:, n] < prev, at, rt)
        prev = coef * g[:, n] + (1 - coef) * prev
        out.append(prev)
    return torch.stack(out, -1)


def test_gradcheck_algorithm1():
    inputs = away_from_switches()
    fn = lambda *a: AttackReleaseFunction.apply(*a)[0]  # noqa: E731
    assert gradcheck(fn, inputs, eps=1e-6, atol=1e-8, rtol=1e-6)


def test_gradgradcheck_algorithm1():
    inputs = away_from_switches(n_time=12, seed=1)
    fn = lambda *a: AttackReleaseFunction.apply(*a)[0]  # noqa: E731
    assert gradgradcheck(fn, inputs, eps=1e-6, atol=1e-7, rtol=1e-5)


def test_forward_ad_algorithm1():
    inputs = away_from_switches(seed=2)
    fn = lambda *a: AttackReleaseFunction.apply(*a)[0]  # noqa: E731
    assert gradcheck(fn, inputs, eps=1e-6, atol=1e-8, rtol=1e-6, check_forward_ad=True,
                     check_backward_ad=False, check_undefined_grad=False, check_batched_grad=False)


def test_algorithm1_matches_autograd_through_loop():
    g, zi, at, rt = away_from_switches(n_rows=3, n_time=40, seed=3)
    w = torch.randn(3, 40, dtype=torch.float64)
    (AttackReleaseFunction.apply(g, zi, at, rt)[0] * w).sum().backward()
    ours = [t.grad.clone() for t in (g, zi, at, rt)]
    for t in (g, zi, at, rt):
        t.grad = None
    (smoother_loop(g, zi, at, rt) * w).sum().backward()
    for a, b in zip(ours, (g.grad, zi.grad, at.grad, rt.grad)):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_public_smoother_broadcasts_coefficient_grads():
    g = (0.2 + 0.8 * torch.rand(2, 3, 30, dtype=torch.float64)).requires_grad_()
    at = torch.tensor([0.3, 0.5], dtype=torch.float64, requires_grad=True)
    rt = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)
    attack_release_smoother(g, at[:, None], rt).sum().backward()
    assert at.grad.shape == (2,) and rt.grad.shape == ()
    at2, rt2 = at.detach().clone().requires_grad_(), rt.detach().clone().requires_grad_()
    ref = torch.stack([smoother_loop(g[b].detach(), torch.ones(3, dtype=torch.float64), at2[b].expand(3),
                                     rt2.expand(3)) for b in range(2)])
    ref.sum().backward()
    torch.testing.assert_close(at.grad, at2.grad)
    torch.testing.assert_close(rt.grad, rt2.grad)


def compressor_loop(x, sr, thr, ratio, at_ms, rt_ms, rms_coef, makeup_db):
    """The whole compressor in plain torch ops, sample by sample (x (N, T); parameters (N,))."""
    at = 1 - torch.exp(-2.2 / (sr * at_ms / 1000))
    rt = 1 - torch.exp(-2.2 / (sr * rt_ms / 1000))
    x_rms = torch.zeros_like(x[:, 0])
    g_hat = torch.ones_like(x[:, 0])
    out = []
    for n in range(x.shape[-1]):
        x_rms = rms_coef * x[:, n] ** 2 + (1 - rms_coef) * x_rms
        level = 10 * torch.log10(torch.clamp(x_rms, min=1e-10))
        g = 10 ** (torch.clamp((1 / ratio - 1) * (level - thr), max=0.0) / 20)
        coef = torch.where(g < g_hat, at, rt)
        g_hat = coef * g + (1 - coef) * g_hat
        out.append(x[:, n] * g_hat * 10 ** (makeup_db / 20))
    return torch.stack(out, -1)


def test_whole_compressor_matches_autograd_through_loop():
    gen = torch.Generator().manual_seed(4)
    x = 0.5 * torch.randn(2, 200, dtype=torch.float64, generator=gen) * torch.linspace(0.1, 1, 200).double()
    values = dict(thr=[-20.0, -15.0], ratio=[4.0, 3.0], at_ms=[1.0, 5.0], rt_ms=[10.0, 30.0], rms=[0.3, 0.1],
                  mk=[1.0, -2.0])

    def leaves():
        return {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in values.items()}

    p = leaves()
    w = torch.randn(2, 200, dtype=torch.float64, generator=gen)
    (compressor(x, SR, p["thr"], p["ratio"], p["at_ms"], p["rt_ms"], p["rms"], p["mk"]) * w).sum().backward()
    q = leaves()
    (compressor_loop(x, SR, q["thr"], q["ratio"], q["at_ms"], q["rt_ms"], q["rms"], q["mk"]) * w).sum().backward()
    for k in values:
        torch.testing.assert_close(p[k].grad, q[k].grad, rtol=1e-8, atol=1e-12, msg=k)
        assert p[k].grad.abs().min() > 0, k


def test_whole_compressor_gradcheck():
    gen = torch.Generator().manual_seed(5)
    x = 0.5 * torch.randn(1, 2, 60, dtype=torch.float64, generator=gen)
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (-20.0, 4.0, 2.0, 20.0, 0.3, 1.0)]

    def fn(*p):
        return compressor(x, SR, *p, link_channels=True)

    y = fn(*params)  # make sure no switch point sits within the finite-difference step
    assert torch.isfinite(y).all()
    assert gradcheck(fn, params, eps=1e-7, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("method", ["td", "fs"])
def test_gradient_flows_to_every_parameter(method):
    torch.manual_seed(6)
    m = Compressor(SR, method, threshold_db=-20.0, attack_ms=5.0, release_ms=50.0)
    t = torch.linspace(0, 1, 2000)
    x = (0.05 + 0.5 * (t > 0.3) * (t < 0.7)).reshape(1, 1, -1) * torch.randn(2, 2, 2000)
    loss = m(x).abs().mean()
    loss.backward()
    for name, p in m.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs() > 0, name


def test_double_backward_through_module():
    m = Compressor(SR, threshold_db=-20.0).double()
    x = 0.5 * torch.randn(1, 2, 300, dtype=torch.float64)
    loss = m(x).square().mean()
    grads = torch.autograd.grad(loss, list(m.parameters()), create_graph=True)
    penalty = sum(g.square().sum() for g in grads)
    penalty.backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_no_nan_gradient_on_silence_and_float32():
    m = Compressor(SR)
    x = torch.zeros(1, 2, 500)
    m(x).sum().backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert math.isfinite(float(m.learned_parameters()["attack_ms"]))


def test_forward_ad_whole_compressor_matches_reverse():
    import torch.autograd.forward_ad as fwAD

    x = 0.5 * torch.randn(1, 2, 100, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    thr = torch.tensor(-20.0, dtype=torch.float64)
    with fwAD.dual_level():
        dual = fwAD.make_dual(thr, torch.ones_like(thr))
        jvp = fwAD.unpack_dual(compressor(x, SR, dual, 4.0, 2.0, 20.0, 0.3, 0.0, link_channels=True)).tangent
    leaf = thr.clone().requires_grad_()
    (grad,) = torch.autograd.grad(compressor(x, SR, leaf, 4.0, 2.0, 20.0, 0.3, 0.0, link_channels=True).sum(), leaf)
    torch.testing.assert_close(jvp.sum(), grad, rtol=1e-10, atol=1e-14)


def test_fused_backward_equals_composed_backward():
    """The no-graph fused kernel (Algorithm 1 in one sweep) and the composed, differentiable path agree."""
    from zoo.effects.compressors import AttackReleaseFunction

    gen = torch.Generator().manual_seed(3)
    g = torch.rand(3, 400, generator=gen, dtype=torch.float64).requires_grad_()
    zi = torch.rand(3, generator=gen, dtype=torch.float64).requires_grad_()
    at = torch.tensor([0.3, 0.5, 0.9], dtype=torch.float64, requires_grad=True)
    rt = torch.tensor([0.01, 0.05, 0.2], dtype=torch.float64, requires_grad=True)
    weight = torch.randn(3, 400, generator=gen, dtype=torch.float64)
    inputs = (g, zi, at, rt)
    y, _ = AttackReleaseFunction.apply(*inputs)
    fused = torch.autograd.grad((y * weight).sum(), inputs)  # no graph: the fused kernel
    y, _ = AttackReleaseFunction.apply(*inputs)
    composed = torch.autograd.grad((y * weight).sum(), inputs, create_graph=True)
    for a, b in zip(fused, composed):
        torch.testing.assert_close(a, b.detach(), rtol=1e-12, atol=1e-12)
