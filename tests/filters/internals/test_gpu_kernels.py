"""The Triton (CUDA) all-pole kernels: the chunked-scan logic on CPU, and the real thing on a GPU.

* Interpreter tests run the very kernel source on CPU tensors under ``TRITON_INTERPRET=1``, on small
  sizes (the interpreter is slow), against the float64 loop oracle. They skip if Triton is absent.
* `chunked_scan_reference` (the same algorithm in plain PyTorch) is checked against the oracle with
  Hypothesis over shapes, orders and chunk sizes.
* Tests marked ``gpu`` need CUDA and skip cleanly without it.
"""

from __future__ import annotations

import pytest
import torch

try:  # a bare GPU box may lack the dev extras; only the property test needs Hypothesis
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover
    given = None

from zoo.filters.kernels import triton_allpole as ta
from zoo.filters.reference import allpole_loop

needs_triton = pytest.mark.skipif(not ta.triton_available(), reason="Triton is not installed")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def _stable(n_rows: int, n_time: int | None, order: int, *, radius: float = 0.9, seed: int = 0) -> torch.Tensor:
    """Coefficients of a stable filter (product of sections with poles of radius <= `radius`), float64."""
    gen = torch.Generator().manual_seed(seed)
    shape = (n_rows,) if n_time is None else (n_rows, n_time)
    poly = torch.ones(*shape, 1, dtype=torch.float64)
    for _ in range(order):
        pole = radius * (2 * torch.rand(*shape, 1, generator=gen, dtype=torch.float64) - 1)
        poly = torch.cat([poly, torch.zeros_like(poly[..., :1])], -1) - pole * torch.cat(
            [torch.zeros_like(poly[..., :1]), poly], -1
        )
    return poly[..., 1:].contiguous()


def _problem(
    n_rows: int, n_time: int, order: int, *, time_varying: bool, seed: int = 0, complex_: bool = False
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed + 100)
    dtype = torch.complex128 if complex_ else torch.float64
    x = torch.randn(n_rows, n_time, generator=gen, dtype=dtype)
    a = _stable(n_rows, n_time if time_varying else None, order, seed=seed)
    if complex_:  # rotate the i-th coefficient by i*phase: the poles rotate by phase, radius kept
        phase = torch.rand(n_rows, *([1] * (a.dim() - 1)), generator=gen, dtype=torch.float64)
        a = a * torch.exp(1j * phase * torch.arange(1, order + 1, dtype=torch.float64))
    zi = torch.randn(n_rows, order, generator=gen, dtype=dtype)
    return x, a, zi


def _reverse_oracle(g: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """dL/dx of the loop oracle by plain autograd: Eq. 7 without trusting any kernel."""
    x = torch.zeros_like(g, requires_grad=True)
    (u,) = torch.autograd.grad(allpole_loop(x, a), x, g)
    return u


@pytest.fixture
def interpret(monkeypatch):
    pytest.importorskip("triton")
    monkeypatch.setenv("TRITON_INTERPRET", "1")


# ------------------------------------------------------------------------------ pure-torch algorithm
def _reference_matches_loop(n_rows, n_time, order, log_chunk, time_varying, reverse, complex_):
    x, a, zi = _problem(n_rows, n_time, order, time_varying=time_varying, complex_=complex_)
    got = ta.chunked_scan_reference(x, a, None if reverse else zi, chunk_size=2**log_chunk, reverse=reverse)
    want = _reverse_oracle(x, a) if reverse else allpole_loop(x, a, zi)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


if given is not None:
    test_reference_matches_loop = settings(max_examples=25, deadline=None)(
        given(
            n_rows=st.integers(1, 3),
            n_time=st.integers(1, 40),
            order=st.integers(1, 5),
            log_chunk=st.integers(0, 4),
            time_varying=st.booleans(),
            reverse=st.booleans(),
            complex_=st.booleans(),
        )(_reference_matches_loop)
    )
else:  # pragma: no cover

    @pytest.mark.skip(reason="Hypothesis is not installed")
    def test_reference_matches_loop():
        pass


# ------------------------------------------------------------------------------ interpreter: kernels
@needs_triton
@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("time_varying", [True, False])
def test_interpreter_forward_reverse(interpret, order, time_varying):
    # T = 29 with C = 4: eight chunks, the last one short.
    x, a, zi = _problem(2, 29, order, time_varying=time_varying, seed=order)
    y = ta.allpole_forward_cuda(x, a, zi, chunk_size=4)
    torch.testing.assert_close(y, allpole_loop(x, a, zi), rtol=1e-12, atol=1e-12)
    u = ta.allpole_reverse_cuda(x, a, chunk_size=4)
    torch.testing.assert_close(u, _reverse_oracle(x, a), rtol=1e-12, atol=1e-12)


@needs_triton
@pytest.mark.parametrize("chunk_size", [1, 2, 64])
def test_interpreter_chunk_shorter_than_order_and_single_chunk(interpret, chunk_size):
    x, a, zi = _problem(2, 13, 4, time_varying=True, seed=7)
    y = ta.allpole_forward_cuda(x, a, zi, chunk_size=chunk_size)
    torch.testing.assert_close(y, allpole_loop(x, a, zi), rtol=1e-12, atol=1e-12)
    u = ta.allpole_reverse_cuda(x, a, chunk_size=chunk_size)
    torch.testing.assert_close(u, _reverse_oracle(x, a), rtol=1e-12, atol=1e-12)


@needs_triton
@pytest.mark.parametrize("complex_, prefetch", [(False, True), (True, True), (False, False)])
def test_interpreter_hierarchical_carry_and_column_blocks(interpret, monkeypatch, complex_, prefetch):
    # Force the multi-level carry (compose -> recurse -> expand) and maps split into column blocks.
    monkeypatch.setattr(ta, "_PREFETCH_BYTES", 512 if prefetch else 0)
    monkeypatch.setattr(ta, "_SEQUENTIAL_MAX", 2)
    monkeypatch.setattr(ta, "_GROUP", 2)
    monkeypatch.setattr(ta, "_column_block", lambda order, dtype, budget_bytes=256: 2)
    x, a, zi = _problem(2, 37, 3, time_varying=True, seed=3, complex_=complex_)
    y = ta.allpole_forward_cuda(x, a, zi, chunk_size=2)  # 19 chunks -> 10 -> 5 -> 3 -> 2 groups
    torch.testing.assert_close(y, allpole_loop(x, a, zi), rtol=1e-12, atol=1e-12)
    u = ta.allpole_reverse_cuda(x, a, chunk_size=2)
    torch.testing.assert_close(u, _reverse_oracle(x, a), rtol=1e-12, atol=1e-12)


@needs_triton
@pytest.mark.parametrize("time_varying", [True, False])
def test_interpreter_complex(interpret, time_varying):
    # Reverse conjugates the coefficients (the adjoint), forward does not.
    x, a, zi = _problem(2, 19, 2, time_varying=time_varying, seed=4, complex_=True)
    y = ta.allpole_forward_cuda(x, a, zi, chunk_size=4)
    torch.testing.assert_close(y, allpole_loop(x, a, zi), rtol=1e-12, atol=1e-12)
    u = ta.allpole_reverse_cuda(x, a, chunk_size=4)
    torch.testing.assert_close(u, _reverse_oracle(x, a), rtol=1e-12, atol=1e-12)
    x64, a64, zi64 = x.to(torch.complex64), a.to(torch.complex64), zi.to(torch.complex64)
    y64 = ta.allpole_forward_cuda(x64, a64, zi64, chunk_size=4, accumulate_dtype=torch.float64)
    assert y64.dtype == torch.complex64
    wide = [t.to(torch.complex128) for t in (x64, a64, zi64)]
    torch.testing.assert_close(y64, allpole_loop(*wide).to(torch.complex64))


@needs_triton
@pytest.mark.parametrize("time_varying", [True, False])
def test_interpreter_linear_recurrence(interpret, time_varying):
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(2, 21, generator=gen, dtype=torch.float64)
    c = torch.rand(2, 21, generator=gen, dtype=torch.float64) if time_varying else torch.rand(2, dtype=torch.float64)
    h0 = torch.randn(2, dtype=torch.float64)
    h = ta.linear_recurrence_cuda(x, c, h0, chunk_size=4)
    a = -(c.unsqueeze(-1))
    torch.testing.assert_close(h, allpole_loop(x, a, h0.unsqueeze(-1)), rtol=1e-12, atol=1e-12)


@needs_triton
def test_interpreter_float32_accuracy_and_float64_accumulation(interpret):
    # Poles of radius 0.95; the oracle runs in float64 on the same (float32-representable) inputs.
    x, a, zi = _problem(2, 256, 2, time_varying=True, seed=11)
    a = _stable(2, 256, 2, radius=0.95, seed=11)
    x32, a32, zi32 = x.float(), a.float(), zi.float()
    want = allpole_loop(x32.double(), a32.double(), zi32.double())
    scale = want.abs().max()
    for acc in (None, torch.float32):  # float64 chunk maps (the default), or float32 throughout
        y32 = ta.allpole_forward_cuda(x32, a32, zi32, chunk_size=16, accumulate_dtype=acc)
        assert y32.dtype == torch.float32
        err32 = float((y32.double() - want).abs().max() / scale)
        assert err32 < 1e-5, acc
    y_acc = ta.allpole_forward_cuda(x32, a32, zi32, chunk_size=16, accumulate_dtype=torch.float64)
    assert y_acc.dtype == torch.float32
    err_acc = float((y_acc.double() - want).abs().max() / scale)
    assert err_acc <= 2**-24 + 1e-12  # only the final rounding to float32 is left
    u32 = ta.allpole_reverse_cuda(x32, a32, chunk_size=16)
    u_want = _reverse_oracle(x32.double(), a32.double())
    assert float((u32.double() - u_want).abs().max() / u_want.abs().max()) < 1e-5


@needs_triton
def test_interpreter_non_contiguous_inputs(interpret):
    x, a, zi = _problem(3, 11, 1, time_varying=True, seed=9)
    x_t = x.t().contiguous().t()  # same values, column-major storage
    a_t = a.transpose(0, 1).contiguous().transpose(0, 1)
    y = ta.allpole_forward_cuda(x_t, a_t, zi, chunk_size=4)
    assert y.is_contiguous()
    torch.testing.assert_close(y, allpole_loop(x, a, zi), rtol=1e-12, atol=1e-12)


@needs_triton
def test_interpreter_empty_and_zero_order(interpret):
    x = torch.randn(2, 0, dtype=torch.float64)
    assert ta.allpole_forward_cuda(x, torch.zeros(2, 0, 3, dtype=torch.float64)).shape == (2, 0)
    x = torch.randn(0, 5, dtype=torch.float64)
    assert ta.allpole_reverse_cuda(x, torch.zeros(0, 5, 2, dtype=torch.float64)).shape == (0, 5)
    x = torch.randn(2, 5, dtype=torch.float64)
    torch.testing.assert_close(ta.allpole_forward_cuda(x, torch.zeros(2, 5, 0, dtype=torch.float64)), x)


# ------------------------------------------------------------------------------ argument checks
def test_errors_name_the_argument(monkeypatch):
    x = torch.randn(2, 8)
    a = torch.zeros(2, 8, 2)
    with pytest.raises(ValueError, match="`x`"):
        ta.allpole_forward_cuda(x[0], a)
    with pytest.raises(ValueError, match="`a`"):
        ta.allpole_forward_cuda(x, a[:, :4])
    with pytest.raises(ValueError, match="`zi`"):
        ta.allpole_forward_cuda(x, a, torch.zeros(2, 3))
    with pytest.raises(TypeError, match="`a`"):
        ta.allpole_forward_cuda(x, a.double())
    with pytest.raises(TypeError, match="`g`"):
        ta.allpole_reverse_cuda(x.half(), a.half())
    with pytest.raises(ValueError, match="`c`"):
        ta.linear_recurrence_cuda(x, torch.zeros(3))
    with pytest.raises(ValueError, match="`chunk_size`"):
        ta.allpole_forward_cuda(x, a, chunk_size=3)
    with pytest.raises(TypeError, match="`accumulate_dtype`"):
        ta.allpole_forward_cuda(x, a, accumulate_dtype=torch.float16)
    with pytest.raises(ValueError, match="`accumulate_dtype`"):
        ta.allpole_forward_cuda(x.double(), a.double(), accumulate_dtype=torch.float32)
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    if ta.triton_available():
        with pytest.raises(ValueError, match="CUDA"):
            ta.allpole_forward_cuda(x, a)


def test_chunk_size_heuristic():
    assert ta.choose_chunk_size(1, 2**20) >= 16
    for rows, length in [(1, 1), (1, 2**16), (1, 2**20), (64, 2**20)]:
        chunk = ta.choose_chunk_size(rows, length)
        assert chunk & (chunk - 1) == 0 and 16 <= chunk <= 1024


# ------------------------------------------------------------------------------ real CUDA
def _cpu_float64(x: torch.Tensor, a: torch.Tensor, zi: torch.Tensor | None, g: torch.Tensor | None = None):
    """The float64 CPU path of the public layer (Numba): y, and u = dL/dx for upstream g if given."""
    from zoo.filters import allpole

    def wide(t: torch.Tensor) -> torch.Tensor:
        return t.detach().cpu().to(torch.complex128 if t.is_complex() else torch.float64)

    x = wide(x).requires_grad_(g is not None)
    a, zi = wide(a), None if zi is None else wide(zi)
    y = allpole(x, a, zi)
    if g is None:
        return y.detach()
    (u,) = torch.autograd.grad(y, x, wide(g))
    return y.detach(), u


@pytest.mark.gpu
@needs_cuda
@needs_triton
@pytest.mark.parametrize(
    "order, time_varying, complex_",
    # Each case compiles its own kernels (about 2-10 s each): a spread, not a full product.
    [
        (1, True, False),
        (3, True, False),
        (8, True, False),
        (11, True, False),
        (3, False, False),
        (2, True, True),
        (2, False, True),
    ],
)
def test_cuda_float64_matches_cpu(order, time_varying, complex_):
    x, a, zi = _problem(3, 5000, order, time_varying=time_varying, seed=order, complex_=complex_)
    y_want, u_want = _cpu_float64(x, a, zi, g=x.flip(-1))
    dev = torch.device("cuda")
    for chunk in (None, 16, 64):
        y = ta.allpole_forward_cuda(x.to(dev), a.to(dev), zi.to(dev), chunk_size=chunk).cpu()
        torch.testing.assert_close(y, y_want, rtol=1e-10, atol=1e-10)
        u = ta.allpole_reverse_cuda(x.flip(-1).to(dev), a.to(dev), chunk_size=chunk).cpu()
        torch.testing.assert_close(u, u_want, rtol=1e-10, atol=1e-10)


@pytest.mark.gpu
@needs_cuda
@needs_triton
@pytest.mark.parametrize("order", [1, 2, 4, 8])
def test_cuda_float32_within_1e5_of_float64(order):
    # Stable filters (poles of radius <= 0.9) over 2^18 samples; the float64 reference filters the
    # same float32-representable inputs, so only the arithmetic differs.
    x, a, zi = _problem(2, 1 << 18, order, time_varying=True, seed=order)
    x32, a32, zi32 = x.float(), a.float(), zi.float()
    g32 = torch.randn_like(x32)
    y_want, u_want = _cpu_float64(x32, a32, zi32, g=g32)
    dev = torch.device("cuda")
    for acc in (None, torch.float64):
        y = ta.allpole_forward_cuda(x32.to(dev), a32.to(dev), zi32.to(dev), accumulate_dtype=acc).cpu()
        assert float((y.double() - y_want).abs().max() / y_want.abs().max()) < 1e-5, acc
        u = ta.allpole_reverse_cuda(g32.to(dev), a32.to(dev), accumulate_dtype=acc).cpu()
        assert float((u.double() - u_want).abs().max() / u_want.abs().max()) < 1e-5, acc


@pytest.mark.gpu
@needs_cuda
@needs_triton
def test_cuda_large_batch_default_chunks_and_linear_recurrence():
    for rows, n_time in [(64, 1 << 16), (1, (1 << 20) + 3)]:
        x, a, zi = _problem(rows, n_time, 2, time_varying=True, seed=rows)
        y = ta.allpole_forward_cuda(x.cuda(), a.cuda(), zi.cuda()).cpu()
        torch.testing.assert_close(y, _cpu_float64(x, a, zi), rtol=1e-9, atol=1e-9)
    x, c = torch.randn(4, 70000, dtype=torch.float64), torch.rand(4, 70000, dtype=torch.float64)
    h0 = torch.randn(4, dtype=torch.float64)
    h = ta.linear_recurrence_cuda(x.cuda(), c.cuda(), h0.cuda()).cpu()
    torch.testing.assert_close(h, _cpu_float64(x, -c.unsqueeze(-1), h0.unsqueeze(-1)), rtol=1e-9, atol=1e-9)


@pytest.mark.gpu
@needs_cuda
@needs_triton
def test_cuda_public_allpole_gradients():
    from zoo.filters import allpole

    x, a, zi = _problem(2, 64, 3, time_varying=True, seed=1)
    leaves = [t.cuda().requires_grad_() for t in (x, a, zi)]
    assert torch.autograd.gradcheck(allpole, leaves, check_batched_grad=False)
    cpu = [t.detach().clone().requires_grad_() for t in (x, a, zi)]
    g = torch.randn(2, 64, dtype=torch.float64)
    grads_cuda = torch.autograd.grad(allpole(*leaves), leaves, g.cuda())
    grads_cpu = torch.autograd.grad(allpole(*cpu), cpu, g)
    for got, want in zip(grads_cuda, grads_cpu):
        torch.testing.assert_close(got.cpu(), want, rtol=1e-10, atol=1e-10)


@pytest.mark.gpu
@needs_cuda
@needs_triton
def test_cuda_matches_torchlpc():
    torchlpc = pytest.importorskip("torchlpc")
    x, a, zi = _problem(4, 4096, 4, time_varying=True, seed=2)
    x, a, zi = x.float().cuda(), a.float().cuda(), zi.float().cuda()
    want = torchlpc.sample_wise_lpc(x, a, zi)
    got = ta.allpole_forward_cuda(x, a, zi)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
