"""Launch shapes of the Triton all-pole kernels: chunk length, lanes per program, column blocks, unroll.

Only numbers: nothing here imports Triton. `triton_allpole` calls these through its own namespace.
"""

from __future__ import annotations

import math

import torch

# Lanes (independent (row, chunk) pairs) to aim for: 132 SMs x ~500 threads on an H100.
_TARGET_LANES = 65536
_MIN_CHUNK = 16
_MAX_CHUNK = 1024


def _next_pow2(value: int) -> int:
    return 1 if value <= 1 else 1 << (value - 1).bit_length()


def choose_chunk_size(n_rows: int, n_time: int, order: int = 1) -> int:
    """Default chunk length C: enough (row, chunk) lanes to fill the GPU, within [16, 1024].

    Chunks are at least 8 M long, so that the chunk maps (M^2 + M values per chunk, written once and
    read twice) stay a small fraction of the memory traffic of x and a.

    Args:
        n_rows: number of independent rows N.
        n_time: signal length T.
        order: filter order M.

    Returns:
        A power of two.
    """
    wanted = math.ceil(max(n_rows, 1) * max(n_time, 1) / _TARGET_LANES)
    floor = max(_MIN_CHUNK, _next_pow2(8 * order))
    return int(min(max(_next_pow2(wanted), floor), _MAX_CHUNK))


def _lanes_per_program(order: int) -> int:
    # One lane per thread, 4 warps per program.
    return 128 if order <= 8 else 64


def _column_block(order: int, work_dtype: torch.dtype, budget_bytes: int = 256) -> int:
    # Columns of an M x M map held per lane: `budget_bytes` of registers for its entries (256 bytes:
    # 64 float32). The compose kernel also holds a row of phi and v, so it gets half.
    return max(1, min(order, budget_bytes // work_dtype.itemsize // order))


def _unroll(order: int, chunk: int) -> int:
    # Steps loaded ahead per lane: about 40 loads in flight, a power of two dividing the chunk.
    steps = max(1, min(16, 40 // (order + 1)))
    return min(1 << (steps.bit_length() - 1), chunk)
