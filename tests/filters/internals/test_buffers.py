"""The output-buffer cache (`zoo.filters._buffers`) and the streaming-store backward kernels.

The cache must never hand out memory a live tensor still uses (an output, a view of it, a saved
tensor, ``.grad``), and results must not depend on whether a block was reused.
"""

from __future__ import annotations

import threading

import pytest
import torch

import zoo.filters as zf
from zoo.filters import _buffers, _ops, allpole
from zoo.filters.reference import allpole_loop

BIG = (4, 1 << 15)  # 512 KiB in float32: above _buffers.MIN_BYTES


@pytest.fixture(autouse=True)
def fresh_cache():
    previous = _buffers._CACHE.max_bytes
    zf.set_buffer_cache(64 << 20)
    zf.empty_buffer_cache()
    yield
    zf.set_buffer_cache(previous)
    zf.empty_buffer_cache()


def _coefficients(shape, order, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, order, generator=gen) - 0.5) * (0.6 / order)


def test_live_output_is_never_reused():
    x = torch.randn(BIG)
    a = _coefficients(BIG, 2)
    first = allpole(x, a)
    kept = first.clone()
    second = allpole(x * 2, a)
    assert first.data_ptr() != second.data_ptr()
    torch.testing.assert_close(first, kept, rtol=0, atol=0)


def test_dropped_output_is_reused_and_results_match():
    x = torch.randn(BIG)
    a = _coefficients(BIG, 3)
    expected = allpole_loop(x.double(), a.double()).float()
    first = allpole(x, a)
    address = first.data_ptr()
    del first
    hits = zf.buffer_cache_info()["hits"]
    again = allpole(x, a)
    assert zf.buffer_cache_info()["hits"] == hits + 1
    assert again.data_ptr() == address
    torch.testing.assert_close(again, expected, rtol=1e-4, atol=1e-5)
    block = _buffers.empty(BIG, torch.float32)  # a tensor of its own on the block, not a view
    assert not block._is_view() and block.is_contiguous() and block.shape == BIG


def test_a_view_keeps_the_block_busy():
    x = torch.randn(BIG)
    a = _coefficients(BIG, 2)
    out = allpole(x, a)
    tail = out[:, -10:]
    kept = tail.clone()
    del out
    other = allpole(-x, a)
    assert other.data_ptr() != tail.data_ptr() - (BIG[1] - 10) * 4
    torch.testing.assert_close(tail, kept, rtol=0, atol=0)


def test_gradients_accumulate_correctly_through_reused_blocks():
    x = torch.randn(BIG, dtype=torch.float64, requires_grad=True)
    a = _coefficients(BIG, 4).double().requires_grad_()
    g1, g2 = torch.randn(BIG, dtype=torch.float64), torch.randn(BIG, dtype=torch.float64)
    gx1, ga1 = torch.autograd.grad(allpole(x, a), (x, a), g1)
    gx2, ga2 = torch.autograd.grad(allpole(x, a), (x, a), g2)
    allpole(x, a).backward(g1)  # .grad holds the first gradients (from cached blocks)
    allpole(x, a).backward(g2)  # and accumulates the second into them
    torch.testing.assert_close(x.grad, gx1 + gx2)
    torch.testing.assert_close(a.grad, ga1 + ga2)
    assert x.grad.data_ptr() not in (gx1.data_ptr(), gx2.data_ptr())


def test_outputs_cannot_be_resized_under_the_cache():
    # Handing storage to the kernels as NumPy arrays makes it non-resizable, so a cached block
    # keeps the size it is filed under (the cache also checks it before reuse).
    out = allpole(torch.randn(BIG), _coefficients(BIG, 1))
    with pytest.raises(RuntimeError, match="not resizable"):
        out.resize_(BIG[0] * BIG[1] * 2)


def test_disabled_cache_holds_nothing():
    zf.set_buffer_cache(0)
    x = torch.randn(BIG)
    a = _coefficients(BIG, 2)
    allpole(x, a)
    assert zf.buffer_cache_info()["held_bytes"] == 0


def test_small_outputs_bypass_the_cache():
    allpole(torch.randn(2, 100), _coefficients((2, 100), 2))
    assert zf.buffer_cache_info()["blocks"] == 0


def test_limit_evicts_free_blocks_least_recent_first():
    zf.set_buffer_cache(3 * 512 << 10)  # three blocks of BIG in float32
    x = torch.randn(BIG)
    a = _coefficients(BIG, 1)
    outputs = [allpole(x, a) for _ in range(3)]
    assert zf.buffer_cache_info()["blocks"] == 3
    fourth = allpole(x, a)  # all three in use: a plain allocation, the cache stays within its cap
    assert zf.buffer_cache_info()["held_bytes"] <= 3 * 512 << 10
    del outputs, fourth
    zf.empty_buffer_cache()
    assert zf.buffer_cache_info()["held_bytes"] == 0


def test_threads_get_distinct_buffers():
    x = torch.randn(BIG)
    a = _coefficients(BIG, 2)
    expected = allpole(x, a).clone()
    results, errors = [], []

    def work():
        try:
            for _ in range(20):
                results.append(allpole(x, a))
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({r.data_ptr() for r in results}) == len(results)
    for r in results:
        torch.testing.assert_close(r, expected, rtol=0, atol=0)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "1"])
def test_set_buffer_cache_rejects_bad_limits(bad):
    with pytest.raises(ValueError, match="max_bytes"):
        zf.set_buffer_cache(bad)


@pytest.mark.parametrize("raw", ["lots", "-3"])
def test_environment_limit_is_checked(monkeypatch, raw):
    monkeypatch.setenv("ZOO_BUFFER_CACHE_MB", raw)
    with pytest.raises(ValueError, match="ZOO_BUFFER_CACHE_MB"):
        _buffers._limit_from_env()


def test_environment_limit_in_mib(monkeypatch):
    monkeypatch.setenv("ZOO_BUFFER_CACHE_MB", "1.5")
    assert _buffers._limit_from_env() == 3 << 19


# ------------------------------------------------------------------------- streaming-store kernels
@pytest.mark.parametrize(
    "order, dtype", [(16, torch.float32), (16, torch.float64), (8, torch.float64)], ids=["16-f32", "16-f64", "8-f64"]
)
@pytest.mark.parametrize("rows", [1, 2, 3, 5])
def test_streaming_backward_equals_the_plain_kernel(monkeypatch, order, dtype, rows):
    n_time = 300
    gen = torch.Generator().manual_seed(rows)
    g = torch.randn(rows, n_time, generator=gen, dtype=dtype)
    a = _coefficients((rows, n_time), order, seed=rows).to(dtype)
    zi = torch.randn(rows, order, generator=gen, dtype=dtype)
    y = _ops.allpole_forward_cpu(torch.randn(rows, n_time, generator=gen, dtype=dtype), a, zi)
    monkeypatch.setattr(_ops, "STREAM_MIN_BYTES", 1 << 62)
    plain = _ops.allpole_backward_cpu(g, a, y, zi)
    monkeypatch.setattr(_ops, "STREAM_MIN_BYTES", 0)
    assert _ops._streams(torch.empty_like(a))
    streamed = _ops.allpole_backward_cpu(g, a, y, zi)
    for p, s in zip(plain, streamed):
        torch.testing.assert_close(s, p, rtol=0, atol=0)


def test_streaming_needs_alignment_order_and_real_dtype(monkeypatch):
    monkeypatch.setattr(_ops, "STREAM_MIN_BYTES", 0)
    base = torch.empty(2 * 100 * 16 + 1)
    assert not _ops._streams(base[1:].view(2, 100, 16))  # 4 bytes past a 64-byte boundary
    assert _ops._streams(base[:-1].view(2, 100, 16))
    assert not _ops._streams(torch.empty(2, 100, 8))  # 32-byte blocks in float32: partial lines
    assert _ops._streams(torch.empty(2, 100, 8, dtype=torch.float64))
    assert not _ops._streams(torch.empty(2, 100, 16, dtype=torch.complex64))


def test_inference_mode_outputs_use_the_cache_safely():
    x = torch.randn(BIG)
    a = _coefficients(BIG, 2)
    expected = allpole(x, a).clone()
    with torch.inference_mode():
        first = allpole(x, a)
        second = allpole(x, a)
    assert first.is_inference() and first.data_ptr() != second.data_ptr()
    torch.testing.assert_close(first, expected, rtol=0, atol=0)
    torch.testing.assert_close(second, expected, rtol=0, atol=0)


def test_a_caller_touching_the_storage_object_does_not_free_the_block():
    import gc

    x = torch.randn(BIG)
    a = _coefficients(BIG, 2)
    out = allpole(x, a)
    storage = out.untyped_storage()
    del storage
    gc.collect()
    assert not any(block.is_free() for block in _buffers._CACHE._blocks.values())
    other = allpole(x, a)
    assert other.data_ptr() != out.data_ptr()
    del out, other
    gc.collect()
    assert all(block.is_free() for block in _buffers._CACHE._blocks.values())
