"""Compressor training-step time: our TD (Algorithm 1) vs our FS twin vs the authors' torchcomp path.

One step = forward + backward of an L1 loss w.r.t. all compressor parameters, float32, one thread
(torch and Numba), 44.1 kHz mono, for 30 / 60 / 120 s of audio (the paper's Sec. 4.3 timing; on an
M1 Pro it reports TD 65 / 118 / 239 ms and FS 163 / 321 / 664 ms).

* ``td``: `zoo.effects.Compressor(method="td")`: on CPU the fused path (`FusedCompressorFunction`):
  detector, gain computer, smoother and make-up in one Numba sweep forward and one reverse sweep
  backward (Algorithm 1 for the smoother).
* ``fs``: `Compressor(method="fs")`: the smoother frequency-sampled with a float64 FFT of >= 2T.
* ``torchcomp``: the DiffAPF/LA-2A code path, ``torchcomp.avg`` on x² (sqrt) then
  ``torchcomp.compexp_gain`` (skipped when torchcomp is not installed).

Usage: ``python benchmarks/effects_compressor.py [--quick] [--process-time]`` prints a markdown table.
``--process-time`` times with `time.process_time` (CPU time of this process) instead of wall-clock
time: steadier on a shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import numba
import torch

from zoo.effects.compressors import Compressor

SAMPLE_RATE = 44100


def _signal(seconds: float) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    n = int(seconds * SAMPLE_RATE)
    env = 0.05 + 0.5 * (torch.rand(n // 4410 + 1, generator=gen) > 0.5).float()  # 100 ms level steps
    return (torch.randn(n, generator=gen) * env.repeat_interleave(4410)[:n]).reshape(1, 1, n)


def _ours(method: str, x: torch.Tensor) -> Callable[[], None]:
    model = Compressor(SAMPLE_RATE, method, threshold_db=-20.0, ratio=4.0, attack_ms=5.0, release_ms=100.0)

    def step() -> None:
        model.zero_grad(set_to_none=True)
        model(x).abs().mean().backward()

    return step


def _torchcomp(x: torch.Tensor) -> Callable[[], None] | None:
    try:
        import torchcomp
    except ImportError:
        return None
    raw = {k: torch.tensor(v, requires_grad=True) for k, v in
           dict(thr=-20.0, ratio=1.0986, at=-4.0, rt=-6.0, rms=-0.85, mk=0.0).items()}
    x2 = x.reshape(1, -1)

    def step() -> None:
        for p in raw.values():
            p.grad = None
        rms = torchcomp.avg(x2.square().clamp_min(1e-8), torch.sigmoid(raw["rms"])).sqrt()
        gain = torchcomp.compexp_gain(rms, raw["thr"], raw["ratio"].exp() + 1, -1000.0, 0.5,
                                      torch.sigmoid(raw["at"]), torch.sigmoid(raw["rt"]))
        (x2 * gain * 10 ** (raw["mk"] / 20)).abs().mean().backward()

    return step


def _time(step: Callable[[], None], repeats: int, clock: Callable[[], float] = time.perf_counter) -> float:
    step()  # warm-up (JIT caches, allocator)
    times = []
    for _ in range(repeats):
        t0 = clock()
        step()
        times.append(clock() - t0)
    return 1000.0 * statistics.median(times)


def run(quick: bool = False, process_time: bool = False) -> list[dict]:
    """Time one training step per method and length.

    Args:
        quick: 5 s of audio and one timed repeat (a smoke test) instead of 30 / 60 / 120 s, three repeats.
        process_time: time with `time.process_time` (this process's CPU time) instead of
            `time.perf_counter` (wall clock). Default False.

    Returns:
        one dict per length: ``seconds``, ``td_ms``, ``fs_ms``, ``torchcomp_ms`` (None if not
        installed), ``fs_over_td``, ``torchcomp_over_td``.
    """
    clock = time.process_time if process_time else time.perf_counter
    torch_threads, numba_threads = torch.get_num_threads(), numba.get_num_threads()
    torch.set_num_threads(1)
    numba.set_num_threads(1)
    try:
        rows = []
        for seconds in ((5.0,) if quick else (30.0, 60.0, 120.0)):
            x = _signal(seconds)
            repeats = 1 if quick else 3
            td = _time(_ours("td", x), repeats, clock)
            fs = _time(_ours("fs", x), repeats, clock)
            tc_step = _torchcomp(x)
            tc = None if tc_step is None else _time(tc_step, repeats, clock)
            rows.append(dict(seconds=seconds, td_ms=td, fs_ms=fs, torchcomp_ms=tc, fs_over_td=fs / td,
                             torchcomp_over_td=None if tc is None else tc / td))
        return rows
    finally:
        torch.set_num_threads(torch_threads)
        numba.set_num_threads(numba_threads)


def to_markdown(rows: list[dict]) -> str:
    lines = ["| audio (s) | TD (ms) | FS (ms) | torchcomp (ms) | FS / TD | torchcomp / TD |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        tc = "n/a" if r["torchcomp_ms"] is None else f"{r['torchcomp_ms']:.0f}"
        tcr = "n/a" if r["torchcomp_over_td"] is None else f"{r['torchcomp_over_td']:.2f}"
        lines.append(f"| {r['seconds']:g} | {r['td_ms']:.0f} | {r['fs_ms']:.0f} | {tc} | {r['fs_over_td']:.2f} | {tcr} |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s of audio, one repeat")
    parser.add_argument("--process-time", action="store_true", help="time CPU time, not wall-clock time")
    args = parser.parse_args()
    clock = "process CPU time" if args.process_time else "wall clock"
    print(f"compressor, one training step, float32, 1 thread, {SAMPLE_RATE} Hz, {clock}\n")
    print(to_markdown(run(quick=args.quick, process_time=args.process_time)))
