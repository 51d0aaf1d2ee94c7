"""Argument checks of the Triton all-pole entry points, and the precisions that `accumulate_dtype` selects."""

from __future__ import annotations

import torch
from torch import Tensor

_SUPPORTED = (torch.float32, torch.float64, torch.complex64, torch.complex128)


def _resolve_acc(
    dtype: torch.dtype, accumulate_dtype: torch.dtype | None
) -> tuple[torch.dtype, torch.dtype]:
    """Real precisions of (the per-sample passes, the chunk maps and carry) for `accumulate_dtype`.

    None: the input's precision per sample, float64 for the maps and the carry (see the module doc
    of `triton_allpole`).
    float32 / float64 (or complex64 / complex128): that precision everywhere.
    """
    own = dtype.to_real() if dtype.is_complex else dtype
    if accumulate_dtype is None:
        return own, torch.float64
    if accumulate_dtype not in _SUPPORTED:
        raise TypeError(
            f"Unexpected `accumulate_dtype`: expected torch.float32, torch.float64 or None, "
            f"found {accumulate_dtype}"
        )
    acc = accumulate_dtype.to_real() if accumulate_dtype.is_complex else accumulate_dtype
    if acc == torch.float32 and own == torch.float64:
        raise ValueError("Unexpected `accumulate_dtype`: float32 accumulation of float64 input loses precision")
    return acc, acc


def _check_signal(name: str, sig: Tensor) -> None:
    if not isinstance(sig, Tensor):
        raise TypeError(f"Unexpected type for `{name}`: expected a Tensor, found {type(sig).__name__}")
    if sig.dim() != 2:
        raise ValueError(f"Unexpected shape for `{name}`: expected (N, T), found {tuple(sig.shape)}")
    if sig.dtype not in _SUPPORTED:
        raise TypeError(
            f"Unexpected dtype for `{name}`: expected float32, float64, complex64 or complex128, found {sig.dtype}"
        )


def _check_coefficients(name: str, coef: Tensor, sig: Tensor, sig_name: str) -> None:
    n_rows, n_time = sig.shape
    if not isinstance(coef, Tensor):
        raise TypeError(f"Unexpected type for `{name}`: expected a Tensor, found {type(coef).__name__}")
    if coef.dim() == 3:
        if coef.shape[:2] != (n_rows, n_time):
            raise ValueError(
                f"Unexpected shape for `{name}`: expected ({n_rows}, {n_time}, M), found {tuple(coef.shape)}"
            )
    elif coef.dim() == 2:
        if coef.shape[0] != n_rows:
            raise ValueError(f"Unexpected shape for `{name}`: expected ({n_rows}, M), found {tuple(coef.shape)}")
    else:
        raise ValueError(
            f"Unexpected shape for `{name}`: expected (N, T, M) or (N, M), found {tuple(coef.shape)}"
        )
    _check_same(name, coef, sig, sig_name)


def _check_same(name: str, tensor: Tensor, ref: Tensor, ref_name: str) -> None:
    if tensor.dtype != ref.dtype:
        raise TypeError(
            f"Unexpected dtype for `{name}`: expected {ref.dtype} (that of `{ref_name}`), found {tensor.dtype}"
        )
    if tensor.device != ref.device:
        raise ValueError(
            f"Unexpected device for `{name}`: expected {ref.device} (that of `{ref_name}`), found {tensor.device}"
        )


def _check_chunk(chunk_size: int | None) -> None:
    if chunk_size is not None and (chunk_size < 1 or chunk_size & (chunk_size - 1)):
        raise ValueError(f"Unexpected `chunk_size`: expected a power of two >= 1, found {chunk_size}")
