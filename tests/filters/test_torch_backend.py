"""The pure-PyTorch backend (`zoo.filters.kernels.torch_scan`): equal to the float64 loop oracle
(forward, gradients, zi/zf, streaming), scriptable and exportable, and selected by ``backend=``,
`use_backend`, and automatically under export."""

import math
import threading

import pytest
import torch
from torch.autograd import gradcheck, gradgradcheck

from zoo.filters import allpole, allpole_torch, lfilter, lpc_from_reflection, use_backend
import zoo.filters.recursions
from zoo.filters import dispatch as _backend
from zoo.filters.kernels.torch_scan import choose_chunk_size
from zoo.filters.reference import allpole_loop

DTYPE = torch.float64


def stable(*shape: int, order: int, radius: float = 0.9, dtype=DTYPE) -> torch.Tensor:
    """Random coefficients whose poles lie inside |z| < 1 (step-up from |k| < radius)."""
    return lpc_from_reflection(torch.tanh(torch.randn(*shape, order, dtype=DTYPE)) * radius).to(dtype)


def oracle(x, a, zi=None):
    """Broadcast x, a, zi like `allpole` does, then run the loop oracle on (N, T)."""
    time_varying = a.dim() == x.dim() + 1
    order = a.shape[-1]
    a_lead = a.shape[:-2] if time_varying else a.shape[:-1]
    lead = torch.broadcast_shapes(x.shape[:-1], a_lead, *([] if zi is None else [zi.shape[:-1]]))
    rows, n_time = math.prod(lead), x.shape[-1]
    x2 = x.expand(*lead, n_time).reshape(rows, n_time)
    if time_varying:
        a2 = a.expand(*lead, n_time, order).reshape(rows, n_time, order)
    else:
        a2 = a.expand(*lead, order).reshape(rows, order)
    zi2 = None if zi is None else zi.expand(*lead, order).reshape(rows, order)
    return allpole_loop(x2, a2, zi2).reshape(*lead, n_time)


def oracle_zf(x, a, zi, y):
    """The last M outputs newest first, reaching into zi when T < M."""
    order = a.shape[-1]
    lead = y.shape[:-1]
    past = torch.zeros(*lead, order, dtype=y.dtype) if zi is None else zi.expand(*lead, order)
    return torch.cat([past.flip(-1), y], -1)[..., -order:].flip(-1)


def assert_peak_close(got, want, tol):
    """max |got - want| <= tol * max |want| (the chunked scan reassociates sums: compare to the peak)."""
    assert got.shape == want.shape and got.dtype == want.dtype
    err = (got - want).abs().max().item()
    peak = want.abs().max().item()
    assert err <= tol * max(peak, 1.0), f"max error {err:.3g} against peak {peak:.3g}"


# ------------------------------------------------------------------------------------- forward
@pytest.mark.parametrize("order", [1, 2, 3, 4, 5, 8, 16])
@pytest.mark.parametrize("time_varying", [True, False])
@pytest.mark.parametrize("n_time", [1, 3, 50, 257, 1000])
def test_forward_and_zf_match_the_oracle(order, time_varying, n_time):
    torch.manual_seed(order * 1000 + n_time)
    x = torch.randn(3, n_time, dtype=DTYPE)
    a = stable(3, n_time, order=order) if time_varying else stable(3, order=order)
    zi = torch.randn(3, order, dtype=DTYPE)
    y, zf = allpole_torch(x, a, zi)
    want = oracle(x, a, zi)
    assert_peak_close(y, want, 1e-10)
    assert_peak_close(zf, oracle_zf(x, a, zi, want), 1e-10)


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 16, 64, 999])
def test_any_chunk_size_is_exact(chunk_size):
    """T not a multiple of the chunk, chunks shorter than M, one chunk longer than T."""
    torch.manual_seed(chunk_size)
    x = torch.randn(2, 200, dtype=DTYPE)
    a = stable(2, 200, order=6)
    zi = torch.randn(2, 6, dtype=DTYPE)
    y, _ = allpole_torch(x, a, zi, chunk_size=chunk_size)
    assert_peak_close(y, oracle(x, a, zi), 1e-10)


def test_chunk_size_choice_is_about_sqrt_t():
    assert choose_chunk_size(8, 1 << 16, 4) == 64
    assert choose_chunk_size(1, 100, 2) == 8
    assert choose_chunk_size(1, 1 << 24, 2) == 256
    for n_time in (1, 10, 1000, 1 << 20):
        chunk = choose_chunk_size(1, n_time, 4)
        assert chunk & (chunk - 1) == 0 and 8 <= chunk <= 256


def test_long_signal_float32_matches_float64_oracle():
    """T = 2^14 in float32 with poles near the circle (radius up to 0.99): the error stays at
    float32 rounding level, as for the sequential kernel."""
    torch.manual_seed(1)
    n_time = 1 << 14
    x = torch.randn(2, n_time, dtype=DTYPE)
    frames = torch.tanh(torch.randn(2, n_time // 256 + 1, 2, dtype=DTYPE)) * 0.99
    a = lpc_from_reflection(frames.repeat_interleave(256, 1)[:, :n_time])
    want = allpole(x, a)  # Numba, float64: equal to the oracle (test_reference_equality.py)
    got, _ = allpole_torch(x.float(), a.float())
    numba32 = allpole(x.float(), a.float())
    err = (got.double() - want).abs().max().item()
    err_numba = (numba32.double() - want).abs().max().item()
    assert err <= 1e-5 * want.abs().max().item()
    assert err <= 10 * err_numba + 1e-6


@pytest.mark.parametrize(
    "x_shape, a_shape, zi_shape",
    [
        ((2, 3, 40), (2, 3, 40, 2), (2, 3, 2)),
        ((2, 3, 40), (1, 3, 40, 2), None),  # a shared over a leading dim
        ((1, 40), (4, 40, 2), (4, 2)),  # x broadcast
        ((4, 40), (2,), (1, 2)),  # time-invariant, shared
        ((3, 1, 40), (1, 5, 40, 2), (1, 5, 2)),
    ],
)
def test_broadcasting(x_shape, a_shape, zi_shape):
    torch.manual_seed(0)
    x = torch.randn(*x_shape, dtype=DTYPE)
    a = stable(*a_shape[:-1], order=a_shape[-1])
    zi = None if zi_shape is None else torch.randn(*zi_shape, dtype=DTYPE)
    y, zf = allpole_torch(x, a, zi, chunk_size=8)
    want = oracle(x, a, zi)
    assert_peak_close(y, want, 1e-12)
    assert_peak_close(zf, oracle_zf(x, a, zi, want), 1e-12)
    assert_peak_close(allpole(x, a, zi, backend="torch"), want, 1e-12)


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
@pytest.mark.parametrize("time_varying", [True, False])
def test_complex(dtype, time_varying):
    torch.manual_seed(2)
    n_time, order = 300, 3
    radius = torch.rand(2, n_time, order, dtype=DTYPE) * 0.9
    poles = torch.polar(radius, 6.28 * torch.rand(2, n_time, order, dtype=DTYPE))
    # monic polynomial prod_i (1 - p_i z^-1): a complex coefficient set per step
    coef = torch.ones(2, n_time, 1, dtype=torch.complex128)
    for i in range(order):
        coef = torch.cat([coef, torch.zeros_like(coef[..., :1])], -1) - poles[..., i : i + 1] * torch.cat(
            [torch.zeros_like(coef[..., :1]), coef], -1
        )
    a = coef[..., 1:] if time_varying else coef[:, 0, 1:]
    x = torch.randn(2, n_time, dtype=torch.complex128)
    zi = torch.randn(2, order, dtype=torch.complex128)
    y, zf = allpole_torch(x.to(dtype), a.to(dtype), zi.to(dtype))
    want = oracle(x, a, zi)
    assert y.dtype == dtype and zf.dtype == dtype
    tol = 1e-10 if dtype == torch.complex128 else 1e-5
    assert_peak_close(y.to(torch.complex128), want, tol)
    assert_peak_close(zf.to(torch.complex128), oracle_zf(x, a, zi, want), tol)


def test_low_precision_is_computed_in_float32():
    torch.manual_seed(3)
    x = torch.randn(2, 100)
    a = stable(2, 100, order=2, dtype=torch.float32)
    y, zf = allpole_torch(x.bfloat16(), a.bfloat16())
    assert y.dtype == torch.bfloat16 and zf.dtype == torch.bfloat16
    want = oracle(x.bfloat16().double(), a.bfloat16().double())
    assert_peak_close(y.double(), want, 1e-2)


def test_empty_time_and_empty_batch():
    y, zf = allpole_torch(torch.zeros(2, 0, dtype=DTYPE), stable(2, 0, order=3), torch.ones(2, 3, dtype=DTYPE))
    assert y.shape == (2, 0) and torch.equal(zf, torch.ones(2, 3, dtype=DTYPE))
    y, zf = allpole_torch(torch.zeros(0, 10, dtype=DTYPE), stable(0, 10, order=3))
    assert y.shape == (0, 10) and zf.shape == (0, 3)


# ------------------------------------------------------------------------------- streaming
@pytest.mark.parametrize("time_varying", [True, False])
@pytest.mark.parametrize("order", [1, 4, 9])
def test_block_by_block_equals_one_pass(time_varying, order):
    torch.manual_seed(order)
    bounds = [0, 1, 5, 17, 40, 41, 100, 229, 300]  # an empty block, blocks shorter than M
    x = torch.randn(2, 300, dtype=DTYPE)
    a = stable(2, 300, order=order) if time_varying else stable(2, order=order)
    zi = torch.randn(2, order, dtype=DTYPE)
    full, zf_full = allpole_torch(x, a, zi)
    state, blocks = zi, []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        y, state = allpole_torch(x[:, start:stop], a[:, start:stop] if time_varying else a, state)
        blocks.append(y)
    assert_peak_close(torch.cat(blocks, -1), full, 1e-11)
    assert_peak_close(state, zf_full, 1e-11)
    assert_peak_close(full, oracle(x, a, zi), 1e-11)


# ------------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
@pytest.mark.parametrize("time_varying", [True, False])
@pytest.mark.parametrize("order", [1, 3])
def test_gradcheck(dtype, time_varying, order):
    torch.manual_seed(order)
    n_time = 11  # with chunk_size 4: three chunks, the last one short
    x = torch.randn(2, n_time, dtype=dtype, requires_grad=True)
    a = stable(2, n_time, order=order, radius=0.7) if time_varying else stable(2, order=order, radius=0.7)
    a = a.to(dtype).requires_grad_()
    zi = torch.randn(2, order, dtype=dtype, requires_grad=True)

    def fn(x, a, zi):
        return allpole_torch(x, a, zi, chunk_size=4)

    assert gradcheck(fn, (x, a, zi), check_forward_ad=True, check_batched_grad=False)
    assert gradgradcheck(fn, (x, a, zi), check_batched_grad=False)


@pytest.mark.parametrize("order", [2, 4, 16])
@pytest.mark.parametrize("time_varying", [True, False])
def test_gradients_equal_the_numba_backend(order, time_varying):
    """Larger cases: autograd through the scan against the kernels' exact adjoint (Eqs. 7-8)."""
    torch.manual_seed(order)
    n_rows, n_time = 3, 2000
    x = torch.randn(n_rows, n_time, dtype=DTYPE, requires_grad=True)
    radius = 0.5 if order > 8 else 0.9  # random per-sample coefficients: keep high orders bounded
    a = stable(n_rows, n_time, order=order, radius=radius) if time_varying else stable(n_rows, order=order)
    a.requires_grad_()
    zi = torch.randn(n_rows, order, dtype=DTYPE, requires_grad=True)
    weight = torch.randn(n_rows, n_time, dtype=DTYPE)
    weight_zf = torch.randn(n_rows, order, dtype=DTYPE)

    y, zf = allpole_torch(x, a, zi)
    got = torch.autograd.grad((y * weight).sum() + (zf * weight_zf).sum(), (x, a, zi))
    y_ref, zf_ref = allpole(x, a, zi, return_zf=True)
    want = torch.autograd.grad((y_ref * weight).sum() + (zf_ref * weight_zf).sum(), (x, a, zi))
    for g, w in zip(got, want):
        assert_peak_close(g, w, 1e-9)


def test_gradients_through_allpole_backend_torch_match_the_oracle():
    torch.manual_seed(4)
    x = torch.randn(2, 60, dtype=DTYPE, requires_grad=True)
    a = stable(2, 60, order=3).requires_grad_()
    zi = torch.randn(2, 3, dtype=DTYPE, requires_grad=True)
    weight = torch.randn(2, 60, dtype=DTYPE)
    got = torch.autograd.grad((allpole(x, a, zi, backend="torch") * weight).sum(), (x, a, zi))
    want = torch.autograd.grad((allpole_loop(x, a, zi) * weight).sum(), (x, a, zi))
    for g, w in zip(got, want):
        assert_peak_close(g, w, 1e-11)


# ------------------------------------------------------------------------------ script, export
def test_torch_jit_script_equals_eager():
    scripted = torch.jit.script(allpole_torch)
    torch.manual_seed(5)
    for time_varying in (True, False):
        x = torch.randn(2, 3, 77)
        a = stable(2, 3, 77, order=3, dtype=torch.float32) if time_varying else stable(3, order=3, dtype=torch.float32)
        zi = torch.randn(3, 3)
        for chunk in (None, 5):
            y, zf = scripted(x, a, zi, chunk)
            y_ref, zf_ref = allpole_torch(x, a, zi, chunk)
            torch.testing.assert_close(y, y_ref, rtol=0, atol=0)
            torch.testing.assert_close(zf, zf_ref, rtol=0, atol=0)
    y, _ = scripted(x, a, None, None)
    assert_peak_close(y.double(), oracle(x.double(), a.double()), 1e-5)
    with pytest.raises(torch.jit.Error, match="zi"):
        scripted(x, a, torch.zeros(2), None)


def test_scripted_module_streams_block_by_block():
    """The export use case: a scripted module that carries zf between calls."""

    class Filter(torch.nn.Module):
        def __init__(self, a: torch.Tensor):
            super().__init__()
            self.register_buffer("a", a)
            self.register_buffer("state", torch.zeros(a.shape[-1]))

        def forward(self, block: torch.Tensor) -> torch.Tensor:
            y, self.state = allpole_torch(block, self.a, self.state, None)
            return y

    torch.manual_seed(6)
    a = stable(order=4, dtype=torch.float32)
    module = torch.jit.script(Filter(a))
    x = torch.randn(1000)
    blocks = torch.cat([module(x[i : i + 64]) for i in range(0, 1000, 64)])
    assert_peak_close(blocks.double(), oracle(x.double(), a.double()), 1e-5)


def _export_module():
    class Filter(torch.nn.Module):
        def forward(self, x, a, zi):
            return allpole(x, a, zi, return_zf=True)  # backend "auto": must pick torch while exporting

    return Filter().eval()


def test_torch_jit_trace_picks_the_torch_backend():
    torch.manual_seed(9)
    x, a = torch.randn(2, 100), stable(2, 100, order=3, dtype=torch.float32)
    traced = torch.jit.trace(lambda x, a: allpole(x, a), (x, a), check_trace=False)
    kinds = {node.kind() for node in traced.graph.nodes()}
    assert not any(kind.startswith("zoo::") for kind in kinds) and "aten::addcmul" in kinds
    x2, a2 = torch.randn(2, 100), stable(2, 100, order=3, dtype=torch.float32)
    torch.testing.assert_close(traced(x2, a2), allpole(x2, a2), rtol=1e-4, atol=1e-5)


def test_torch_export_picks_the_torch_backend_and_equals_eager():
    torch.manual_seed(7)
    x = torch.randn(2, 300)
    a = stable(2, 300, order=4, dtype=torch.float32)
    zi = torch.randn(2, 4)
    program = torch.export.export(_export_module(), (x, a, zi))
    targets = {str(node.target) for node in program.graph.nodes if node.op == "call_function"}
    assert not any("zoo" in t for t in targets), targets  # no custom op: runs with torch alone
    assert any("addcmul" in t for t in targets), targets
    x2, a2, zi2 = torch.randn(2, 300), stable(2, 300, order=4, dtype=torch.float32), torch.randn(2, 4)
    y, zf = program.module()(x2, a2, zi2)
    y_ref, zf_ref = allpole(x2, a2, zi2, return_zf=True)
    torch.testing.assert_close(y, y_ref, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(zf, zf_ref, rtol=1e-4, atol=1e-5)


def test_onnx_export_runs_in_onnxruntime(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    torch.manual_seed(8)
    x = torch.randn(2, 256)
    a = stable(2, 256, order=2, dtype=torch.float32)
    zi = torch.randn(2, 2)
    path = tmp_path / "allpole.onnx"
    torch.onnx.export(_export_module(), (x, a, zi), str(path), dynamo=True, input_names=["x", "a", "zi"])
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x2, a2, zi2 = torch.randn(2, 256), stable(2, 256, order=2, dtype=torch.float32), torch.randn(2, 2)
    y, zf = session.run(None, {"x": x2.numpy(), "a": a2.numpy(), "zi": zi2.numpy()})
    y_ref, zf_ref = allpole(x2, a2, zi2, return_zf=True)
    torch.testing.assert_close(torch.from_numpy(y), y_ref, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(torch.from_numpy(zf), zf_ref, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------------------- selection
def _spy(monkeypatch):
    """Count calls into the torch scan made by `allpole`."""
    calls = []
    module = zoo.filters.recursions  # the module behind zoo.filters.allpole (the function)

    def counting(*args, **kwargs):
        calls.append(1)
        return allpole_torch(*args, **kwargs)

    monkeypatch.setattr(module, "allpole_torch", counting)
    return calls


def test_backend_keyword_and_context_manager_select_the_torch_scan(monkeypatch):
    calls = _spy(monkeypatch)
    x, a = torch.randn(2, 50, dtype=DTYPE), stable(2, 50, order=2)
    want = oracle(x, a)
    assert_peak_close(allpole(x, a), want, 1e-12)
    assert len(calls) == 0  # the default on CPU is unchanged: Numba
    assert_peak_close(allpole(x, a, backend="torch"), want, 1e-12)
    assert len(calls) == 1
    with use_backend("torch"):
        assert _backend.current_backend() == "torch"
        assert_peak_close(allpole(x, a), want, 1e-12)
        assert_peak_close(lfilter(torch.ones(1, dtype=DTYPE), a, x), want, 1e-12)  # built on allpole
        assert len(calls) == 3
        allpole(x, a, backend="auto")  # an explicit keyword wins over the block
        assert len(calls) == 3
        with use_backend("auto"):
            allpole(x, a)
            assert len(calls) == 3
        allpole(x, a)
        assert len(calls) == 4
    assert _backend.current_backend() == "auto"
    allpole(x, a)
    assert len(calls) == 4


def test_context_manager_is_local_to_its_thread(monkeypatch):
    calls = _spy(monkeypatch)
    x, a = torch.randn(2, 50, dtype=DTYPE), stable(2, 50, order=2)
    seen = []
    with use_backend("torch"):
        worker = threading.Thread(target=lambda: seen.append(_backend.current_backend()) or allpole(x, a))
        worker.start()
        worker.join()
    assert seen == ["auto"] and len(calls) == 0


def test_context_manager_restores_the_backend_after_an_error():
    with pytest.raises(RuntimeError):
        with use_backend("torch"):
            raise RuntimeError
    assert _backend.current_backend() == "auto"


def test_automatic_choice(monkeypatch):
    cpu = torch.device("cpu")
    assert not _backend.uses_torch_backend(None, cpu)
    assert not _backend.uses_torch_backend(None, torch.device("cuda"))
    assert _backend.uses_torch_backend(None, torch.device("mps"))
    assert _backend.uses_torch_backend(None, torch.device("meta"))
    monkeypatch.setattr(torch.compiler, "is_exporting", lambda: True)
    assert _backend.uses_torch_backend(None, cpu)
    assert _backend.uses_torch_backend("auto", cpu)


def test_meta_device_runs_the_torch_scan():
    """A device with no native kernel (meta stands in for MPS here): shapes propagate."""
    x = torch.randn(2, 3, 100, device="meta")
    a = torch.randn(3, 100, 4, device="meta")
    y, zf = allpole(x[0], a, return_zf=True)
    assert y.shape == (3, 100) and zf.shape == (3, 4) and y.device.type == "meta"
    y = allpole(x, a[:, 0])
    assert y.shape == (2, 3, 100) and y.device.type == "meta"


@pytest.mark.parametrize("name", ["numpy", "Torch", "", None, 1])
def test_unknown_backend_raises_value_error(name):
    x, a = torch.randn(2, 10, dtype=DTYPE), stable(2, 10, order=2)
    if name is not None:
        with pytest.raises(ValueError, match="`backend`"):
            allpole(x, a, backend=name)
    with pytest.raises(ValueError, match="`backend`.*'auto', 'torch'"):
        with use_backend(name):
            pass


def test_shape_errors_name_the_argument():
    x = torch.randn(2, 10)
    with pytest.raises(ValueError, match="`a`"):
        allpole_torch(x, torch.randn(2, 9, 2))
    with pytest.raises(ValueError, match="`a`"):
        allpole_torch(x, torch.randn(2, 10, 0))
    with pytest.raises(ValueError, match="`zi`"):
        allpole_torch(x, torch.randn(2, 10, 2), torch.randn(2, 3))
    with pytest.raises(ValueError, match="`zi`"):
        allpole_torch(x, torch.randn(2, 10, 2), torch.randn(3, 2))
    with pytest.raises(ValueError, match="`chunk_size`"):
        allpole_torch(x, torch.randn(2, 10, 2), None, 0)
