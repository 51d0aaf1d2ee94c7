"""All-pole filter on CPU: this layer vs torchlpc vs philtorch vs a naive autograd loop, in one run.

For every M in {1, 2, 4, 8, 16}, B in {1, 8, 64}, T in {2^14, 2^16, 2^18}, float32 and float64
(time-varying coefficients, smooth and stable), it times

* ``ours``: `zoo.filters.allpole(x, a)` (Numba kernels);
* ``torch``: `zoo.filters.allpole(x, a, backend="torch")`, the pure-PyTorch chunked scan
  (`zoo.filters.kernels.torch_scan`: any device, TorchScript, export), with its gradients from
  autograd. It runs only where B * T * M <= --torch-max-mvalues million (it is tens of times
  slower than Numba on CPU; its point is portability), "-" elsewhere;
* ``torchlpc``: ``torchlpc.sample_wise_lpc(x, a)``, the paper authors' layer;
* ``philtorch``: ``philtorch.lpv.allpole(a, x)`` (its C++ all-pole op), when importable;
* ``loop``: `zoo.filters.reference.allpole_loop`, a Python loop over time differentiated by plain
  autograd. It is far too slow for these sizes, so it runs at T = 2^10 (same B and M) and its
  throughput is reported in every row of that (B, M), marked with a dagger.

each as ``fwd`` (no graph) and ``fwd+bwd`` (x and a require grad; ``torch.autograd.grad`` of y with
respect to x and a for a random upstream gradient), and prints ONE markdown table: throughput in
Msamples/s (B * T / median time), ours and philtorch as a ratio to torchlpc (> 1: faster), ours
as a percentage of this machine's memory-bandwidth bound, and the torch backend's time as a
multiple of ours ("torch / ours", < 20 is the goal at M = 4).

Bandwidth bound. The bandwidth is measured in the same run as the median of several clones of a
256 MiB tensor (bytes read + written / time). A call's traffic is counted as the minimum it must
move, in words of the dtype per sample: fwd reads x and a and writes y, M + 2; fwd+bwd also reads
the upstream gradient and y and writes dx and da, 2M + 5 (the same count as
benchmarks/allpole_cuda.py; a two-pass method reads a twice, so 100 % is out of reach by design).
The bound is bandwidth / (bytes per sample); the column is achieved / bound.

Threads: torch.set_num_threads(2) and numba.set_num_threads(2) (--threads changes both; Numba's
default is one thread per core). Numba's OpenMP layer and torch's OpenMP pool share the cores: when
the machine is busy, a parallel region can wait a scheduler tick (4-8 ms) for its threads, which
then dominates small calls. The load average is printed with the table for that reason (compare
--threads 1, or --numba-layer workqueue). Timings are medians of up to 3 repeats (41 with --quick)
after a warm-up per (library, dtype, M); the libraries are interleaved call by call so that a
change of load hits them alike, and the largest sizes run once. Configurations whose coefficient
tensor would exceed --max-coef-mb are skipped (torchlpc's backward makes several copies of it) and
marked "mem".

The first-call time is measured in fresh subprocesses: cold (NUMBA_CACHE_DIR pointing at an empty
temporary directory, so every kernel compiles) and warm (the normal on-disk cache).

Usage::

    python benchmarks/allpole.py --quick            # B=8, T=2^16, M in {1,2,4,8,16}, float32 (the target)
    python benchmarks/allpole.py [--dtype float32|float64|all] [--out allpole_cpu.md]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from zoo.filters import allpole, lpc_from_reflection  # noqa: E402
from zoo.filters.reference import allpole_loop  # noqa: E402

ORDERS = (1, 2, 4, 8, 16)
ROWS = (1, 8, 64)
LENGTHS = (1 << 14, 1 << 16, 1 << 18)
LOOP_LENGTH = 1 << 10
DTYPES = {"float32": torch.float32, "float64": torch.float64}


# ---------------------------------------------------------------------------------- competitors
def _load_torchlpc():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import torchlpc
    except ImportError:
        return None
    return lambda x, a: torchlpc.sample_wise_lpc(x, a)


def _load_philtorch():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import philtorch.lpv

        fn = philtorch.lpv.allpole
        x = torch.randn(2, 32)
        a = 0.1 * torch.randn(2, 32, 2)
        torch.testing.assert_close(fn(a, x), allpole(x, a), rtol=1e-4, atol=1e-5)
    except Exception as err:  # not installed, or a different API: skip the column
        print(f"philtorch not usable here ({type(err).__name__}: {err}); its column is skipped", file=sys.stderr)
        return None
    return lambda x, a: fn(a, x)


def _torch_backend(x, a):
    return allpole(x, a, backend="torch")


# ---------------------------------------------------------------------------------- problems
def _coefficients(rows: int, n_time: int, order: int, dtype: torch.dtype, seed: int) -> torch.Tensor:
    """Smooth, stable time-varying coefficients (rows, n_time, order).

    Reflection coefficients |k| <= 0.5 at one frame per 1024 samples, interpolated linearly to audio
    rate and turned into LPC coefficients sample by sample (every step stable, slowly varying);
    built one row at a time to keep the peak memory at one row. Only two distinct rows are drawn
    and repeated over the batch: the values do not affect the timings, and drawing is slow.
    """
    gen = torch.Generator().manual_seed(seed)
    hop = 1024
    n_frames = (n_time - 1) // hop + 2
    out = torch.empty(rows, n_time, order, dtype=dtype)
    position = torch.arange(n_time, dtype=torch.float64) / hop
    lo = position.floor().long()
    frac = (position - lo).unsqueeze(-1)
    for r in range(rows):
        if r >= 2:
            out[r] = out[r % 2]
            continue
        frames = 0.5 * torch.tanh(torch.randn(n_frames, order, generator=gen, dtype=torch.float64))
        out[r] = lpc_from_reflection(frames[lo] * (1 - frac) + frames[lo + 1] * frac).to(dtype)
    return out


# ---------------------------------------------------------------------------------- timing
def _median_times(calls: dict[str, Callable[[], object]], max_repeats: int, budget_s: float, *,
                  warm_up: bool = True) -> dict[str, float]:
    """Median time of each call, the calls interleaved round by round (so that a change in the
    machine's load hits every library alike and the ratios stay fair). Rounds stop after
    max_repeats, or once the slowest call has used budget_s (at least one round). With ``warm_up``
    each call runs once untimed first: a size can select a kernel the small warm-up problems did
    not (e.g. the streaming-store backward from 16 MB of coefficient gradient up), and its first
    call would otherwise time its compilation (the M = 16 cell of ``--quick`` read 0.0 Ms/s)."""
    if warm_up:
        for call in calls.values():
            call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(max_repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
        if max(sum(t) for t in times.values()) >= budget_s:
            break
    return {name: statistics.median(t) for name, t in times.items()}


def _forward_call(fn, x, a):
    def call():
        with torch.no_grad():
            fn(x, a)

    return call


def _backward_call(fn, x, a, grad_y):
    x = x.detach().requires_grad_()
    a = a.detach().requires_grad_()

    def call():
        y = fn(x, a)
        torch.autograd.grad(y, (x, a), grad_y)

    return call


def measure_bandwidth(n_bytes: int = 256 << 20, repeats: int = 9) -> float:
    """Bytes read + written per second when copying a 256 MiB tensor (this machine's streaming bandwidth).

    The copy goes into a preallocated tensor (a clone would also pay for page faults on fresh memory),
    and the fastest repeat is kept: this is a bound, and a shared machine only ever makes it slower.
    """
    src = torch.ones(n_bytes // 4, dtype=torch.float32)
    dst = torch.empty_like(src)
    dst.copy_(src)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        dst.copy_(src)
        times.append(time.perf_counter() - start)
    return 2 * n_bytes / min(times)


# ---------------------------------------------------------------------------------- first call
_FIRST_CALL = r"""
import json, time, warnings
warnings.simplefilter("ignore")
start = time.perf_counter()
import torch
from zoo.filters import allpole
imported = time.perf_counter()
x = torch.randn(4, 512, requires_grad=True)
a = (0.1 * torch.randn(4, 512, 4)).requires_grad_()
allpole(x, a).sum().backward()
print(json.dumps({"import_s": imported - start, "first_call_s": time.perf_counter() - imported}))
"""


def first_call_times() -> dict[str, dict[str, float]]:
    """Import and first fwd+bwd call (float32, time-varying) in fresh processes, cold and warm cache."""

    def run(env_extra: dict[str, str]) -> dict[str, float]:
        env = dict(os.environ, **env_extra)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
        out = subprocess.run(
            [sys.executable, "-c", _FIRST_CALL], env=env, cwd=REPO, capture_output=True, text=True, check=True
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    run({})  # make sure the normal cache holds the current kernels
    warm = run({})
    with tempfile.TemporaryDirectory() as empty_cache:
        cold = run({"NUMBA_CACHE_DIR": empty_cache})
    return {"cold": cold, "warm": warm}


# ---------------------------------------------------------------------------------- main
def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _row(cells: dict, dtype_name: str, mode: str, order: int, n_rows: int, n_time: int, bandwidth: float) -> str:
    """One table row. Traffic in words per sample: fwd M + 2, fwd+bwd 2M + 5 (see the module docstring)."""
    words = order + 2 if mode == "fwd" else 2 * order + 5
    bound = bandwidth / (words * (4 if dtype_name == "float32" else 8)) / 1e6
    ours, ref, phil, tb = cells.get("ours"), cells.get("torchlpc"), cells.get("philtorch"), cells.get("torch")
    skipped = ours is None
    row = [
        dtype_name,
        mode,
        str(order),
        str(n_rows),
        f"2^{n_time.bit_length() - 1}",
        "mem" if skipped else _fmt(ours),
        _fmt(ours / ref if ours and ref else None, 2),
        _fmt(100 * ours / bound if ours else None, 0),
        "mem" if skipped else _fmt(ref),
        "mem" if skipped else _fmt(phil),
        _fmt(phil / ref if phil and ref else None, 2),
        "mem" if skipped else _fmt(tb),
        _fmt(ours / tb if ours and tb else None, 1),
        _fmt(cells.get("loop"), 3),
    ]
    return "| " + " | ".join(row) + " |"


def run(args: argparse.Namespace) -> str:
    import numba

    if args.numba_layer is not None:  # must be chosen before the first parallel kernel runs
        numba.config.THREADING_LAYER = args.numba_layer
        os.environ["NUMBA_THREADING_LAYER"] = args.numba_layer  # and in the first-call subprocesses
    torch.set_num_threads(args.threads)
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    allpole(torch.randn(2, 8), torch.zeros(2, 8, 1))  # starts Numba's threading layer

    if args.quick:
        orders, rows, lengths = ORDERS, (8,), (1 << 16,)
        dtypes = ["float32"] if args.dtype is None else ([*DTYPES] if args.dtype == "all" else [args.dtype])
        max_repeats, budget = 41, 3.0
    else:
        orders, rows, lengths = ORDERS, ROWS, LENGTHS
        dtypes = [*DTYPES] if args.dtype in (None, "all") else [args.dtype]
        max_repeats, budget = 3, 0.2

    libs = {"ours": allpole, "torchlpc": _load_torchlpc(), "philtorch": _load_philtorch(), "torch": _torch_backend}
    first = first_call_times() if not args.skip_first_call else None
    bandwidth = measure_bandwidth()

    lines = [
        f"CPU all-pole filter, time-varying coefficients. torch {torch.__version__} ({torch.get_num_threads()} "
        f"threads), numba {numba.__version__} ({numba.get_num_threads()} threads, {numba.threading_layer()} "
        f"layer); memory bandwidth (256 MiB copy, read + write, best of 9): {bandwidth / 1e9:.1f} GB/s; "
        f"load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.",
        "",
        "| dtype | pass | M | B | T | ours Ms/s | ours x torchlpc | ours % BW | torchlpc Ms/s | philtorch Ms/s "
        "| philtorch x torchlpc | torch Ms/s | torch / ours | loop† Ms/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    results = {}
    entries = []
    for dtype_name in dtypes:
        dtype = DTYPES[dtype_name]
        itemsize = torch.finfo(dtype).bits // 8
        for order in orders:
            # warm-up per (library, dtype, M): compile or load the kernels outside the timings, for
            # both kernel families (<= 2 rows: serial; more: parallel) and T >= 2M (unrolled)
            for warm_rows in (2, 3):
                x_small = torch.randn(warm_rows, 256, dtype=dtype)
                a_small = _coefficients(warm_rows, 256, order, dtype, seed=0)
                for fn in libs.values():
                    if fn is not None:
                        _forward_call(fn, x_small, a_small)()
                        _backward_call(fn, x_small, a_small, torch.randn_like(x_small))()
            loops = {}
            for n_rows in rows:
                if not args.quick or args.loop:
                    x_loop = torch.randn(n_rows, LOOP_LENGTH, dtype=dtype)
                    a_loop = _coefficients(n_rows, LOOP_LENGTH, order, dtype, seed=1)
                    loops[n_rows] = _median_times(
                        {
                            "fwd": _forward_call(allpole_loop, x_loop, a_loop),
                            "fwd+bwd": _backward_call(allpole_loop, x_loop, a_loop, torch.randn_like(x_loop)),
                        },
                        1,
                        0.0,
                        warm_up=False,
                    )
            for n_time in lengths:
                # one problem for the largest B that fits, sliced for the smaller ones
                fits = [b for b in rows if b * n_time * order * itemsize / 2**20 <= 2 * args.max_coef_mb]
                x_all = torch.randn(max(rows), n_time, dtype=dtype)
                a_all = _coefficients(max(fits), n_time, order, dtype, seed=2) if fits else None
                g_all = torch.randn_like(x_all)
                for n_rows in rows:
                    coef_mb = n_rows * n_time * order * itemsize / 2**20
                    x, grad_y = x_all[:n_rows], g_all[:n_rows]
                    a = a_all[:n_rows] if n_rows in fits else None
                    for mode in ("fwd", "fwd+bwd"):
                        limit = args.max_coef_mb * (2 if mode == "fwd" else 1)
                        cells = {}
                        if a is not None and coef_mb <= limit:
                            calls = {
                                name: _forward_call(fn, x, a) if mode == "fwd" else _backward_call(fn, x, a, grad_y)
                                for name, fn in libs.items()
                                if fn is not None
                                and (name != "torch" or n_rows * n_time * order <= args.torch_max_mvalues * 1e6)
                            }
                            for name, seconds in _median_times(calls, max_repeats, budget).items():
                                cells[name] = n_rows * n_time / seconds / 1e6
                        if n_rows in loops:
                            cells["loop"] = n_rows * LOOP_LENGTH / loops[n_rows][mode] / 1e6
                        results[(dtype_name, mode, order, n_rows, n_time)] = cells
                        row = _row(cells, dtype_name, mode, order, n_rows, n_time, bandwidth)
                        entries.append(((dtype_name, order, n_rows, n_time, mode), row))
                        print(row, file=sys.stderr, flush=True)  # progress
                del x_all, a_all, g_all, x, a, grad_y

    lines += [row for _, row in sorted(entries)]  # in (dtype, M, B, T, pass) order
    lines += [
        "",
        f"† loop: zoo.filters.reference.allpole_loop at T = 2^{LOOP_LENGTH.bit_length() - 1} (same B and M), "
        "a Python loop over time differentiated by plain autograd; shown for scale only.",
        "Ms/s: millions of samples (B * T) per second. x torchlpc: throughput ratio (> 1 is faster than torchlpc). "
        "% BW: ours against the bandwidth bound, counting M + 2 (fwd) and 2M + 5 (fwd+bwd) words per sample. "
        "mem: skipped, coefficients above --max-coef-mb. torch: the pure-PyTorch backend "
        "(allpole(..., backend=\"torch\")); torch / ours: its time as a multiple of ours.",
    ]
    if first is not None:
        lines.append(
            "First call in a fresh process (import zoo.filters, then one float32 time-varying fwd+bwd): "
            f"cold cache (every kernel compiles) {first['cold']['first_call_s']:.1f} s, "
            f"warm cache {first['warm']['first_call_s']:.2f} s (import {first['warm']['import_s']:.1f} s)."
        )
    paired = _paired_ratios(orders, max_repeats) if "float32" in dtypes and 8 in rows and (1 << 16) in lengths else {}
    lines += _targets(results, args.threads, paired)
    return "\n".join(lines)


def _paired_ratios(orders, rounds: int) -> dict[int, float]:
    """Our fwd+bwd time over our fwd time at float32, B = 8, T = 2^16, from the two calls timed
    back to back in each round (median over rounds of the per-round ratio): a drift of the
    machine's speed between two separately timed cells then cancels out of the ratio."""
    out = {}
    for order in orders:
        x = torch.randn(8, 1 << 16)
        a = _coefficients(8, 1 << 16, order, torch.float32, seed=3)
        fwd, both = _forward_call(allpole, x, a), _backward_call(allpole, x, a, torch.randn_like(x))
        fwd(), both()
        ratios = []
        for _ in range(rounds):
            start = time.perf_counter()
            fwd()
            mid = time.perf_counter()
            both()
            ratios.append((time.perf_counter() - mid) / (mid - start))
        out[order] = statistics.median(ratios)
    return out


def _targets(results: dict, threads: int, paired: dict[int, float]) -> list[str]:
    """The issue's targets at float32, B = 8, T = 2^16 (only when that configuration was measured)."""
    def get(mode, order, name):
        cells = results.get(("float32", mode, order, 8, 1 << 16), {})
        return cells.get(name)

    if get("fwd", 4, "ours") is None:
        return []
    out = ["", f"Targets (float32, {threads} threads, B = 8, T = 2^16):"]

    def check(label, value, goal, higher_is_better=True):
        if value is None:
            out.append(f"- {label}: not measured")
            return
        ok = value >= goal if higher_is_better else value <= goal
        out.append(f"- {label}: {value:.2f} ({'met' if ok else 'NOT met'}, goal {'>=' if higher_is_better else '<='} {goal})")

    def ratio(mode, m):
        ours, ref = get(mode, m, "ours"), get(mode, m, "torchlpc")
        return ours / ref if ours and ref else None

    check("fwd x torchlpc at M = 4", ratio("fwd", 4), 3.0)
    ours4, torch4 = get("fwd", 4, "ours"), get("fwd", 4, "torch")
    check("torch backend fwd time / ours fwd time at M = 4", ours4 / torch4 if ours4 and torch4 else None, 20.0, False)
    for m in (2, 4, 8, 16):
        check(f"fwd+bwd x torchlpc at M = {m}", ratio("fwd+bwd", m), 4.0)
    for m in ORDERS:
        fwd, both = get("fwd", m, "ours"), get("fwd+bwd", m, "ours")
        check(f"ours fwd+bwd time / fwd time at M = {m} (table cells)", fwd / both if fwd and both else None, 3.0, False)
    for m in ORDERS:
        check(f"ours fwd+bwd time / fwd time at M = {m} (paired rounds)", paired.get(m), 3.0, False)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="B=8, T=2^16, M in {1,2,4,8,16}, float32 only")
    parser.add_argument("--dtype", choices=[*DTYPES, "all"], default=None, help="default: all (float32 with --quick)")
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this markdown file")
    parser.add_argument("--max-coef-mb", type=float, default=512.0, help="skip fwd+bwd above this (fwd: twice)")
    parser.add_argument("--loop", action="store_true", help="also time the naive loop with --quick")
    parser.add_argument("--threads", type=int, default=2, help="torch and Numba threads (default 2)")
    parser.add_argument(
        "--numba-layer", choices=["omp", "workqueue", "tbb"], default=None, help="Numba threading layer (default: Numba's)"
    )
    parser.add_argument("--skip-first-call", action="store_true", help="do not measure cold/warm first-call times")
    parser.add_argument(
        "--torch-max-mvalues",
        type=float,
        default=16.0,
        help="time the torch backend only where B*T*M <= this many millions",
    )
    args = parser.parse_args(argv)
    table = run(args)
    print(table)
    if args.out is not None:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
