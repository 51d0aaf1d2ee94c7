"""A cache of output buffers for the CPU kernels: the memory of an output the caller has dropped is
handed out again, instead of being returned to the operating system and faulted back in.

Why: PyTorch's CPU allocator is the C library's ``malloc``. With glibc, blocks of a few MiB and up
are mapped fresh from the kernel (or the heap top is trimmed when they are freed), so every call
that returns a new (B, T, M) gradient first page-faults its whole size in, 4 KiB at a time. On the
machine of our benchmarks (a VM) that costs about 1.5 us per page: 12 ms for the 32 MiB coefficient
gradient of B = 8, T = 2^16, M = 16, three times the backward kernel itself. Reusing the memory
avoids the faults, and the reused block is usually still in cache. The idea is that of PyTorch's CUDA
caching allocator, applied to the outputs of this package's kernels only; nothing else in the
process changes.

How: each cached block is a flat tensor this module keeps. An output is a new tensor (not a view)
on the block's storage. The block is free again once the storage's reference count is back to one,
i.e. once no tensor but the cache's own references it: the caller's output, its views, autograd's
saved copies and ``.grad`` all count. Free blocks are evicted least recently used first beyond the
size limit.

Settings: `set_buffer_cache(max_bytes)` (0 turns the cache off), `empty_buffer_cache()`,
`buffer_cache_info()`; the environment variable ``ZOO_BUFFER_CACHE_MB`` sets the initial limit
(default 512 MiB). Only outputs of at least `MIN_BYTES` go through the cache: below that ``malloc``
reuses memory by itself.
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict

import torch
from torch import Tensor

from .dispatch import storage_use_count

__all__ = ["empty", "set_buffer_cache", "empty_buffer_cache", "buffer_cache_info", "MIN_BYTES"]

#: outputs smaller than this are plain ``torch.empty`` (glibc serves them from its free lists).
MIN_BYTES = 256 << 10

_use_count = storage_use_count


def _limit_from_env() -> int:
    raw = os.environ.get("ZOO_BUFFER_CACHE_MB", "512")
    try:
        mb = float(raw)
    except ValueError as err:
        raise ValueError(f"ZOO_BUFFER_CACHE_MB must be a number of MiB, got {raw!r}") from err
    if mb < 0:
        raise ValueError(f"ZOO_BUFFER_CACHE_MB must be >= 0, got {raw!r}")
    return int(mb * (1 << 20))


class _Block:
    __slots__ = ("flat", "storage", "storage_ptr", "nbytes", "idle_count")

    def __init__(self, flat: Tensor) -> None:
        self.flat = flat
        # Holding the storage's Python object too keeps the idle count fixed, whatever PyTorch
        # does with that object's lifetime: ``flat`` and ``storage`` are the block's own
        # references, and every tensor a caller holds on the storage adds one.
        self.storage = flat.untyped_storage()
        self.storage_ptr = self.storage._cdata
        self.nbytes = self.storage.nbytes()
        self.idle_count = _use_count(self.storage_ptr)

    def is_free(self) -> bool:
        # The storage may have been resized through an output (``resize_``; the kernels' NumPy
        # views make that fail today): such a block is no longer the size it is filed under.
        return _use_count(self.storage_ptr) == self.idle_count and self.storage.nbytes() == self.nbytes


class _BufferCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._blocks: OrderedDict[int, _Block] = OrderedDict()  # id -> block, least recent first
        self._by_key: dict[tuple[torch.dtype, int], list[_Block]] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def _held_bytes(self) -> int:
        return sum(block.nbytes for block in self._blocks.values())

    def _drop(self, key: int, block: _Block) -> None:
        del self._blocks[key]
        self._by_key[(block.flat.dtype, block.flat.numel())].remove(block)

    def _evict(self, need: int) -> None:
        """Drop free blocks, least recently used first, until ``need`` more bytes fit."""
        held = self._held_bytes()
        for key in list(self._blocks):
            if held + need <= self.max_bytes:
                return
            block = self._blocks[key]
            if block.is_free():
                self._drop(key, block)
                held -= block.nbytes

    def empty(self, shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
        numel = math.prod(shape)
        nbytes = numel * dtype.itemsize
        if nbytes < MIN_BYTES or nbytes > self.max_bytes:
            return torch.empty(shape, dtype=dtype)
        key = (dtype, numel)
        with self._lock:
            block = next((b for b in self._by_key.get(key, ()) if b.is_free()), None)
            if block is None:
                self.misses += 1
                self._evict(nbytes)
                if self._held_bytes() + nbytes > self.max_bytes:  # every block is in use
                    return torch.empty(shape, dtype=dtype)
                block = _Block(torch.empty(numel, dtype=dtype))
                self._by_key.setdefault(key, []).append(block)
            else:
                self.hits += 1
            self._blocks[id(block)] = block
            self._blocks.move_to_end(id(block))
            out = torch.empty(0, dtype=dtype)
            return out.set_(block.storage, 0, shape)

    def clear(self) -> None:
        with self._lock:
            for key, block in list(self._blocks.items()):
                if block.is_free():
                    self._drop(key, block)

    def info(self) -> dict[str, int]:
        with self._lock:
            free = [b.nbytes for b in self._blocks.values() if b.is_free()]
            return {
                "max_bytes": self.max_bytes,
                "held_bytes": self._held_bytes(),
                "free_bytes": sum(free),
                "blocks": len(self._blocks),
                "hits": self.hits,
                "misses": self.misses,
            }


_CACHE = _BufferCache(_limit_from_env())


def empty(shape: tuple[int, ...] | torch.Size, dtype: torch.dtype) -> Tensor:
    """An uninitialised contiguous CPU tensor, from a cached block when one of the size is free."""
    return _CACHE.empty(tuple(shape), dtype)


def set_buffer_cache(max_bytes: int) -> None:
    """Cap the memory the output cache may hold, in bytes (0 turns the cache off).

    Blocks still in use are never dropped; free blocks beyond the new cap are released now.
    """
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
        raise ValueError(f"set_buffer_cache: max_bytes must be an int >= 0, got {max_bytes!r}")
    _CACHE.max_bytes = max_bytes
    with _CACHE._lock:
        _CACHE._evict(0)


def empty_buffer_cache() -> None:
    """Release every free cached block to the allocator (blocks still in use stay)."""
    _CACHE.clear()


def buffer_cache_info() -> dict[str, int]:
    """``max_bytes``, ``held_bytes`` (free and in use), ``free_bytes``, ``blocks``, ``hits``, ``misses``."""
    return _CACHE.info()
