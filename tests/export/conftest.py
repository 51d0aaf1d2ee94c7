"""Fixtures of the export tests: one thread (the machine is shared; TorchScript's fuser oversubscribes
otherwise). Helpers live in `_export_helpers` (a unique module name: every test folder has a conftest)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

