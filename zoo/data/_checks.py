"""Argument checks shared by the data modules (internal).

Every helper raises ``TypeError`` or ``ValueError`` in the house form
"Unexpected <what> for `<arg>`: expected <X>, found <Y>".
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__: list[str] = []

SPLITS = ("train", "val", "test")


def check_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    """Return ``value`` as an int; integral floats (from YAML) are accepted."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, float, np.floating)):
        raise TypeError(f"Unexpected type for `{name}`: expected int, found {type(value).__name__}")
    if isinstance(value, (float, np.floating)):
        if not float(value).is_integer():
            raise ValueError(f"Unexpected value for `{name}`: expected an integer, found {value!r}")
    out = int(value)
    if minimum is not None and out < minimum:
        raise ValueError(f"Unexpected value for `{name}`: expected an integer >= {minimum}, found {out}")
    return out


def check_float(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    min_inclusive: bool = True,
    max_inclusive: bool = True,
) -> float:
    """Return ``value`` as a finite float inside the given bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Unexpected type for `{name}`: expected a real number, found {type(value).__name__}")
    out = float(value)
    low_ok = minimum is None or (out >= minimum if min_inclusive else out > minimum)
    high_ok = maximum is None or (out <= maximum if max_inclusive else out < maximum)
    if not math.isfinite(out) or not low_ok or not high_ok:
        lo = "-inf" if minimum is None else f"{minimum:g}"
        hi = "inf" if maximum is None else f"{maximum:g}"
        left = "[" if (min_inclusive and minimum is not None) else "("
        right = "]" if (max_inclusive and maximum is not None) else ")"
        raise ValueError(
            f"Unexpected value for `{name}`: expected a number in {left}{lo}, {hi}{right}, found {value!r}"
        )
    return out


def check_sample_rate(value: Any, name: str = "sample_rate") -> int:
    """A positive integer sample rate (Hz)."""
    return check_int(value, name, minimum=1)


def check_duration(value: Any, name: str = "duration_s") -> float:
    """A positive, finite duration (s)."""
    return check_float(value, name, minimum=0.0, min_inclusive=False)


def check_seed(value: Any, name: str = "seed") -> int:
    """A non-negative integer seed for :func:`numpy.random.default_rng`."""
    return check_int(value, name, minimum=0)


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """One of a fixed set of strings."""
    if not isinstance(value, str):
        raise TypeError(f"Unexpected type for `{name}`: expected str, found {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"Unexpected value for `{name}`: expected one of {list(choices)}, found {value!r}")
    return value


def check_split(value: Any, name: str = "split", *, allow_all: bool = True) -> str:
    """One of ``"train"``, ``"val"``, ``"test"`` (and ``"all"`` where allowed)."""
    return check_choice(value, name, SPLITS + (("all",) if allow_all else ()))


def check_fractions(value: Any, name: str = "split_fractions") -> tuple[float, float, float]:
    """Three non-negative fractions (train, val, test) whose sum is at most 1."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(
            f"Unexpected type for `{name}`: expected a sequence of 3 floats (train, val, test), "
            f"found {type(value).__name__}"
        )
    if len(value) != 3:
        raise ValueError(f"Unexpected length for `{name}`: expected 3 fractions (train, val, test), found {len(value)}")
    out = tuple(check_float(v, f"{name}[{i}]", minimum=0.0, maximum=1.0) for i, v in enumerate(value))
    if sum(out) > 1.0 + 1e-9:
        raise ValueError(f"Unexpected value for `{name}`: expected fractions summing to at most 1, found {list(out)}")
    return out  # type: ignore[return-value]


def check_ranges_s(value: Any, name: str = "split_ranges_s") -> dict[str, tuple[float, float | None]]:
    """A mapping split -> (start_s, stop_s or None) with 0 <= start < stop."""
    if not isinstance(value, Mapping):
        raise TypeError(
            f"Unexpected type for `{name}`: expected a mapping split -> (start_s, stop_s), "
            f"found {type(value).__name__}"
        )
    out: dict[str, tuple[float, float | None]] = {}
    for key, rng in value.items():
        check_split(key, f"{name} key")
        if isinstance(rng, (str, bytes)) or not isinstance(rng, Sequence) or len(rng) != 2:
            raise ValueError(f"Unexpected value for `{name}[{key!r}]`: expected (start_s, stop_s), found {rng!r}")
        start = check_float(rng[0], f"{name}[{key!r}][0]", minimum=0.0)
        stop = None if rng[1] is None else check_float(rng[1], f"{name}[{key!r}][1]", minimum=0.0)
        if stop is not None and stop <= start:
            raise ValueError(
                f"Unexpected value for `{name}[{key!r}]`: expected start_s < stop_s, found ({start:g}, {stop:g})"
            )
        out[key] = (start, stop)
    return out


#: a wet (target) file whose peak is at or below this level (dBFS) is reported as silent: -90 dBFS
#: is about one 16-bit step (1 / 32768)
SILENT_PEAK_DB = -90.0

NAN_POLICIES = ("error", "zero")

#: frames read at a time when scanning a file (the scan's memory stays flat whatever the length)
_SCAN_BLOCK = 1 << 18


def check_nan_policy(value: Any, name: str = "nan") -> str:
    """Return ``value`` if it is one of `NAN_POLICIES` (``"error"``, ``"zero"``)."""
    if value not in NAN_POLICIES:
        raise ValueError(f"Unexpected value for `{name}`: expected one of {NAN_POLICIES}, found {value!r}")
    return value


def scan_audio(read: Any, num_frames: int) -> tuple[int | None, float]:
    """Scan audio block by block: (first frame holding NaN/Inf or None, peak |x| of the finite samples).

    Args:
        read: ``read(start, stop) -> (C, stop - start)`` array.
        num_frames: frames to scan.
    """
    first_bad: int | None = None
    peak = 0.0
    for start in range(0, num_frames, _SCAN_BLOCK):
        block = np.asarray(read(start, min(start + _SCAN_BLOCK, num_frames)))
        if block.size == 0:
            continue
        finite = np.isfinite(block)
        if first_bad is None and not finite.all():
            first_bad = start + int(np.argmax(~finite.all(axis=0)))
        magnitudes = np.abs(np.where(finite, block, 0.0))
        peak = max(peak, float(magnitudes.max()))
    return first_bad, peak
