"""Phaser functional API: gradcheck / gradgradcheck in float64 on small sizes."""

from __future__ import annotations

import pytest
import torch

from zoo.effects.phasers import phaser


def _inputs(n_p, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 2, 24, dtype=torch.float64, generator=gen)
    p = (0.8 * torch.rand(2, n_p, dtype=torch.float64, generator=gen) - 0.1).requires_grad_()
    g1 = torch.tensor([0.7, -0.4], dtype=torch.float64, requires_grad=True)
    g2 = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    b = torch.tensor([0.9, 0.2, -0.1], dtype=torch.float64, requires_grad=True)
    a = torch.tensor([-0.4, 0.2], dtype=torch.float64, requires_grad=True)
    return x.requires_grad_(), p, g1, g2, b, a


@pytest.mark.parametrize("method", ["td_exact", "td_regrouped"])
def test_gradcheck_td(method):
    inputs = _inputs(24)

    def fn(x, p, g1, g2, b, a):
        return phaser(x, 8000, p, g1, g2, b, a, method=method, num_stages=3)

    assert torch.autograd.gradcheck(fn, inputs, atol=1e-7)


def test_gradgradcheck_td_exact():
    x, p, g1, g2, b, a = _inputs(24, seed=1)
    x = x[:1, :1, :12].detach().requires_grad_()
    p = p[:1, :12].detach().requires_grad_()

    def fn(x, p, g2):
        return phaser(x, 8000, p, 0.5, g2, b.detach(), a.detach(), method="td_exact", num_stages=2)

    assert torch.autograd.gradgradcheck(fn, (x, p, g2), atol=1e-6)


def test_gradcheck_fs():
    x, p, g1, g2, b, a = _inputs(24 // 4 + 1, seed=2)

    def fn(x, p, g1, g2, b, a):
        return phaser(x, 8000, p, g1, g2, b, a, method="fs", hop=4)

    assert torch.autograd.gradcheck(fn, (x, p, g1, g2, b, a), atol=1e-7)
