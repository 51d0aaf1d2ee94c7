"""A/B of the effects' training-step times between this checkout and another one (e.g. a worktree of
an older commit), in alternating processes, so that this VM's speed shifts between processes hit both.

Each round runs one child process per checkout (``PYTHONPATH`` set to it); a child times one
forward + backward step of every configuration below (float32, 1 thread, median of ``--repeats``
after a warm-up) and prints JSON. The table gives, per configuration, the median over rounds for
each checkout and new / old. Configurations (the sizes of ``benchmarks/effects.py``):

* synth model (encoder + TD voice), lp and coeff, batch 34 x 6000 at 48 kHz;
* compressor TD on 30 s at 44.1 kHz;
* phaser ``td_exact`` and ``td_regrouped`` on 10 s at 44.1 kHz.

Only public API present in both checkouts is used (``zoo.effects``).
Usage: ``python benchmarks/effects_ab.py --old /tmp/old-worktree [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()


def _child(repeats: int) -> dict[str, float]:
    import numba
    import torch

    from zoo.effects import Compressor, Phaser, SynthModel

    torch.set_num_threads(1)
    numba.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    steps = {}
    synth_batch = {"target": 0.3 * torch.randn(34, 1, 6000, generator=gen),
                   "f0_hz": 40.0 + 200.0 * torch.rand(34, generator=gen),
                   "note_on_samples": torch.randint(3000, 6000, (34,), generator=gen)}
    for filter_type in ("lp", "coeff"):
        steps[f"synth {filter_type} td, 34 x 6000"] = (SynthModel(48000.0, "td", filter_type), synth_batch)
    audio = 0.3 * torch.randn(1, 1, 30 * 44100, generator=gen)
    steps["compressor td, 30 s"] = (Compressor(44100, threshold_db=-20.0, ratio=4.0), {"input": audio, "target": audio})
    audio10 = 0.3 * torch.randn(1, 1, 10 * 44100, generator=gen)
    for method in ("td_exact", "td_regrouped"):
        steps[f"phaser {method}, 10 s"] = (Phaser(44100, method=method), {"input": audio10, "target": audio10})
    out = {}
    for name, (effect, batch) in steps.items():
        def step():
            effect.zero_grad(set_to_none=True)
            (effect.forward_batch(batch) - batch["target"]).square().mean().backward()

        step()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        out[name] = 1e3 * statistics.median(times)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", help="the other checkout (a folder with zoo/)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.repeats)))
        return
    if not args.old or not (Path(args.old) / "zoo").is_dir():
        parser.error("--old must name a checkout with a zoo/ folder")
    trees = {"old": str(Path(args.old).resolve()), "new": str(HERE.parents[1])}
    results: dict[str, list[dict[str, float]]] = {k: [] for k in trees}
    for i in range(args.rounds):
        for label, tree in trees.items():
            env = dict(os.environ, PYTHONPATH=tree)
            proc = subprocess.run([sys.executable, str(HERE), "--child", "--repeats", str(args.repeats)],
                                  cwd=tree, env=env, capture_output=True, text=True, check=True)
            results[label].append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(f"round {i + 1}/{args.rounds}: {label} done", file=sys.stderr, flush=True)
    print("| configuration | old (ms) | new (ms) | new / old | old, rounds (min-max) | new, rounds (min-max) |")
    print("|---|---|---|---|---|---|")
    for name in results["old"][0]:
        olds = [r[name] for r in results["old"]]
        news = [r[name] for r in results["new"]]
        old, new = statistics.median(olds), statistics.median(news)
        print(f"| {name} | {old:.1f} | {new:.1f} | {new / old:.3f} | {min(olds):.1f}-{max(olds):.1f} "
              f"| {min(news):.1f}-{max(news):.1f} |")


if __name__ == "__main__":
    main()
