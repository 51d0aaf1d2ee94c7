"""Frequency-sampling (FS) filtering: the frame-based baseline the paper compares against.

Frame the signal with an STFT (Hann window of ``n_win`` samples, hop ``hop``; FFT length
2^(ceil(log2 n_win) + 1)), evaluate each frame's transfer function H(e^{jw}) = B / A on the FFT
grid from that frame's coefficients (an FFT of the coefficient vectors), multiply, and overlap-add
with the inverse STFT (Carson et al., DAFx 2023; Yu et al., DAFx 2024, Sec. 2). The method is an
approximation: windowing, frame boundaries and circular convolution (the FIR is truncated to the
FFT length) all leave artefacts, and its cost grows with ``n_win``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["fft_size", "fs_num_frames", "frequency_response", "fs_filter"]


def fft_size(n_win: int) -> int:
    """FFT length used for a window of ``n_win`` samples: 2^(ceil(log2 n_win) + 1)."""
    return 2 ** (math.ceil(math.log2(n_win)) + 1)


def fs_num_frames(num_samples: int, hop: int) -> int:
    """Number of STFT frames (centred, as `torch.stft(center=True)`) for ``num_samples``: T // hop + 1."""
    return num_samples // hop + 1


def frequency_response(b: Tensor, a: Tensor | None, n_fft: int) -> Tensor:
    r"""H(e^{jw_k}) = B(e^{jw_k}) / A(e^{jw_k}) on the rfft grid of ``n_fft`` points.

    Args:
        b: numerator (..., K). a: denominator without a0 = 1, (..., M), or None (FIR).

    Returns:
        complex (..., n_fft // 2 + 1).
    """
    num = torch.fft.rfft(b, n=n_fft)
    if a is None:
        return num
    den = torch.fft.rfft(torch.cat([torch.ones_like(a[..., :1]), a], dim=-1), n=n_fft)
    return num / den


def fs_filter(
    x: Tensor,
    b: Tensor | None,
    a: Tensor | None,
    hop: int,
    n_win: int | None = None,
    *,
    response: Tensor | None = None,
) -> Tensor:
    r"""Filter ``x`` frame by frame in the frequency domain with per-frame coefficients.

    Y_m(k) = X_m(k) B_m(k) / A_m(k), y = iSTFT(Y).

    Args:
        x: input, (..., T).
        b: numerator per frame, (..., F, K), or None when ``response`` is given.
        a: denominator per frame without a0, (..., F, M), or None (FIR).
        hop: STFT hop L (samples). Frame m is centred on sample m * hop.
        n_win: Hann window length (samples); default 4 * hop (the paper's setting).
        response: precomputed per-frame frequency response (..., F, n_fft // 2 + 1) on the rfft grid of
            ``fft_size(n_win)`` points; used instead of ``b`` and ``a`` (e.g. the phaser's, built from
            its all-pass stages).

    Shape:
        F must equal ``fs_num_frames(T, hop)`` = T // hop + 1.

    Returns:
        y, (..., T), real if x is real.
    """
    n_win = 4 * hop if n_win is None else n_win
    if n_win < hop:
        raise ValueError(f"Unexpected value for `n_win`: expected >= hop ({hop}), found {n_win}")
    n_fft = fft_size(n_win)
    n_time = x.shape[-1]
    lead = x.shape[:-1]
    if response is None:
        if b is None:
            raise ValueError("`b` is required when `response` is not given")
        response = frequency_response(b, a, n_fft)
    n_frames = fs_num_frames(n_time, hop)
    if response.shape[-2] != n_frames:
        raise ValueError(
            f"Unexpected number of frames in the coefficients: expected {n_frames} = T // hop + 1 for "
            f"T={n_time}, hop={hop}, found {response.shape[-2]}"
        )
    window = torch.hann_window(n_win, dtype=x.real.dtype if x.is_complex() else x.dtype, device=x.device)
    spec = torch.stft(
        x.reshape(-1, n_time), n_fft, hop_length=hop, win_length=n_win, window=window, center=True,
        return_complex=True,
    )
    spec = spec.reshape(*lead, *spec.shape[-2:])  # (..., n_fft // 2 + 1, F)
    out_spec = spec * response.transpose(-1, -2)
    lead_out = out_spec.shape[:-2]
    y = torch.istft(
        out_spec.reshape(-1, *out_spec.shape[-2:]), n_fft, hop_length=hop, win_length=n_win, window=window,
        center=True, length=n_time,
    )
    return y.reshape(*lead_out, n_time)
