"""`allpole(..., validate=True)`: the Schur-Cohn step-down test against exact roots, its error, its cost.

The oracle is ``numpy.roots`` on each coefficient vector (float64 / complex128). Poles on the unit
circle (radius exactly 1) count as unstable, as documented in `zoo.filters.allpole`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from zoo.filters import allpole, lfilter
from zoo.filters._checks import _first_unstable_torch, _step_down_unstable, _step_down_unstable_cpu


def _random_polys(rng: np.random.Generator, order: int, count: int, complex_: bool) -> tuple[np.ndarray, np.ndarray]:
    """(count, order) coefficient vectors and the exact largest root radius of each (numpy.roots).

    The poles have radii in 0.2 .. 1, but one (or one conjugate pair) is moved to the largest radius,
    drawn near the unit circle (distance 1e-7 .. 1e-2, either side) for half the vectors and in
    0.5 .. 1.5 for the other half, so that about half are unstable at every order.
    """
    coefficients = np.empty((count, order), dtype=np.complex128 if complex_ else np.float64)
    for n in range(count):
        radii = rng.uniform(0.2, 1.0, size=order)
        if n % 2:
            largest = 1 + rng.choice([-1.0, 1.0]) * 10 ** rng.uniform(-7, -2)
        else:
            largest = rng.uniform(0.5, 1.5)
        radii[rng.integers(order // 2 if not complex_ and order > 1 else order)] = largest
        if not complex_ and order % 2 and rng.random() < 0.5:
            radii[-1] = largest  # sometimes the real pole is the largest
        if complex_:
            poles = radii * np.exp(1j * rng.uniform(-np.pi, np.pi, size=order))
        else:  # conjugate pairs, plus one real pole for odd orders
            half = order // 2
            angles = rng.uniform(0, np.pi, size=half)
            poles = np.concatenate([radii[:half] * np.exp(1j * angles), radii[:half] * np.exp(-1j * angles)])
            if order % 2:
                poles = np.concatenate([poles, [radii[-1] * rng.choice([-1.0, 1.0])]])
        poly = np.poly(poles)[1:]
        coefficients[n] = poly if complex_ else poly.real
    radius = np.array([np.abs(np.roots(np.r_[1.0, c])).max() for c in coefficients])
    return coefficients, radius


@pytest.mark.parametrize("complex_", [False, True], ids=["real", "complex"])
@pytest.mark.parametrize("order", [1, 2, 3, 4, 7, 16, 24])
def test_step_down_agrees_with_numpy_roots(order, complex_):
    rng = np.random.default_rng(order + 100 * complex_)
    coefficients, radius = _random_polys(rng, order, 400, complex_)
    decided = np.abs(radius - 1) > 1e-9  # numpy.roots' own error is about 1e-12 .. 1e-10 here
    expected = radius >= 1
    assert 0.2 < expected.mean() < 0.8  # both outcomes are well represented
    a = torch.from_numpy(coefficients)
    cpu = _step_down_unstable_cpu(a)  # the Numba kernel
    vectorised = _step_down_unstable(a.T.contiguous()).numpy()  # the torch path (CUDA)
    np.testing.assert_array_equal(cpu[decided], expected[decided])
    np.testing.assert_array_equal(vectorised, cpu)
    # the public call agrees on a few of them
    x = torch.randn(1, 8, dtype=a.dtype)
    for n in range(8):
        if expected[n]:
            with pytest.raises(ValueError, match="Unstable filter in `a`"):
                allpole(x, a[n], validate=True)
        else:
            allpole(x, a[n], validate=True)


@pytest.mark.parametrize(
    "a",
    [
        [-1.0],  # pole at z = 1
        [1.0],  # pole at z = -1
        [0.0, 1.0],  # poles at +-j
        [-2 * np.cos(0.3), 1.0],  # a conjugate pair on the circle
        [-1.5, 0.5],  # poles at 1 and 0.5
        [0.0, 0.0, -1.0],  # cube roots of unity
    ],
)
def test_poles_on_the_unit_circle_are_unstable(a):
    a = torch.tensor(a, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"radius 1\b"):
        allpole(torch.randn(4, 16, dtype=torch.float64), a, validate=True)
    allpole(torch.randn(4, 16, dtype=torch.float64), a * 0.999 ** torch.arange(1, a.numel() + 1), validate=True)


@pytest.mark.parametrize("a", [[-1j], [1j * 0.6 - 0.8], [0.0, -1j]])
def test_complex_poles_on_the_unit_circle_are_unstable(a):
    a = torch.tensor(a, dtype=torch.complex128)
    with pytest.raises(ValueError, match="Unstable filter in `a`"):
        allpole(torch.randn(2, 8, dtype=torch.complex128), a, validate=True)


def test_conjugate_reverse_form_is_needed_for_complex_coefficients():
    # z^2 + a1 z + a2 with roots 0.9j and 0.5: stable, but the plain (non-conjugated) reverse
    # recursion would call it unstable (|k_1| > 1), so this pins the conjugate-reverse form.
    poles = np.array([0.9j, 0.5])
    a = torch.from_numpy(np.poly(poles)[1:])
    allpole(torch.randn(1, 8, dtype=torch.complex128), a, validate=True)
    poles = np.array([1.1j, 0.5])
    with pytest.raises(ValueError, match="radius 1.1"):
        allpole(torch.randn(1, 8, dtype=torch.complex128), torch.from_numpy(np.poly(poles)[1:]), validate=True)


def test_error_names_the_first_unstable_sample_and_its_radius():
    a = torch.full((3, 50, 2), 0.0, dtype=torch.float64)
    a[..., 0] = -0.5
    a[2, 3] = torch.tensor([-2.5, 1.5])  # poles 1.5 and 1.0: the later row, the earlier time step
    a[1, 17] = torch.tensor([0.0, 1.44])  # poles +-1.2j: the first in (row, time) order
    a[1, 30] = torch.tensor([-2.5, 1.5])
    with pytest.raises(ValueError, match=r"radius 1\.2 at row 1, time step 17 \(`a\[1, 17, :\]`") as info:
        allpole(torch.randn(3, 50, dtype=torch.float64), a, validate=True)
    assert "strictly inside the unit circle" in str(info.value)


def test_error_indexes_shared_and_time_invariant_coefficients():
    x = torch.randn(2, 3, 40)
    a = torch.zeros(1, 1, 40, 1)  # shared by the batch: reported in a's own indices
    a[0, 0, 9, 0] = 1.25
    with pytest.raises(ValueError, match=r"radius 1\.25 at row \(0, 0\), time step 9 \(`a\[0, 0, 9, :\]`"):
        allpole(x, a, validate=True)
    b = torch.tensor([[0.1, 0.2], [0.0, 1.1], [0.3, 0.0]])  # time-invariant, one vector per row
    with pytest.raises(ValueError, match=r"at row 1 \(`a\[1, :\]`"):
        allpole(torch.randn(3, 16), b, validate=True)
    with pytest.raises(ValueError, match=r"at time step 5 \(`a\[5, :\]`"):
        c = torch.zeros(16, 1)
        c[5] = -1.0
        allpole(torch.randn(16), c, validate=True)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.complex64])
def test_low_precision_and_complex64_coefficients(dtype):
    a = torch.tensor([[-0.5, 0.25], [0.0, 1.5]]).to(dtype)
    x = torch.randn(2, 8).to(dtype if dtype != torch.bfloat16 else torch.float32)
    with pytest.raises(ValueError, match=r"row 1"):
        allpole(x, a, validate=True)
    allpole(x, a[:1], validate=True)


@pytest.mark.parametrize("position", [0, 1, 4])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_coefficients_are_caught(bad, position):
    """The stability test itself flags NaN/Inf anywhere in a vector (it reaches some k_m), and the
    error names the element as the finite check does."""
    a = torch.full((2, 32, 5), 0.1, dtype=torch.float64)
    a[1, 20, position] = bad
    with pytest.raises(ValueError, match=rf"`a`.*NaN or Inf \((nan|inf|-inf) at index \(1, 20, {position}\)\)"):
        allpole(torch.randn(2, 32, dtype=torch.float64), a, validate=True)
    flags = _step_down_unstable_cpu(a.reshape(-1, 5))
    assert flags[52] and flags.sum() == 1
    assert _step_down_unstable(a.reshape(-1, 5).T.contiguous()).nonzero().flatten().tolist() == [52]


def test_non_finite_signal_names_the_index():
    x = torch.randn(2, 64)
    x[1, 40] = float("nan")
    with pytest.raises(ValueError, match=r"`x`.*NaN or Inf \(nan at index \(1, 40\)\)"):
        allpole(x, torch.tensor([-0.5]), validate=True)


def test_validate_is_forwarded_with_the_first_sample():
    b = torch.ones(2, 24, 1)
    a = torch.full((2, 24, 2), 0.1)
    a[0, 11] = torch.tensor([0.0, 4.0])
    with pytest.raises(ValueError, match=r"radius 2 at row 0, time step 11"):
        lfilter(b, a, torch.randn(2, 24), validate=True)


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 20])
def test_chunked_torch_path_finds_the_first_unstable_row(chunk):
    """The path CUDA takes, run on CPU: chunking does not change which row is reported."""
    a = torch.full((300, 5), 0.05, dtype=torch.complex128)
    assert _first_unstable_torch(a, chunk) is None
    a[250, 4] = 1.0
    a[123, 0] = 3.0j
    assert _first_unstable_torch(a, chunk) == 123
    assert _first_unstable_torch(a.real.float(), chunk) == 250


def test_empty_coefficients_pass():
    allpole(torch.randn(2, 0), torch.zeros(2, 0, 3), validate=True)


@pytest.mark.skipif(not os.access("/proc/self/clear_refs", os.W_OK), reason="needs Linux's peak-RSS reset")
def test_memory_stays_a_small_multiple_of_the_coefficients(tmp_path):
    """M = 64, B = 4, T = 8192: the old companion-matrix check allocated 4 * 8192 * 64^2 complex128
    entries (2 GiB); the step-down test must add well under the coefficient tensor's 8 MiB."""
    script = textwrap.dedent(
        """
        import torch
        from zoo.filters import allpole, lpc_from_reflection
        torch.manual_seed(0)
        k = 0.5 * 0.9 ** torch.arange(64) * torch.tanh(torch.randn(4, 8192, 64, dtype=torch.float64))
        a = lpc_from_reflection(k).float()
        x = torch.randn(4, 8192)
        allpole(x, a)  # compile and warm every buffer the filter itself needs
        allpole(x[:, :64], a[:, :64], validate=True)  # compile the check
        def status(key):
            return 1024 * int(next(l for l in open("/proc/self/status") if l.startswith(key)).split()[1])
        open("/proc/self/clear_refs", "w").write("5")  # the peak restarts from here
        before = status("VmRSS")
        allpole(x, a, validate=True)
        print(status("VmHWM") - before, a.numel() * a.element_size())
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    grown, coefficient_bytes = (int(v) for v in out.stdout.split())
    assert coefficient_bytes == 4 * 8192 * 64 * 4
    assert grown < 2 * coefficient_bytes, (grown, coefficient_bytes)


@pytest.mark.parametrize("chunk", [1, 7, 1 << 20])
def test_finite_check_in_chunks_names_the_first_bad_index(chunk, monkeypatch):
    from zoo.filters import _checks

    monkeypatch.setattr(_checks, "_FINITE_CHUNK", chunk)
    x = torch.randn(3, 50)
    allpole(x, torch.tensor([-0.5]), validate=True)
    x[2, 44] = float("inf")
    x[1, 9] = float("nan")
    with pytest.raises(ValueError, match=r"\(nan at index \(1, 9\)\)"):
        allpole(x, torch.tensor([-0.5]), validate=True)
    with pytest.raises(ValueError, match=r"\(inf at index \(0, 1, 4, 0\)\)"):
        a = torch.zeros(1, 3, 50, 1).transpose(1, 2).contiguous().transpose(1, 2)  # not contiguous
        a[0, 1, 4, 0] = float("inf")
        allpole(torch.randn(1, 3, 50), a[..., :], validate=True)
