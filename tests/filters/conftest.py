"""Run the Numba kernels single-threaded in these tests.

The kernels open an OpenMP parallel region on every call. When the cores are oversubscribed (two
xdist workers on two cores, plus anything else running), each region's barrier can cost a
scheduler time slice (~10 ms) even for a 2 x 9 input, which turns gradcheck's thousands of tiny
calls into minutes. The multi-threaded path is checked on its own in test_reference_equality.py.
"""

import numba
import pytest


@pytest.fixture(autouse=True)
def _single_threaded_numba():
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(previous)
