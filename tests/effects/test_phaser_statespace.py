"""td_exact's state-space all-pass loop (`AllpassLoopFunction`): values, gradients and robustness.

The oracle is an independent float64 torch loop that, at every sample, builds the (K+1) x (K+1)
linear system of the stage equations and the delay-free feedback and solves it with
`torch.linalg.solve` (no elimination shared with the kernel); it is differentiable, so it also
gives reference gradients.
"""

from __future__ import annotations


import numpy as np
import pytest
import torch

from test_phaser_exact import BQ_A, BQ_B, esr, lfo_trajectory, phaser_loop
from zoo.effects.phasers import (
    Phaser,
    allpass_feedback_loop,
    phaser,
)
import zoo.filters.allpass
from zoo.filters.autograd_allpass import allpass_loop_composed
from zoo.filters.kernels import numba_allpass_loop as kernels_phaser

phaser_module = zoo.filters.allpass  # where `_apply_allpass_loop` is looked up


def solve_loop(x, p, g2, zi=None, num_stages=4):
    """Oracle: per sample, solve M y = r for y = (u, y_1, ..., y_K)[n] with torch.linalg.solve.

    Rows: u - g2 y_K = x;  y_k - p y_{k-1} = p y_k[n-1] - y_{k-1}[n-1]. x, p (N, T); g2 (N,);
    zi (N, K+1). Returns (y_K (N, T), zf (N, K+1)), differentiable in every input.
    """
    rows, n_time = x.shape
    width = num_stages + 1
    state = x.new_zeros(rows, width) if zi is None else zi
    eye = torch.eye(width, dtype=x.dtype).expand(rows, width, width)
    sub = torch.diag(torch.ones(num_stages, dtype=x.dtype), -1)  # (k, k-1) entries
    corner = torch.zeros(width, width, dtype=x.dtype)
    corner[0, num_stages] = 1.0
    out = []
    for n in range(n_time):
        pn = p[:, n, None, None]
        mat = eye - pn * sub - g2[:, None, None] * corner
        rhs = torch.cat([x[:, n, None], p[:, n, None] * state[:, 1:] - state[:, :-1]], dim=-1)
        state = torch.linalg.solve(mat, rhs)
        out.append(state[:, -1])
    return torch.stack(out, dim=-1) if out else x.clone(), state


def rel_err(y, ref):
    return float((y - ref).abs().max() / ref.abs().max())


def random_inputs(rows, n_time, num_stages, *, seed, p_low=-0.95, p_high=0.99, g2=(0.9, -0.5, 0.3), zi_scale=0.5):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, n_time, dtype=torch.float64, generator=gen)
    p = p_low + (p_high - p_low) * torch.rand(rows, n_time, dtype=torch.float64, generator=gen)
    g = torch.tensor([g2[i % len(g2)] for i in range(rows)], dtype=torch.float64)
    zi = zi_scale * torch.randn(rows, num_stages + 1, dtype=torch.float64, generator=gen)
    return x, p, g, zi


# ------------------------------------------------------------------------------------------ values
@pytest.mark.parametrize("num_stages", [1, 2, 4, 6])
def test_matches_solve_loop(num_stages):
    x, p, g2, zi = random_inputs(3, 700, num_stages, seed=num_stages)  # > CHUNK: two checkpoints
    y, zf = allpass_feedback_loop(x, p, g2, zi, num_stages=num_stages, return_zf=True)
    ref, zf_ref = solve_loop(x, p, g2, zi, num_stages)
    assert esr(y, ref) < 1e-20
    torch.testing.assert_close(zf, zf_ref, rtol=1e-12, atol=1e-12)


def test_phaser_matches_sample_loop_with_jumping_p():
    """p i.i.d. per sample in [-0.95, 0.99] and g2 = 0.9: finite and exact (the composed form is not)."""
    n_time = 20000
    gen = torch.Generator().manual_seed(11)
    x = torch.randn(2, 1, n_time, dtype=torch.float64, generator=gen)
    p = -0.95 + 1.94 * torch.rand(2, n_time, dtype=torch.float64, generator=gen)
    for num_stages in (4, 6):
        y = phaser(x, 44100, p, 0.5, 0.9, BQ_B, BQ_A, method="td_exact", num_stages=num_stages)
        assert torch.isfinite(y).all()
        ref = phaser_loop(x[:, 0].numpy(), p.numpy(), 0.5, 0.9, BQ_B.numpy(), BQ_A.numpy(), num_stages)
        assert esr(y[:, 0], ref) < 1e-20


def test_jumping_p_gradients_finite_and_exact():
    x, p, g2, zi = random_inputs(2, 1100, 4, seed=12, g2=(0.9,))
    inputs = [t.clone().requires_grad_() for t in (x, p, g2, zi)]
    weight = torch.randn(2, 1100, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    y, zf = allpass_feedback_loop(*inputs, return_zf=True)
    grads = torch.autograd.grad((weight * y).sum() + zf.sum(), inputs)
    y_ref, zf_ref = solve_loop(*inputs)
    grads_ref = torch.autograd.grad((weight * y_ref).sum() + zf_ref.sum(), inputs)
    for name, got, want in zip(("x", "p", "g2", "zi"), grads, grads_ref):
        assert torch.isfinite(got).all(), name
        assert rel_err(got, want) < 1e-11, name


def test_equals_previous_composed_form_when_well_conditioned():
    """Slow LFO sweeps (the regime the composed order-K recursion handles): both agree."""
    n_time = 44100 // 2
    x = torch.randn(2, n_time, dtype=torch.float64, generator=torch.Generator().manual_seed(13))
    p = torch.stack([lfo_trajectory(0.5, n_time, 44100, 441), lfo_trajectory(3.0, n_time, 44100, 441)])
    g2 = torch.tensor([0.6, 0.3], dtype=torch.float64)
    y, zf = allpass_feedback_loop(x, p, g2, return_zf=True)
    y_old, zf_old = allpass_loop_composed(x, p, g2, 4)
    assert esr(y, y_old) < 1e-20
    # The composed order-K recursion carries ~1e-9 relative rounding near p = 1 (the new form ~1e-15).
    torch.testing.assert_close(zf, zf_old, rtol=1e-7, atol=1e-10)


def test_equals_previous_phaser_output_when_well_conditioned(monkeypatch):
    """The whole module, old composed chain vs new kernel: outputs and every parameter's gradient."""
    torch.manual_seed(0)
    model = Phaser(8000, hop=80, lfo_rate_hz=1.5, g1=0.6, g2=0.5).double()
    x = torch.randn(2, 2, 4000, dtype=torch.float64, generator=torch.Generator().manual_seed(14))

    def run():
        model.zero_grad()
        y = model(x)
        y.square().mean().backward()
        return y.detach(), {name: prm.grad.clone() for name, prm in model.named_parameters()}

    y_new, grads_new = run()
    with monkeypatch.context() as patch:
        patch.setattr(
            phaser_module, "_apply_allpass_loop",
            lambda x, p, g2, zi, k: (*allpass_loop_composed(x, p, g2, k), None),
        )
        y_old, grads_old = run()
    assert esr(y_new, y_old) < 1e-20
    for name, grad in grads_new.items():
        torch.testing.assert_close(grad, grads_old[name], rtol=1e-7, atol=1e-12, msg=name)


@pytest.mark.parametrize("kind", ["lfo", "iid"])
def test_float32_close_to_float64(kind):
    n_time = 44100
    x = torch.randn(2, n_time, dtype=torch.float64, generator=torch.Generator().manual_seed(15))
    if kind == "lfo":
        p = lfo_trajectory(2.0, n_time, 44100, 441).expand(2, n_time)
    else:
        p = -0.95 + 1.94 * torch.rand(2, n_time, dtype=torch.float64, generator=torch.Generator().manual_seed(16))
    g2 = torch.tensor([0.9, 0.5], dtype=torch.float64)
    y64 = allpass_feedback_loop(x, p, g2)
    y32 = allpass_feedback_loop(x.float(), p.float(), g2.float())
    assert y32.dtype == torch.float32
    assert esr(y32.double(), y64) < 1e-11  # measured ~5e-13: float32 rounding of inputs and state


def test_empty_signal_and_single_rows():
    x, p, g2, zi = random_inputs(1, 0, 3, seed=17)
    y, zf = allpass_feedback_loop(x, p, g2, zi, num_stages=3, return_zf=True)
    assert y.shape == (1, 0)
    torch.testing.assert_close(zf, zi, rtol=0, atol=0)
    # Serial (<= 2 rows) and parallel (> 2 rows) kernels agree bit for bit.
    x, p, g2, zi = random_inputs(5, 600, 3, seed=18)
    many = allpass_feedback_loop(x, p, g2, zi, num_stages=3)
    one = torch.cat(
        [allpass_feedback_loop(x[i : i + 1], p[i : i + 1], g2[i : i + 1], zi[i : i + 1], num_stages=3) for i in range(5)]
    )
    torch.testing.assert_close(many, one, rtol=0, atol=0)


def test_shape_errors():
    x, p, g2, zi = random_inputs(2, 10, 4, seed=19)
    with pytest.raises(ValueError, match="`x`, `p`, `g2`"):
        allpass_feedback_loop(x, p[:, :5], g2)
    with pytest.raises(ValueError, match="`zi`"):
        allpass_feedback_loop(x, p, g2, zi[:, :3])
    with pytest.raises(ValueError, match="`num_stages`"):
        allpass_feedback_loop(x, p, g2, num_stages=0)


# --------------------------------------------------------------------------------------- streaming
def test_streaming_blocks_equal_one_pass_bitwise():
    x, p, g2, zi = random_inputs(3, 2000, 4, seed=20)
    full, zf_full = allpass_feedback_loop(x, p, g2, zi, return_zf=True)
    state, parts, start = zi, [], 0
    for size in (1, 511, 513, 0, 700, 275):
        block = slice(start, start + size)
        y, state = allpass_feedback_loop(x[:, block], p[:, block], g2, state, return_zf=True)
        parts.append(y)
        start += size
    torch.testing.assert_close(torch.cat(parts, dim=-1), full, rtol=0, atol=0)
    torch.testing.assert_close(state, zf_full, rtol=0, atol=0)


def test_streaming_gradients_equal_one_pass():
    x, p, g2, zi = random_inputs(2, 1200, 4, seed=21)
    inputs = [t.clone().requires_grad_() for t in (x, p, g2, zi)]
    weight = torch.randn(2, 1200, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    ref = torch.autograd.grad((weight * allpass_feedback_loop(*inputs)).sum(), inputs)
    xs, ps, gs, state = inputs
    parts = []
    for lo, hi in ((0, 300), (300, 301), (301, 1200)):
        y, state = allpass_feedback_loop(xs[:, lo:hi], ps[:, lo:hi], gs, state, return_zf=True)
        parts.append(y)
    got = torch.autograd.grad((weight * torch.cat(parts, dim=-1)).sum(), inputs)
    for name, a, b in zip(("x", "p", "g2", "zi"), got, ref):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-13, msg=name)


def test_phaser_module_streaming_with_fast_lfo():
    torch.manual_seed(3)
    effect = Phaser(44100, hop=32, method="td_exact", lfo_rate_hz=60.0, g2=0.85).double().eval()
    x = torch.randn(1, 2, 5000, dtype=torch.float64, generator=torch.Generator().manual_seed(22))
    with torch.no_grad():
        ref = effect(x)
        effect.reset_stream()
        y = torch.cat([effect.stream(x[..., lo:hi]) for lo, hi in ((0, 1), (1, 1234), (1234, 5000))], dim=-1)
    torch.testing.assert_close(y, ref, rtol=0, atol=0)


# --------------------------------------------------------------------------------------- autograd
@pytest.mark.parametrize("num_stages", [1, 3])
def test_gradcheck_and_forward_ad(num_stages):
    x, p, g2, zi = random_inputs(2, 14, num_stages, seed=23 + num_stages, g2=(0.8, -0.6))
    inputs = tuple(t.requires_grad_() for t in (x, p, g2, zi))

    def fn(x, p, g2, zi):
        return allpass_feedback_loop(x, p, g2, zi, num_stages=num_stages, return_zf=True)

    assert torch.autograd.gradcheck(fn, inputs, check_forward_ad=True, check_batched_grad=False)


def test_gradcheck_against_oracle_gradients_jumping_p():
    """Adjoint = gradient of the independent solve loop, over several checkpoint chunks."""
    n_time = 2 * kernels_phaser.CHUNK + 37
    x, p, g2, zi = random_inputs(1, n_time, 2, seed=25, g2=(0.95,))
    inputs = [t.clone().requires_grad_() for t in (x, p, g2, zi)]
    weight = torch.randn(1, n_time, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    got = torch.autograd.grad((weight * allpass_feedback_loop(*inputs, num_stages=2)).sum(), inputs)
    want = torch.autograd.grad((weight * solve_loop(*inputs, num_stages=2)[0]).sum(), inputs)
    for name, a, b in zip(("x", "p", "g2", "zi"), got, want):
        assert rel_err(a, b) < 1e-11, name


def test_forward_ad_matches_reverse_on_long_signal():
    import torch.autograd.forward_ad as fwad

    x, p, g2, zi = random_inputs(2, 1500, 4, seed=26)
    tangents = [torch.randn_like(t) for t in (x, p, g2, zi)]
    tangents[1] = 0.01 * tangents[1]
    weight = torch.randn(2, 1500, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    with fwad.dual_level():
        duals = [fwad.make_dual(t, d) for t, d in zip((x, p, g2, zi), tangents)]
        y, zf = allpass_feedback_loop(*duals, return_zf=True)
        jvp = (weight * fwad.unpack_dual(y).tangent).sum() + fwad.unpack_dual(zf).tangent.sum()
    inputs = [t.clone().requires_grad_() for t in (x, p, g2, zi)]
    y, zf = allpass_feedback_loop(*inputs, return_zf=True)
    grads = torch.autograd.grad((weight * y).sum() + zf.sum(), inputs)
    vjp = sum((g * d).sum() for g, d in zip(grads, tangents))
    torch.testing.assert_close(jvp, vjp, rtol=1e-11, atol=1e-11)


def test_gradgradcheck_at_rest_uses_composed_form():
    x, p, g2, _ = random_inputs(1, 10, 2, seed=27, p_low=0.1, p_high=0.7, g2=(0.5,))
    inputs = tuple(t.requires_grad_() for t in (x, p, g2))

    def fn(x, p, g2):
        return allpass_feedback_loop(x, p, g2, num_stages=2, return_zf=True)

    assert torch.autograd.gradgradcheck(fn, inputs, atol=1e-6, check_batched_grad=False)


def test_double_backward_with_state_raises():
    x, p, g2, zi = random_inputs(1, 10, 2, seed=28)
    p.requires_grad_()
    y = allpass_feedback_loop(x, p, g2, zi, num_stages=2)
    with pytest.raises(RuntimeError, match="double backward.*at rest"):
        torch.autograd.grad(y.sum(), p, create_graph=True)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gradient_flows_to_every_phaser_parameter(dtype):
    torch.manual_seed(1)
    model = Phaser(44100, method="td_exact", lfo_rate_hz=2.0, g1=0.5, g2=0.7).to(dtype)
    x = torch.randn(2, 1, 8000, dtype=dtype, generator=torch.Generator().manual_seed(29))
    model(x).square().mean().backward()
    names = {name for name, _ in model.named_parameters()}
    assert {"g1", "g2_logit", "biquad_b", "biquad_a_raw"} <= names
    for name, prm in model.named_parameters():
        assert prm.grad is not None and torch.isfinite(prm.grad).all(), name
        assert prm.grad.abs().sum() > 0, name


@pytest.mark.slow
def test_compiled_phaser_equals_eager():
    torch.manual_seed(2)
    model = Phaser(8000, hop=40, method="td_exact", g2=0.4).double()
    x = torch.randn(1, 1, 600, dtype=torch.float64, generator=torch.Generator().manual_seed(31))
    torch._dynamo.reset()
    p = model.allpass_trajectory(600).detach().requires_grad_()

    def fn(x, p):
        return phaser(x, 8000, p, 0.7, 0.4, BQ_B, BQ_A, method="td_exact").square().sum()

    loss = torch.compile(fn, fullgraph=True)(x, p)
    (grad,) = torch.autograd.grad(loss, p)
    loss_eager = fn(x, p)
    (grad_eager,) = torch.autograd.grad(loss_eager, p)
    torch.testing.assert_close(loss, loss_eager, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grad, grad_eager, rtol=1e-12, atol=1e-12)
