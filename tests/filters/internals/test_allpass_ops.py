"""The all-pass loop's registered custom ops (`zoo.filters._ops_allpass`): schema and fake-tensor checks."""

from __future__ import annotations

import torch

import zoo.filters.allpass  # noqa: F401  (registers the ops)


def test_custom_ops_opcheck():
    gen = torch.Generator().manual_seed(30)
    x = torch.randn(2, 20, dtype=torch.float64, generator=gen)
    p = 1.9 * torch.rand(2, 20, dtype=torch.float64, generator=gen) - 0.95
    g2 = torch.tensor([0.9, -0.5], dtype=torch.float64)
    zi = 0.5 * torch.randn(2, 4, dtype=torch.float64, generator=gen)
    y, ckpt = torch.ops.zoo.allpass_loop(x, p, g2, zi)
    tests = ("test_schema", "test_faketensor")
    torch.library.opcheck(torch.ops.zoo.allpass_loop, (x, p, g2, zi), test_utils=tests)
    grads = (torch.randn_like(y), torch.randn_like(zi), x, p, g2, ckpt)
    torch.library.opcheck(torch.ops.zoo.allpass_loop_backward, grads, test_utils=tests)
    tangents = tuple(torch.randn_like(t) for t in (x, p, g2, zi))
    torch.library.opcheck(torch.ops.zoo.allpass_loop_tangent, (x, p, g2, zi, *tangents), test_utils=tests)
