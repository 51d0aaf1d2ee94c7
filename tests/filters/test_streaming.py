"""Block-by-block filtering with zi = zf of the previous block equals one pass over the whole signal."""

import pytest
import torch

from zoo.filters import allpole, lfilter, linear_recurrence, lpc_from_reflection, sosfilt

BLOCKS = [0, 1, 5, 17, 40, 41, 100]  # boundaries: includes an empty block and blocks shorter than M


def _stable(*shape: int, order: int) -> torch.Tensor:
    return lpc_from_reflection(0.9 * torch.tanh(torch.randn(*shape, order, dtype=torch.float64)))


def _stream(fn, x, coefficient_slices, zi):
    """Call fn(x_block, coefs_block..., zi, return_zf=True) over BLOCKS and concatenate."""
    outputs = []
    state = zi
    for start, stop in zip(BLOCKS[:-1], BLOCKS[1:]):
        y, state = fn(x[..., start:stop], *coefficient_slices(start, stop), state)
        outputs.append(y)
    return torch.cat(outputs, dim=-1), state


@pytest.mark.parametrize("time_varying", [True, False])
@pytest.mark.parametrize("order", [1, 4])
def test_allpole_streaming(time_varying, order):
    torch.manual_seed(order)
    x = torch.randn(2, 100, dtype=torch.float64)
    a = _stable(2, 100, order=order) if time_varying else _stable(2, order=order)
    zi = torch.randn(2, order, dtype=torch.float64)
    full, zf = allpole(x, a, zi, return_zf=True)

    def coefs(start, stop):
        return (a[:, start:stop] if time_varying else a,)

    blocks, state = _stream(lambda x, a, zi: allpole(x, a, zi, return_zf=True), x, coefs, zi)
    torch.testing.assert_close(blocks, full, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(state, zf, rtol=1e-12, atol=1e-12)


def test_allpole_streaming_starts_from_zero_state():
    torch.manual_seed(0)
    x = torch.randn(3, 100, dtype=torch.float64)
    a = _stable(3, 100, order=2)
    y0, zf0 = allpole(x[:, :30], a[:, :30], return_zf=True)
    y1 = allpole(x[:, 30:], a[:, 30:], zf0)
    torch.testing.assert_close(torch.cat([y0, y1], -1), allpole(x, a), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("time_varying", [True, False])
def test_linear_recurrence_streaming(time_varying):
    torch.manual_seed(1)
    x = torch.randn(2, 100, dtype=torch.float64)
    a = torch.tanh(torch.randn(2, 100, dtype=torch.float64)) if time_varying else torch.tensor([0.5, -0.9]).double()
    zi = torch.randn(2, dtype=torch.float64)
    full, zf = linear_recurrence(a, x, zi, return_zf=True)

    def step(x_block, a_block, state):
        return linear_recurrence(a_block, x_block, state, return_zf=True)

    blocks, state = _stream(step, x, lambda s, e: (a[..., s:e] if time_varying else a,), zi)
    torch.testing.assert_close(blocks, full, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(state, zf, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("time_varying", [True, False])
@pytest.mark.parametrize("taps", [1, 3])
def test_lfilter_streaming(time_varying, taps):
    torch.manual_seed(2)
    order = 2
    x = torch.randn(2, 100, dtype=torch.float64)
    b = torch.randn(2, 100, taps, dtype=torch.float64) if time_varying else torch.randn(taps, dtype=torch.float64)
    a = _stable(2, 100, order=order) if time_varying else _stable(order=order)
    zi = torch.randn(2, taps - 1 + order, dtype=torch.float64)
    full, zf = lfilter(b, a, x, zi, return_zf=True)

    def step(x_block, b_block, a_block, state):
        return lfilter(b_block, a_block, x_block, state, return_zf=True)

    def coefs(s, e):
        return (b[:, s:e], a[:, s:e]) if time_varying else (b, a)

    blocks, state = _stream(step, x, coefs, zi)
    torch.testing.assert_close(blocks, full, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(state, zf, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("time_varying", [True, False])
def test_sosfilt_streaming(time_varying):
    torch.manual_seed(3)
    sections = 3
    x = torch.randn(2, 100, dtype=torch.float64)
    lead = (2, 100, sections) if time_varying else (sections,)
    sos = torch.cat(
        [torch.randn(*lead, 3, dtype=torch.float64), torch.ones(*lead, 1, dtype=torch.float64), _stable(*lead, order=2)],
        dim=-1,
    )
    zi = torch.randn(2, sections, 4, dtype=torch.float64)
    full, zf = sosfilt(sos, x, zi, return_zf=True)

    def step(x_block, sos_block, state):
        return sosfilt(sos_block, x_block, state, return_zf=True)

    blocks, state = _stream(step, x, lambda s, e: (sos[:, s:e] if time_varying else sos,), zi)
    torch.testing.assert_close(blocks, full, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(state, zf, rtol=1e-12, atol=1e-12)
