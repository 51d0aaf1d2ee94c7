"""Frequency-sampling baseline: with constant coefficients and an impulse response short compared with
the FFT, fs_filter approaches scipy's lfilter away from the signal edges."""

import numpy as np
import pytest
import torch

from zoo.filters import fft_size, frequency_response, fs_filter, fs_num_frames

signal = pytest.importorskip("scipy.signal")

FILTERS = {
    "one-pole": ([1.0, 0.5], [-0.5]),
    "biquad": ([0.2, 0.3, 0.2], [-0.9, 0.3]),
    "butter2": (list(signal.butter(2, 0.2)[0]), list(signal.butter(2, 0.2)[1][1:])),
}


def _esr(y: np.ndarray, ref: np.ndarray, edge: int) -> float:
    y, ref = y[..., edge:-edge], ref[..., edge:-edge]
    return float(((y - ref) ** 2).sum() / (ref**2).sum())


def _constant(coefs, n_frames):
    t = torch.tensor(coefs, dtype=torch.float64)
    return t.expand(n_frames, len(coefs))


@pytest.mark.parametrize("name", list(FILTERS))
@pytest.mark.parametrize("hop", [32, 128])
def test_fs_filter_matches_lfilter_for_short_impulse_responses(name, hop):
    torch.manual_seed(0)
    b, a = FILTERS[name]
    n_time = 4096
    x = torch.randn(2, n_time, dtype=torch.float64)
    n_frames = fs_num_frames(n_time, hop)
    y = fs_filter(x, _constant(b, n_frames), _constant(a, n_frames), hop)
    assert y.shape == x.shape and y.dtype == x.dtype
    ref = signal.lfilter(b, [1.0, *a], x.numpy(), axis=-1)
    assert _esr(y.numpy(), ref, edge=4 * hop) < 1e-4


def test_fs_error_shrinks_with_the_window_and_grows_with_the_impulse_response():
    torch.manual_seed(1)
    n_time = 4096
    x = torch.randn(1, n_time, dtype=torch.float64)

    def esr(a, hop):
        n_frames = fs_num_frames(n_time, hop)
        y = fs_filter(x, _constant([1.0], n_frames), _constant(a, n_frames), hop)
        return _esr(y.numpy(), signal.lfilter([1.0], [1.0, *a], x.numpy(), axis=-1), edge=512)

    assert esr([-0.5], 128) < esr([-0.5], 32) < esr([-0.99], 32)
    assert esr([-0.99], 32) > 1e-3  # a long impulse response is where FS is only approximate


def test_fs_filter_with_a_precomputed_response():
    torch.manual_seed(2)
    hop, n_time = 64, 1000
    x = torch.randn(3, n_time, dtype=torch.float64)
    n_frames = fs_num_frames(n_time, hop)
    b = torch.randn(3, n_frames, 3, dtype=torch.float64)
    a = 0.5 * torch.tanh(torch.randn(3, n_frames, 1, dtype=torch.float64))
    response = frequency_response(b, a, fft_size(4 * hop))
    torch.testing.assert_close(fs_filter(x, None, None, hop, response=response), fs_filter(x, b, a, hop))
    # an FIR (a=None) response is the FFT of b
    torch.testing.assert_close(frequency_response(b, None, 16), torch.fft.rfft(b, n=16))


def test_fs_filter_errors():
    x = torch.randn(1000)
    hop = 64
    good = fs_num_frames(1000, hop)
    with pytest.raises(ValueError, match=f"expected {good} = T // hop \\+ 1"):
        fs_filter(x, torch.ones(good - 1, 1), None, hop)
    with pytest.raises(ValueError, match="`n_win`"):
        fs_filter(x, torch.ones(good, 1), None, hop, n_win=hop - 1)
    with pytest.raises(ValueError, match="`b`"):
        fs_filter(x, None, None, hop)
    assert fft_size(256) == 512 and fft_size(300) == 1024
