"""The fused TD compressor (`FusedCompressorFunction`): equal to the composed path, gradients included."""

from __future__ import annotations

import math

import pytest
import torch
from torch.autograd import gradcheck

from zoo.effects.compressors import Compressor, _compress, _fused_backward_op, _fused_forward_op, ms_to_coef

SR = 16000
OPTION_NAMES = ("knee_db", "expander_threshold_db", "expander_ratio", "limiter_threshold_db")


def uses_fused(t: torch.Tensor) -> bool:
    """Whether the autograd graph of ``t`` goes through `FusedCompressorFunction`."""
    seen, stack = set(), [t.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if "FusedCompressorFunction" in type(node).__name__:
            return True
        stack.extend(n for n, _ in node.next_functions)
    return False


def signal(shape, n_time, seed=0, dtype=torch.float64):
    """Noise with level steps (-50 .. 0 dB every 40 samples): both branches of every stage are taken."""
    gen = torch.Generator().manual_seed(seed)
    steps = 10 ** (-2.5 * torch.rand(*shape, n_time // 40 + 1, generator=gen, dtype=torch.float64))
    x = torch.randn(*shape, n_time, generator=gen, dtype=torch.float64) * steps.repeat_interleave(40, -1)[..., :n_time]
    return x.to(dtype)


def leaves(values: dict, dtype=torch.float64) -> dict:
    return {k: torch.tensor(v, dtype=dtype, requires_grad=True) for k, v in values.items()}


def run(x, values, options, zi, *, fused, link, dtype=torch.float64, seed=1):
    """y, zf and the gradients of a random projection of both w.r.t. x, every parameter and zi."""
    x = x.detach().clone().requires_grad_()
    p = leaves(values, dtype)
    opts = {k: (torch.tensor(v, dtype=dtype, requires_grad=True) if isinstance(v, (list, float)) else v)
            for k, v in options.items()}
    state = None if zi is None else zi.detach().clone().requires_grad_()
    y, zf = _compress(
        x, p["threshold_db"], p["ratio"], p["attack_coef"], p["release_coef"], p["rms_coef"], p["makeup_gain_db"],
        state, knee_db=opts.get("knee_db", 0.0), expander_threshold_db=opts.get("expander_threshold_db"),
        expander_ratio=opts.get("expander_ratio", 0.5), limiter_threshold_db=opts.get("limiter_threshold_db"),
        link_channels=link, method="td", return_zf=True, eps=1e-10, fused=fused,
    )
    assert uses_fused(y) == fused
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(y.shape, generator=gen, dtype=torch.float64).to(y.dtype)
    wz = torch.randn(zf.shape, generator=gen, dtype=torch.float64).to(y.dtype)
    ((y * w).sum() + (zf * wz).sum()).backward()
    grads = {"x": x.grad, **{k: v.grad for k, v in p.items()}}
    grads.update({k: v.grad for k, v in opts.items() if isinstance(v, torch.Tensor)})
    if state is not None:
        grads["zi"] = state.grad
    return y.detach(), zf.detach(), grads


def coefs(attack_ms, release_ms):
    return dict(attack_coef=[ms_to_coef(a, SR) for a in attack_ms],
                release_coef=[ms_to_coef(r, SR) for r in release_ms])


PER_ROW = dict(threshold_db=[-20.0, -30.0, -12.0], ratio=[4.0, 2.5, 10.0], rms_coef=[0.3, 0.05, 0.01],
               makeup_gain_db=[1.0, -2.0, 0.0])
CASES = {
    "hard knee, attack < release": (dict(PER_ROW, **coefs([1.0, 2.0, 0.5], [30.0, 80.0, 10.0])), {}),
    "attack > release": (dict(PER_ROW, **coefs([40.0, 20.0, 10.0], [2.0, 1.0, 0.5])), {}),
    "soft knee": (dict(PER_ROW, **coefs([1.0, 2.0, 0.5], [30.0, 80.0, 10.0])), dict(knee_db=[6.0, 12.0, 3.0])),
    "expander + limiter": (
        dict(PER_ROW, **coefs([1.0, 20.0, 0.5], [30.0, 2.0, 10.0])),
        dict(expander_threshold_db=[-40.0, -35.0, -45.0], expander_ratio=[0.5, 0.7, 0.3],
             limiter_threshold_db=[-16.0, -22.0, -11.2]),
    ),
    "everything, scalar parameters": (
        dict(threshold_db=-20.0, ratio=4.0, attack_coef=ms_to_coef(1.0, SR), release_coef=ms_to_coef(30.0, SR),
             rms_coef=0.1, makeup_gain_db=2.0),
        dict(knee_db=8.0, expander_threshold_db=-40.0, expander_ratio=0.5, limiter_threshold_db=-16.0),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("link", [False, True])
@pytest.mark.parametrize("with_zi", [False, True])
def test_fused_equals_composed(case, link, with_zi):
    values, options = CASES[case]
    x = signal((3, 2), 600, seed=len(case))
    lead = (3,) if link else (3, 2)
    zi = None
    if with_zi:
        gen = torch.Generator().manual_seed(2)
        zi = torch.stack([0.01 * torch.rand(lead, generator=gen, dtype=torch.float64),
                          0.5 + 0.5 * torch.rand(lead, generator=gen, dtype=torch.float64)], -1)
    y1, zf1, g1 = run(x, values, options, zi, fused=True, link=link)
    y2, zf2, g2 = run(x, values, options, zi, fused=False, link=link)
    torch.testing.assert_close(y1, y2, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(zf1, zf2, rtol=1e-12, atol=1e-13)
    assert g1.keys() == g2.keys()
    for k in g1:
        assert g1[k] is not None and g2[k] is not None, k
        scale = g2[k].abs().max().clamp_min(1e-30)
        assert g2[k].abs().max() > 0, k  # every gradient is exercised
        torch.testing.assert_close(g1[k] / scale, g2[k] / scale, rtol=0, atol=1e-10, msg=k)


@pytest.mark.parametrize("n_time", [1, 2])
def test_fused_equals_composed_short(n_time):
    values, options = CASES["everything, scalar parameters"]
    x = 0.3 * torch.ones(2, 2, n_time, dtype=torch.float64)
    zi = torch.tensor([[0.2, 0.5], [0.001, 0.9]], dtype=torch.float64)
    a = run(x, values, options, zi, fused=True, link=True)
    b = run(x, values, options, zi, fused=False, link=True)
    for u, v in zip(a[:2], b[:2]):
        torch.testing.assert_close(u, v, rtol=1e-12, atol=1e-14)
    for k in a[2]:
        torch.testing.assert_close(a[2][k], b[2][k], rtol=1e-10, atol=1e-14, msg=k)


def test_empty_signal_takes_composed_path():
    thr = torch.tensor(-20.0, requires_grad=True)
    y, zf = _compress(torch.zeros(2, 0), thr, 4.0, 0.1, 0.01, 0.3, 0.0, None, knee_db=0.0,
                      expander_threshold_db=None, expander_ratio=0.5, limiter_threshold_db=None,
                      link_channels=False, method="td", return_zf=True, eps=1e-10)
    assert y.shape == (2, 0) and not uses_fused(zf)
    torch.testing.assert_close(zf, torch.tensor([[0.0, 1.0], [0.0, 1.0]]))


def test_switched_off_stages_leave_their_parameters_without_gradient():
    er = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    thr = torch.tensor(-20.0, dtype=torch.float64, requires_grad=True)
    y = _compress(signal((2,), 300), thr, 4.0, 0.1, 0.01, 0.3, 0.0, None, knee_db=0.0,
                  expander_threshold_db=None, expander_ratio=er, limiter_threshold_db=None,
                  link_channels=False, method="td", return_zf=False, eps=1e-10)
    assert uses_fused(y)
    y.sum().backward()
    assert er.grad is None and thr.grad is not None


def test_float32_close_to_float64():
    values, options = CASES["expander + limiter"]
    x = signal((3, 2), 2000, seed=3)
    y64, zf64, g64 = run(x, values, options, None, fused=True, link=True)
    y32, zf32, g32 = run(x.float(), values, options, None, fused=True, link=True, dtype=torch.float32)
    assert y32.dtype == zf32.dtype == torch.float32
    torch.testing.assert_close(y32.double(), y64, rtol=1e-4, atol=1e-6)
    for k in g64:
        scale = g64[k].abs().max()
        torch.testing.assert_close(g32[k].double() / scale, g64[k] / scale, rtol=0, atol=1e-4, msg=k)


def test_gradcheck_through_fused_path():
    x = signal((2, 2), 40, seed=4).requires_grad_()
    zi = torch.tensor([[0.01, 0.8], [0.002, 0.95]], dtype=torch.float64, requires_grad=True)
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True)
              for v in ([-20.0, -25.0], [4.0, 3.0], [0.3, 0.1], [0.05, 0.02], [0.3, 0.2], [1.0, -1.0], 5.0,
                        -45.0, 0.6, -8.0)]

    def fn(x, zi, thr, ratio, at, rt, rms, makeup, knee, et, er, lt):
        y, zf = _compress(x, thr, ratio, at, rt, rms, makeup, zi, knee_db=knee, expander_threshold_db=et,
                          expander_ratio=er, limiter_threshold_db=lt, link_channels=True, method="td",
                          return_zf=True, eps=1e-10)
        assert uses_fused(y)
        return y, zf

    assert gradcheck(fn, (x, zi, *params), eps=1e-7, atol=1e-6, rtol=1e-4)


def test_default_training_step_takes_fused_path():
    m = Compressor(44100, threshold_db=-20.0, ratio=4.0, attack_ms=5.0, release_ms=100.0)
    x = signal((1, 1), 2000, dtype=torch.float32)
    y = m(x)
    assert uses_fused(y)
    y.abs().mean().backward()
    assert all(p.grad is not None and p.grad.abs() > 0 for p in m.parameters())
    with torch.no_grad():
        torch.testing.assert_close(m(x), y.detach())


def test_forward_ad_takes_composed_path():
    import torch.autograd.forward_ad as fwAD

    x = signal((1, 2), 100, seed=5)
    with fwAD.dual_level():
        thr = fwAD.make_dual(torch.tensor(-20.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64))
        y = _compress(x, thr, 4.0, 0.1, 0.01, 0.3, 0.0, None, knee_db=0.0, expander_threshold_db=None,
                      expander_ratio=0.5, limiter_threshold_db=None, link_channels=True, method="td",
                      return_zf=False, eps=1e-10)
        assert fwAD.unpack_dual(y).tangent is not None


def test_double_backward_equals_composed():
    values, options = CASES["soft knee"]
    x = signal((3, 2), 300, seed=6)

    def penalty_grads(fused):
        p = leaves(values)
        y = _compress(x, p["threshold_db"], p["ratio"], p["attack_coef"], p["release_coef"], p["rms_coef"],
                      p["makeup_gain_db"], None, knee_db=torch.tensor(options["knee_db"], dtype=torch.float64),
                      expander_threshold_db=None, expander_ratio=0.5, limiter_threshold_db=None,
                      link_channels=True, method="td", return_zf=False, eps=1e-10, fused=fused)
        assert uses_fused(y) == fused
        grads = torch.autograd.grad(y.square().mean(), list(p.values()), create_graph=True)
        sum(g.square().sum() for g in grads).backward()
        return [t.grad for t in p.values()]

    for a, b in zip(penalty_grads(True), penalty_grads(False)):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-14)


def test_streaming_gradients_through_states():
    """Blocks chained through zf (with their graph) give the one-pass gradients: dL/dzf is propagated."""
    m = Compressor(SR, threshold_db=-25.0, attack_ms=1.0, release_ms=20.0, knee_db=4.0).double()
    x = signal((2, 2), 900, seed=7)
    w = torch.randn(x.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    (m(x) * w).sum().backward()
    ref = [p.grad.clone() for p in m.parameters()]
    m.zero_grad()
    state, out = None, []
    for block in x.split(250, dim=-1):
        y, state = m.process_block(block, state)
        out.append(y)
    (torch.cat(out, -1) * w).sum().backward()
    for a, b in zip([p.grad for p in m.parameters()], ref):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-13)


def test_compile_fullgraph_forward_backward():
    m = Compressor(SR, threshold_db=-20.0, attack_ms=2.0, release_ms=30.0).double()
    x = signal((2, 2), 500, seed=9)
    y_ref = m(x)
    y_ref.square().mean().backward()
    ref = [p.grad.clone() for p in m.parameters()]
    m.zero_grad()
    y = torch.compile(m, fullgraph=True)(x)
    y.square().mean().backward()
    torch.testing.assert_close(y, y_ref, rtol=1e-12, atol=1e-14)
    for a, b in zip([p.grad for p in m.parameters()], ref):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-14)


def test_custom_ops_opcheck():
    x = signal((2, 2), 50, seed=10)
    params = torch.tensor([[-20.0, 4.0, 0.1, 0.01, 0.3, 1.0, 3.0, -40.0, 0.5, -10.0]] * 2, dtype=torch.float64)
    zi = torch.tensor([[0.0, 1.0]] * 2, dtype=torch.float64)
    torch.library.opcheck(_fused_forward_op, (x, params, zi, True, True, 1e-10))
    saved = _fused_forward_op(x, params, zi, True, True, 1e-10)[1:]
    grad_y, grad_zf = torch.randn_like(x), torch.randn_like(zi)
    for need_x in (True, False):
        torch.library.opcheck(_fused_backward_op, (grad_y, grad_zf, x, params, zi, *saved, True, True, 1e-10, need_x))


def test_silence_has_finite_gradients():
    m = Compressor(SR)
    x = torch.zeros(1, 2, 300, requires_grad=True)
    y = m(x)
    assert uses_fused(y)
    y.sum().backward()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in m.parameters())
    assert math.isfinite(float(m.learned_parameters()["attack_ms"]))
