"""Block streaming: `process_block` / `stream` over many blocks equals one pass (phaser, compressor)."""

from __future__ import annotations

import random

import pytest
import torch

from zoo.effects.compressors import Compressor
from zoo.effects.phasers import Phaser

SAMPLE_RATE = 44100
HOP = 441  # the phaser's default control hop at 44.1 kHz (10 ms)


# Block patterns, cycled until the signal is used up: hop-sized and unaligned blocks, blocks shorter
# than the hop, single samples and empty blocks.
PATTERNS = {
    "mixed": [1000, 777, 1, 4096],
    "short": [1, 2, 3, 440, 441, 442, 0, 7],
    "single_then_long": [1] * 5 + [5000],
}


def random_sizes(n_time: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    sizes, total = [], 0
    while total < n_time:
        sizes.append(rng.choice([0, 1, 5, 100, 440, 441, 442, 1000, 2048, 4096]))
        total += sizes[-1]
    return sizes


def cycle_sizes(pattern: list[int], n_time: int) -> list[int]:
    sizes, total, i = [], 0, 0
    while total < n_time:
        sizes.append(pattern[i % len(pattern)])
        total += sizes[-1]
        i += 1
    return sizes


def stream_blocks(effect, x: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    effect.reset_stream()
    out, start = [], 0
    for size in sizes:
        block = x[..., start : start + size]
        y = effect.stream(block)
        assert y.shape == block.shape
        out.append(y)
        start += size
    return torch.cat(out, dim=-1)


def trained_phaser(method: str, dtype: torch.dtype, seed: int = 0) -> Phaser:
    """A phaser with seeded random weights (MLP init plus a perturbation of every parameter)."""
    torch.manual_seed(seed)
    effect = Phaser(SAMPLE_RATE, hop=HOP, method=method, lfo_rate_hz=1.3, lfo_damping=0.4, g1=0.7, g2=0.4)
    with torch.no_grad():
        for param in effect.parameters():
            param.add_(0.05 * torch.randn_like(param))
    return effect.to(dtype).eval()


def rel_err(y: torch.Tensor, ref: torch.Tensor) -> float:
    return float((y - ref).abs().max() / ref.abs().max())


# -------------------------------------------------------------------------------------- phaser
@pytest.mark.parametrize("method", ["td_exact", "td_regrouped"])
@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
@pytest.mark.parametrize("pattern", [*PATTERNS, "random"])
def test_phaser_stream_equals_one_pass(method, dtype, tol, pattern):
    n_time = 12000  # 27+ control frames, not a multiple of the hop
    effect = trained_phaser(method, dtype)
    x = torch.randn(2, 2, n_time, dtype=dtype, generator=torch.Generator().manual_seed(1))
    sizes = random_sizes(n_time, seed=3) if pattern == "random" else cycle_sizes(PATTERNS[pattern], n_time)
    with torch.no_grad():
        ref = effect(x)
        y = stream_blocks(effect, x, sizes)
    assert y.dtype == ref.dtype == dtype
    assert rel_err(y, ref) < tol


def test_phaser_stream_far_into_the_signal_uses_absolute_lfo_time():
    """Blocks deep into a stream see the LFO phase and damping of their absolute frames."""
    effect = trained_phaser("td_exact", torch.float64)
    n_time = 30 * HOP + 123
    x = torch.randn(1, 2, n_time, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref = effect(x)
        y = stream_blocks(effect, x, [n_time - 300, 150, 150])
        torch.testing.assert_close(y[..., -300:], ref[..., -300:], rtol=0, atol=1e-12 * float(ref.abs().max()))
        p_full = effect.allpass_trajectory(n_time)
        for first, count in [(0, n_time), (5 * HOP, 1), (5 * HOP - 1, 3), (1234, 5000)]:
            torch.testing.assert_close(effect.allpass_samples_from(first, count), p_full[first : first + count])
        torch.testing.assert_close(effect.allpass_frames_from(0, 31), effect.allpass_frames(31), rtol=0, atol=0)


@pytest.mark.parametrize("method", ["td_exact", "td_regrouped"])
def test_phaser_stream_of_one_sample_blocks(method):
    """Sample-by-sample streaming across several control frames (a short hop keeps this fast)."""
    torch.manual_seed(5)
    effect = Phaser(SAMPLE_RATE, hop=16, method=method, lfo_rate_hz=40.0, g2=0.5).double()
    x = torch.randn(2, 2, 4 * 16 + 3, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        torch.testing.assert_close(stream_blocks(effect, x, [1] * x.shape[-1]), effect(x), rtol=1e-12, atol=1e-12)


def test_phaser_reset_stream_starts_over():
    effect = trained_phaser("td_exact", torch.float64)
    x = torch.randn(2, 2, 3000, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        first = stream_blocks(effect, x, [1000, 2000])
        effect.stream(x[..., :500])  # continue the old signal
        effect.reset_stream()
        again = torch.cat([effect.stream(x[..., :1000]), effect.stream(x[..., 1000:])], dim=-1)
        torch.testing.assert_close(again, first, rtol=0, atol=0)
        torch.testing.assert_close(again, effect(x), rtol=1e-12, atol=1e-12)


def test_phaser_process_block_is_functional():
    """`process_block` keeps no hidden state: the same state gives the same block."""
    effect = trained_phaser("td_regrouped", torch.float64)
    x = torch.randn(1, 2, 2000, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        _, state = effect.process_block(x[..., :1234], None)
        y1, s1 = effect.process_block(x[..., 1234:], state)
        y2, s2 = effect.process_block(x[..., 1234:], state)
    torch.testing.assert_close(y1, y2, rtol=0, atol=0)
    assert s1["offset"] == s2["offset"] == 2000


def test_phaser_fs_streaming_raises_clear_error():
    effect = Phaser(SAMPLE_RATE, method="fs")
    assert effect.supports_streaming
    with pytest.raises(ValueError, match="`method`.*td_exact"):
        effect.stream(torch.zeros(1, 1, 100))


def test_phaser_stream_rejects_a_state_from_elsewhere():
    effect = trained_phaser("td_exact", torch.float64)
    with torch.no_grad():
        _, state = effect.process_block(torch.zeros(2, 2, 10, dtype=torch.float64), None)
        with pytest.raises(ValueError, match=r"\(B, C\).*reset_stream"):
            effect.process_block(torch.zeros(1, 2, 10, dtype=torch.float64), state)
        effect.method = "td_regrouped"
        with pytest.raises(ValueError, match="made by method 'td_exact'"):
            effect.process_block(torch.zeros(2, 2, 10, dtype=torch.float64), state)


def test_phaser_stream_gradients_match_one_pass():
    """The state keeps the graph, so gradients through a streamed signal equal one pass's."""
    effect = trained_phaser("td_exact", torch.float64)
    x = torch.randn(1, 1, 1500, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    effect(x).square().sum().backward()
    ref = {name: p.grad.clone() for name, p in effect.named_parameters()}
    effect.zero_grad()
    stream_blocks(effect, x, [600, 1, 899]).square().sum().backward()
    for name, p in effect.named_parameters():
        torch.testing.assert_close(p.grad, ref[name], rtol=1e-9, atol=1e-12, msg=name)


# ---------------------------------------------------------------------------------- compressor
def compressor(dtype: torch.dtype) -> Compressor:
    effect = Compressor(SAMPLE_RATE, threshold_db=-18.0, ratio=4.0, attack_ms=2.0, release_ms=80.0, rms_coef=0.05,
                        makeup_gain_db=3.0)
    return effect.to(dtype).eval()


def bursts(n_time: int, dtype: torch.dtype) -> torch.Tensor:
    """Noise with a loud burst, so the smoother both attacks and releases."""
    gen = torch.Generator().manual_seed(9)
    env = torch.full((n_time,), 0.05, dtype=dtype)
    env[n_time // 4 : n_time // 2] = 1.0
    return torch.randn(2, 2, n_time, dtype=dtype, generator=gen) * env


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
@pytest.mark.parametrize("pattern", [*PATTERNS, "random"])
def test_compressor_stream_equals_one_pass(dtype, tol, pattern):
    n_time = 12000
    effect = compressor(dtype)
    x = bursts(n_time, dtype)
    sizes = random_sizes(n_time, seed=4) if pattern == "random" else cycle_sizes(PATTERNS[pattern], n_time)
    with torch.no_grad():
        ref = effect(x)
        y = stream_blocks(effect, x, sizes)
        _, gain = effect._run(x, return_gain=True)
    assert float(gain.min()) < 0.5  # the test signal is actually compressed
    assert y.dtype == ref.dtype == dtype
    assert rel_err(y, ref) < tol


def test_compressor_reset_stream_starts_over():
    effect = compressor(torch.float64)
    x = bursts(4000, torch.float64)
    with torch.no_grad():
        first = stream_blocks(effect, x, [1500, 2500])
        effect.stream(x[..., :300])
        effect.reset_stream()
        again = torch.cat([effect.stream(x[..., :1500]), effect.stream(x[..., 1500:])], dim=-1)
    torch.testing.assert_close(again, first, rtol=0, atol=0)


def test_compressor_state_is_detector_and_smoother():
    effect = compressor(torch.float64)
    x = bursts(2000, torch.float64)
    with torch.no_grad():
        _, state = effect.process_block(x, None)
        _, zf = effect._run(x, return_zf=True)
    assert state.shape == (2, 2)
    torch.testing.assert_close(state, zf)
    with pytest.raises(ValueError, match="`state`.*\\(1, 2\\)"):
        effect.process_block(x[:1], state)


def test_compressor_fs_streaming_raises_clear_error():
    effect = Compressor(SAMPLE_RATE, method="fs")
    assert effect.supports_streaming
    with pytest.raises(ValueError, match="`method`.*'td'"):
        effect.stream(torch.zeros(1, 1, 100))


def test_supports_streaming():
    assert Phaser(SAMPLE_RATE).supports_streaming
    assert Compressor(SAMPLE_RATE).supports_streaming
