"""Run our effects on the paper authors' all-pole layer (torchlpc), for the "authors' code path" columns.

The authors' code (DiffAPF) builds the same models on ``torchlpc.sample_wise_lpc``, a C++ extension
whose backward is the time-reversed recursion too. `authors_allpole()` swaps it in under every
``zoo.filters`` call for the duration of a ``with`` block, so the model, its parameters, the loss and
everything around the filter stay identical and the timing difference is the filter layer alone.
Both layers use the same conventions (a0 = 1, zi = past outputs newest first), which
``tests/filters/test_torchlpc.py`` checks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import Tensor

import zoo.filters.recursions
from zoo.filters import use_fused

# the module behind the function `zoo.filters.allpole`
allpole_module = zoo.filters.recursions


def load_torchlpc():
    """The torchlpc module, or None when it is not installed (a dev extra)."""
    try:
        import torchlpc
    except ImportError:
        return None
    return torchlpc


@contextlib.contextmanager
def authors_allpole() -> Iterator[None]:
    """Inside the block, `zoo.filters.allpole` (and lfilter, sosfilt, linear_recurrence) filter
    with ``torchlpc.sample_wise_lpc``, and the effects take their composed paths
    (``zoo.filters.use_fused(False)``) so that the swapped layer is what runs. Raises ImportError
    when torchlpc is missing."""
    torchlpc = load_torchlpc()
    if torchlpc is None:
        raise ImportError("torchlpc is not installed (pip install -e '.[dev]')")

    def torchlpc_function(x: Tensor, a: Tensor, zi: Tensor) -> Tensor:
        if a.dim() == 2:  # time-invariant: torchlpc takes per-sample coefficients only
            a = a.unsqueeze(1).expand(a.shape[0], x.shape[-1], a.shape[-1]).contiguous()
        return torchlpc.sample_wise_lpc(x, a, zi)

    original = allpole_module.allpole_function
    allpole_module.allpole_function = torchlpc_function
    try:
        with use_fused(False):
            yield
    finally:
        allpole_module.allpole_function = original


def check_same_output(model_call, atol: float = 1e-4) -> None:
    """Assert the model gives the same output on both layers (so the comparison is like for like)."""
    with torch.no_grad():
        ours = model_call()
        with authors_allpole():
            theirs = model_call()
    torch.testing.assert_close(theirs, ours, rtol=1e-3, atol=atol)
