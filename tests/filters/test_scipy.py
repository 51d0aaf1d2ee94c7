"""Time-invariant allpole / lfilter / sosfilt against scipy.signal, initial and final states included.

Our states are direct-form-I (past inputs and outputs, newest first); scipy's are transposed-direct-
form-II. `scipy.signal.lfiltic` converts ours to scipy's, for zi and for zf alike.
"""

import numpy as np
import pytest
import torch

from zoo.filters import allpole, lfilter, lpc_from_reflection, sosfilt

signal = pytest.importorskip("scipy.signal")


def _stable(*shape: int, order: int) -> torch.Tensor:
    return lpc_from_reflection(0.9 * torch.tanh(torch.randn(*shape, order, dtype=torch.float64)))


def _to_scipy_state(b, a, past_x, past_y):
    """Our DF-I state (newest first) -> scipy's lfilter state."""
    return signal.lfiltic(b, np.concatenate([[1.0], a]), y=past_y, x=past_x)


@pytest.mark.parametrize("order", [1, 2, 5, 16])
def test_allpole_matches_lfilter(order):
    torch.manual_seed(order)
    x = torch.randn(3, 300, dtype=torch.float64)
    a = _stable(order=order)
    zi = torch.randn(3, order, dtype=torch.float64)
    y, zf = allpole(x, a, zi, return_zf=True)
    den = np.concatenate([[1.0], a.numpy()])
    for row in range(3):
        zi_sp = _to_scipy_state([1.0], a.numpy(), [], zi[row].numpy())
        y_sp, zf_sp = signal.lfilter([1.0], den, x[row].numpy(), zi=zi_sp)
        np.testing.assert_allclose(y[row].numpy(), y_sp, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(_to_scipy_state([1.0], a.numpy(), [], zf[row].numpy()), zf_sp, atol=1e-10)


@pytest.mark.parametrize("taps, order", [(1, 1), (3, 2), (5, 4), (2, 6)])
def test_lfilter_matches_lfilter(taps, order):
    torch.manual_seed(10 * taps + order)
    x = torch.randn(2, 256, dtype=torch.float64)
    b = torch.randn(taps, dtype=torch.float64)
    a = _stable(order=order)
    zi = torch.randn(2, taps - 1 + order, dtype=torch.float64)
    y, zf = lfilter(b, a, x, zi, return_zf=True)
    bn, an = b.numpy(), a.numpy()
    for row in range(2):
        zi_sp = _to_scipy_state(bn, an, zi[row, : taps - 1].numpy(), zi[row, taps - 1 :].numpy())
        y_sp, zf_sp = signal.lfilter(bn, np.concatenate([[1.0], an]), x[row].numpy(), zi=zi_sp)
        np.testing.assert_allclose(y[row].numpy(), y_sp, rtol=1e-10, atol=1e-11)
        zf_ours = _to_scipy_state(bn, an, zf[row, : taps - 1].numpy(), zf[row, taps - 1 :].numpy())
        np.testing.assert_allclose(zf_ours, zf_sp, atol=1e-10)


def test_lfilter_without_state_matches_lfilter():
    torch.manual_seed(0)
    x = torch.randn(4, 500, dtype=torch.float64)
    b, a = signal.butter(4, 0.1)
    y = lfilter(torch.tensor(b), torch.tensor(a[1:]), x)
    np.testing.assert_allclose(y.numpy(), signal.lfilter(b, a, x.numpy(), axis=-1), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("batched_sos", [False, True])
def test_sosfilt_matches_sosfilt(batched_sos):
    torch.manual_seed(1)
    sos = signal.butter(6, [0.1, 0.3], btype="bandpass", output="sos")  # (6, 6)
    x = torch.randn(3, 400, dtype=torch.float64)
    sos_t = torch.tensor(sos)
    sos_t[1] *= 2.5  # a0 != 1 (scipy refuses it): ours must normalise by a0
    if batched_sos:
        sos_t = sos_t.expand(3, *sos.shape)  # same leading dims as x
    y = sosfilt(sos_t, x)
    np.testing.assert_allclose(y.numpy(), signal.sosfilt(sos, x.numpy(), axis=-1), rtol=1e-9, atol=1e-11)


def test_sosfilt_state_matches_sosfilt():
    torch.manual_seed(2)
    sos = signal.cheby1(4, 1.0, 0.2, output="sos")  # (2, 6)
    n_sections = sos.shape[0]
    x = torch.randn(400, dtype=torch.float64)
    zi = torch.randn(n_sections, 4, dtype=torch.float64)
    y, zf = sosfilt(torch.tensor(sos), x, zi, return_zf=True)

    def section_state(s, state):
        b, a = sos[s, :3] / sos[s, 3], sos[s, 4:] / sos[s, 3]
        return _to_scipy_state(b, a, state[:2].numpy(), state[2:].numpy())

    zi_sp = np.stack([section_state(s, zi[s]) for s in range(n_sections)])
    y_sp, zf_sp = signal.sosfilt(sos, x.numpy(), zi=zi_sp)
    np.testing.assert_allclose(y.numpy(), y_sp, rtol=1e-9, atol=1e-11)
    zf_ours = np.stack([section_state(s, zf[s]) for s in range(n_sections)])
    np.testing.assert_allclose(zf_ours, zf_sp, atol=1e-10)


@pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-4), (torch.complex64, 1e-4), (torch.complex128, 1e-10)])
def test_allpole_other_dtypes_match_lfilter(dtype, tol):
    torch.manual_seed(3)
    x = torch.randn(2, 200, dtype=dtype)
    a = (_stable(order=3) * (1 + 0.05j if dtype.is_complex else 1)).to(dtype)
    y = allpole(x, a)
    den = np.concatenate([[1.0], a.numpy().astype(np.complex128 if dtype.is_complex else np.float64)])
    expected = signal.lfilter([1.0], den, x.numpy().astype(den.dtype), axis=-1)
    np.testing.assert_allclose(y.numpy(), expected, rtol=tol, atol=tol)
