"""torch.compile(fullgraph=True) traces allpole (custom ops, no graph break); forward and backward equal
eager. One small case: compiling is slow."""

import pytest
import torch

from zoo.filters import allpole, lfilter


@pytest.mark.slow
def test_compiled_forward_and_backward_equal_eager():
    torch.manual_seed(0)

    def fn(x, a, zi, b):
        y = allpole(x, a, zi)
        return lfilter(b, a[..., 0, :], y).pow(2).sum()  # TV allpole, then a TI pole-zero filter

    x = torch.randn(2, 32, dtype=torch.float64, requires_grad=True)
    a = (0.3 * torch.tanh(torch.randn(2, 32, 2, dtype=torch.float64))).requires_grad_()
    zi = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, dtype=torch.float64, requires_grad=True)
    inputs = (x, a, zi, b)

    torch._dynamo.reset()
    compiled = torch.compile(fn, fullgraph=True)
    loss = compiled(*inputs)
    grads = torch.autograd.grad(loss, inputs)
    loss_eager = fn(*inputs)
    grads_eager = torch.autograd.grad(loss_eager, inputs)
    torch.testing.assert_close(loss, loss_eager, rtol=1e-12, atol=1e-12)
    for got, want in zip(grads, grads_eager):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
