"""The attack/release smoother of `zoo.filters.smoother`: the Numba path against the composed path
(the all-pole layer with the mask's fixed point: CUDA's path), values, masks and gradients."""

from __future__ import annotations

import pytest
import torch

from zoo.filters import attack_release_smoother, use_backend


def _loop(g, zi, at, rt):
    out = torch.empty_like(g)
    for r in range(g.shape[0]):
        prev = float(zi[r])
        for n in range(g.shape[1]):
            coef = float(at[r]) if float(g[r, n]) < prev else float(rt[r])
            prev = prev + coef * (float(g[r, n]) - prev)
            out[r, n] = prev
    return out


def _gain(n_rows, n_time, seed):
    gen = torch.Generator().manual_seed(seed)
    # a gain that falls and recovers in bursts, as a compressor's static curve gives
    env = torch.rand(n_rows, n_time // 50 + 1, generator=gen, dtype=torch.float64)
    g = torch.repeat_interleave(env, 50, dim=-1)[:, :n_time]
    return (g + 0.05 * torch.randn(n_rows, n_time, generator=gen, dtype=torch.float64)).clamp(0.01, 1.0)


@pytest.mark.parametrize("at,rt", [(0.5, 0.01), (0.02, 0.3), (1.0, 1.0)])
def test_composed_equals_kernel_and_loop(at, rt):
    g = _gain(3, 2000, seed=1)
    zi = torch.tensor([1.0, 0.5, 0.1], dtype=torch.float64)
    y, mask, zf = attack_release_smoother(g, at, rt, zi, return_mask=True, return_zf=True)
    with use_backend("torch"):
        yc, mask_c, zf_c = attack_release_smoother(g, at, rt, zi, return_mask=True, return_zf=True)
    ref = _loop(g, zi, torch.full((3,), at, dtype=torch.float64), torch.full((3,), rt, dtype=torch.float64))
    torch.testing.assert_close(y, ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(yc, ref, rtol=1e-12, atol=1e-12)
    if at != rt:  # with at == rt the branch is irrelevant and ties (clamped g) may round either way
        assert torch.equal(mask, mask_c)
    torch.testing.assert_close(zf_c, zf)


def test_composed_gradients_equal_algorithm_1():
    g = _gain(2, 700, seed=4)
    weight = torch.randn(g.shape, dtype=g.dtype, generator=torch.Generator().manual_seed(2))

    def grads(composed: bool):
        leaves = [g.clone().requires_grad_(), torch.tensor([0.3, 0.1], dtype=torch.float64, requires_grad=True),
                  torch.tensor([0.02, 0.05], dtype=torch.float64, requires_grad=True),
                  torch.tensor([0.9, 1.0], dtype=torch.float64, requires_grad=True)]
        if composed:
            with use_backend("torch"):
                y = attack_release_smoother(leaves[0], leaves[1], leaves[2], leaves[3])
        else:
            y = attack_release_smoother(leaves[0], leaves[1], leaves[2], leaves[3])
        (y * weight).sum().backward()
        return [t.grad for t in leaves]

    for native, composed in zip(grads(False), grads(True)):
        torch.testing.assert_close(composed, native, rtol=1e-10, atol=1e-12)


def test_composed_second_order():
    g = _gain(1, 30, seed=8).requires_grad_()
    at = torch.tensor([0.4], dtype=torch.float64, requires_grad=True)
    rt = torch.tensor([0.05], dtype=torch.float64, requires_grad=True)

    def fn(g, at, rt):
        with use_backend("torch"):
            return attack_release_smoother(g, at, rt, 0.8)

    assert torch.autograd.gradgradcheck(fn, (g, at, rt))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_smoother_runs_on_the_device(monkeypatch):  # pragma: no cover - GPU
    g = _gain(4, 44100, seed=3)
    ref = attack_release_smoother(g, 0.3, 0.01, 1.0)

    def no_host(*args, **kwargs):
        raise AssertionError("a host round trip")

    monkeypatch.setattr(torch.Tensor, "numpy", no_host)
    out = attack_release_smoother(g.cuda(), 0.3, 0.01, 1.0)
    monkeypatch.undo()
    torch.testing.assert_close(out.cpu(), ref, rtol=1e-9, atol=1e-9)
