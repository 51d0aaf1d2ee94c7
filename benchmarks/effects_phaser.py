"""Phaser: time of one training step (forward + ESR loss + backward), single thread.

10 s of audio at 44.1 kHz, batch 1, mono, float32 and float64, for the TD forms (LFO hop 10 ms)
and the FS twin at hop 10 / 40 / 160 ms (window 4 hop). Prints a markdown table.

``td_exact`` runs the all-pass chain and its delay-free loop in the state-space Numba kernel
(`zoo.filters.kernels.numba_allpass_loop`: one forward sweep, one adjoint sweep that re-runs the forward from
checkpoints). On the 2-core test machine (shared, so noisy: ranges over three runs, min of 5
repeats each) a float32 / float64 td_exact step took 224-311 / 268-420 ms with the earlier
composed order-K form and 47-72 / 56-91 ms with the kernel, about 4.5x faster (td_regrouped:
135-206 / 277-407 ms).

The authors' code path: ``td_regrouped@torchlpc`` is the same regrouped model with its 6th-order
all-pole run by ``torchlpc.sample_wise_lpc`` (`_authors_path.authors_allpole`), when torchlpc is
installed; ``x ours`` is that row's time over ours.

Usage: ``python benchmarks/effects_phaser.py [--quick] [--methods td_exact fs ...]``
"""

from __future__ import annotations

import argparse
import time

import torch

from _authors_path import authors_allpole, load_torchlpc
from zoo.effects.phasers import PHASER_METHODS, Phaser

AUTHORS = "td_regrouped@torchlpc"

SAMPLE_RATE = 44100


def _configs(quick: bool, methods: tuple[str, ...]):
    hops_ms = (10,) if quick else (10, 40, 160)
    out = [("td_regrouped", 10), ("td_exact", 10)]
    if load_torchlpc() is not None:
        out.append((AUTHORS, 10))
    out += [("fs", h) for h in hops_ms]
    return [(method, hop_ms) for method, hop_ms in out if method.split("@")[0] in methods]


def _step_seconds(model: Phaser, x: torch.Tensor, target: torch.Tensor, repeats: int) -> float:
    times = []
    for _ in range(repeats + 1):  # the first run warms up (Numba JIT, allocator)
        model.zero_grad(set_to_none=True)
        start = time.perf_counter()
        y = model(x)
        loss = (y - target).square().sum() / target.square().sum()
        loss.backward()
        times.append(time.perf_counter() - start)
    return min(times[1:])


def run(quick: bool = False, methods: tuple[str, ...] = PHASER_METHODS) -> list[dict]:
    """Time one training step per (method, hop, dtype); returns one dict per row.

    Args:
        quick: 1 s of audio, one repeat and only the 10 ms FS hop (a smoke run).
        methods: the phaser methods to time. Default all of `PHASER_METHODS`.

    Returns:
        ``[{"method", "hop_ms", "dtype", "seconds_audio", "step_ms"}, ...]``.
    """
    import numba

    threads = torch.get_num_threads(), numba.get_num_threads()
    torch.set_num_threads(1)
    numba.set_num_threads(1)
    seconds = 1.0 if quick else 10.0
    repeats = 1 if quick else 3
    rows = []
    try:
        for dtype in (torch.float32, torch.float64):
            gen = torch.Generator().manual_seed(0)
            x = torch.randn(1, 1, int(seconds * SAMPLE_RATE), generator=gen).to(dtype)
            for method, hop_ms in _configs(quick, tuple(methods)):
                torch.manual_seed(0)
                hop = round(hop_ms * 1e-3 * SAMPLE_RATE)
                model_method = method.split("@")[0]
                target_model = Phaser(SAMPLE_RATE, hop=hop, method=model_method, lfo_rate_hz=0.5, g2=0.5).to(dtype)
                with torch.no_grad():
                    target = target_model(x)
                model = Phaser(SAMPLE_RATE, hop=hop, method=model_method).to(dtype)
                if method == AUTHORS:
                    with authors_allpole():
                        step = _step_seconds(model, x, target, repeats)
                else:
                    step = _step_seconds(model, x, target, repeats)
                rows.append(
                    {"method": method, "hop_ms": hop_ms, "dtype": str(dtype).replace("torch.", ""),
                     "seconds_audio": seconds, "step_ms": 1e3 * step}
                )
    finally:
        torch.set_num_threads(threads[0])
        numba.set_num_threads(threads[1])
    return rows


def markdown(rows: list[dict]) -> str:
    """One row per configuration; ``authors' / this`` is the torchlpc row's time over this row's."""
    authors = {r["dtype"]: r["step_ms"] for r in rows if r["method"] == AUTHORS}
    lines = ["| method | hop (ms) | dtype | audio (s) | step (ms) | authors' path / this |", "|---|---|---|---|---|---|"]
    for r in rows:
        ref = authors.get(r["dtype"])
        ratio = f"{ref / r['step_ms']:.2f}" if ref is not None and r["method"].startswith("td") else ""
        lines.append(
            f"| {r['method']} | {r['hop_ms']} | {r['dtype']} | {r['seconds_audio']:g} | {r['step_ms']:.1f} | {ratio} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--methods", nargs="+", choices=PHASER_METHODS, default=list(PHASER_METHODS))
    args = parser.parse_args()
    print(markdown(run(args.quick, tuple(args.methods))))
