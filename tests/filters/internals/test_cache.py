"""The Numba kernels are cached on disk: a second Python process loads them instead of compiling.

Asserted through the dispatchers' own statistics (``stats.cache_hits`` / ``cache_misses``), not
through timings, so the test does not depend on the machine's load.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]

SCRIPT = r"""
import json, time, warnings
warnings.simplefilter("ignore")
import torch
from zoo.filters import allpole
from zoo.filters.kernels import numba_cpu

x = torch.randn(4, 64, dtype=torch.float64, requires_grad=True)  # > SERIAL_MAX_ROWS: the parallel kernels
a = torch.tensor([-0.5, 0.1], dtype=torch.float64, requires_grad=True)
start = time.perf_counter()
allpole(x, a).sum().backward()
elapsed = time.perf_counter() - start
report = {"elapsed_s": elapsed}
for name in ("allpole_forward_ti", "allpole_backward_ti"):
    stats = getattr(numba_cpu, name).stats
    report[name] = {
        "cache_path": stats.cache_path,
        "hits": sum(stats.cache_hits.values()),
        "misses": sum(stats.cache_misses.values()),
    }
print(json.dumps(report))
"""


def _run() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_JIT"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_second_process_loads_kernels_from_the_cache():
    first = _run()  # compiles (or already loads) and writes the cache
    for name in ("allpole_forward_ti", "allpole_backward_ti"):
        cache_dir = pathlib.Path(first[name]["cache_path"])
        assert list(cache_dir.glob(f"numba_cpu.{name}-*.nbi")), f"no index file for {name} in {cache_dir}"
        assert list(cache_dir.glob(f"numba_cpu.{name}-*.nbc")), f"no machine code for {name} in {cache_dir}"
    second = _run()
    for name in ("allpole_forward_ti", "allpole_backward_ti"):
        assert second[name]["hits"] >= 1, f"{name} was not loaded from the cache: {second[name]}"
        assert second[name]["misses"] == 0, f"{name} was compiled again: {second[name]}"
