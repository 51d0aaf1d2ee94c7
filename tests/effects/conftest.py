"""Run the effect tests single-threaded (torch and Numba).

Each parallel region's barrier can cost a scheduler time slice when the cores are oversubscribed
(two xdist workers on two cores), which turns gradcheck's many tiny calls into minutes. The
multi-threaded kernels are tested in tests/filters.
"""

import numba
import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    torch_threads, numba_threads = torch.get_num_threads(), numba.get_num_threads()
    torch.set_num_threads(1)
    numba.set_num_threads(1)
    yield
    torch.set_num_threads(torch_threads)
    numba.set_num_threads(numba_threads)
