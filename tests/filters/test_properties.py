"""Property tests (Hypothesis): random shapes, orders 1-16, broadcast leading dims, stable coefficients."""

import math

import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from zoo.filters import allpole, linear_recurrence, lpc_from_reflection  # noqa: E402
from zoo.filters.reference import allpole_loop  # noqa: E402

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)


@st.composite
def problems(draw, max_time=40):
    """x, a, zi with broadcast-compatible leading dims; a time-varying or not; zi or None."""
    order = draw(st.integers(1, 16))
    n_time = draw(st.integers(0, max_time))
    lead = draw(st.lists(st.integers(1, 3), min_size=0, max_size=3))

    def sub_shape():
        # drop some leading dims and set others to 1: always broadcastable to `lead`
        keep = draw(st.integers(0, len(lead)))
        return [s if draw(st.booleans()) else 1 for s in lead[len(lead) - keep :]]

    time_varying = draw(st.booleans())
    seed = draw(st.integers(0, 2**31 - 1))
    gen = torch.Generator().manual_seed(seed)
    x_lead, a_lead = sub_shape(), sub_shape()
    # `a` is time-varying exactly when it has one more dim than `x`: pad the shorter lead with ones
    # so that a's leading dims are never mistaken for time (or time for a leading dim)
    if len(a_lead) > len(x_lead):
        x_lead = [1] * (len(a_lead) - len(x_lead)) + x_lead
    elif time_varying:
        a_lead = [1] * (len(x_lead) - len(a_lead)) + a_lead
    x = torch.randn((*x_lead, n_time), generator=gen, dtype=torch.float64)
    raw = torch.randn((*a_lead, *((n_time,) if time_varying else ()), order), generator=gen, dtype=torch.float64)
    a = lpc_from_reflection(0.9 * torch.tanh(raw))
    zi = torch.randn((*sub_shape(), order), generator=gen, dtype=torch.float64) if draw(st.booleans()) else None
    return x, a, zi


def _oracle(x, a, zi):
    time_varying = a.dim() == x.dim() + 1
    order = a.shape[-1]
    shapes = [x.shape[:-1], a.shape[:-2] if time_varying else a.shape[:-1]]
    shapes += [] if zi is None else [zi.shape[:-1]]
    lead = torch.broadcast_shapes(*shapes)
    n_time = x.shape[-1]
    rows = math.prod(lead)
    x2 = x.expand(*lead, n_time).reshape(rows, n_time)
    a2 = a.expand(*lead, n_time, order) if time_varying else a.expand(*lead, order)
    a2 = a2.reshape(rows, *a2.shape[len(lead) :])
    zi2 = None if zi is None else zi.expand(*lead, order).reshape(rows, order)
    return allpole_loop(x2, a2, zi2).reshape(*lead, n_time)


def _close(got, want):
    scale = max(1.0, float(want.abs().max())) if want.numel() else 1.0
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-10 * scale)


@SETTINGS
@given(problems())
def test_allpole_matches_oracle(problem):
    x, a, zi = problem
    y = allpole(x, a, zi)
    _close(y, _oracle(x, a, zi))


@SETTINGS
@given(problems(max_time=24))
def test_gradients_match_oracle(problem):
    x, a, zi = (None if t is None else t.requires_grad_() for t in problem)
    inputs = [t for t in (x, a, zi) if t is not None]
    y = allpole(x, a, zi)
    if y.numel() == 0:
        return
    weight = torch.randn(y.shape, dtype=y.dtype, generator=torch.Generator().manual_seed(0))
    grads = torch.autograd.grad((y * weight).sum(), inputs, allow_unused=True)
    expected = torch.autograd.grad((_oracle(x, a, zi) * weight).sum(), inputs, allow_unused=True)
    for got, want, t in zip(grads, expected, inputs):
        got = torch.zeros_like(t) if got is None else got
        want = torch.zeros_like(t) if want is None else want
        _close(got, want)


@SETTINGS
@given(problems(), st.floats(0, 1))
def test_split_anywhere_equals_one_pass(problem, fraction):
    x, a, zi = problem
    n_time = x.shape[-1]
    cut = int(fraction * n_time)
    time_varying = a.dim() == x.dim() + 1
    a0, a1 = (a[..., :cut, :], a[..., cut:, :]) if time_varying else (a, a)
    y0, zf0 = allpole(x[..., :cut], a0, zi, return_zf=True)
    y1, zf1 = allpole(x[..., cut:], a1, zf0, return_zf=True)
    y, zf = allpole(x, a, zi, return_zf=True)
    _close(torch.cat([y0.expand(*y.shape[:-1], cut), y1], -1), y)
    _close(zf1, zf)


@SETTINGS
@given(st.lists(st.integers(1, 3), max_size=2), st.integers(0, 50), st.booleans(), st.integers(0, 2**31 - 1))
def test_linear_recurrence_is_a_first_order_allpole(lead, n_time, time_varying, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((*lead, n_time), generator=gen, dtype=torch.float64)
    a = torch.tanh(torch.randn((*lead, *((n_time,) if time_varying else ())), generator=gen, dtype=torch.float64))
    zi = torch.randn(tuple(lead), generator=gen, dtype=torch.float64)
    h = linear_recurrence(a, x, zi)
    _close(h, allpole(x, -a.unsqueeze(-1), zi.unsqueeze(-1)))
