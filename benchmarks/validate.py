"""Cost of ``allpole(..., validate=True)`` against the filter itself, at M = 2, 4, 16, 64.

For B = 8, T = 2^16 time-varying float32 coefficients (stable, from random reflection
coefficients), it prints one markdown table:

* ``filter``: `zoo.filters.allpole(x, a)` (forward, no graph);
* ``validate``: the work ``validate=True`` adds to that call: the finite check of x, then the
  Schur-Cohn step-down stability test of a (`zoo.filters._checks.check_stable`, which also flags
  NaN/Inf in a);
* ``ratio``: validate / filter;
* ``peak MiB``: growth of peak RSS during the filter call and during the checks, each measured in
  a fresh subprocess after a warm-up (so Numba compilation does not count), next to the
  coefficient tensor's size;
* ``old``: the previous check (`zoo.filters.max_pole_radius`, an M x M eigenproblem per step), at
  M <= --old-max-order (default 4; M = 16 takes minutes); at M = 64 it would allocate B * T * M^2 complex128 entries (32 GiB).

Timings are the best of --repeats calls after a warm-up (the machine may be shared). Usage::

    python benchmarks/validate.py [--batch 8] [--time 65536] [--repeats 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ORDERS = (2, 4, 16, 64)


def _coefficients(batch: int, n_time: int, order: int) -> torch.Tensor:
    from zoo.filters import lpc_from_reflection

    generator = torch.Generator().manual_seed(order)
    # Reflection coefficients that vary every 256 samples and shrink with the order, so that the
    # float32 coefficients stay stable at M = 64 too (rounding moves high-order poles a lot).
    frames = n_time // 256 + 1
    shrink = 0.9 * 0.85 ** torch.arange(order, dtype=torch.float64)
    k = shrink * torch.tanh(torch.randn(batch, frames, order, generator=generator, dtype=torch.float64))
    k = k.repeat_interleave(256, dim=1)[:, :n_time]
    return lpc_from_reflection(k).float().contiguous()


def _best_time(fn, repeats: int) -> float:
    """The fastest of ``repeats`` calls: on a shared machine, the least disturbed one."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _peak_growth(batch: int, n_time: int, order: int, threads: int, what: str) -> int:
    """Bytes of peak-RSS growth of one filter call (``what="filter"``) or of the checks
    (``"validate"``), in a fresh process (Linux: the peak is reset through /proc/self/clear_refs
    after the coefficients are built)."""
    script = f"""
import sys, torch, numba
sys.path.insert(0, {str(REPO)!r})
torch.set_num_threads({threads}); numba.set_num_threads({threads})
from benchmarks.validate import _coefficients, _checks
from zoo.filters import allpole
a = _coefficients({batch}, {n_time}, {order}); x = torch.randn({batch}, {n_time})
allpole(x[:, :64], a[:, :64], validate=True)  # compile
def status(key):
    return 1024 * int(next(l for l in open("/proc/self/status") if l.startswith(key)).split()[1])
open("/proc/self/clear_refs", "w").write("5")  # reset the peak to the current RSS
before = status("VmRSS")
allpole(x, a) if {what!r} == "filter" else _checks(x, a)
print(status("VmHWM") - before)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


def _checks(x: torch.Tensor, a: torch.Tensor) -> None:
    """What ``allpole(x, a, validate=True)`` runs before filtering (zi is None here)."""
    from zoo.filters._checks import check_finite, check_stable

    check_finite(x, "x")
    check_stable(a, "a", time_varying=True)  # NaN/Inf in `a` included


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--time", type=int, default=65536)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--old-max-order", type=int, default=4, help="time the old eigenvalue check up to this M (M = 16 takes minutes)")
    args = parser.parse_args()

    import numba

    from zoo.filters import allpole, max_pole_radius

    torch.set_num_threads(args.threads)
    numba.set_num_threads(args.threads)
    rows = []
    for order in ORDERS:
        a = _coefficients(args.batch, args.time, order)
        x = torch.randn(args.batch, args.time)
        allpole(x, a, validate=True)  # warm-up (compiles) and checks that the input is stable
        filter_s = _best_time(lambda: allpole(x, a), args.repeats)
        validate_s = _best_time(lambda: _checks(x, a), args.repeats)
        old = "-"
        if order <= args.old_max_order:
            old_s = _best_time(lambda: bool((max_pole_radius(a) < 1).all()), 1)
            old = f"{old_s * 1e3:.0f} ms"
        grown = {what: _peak_growth(args.batch, args.time, order, args.threads, what) for what in ("filter", "validate")}
        rows.append(
            {
                "M": order,
                "filter": f"{filter_s * 1e3:.1f} ms",
                "validate": f"{validate_s * 1e3:.1f} ms",
                "ratio": f"{validate_s / filter_s:.1f}x",
                "a MiB": f"{a.numel() * a.element_size() / 2**20:.0f}",
                "peak MiB filter": f"{grown['filter'] / 2**20:.1f}",
                "peak MiB validate": f"{grown['validate'] / 2**20:.1f}",
                "old": old,
            }
        )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"B = {args.batch}, T = {args.time}, float32, time-varying; {args.threads} threads; "
        f"load average {load:.2f}; torch {torch.__version__}\n"
    )
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "|".join("---" for _ in keys) + "|")
    for row in rows:
        print("| " + " | ".join(str(row[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()
