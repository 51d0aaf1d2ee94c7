"""The generated unrolled kernels are in sync with their generator, and compiling them leaves the
user's Numba configuration alone."""

import numba
import torch

from zoo.filters import _ops, allpole
from zoo.filters.kernels import generate_unrolled


def test_checked_in_module_matches_the_generator():
    assert generate_unrolled.TARGET.read_text() == generate_unrolled.source(), (
        "zoo/filters/kernels/numba_unrolled.py is stale: run `python -m zoo.filters.kernels.generate_unrolled`"
    )


def test_every_unrolled_order_has_all_four_entry_points():
    from zoo.filters.kernels import numba_unrolled

    for order in generate_unrolled.ORDERS:
        for name in ("allpole_forward_tv", "allpole_reverse_tv", "allpole_backward_tv"):
            for suffix in ("", "_serial"):
                assert callable(getattr(numba_unrolled, f"{name}_{order}{suffix}"))


def test_dispatch_picks_unrolled_kernels_only_when_their_length_condition_holds():
    assert _ops._kernel("allpole_backward_tv", 8, 4).py_func.__module__.endswith("numba_unrolled")
    assert _ops._kernel("allpole_backward_tv", 8, 4, min_time=False).py_func.__module__.endswith("numba_cpu")
    assert _ops._kernel("allpole_forward_tv", 8, 9).py_func.__module__.endswith("numba_cpu")  # no unrolled M = 9
    assert _ops._kernel("allpole_forward_tv", 1, 2).py_func.__name__.endswith("_serial")


def test_slp_switch_is_restored_after_our_kernels_compile():
    before = numba.config.SLP_VECTORIZE
    x = torch.randn(3, 40, dtype=torch.float64)
    a = 0.1 * torch.randn(3, 40, 7, dtype=torch.float64)
    allpole(x, a)
    assert numba.config.SLP_VECTORIZE == before
