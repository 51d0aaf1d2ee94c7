"""A non-temporal ("streaming") store for Numba kernels: ``stream_store(arr, i, value, align)``.

Writes ``arr[i] = value`` (``arr`` 1-D, C-contiguous, real) with LLVM's ``!nontemporal`` hint, so
the line goes to memory without first being read into the cache (no read-for-ownership) and without
evicting data the kernel still needs. Consecutive stores of a block are merged by LLVM's SLP
vectorizer into vector streaming stores (``vmovntps``) when the block is aligned.

Why: the fused backward writes the (T, M) coefficient gradient once and never reads it. At M = 16
in float32 that is one whole 64-byte cache line per sample and row; when the gradient is larger
than the last-level cache, streaming it halves the write traffic. Measured in one process on the
B = 8, T = 2^16, M = 16 backward (float32, 2 threads): 1.8-2.5 ms against 2.2-3.6 ms with ordinary
stores; the whole fwd+bwd call at B = 8, T = 2^18 (a 128 MiB gradient) went from 16.9 to 12.2 ms.
With partial lines (M = 4 and 8 in float32) streaming was as fast or much slower, so only full-line
blocks use it (M = 16, and M = 8 in float64), and only from 16 MiB up (`zoo.filters._ops`).

``align`` (a literal int, bytes) is the alignment LLVM may assume for ``&arr[i]``. It must be TRUE:
an aligned streaming store to a misaligned address faults. Callers guarantee it by checking the
array's address before choosing a streaming kernel (`zoo.filters._ops`).
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = ["stream_store"]


@intrinsic
def stream_store(typingctx, arr, index, value, align):  # pragma: no cover - compiled
    if not (
        isinstance(arr, types.Array)
        and arr.ndim == 1
        and arr.layout == "C"
        and isinstance(arr.dtype, types.Float)
        and isinstance(index, types.Integer)
        and isinstance(align, types.IntegerLiteral)
    ):
        return None
    alignment = align.literal_value
    signature = types.void(arr, index, value, align)

    def codegen(context, builder, sig, args):
        array_type, _, value_type, _ = sig.args
        array = context.make_array(array_type)(context, builder, args[0])
        stored = context.cast(builder, args[2], value_type, array_type.dtype)
        pointer = builder.gep(array.data, [args[1]], inbounds=True)
        store = builder.store(stored, pointer, align=alignment)
        store.set_metadata("nontemporal", builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)]))
        return context.get_dummy_value()

    return signature, codegen
