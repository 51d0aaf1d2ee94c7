"""Argument checks shared by the public filter functions. Errors name the argument (scipy's wording)."""

from __future__ import annotations

import torch
from torch import Tensor

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def check_tensor(value: object, name: str) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"Unexpected type for `{name}`: expected a torch.Tensor, found {type(value).__name__}")
    if not (value.is_floating_point() or value.is_complex()):
        raise TypeError(
            f"Unexpected dtype for `{name}`: expected a floating point or complex dtype, found {value.dtype}"
        )
    return value


def check_same_device(**tensors: Tensor | None) -> torch.device:
    named = [(name, t) for name, t in tensors.items() if t is not None]
    device = named[0][1].device
    for name, t in named[1:]:
        if t.device != device:
            raise ValueError(
                f"Unexpected device for `{name}`: expected {device} (the device of `{named[0][0]}`), "
                f"found {t.device}"
            )
    return device


def compute_dtype(*tensors: Tensor | None) -> tuple[torch.dtype, torch.dtype]:
    """(dtype the kernel runs in, dtype returned). fp16/bf16 accumulate in float32."""
    result = None
    for t in tensors:
        if t is not None:
            result = t.dtype if result is None else torch.promote_types(result, t.dtype)
    assert result is not None
    kernel = torch.float32 if result in _LOW_PRECISION else result
    return kernel, result


def broadcast_leading(name_shapes: dict[str, tuple[int, ...]]) -> tuple[int, ...]:
    shapes = list(name_shapes.values())
    if all(s == shapes[0] for s in shapes[1:]):  # the common case, without torch's slow general path
        return tuple(shapes[0])
    try:
        return tuple(torch.broadcast_shapes(*name_shapes.values()))
    except RuntimeError:
        found = ", ".join(f"`{k}` {tuple(v)}" for k, v in name_shapes.items())
        raise ValueError(f"Leading (batch) dimensions do not broadcast: {found}") from None


def check_finite(t: Tensor, name: str) -> None:
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"Unexpected values in `{name}`: found NaN or Inf")
