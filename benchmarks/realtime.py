"""Real-time streaming speed of the shipped effects, 1 thread: eager (Numba, torch backend) vs exported TorchScript.

For each shipped audio effect (the synth has no audio-in stream) and block size, a stereo signal of
``--seconds`` (default 30 s) at the checkpoint's sample rate runs block by block through

* ``eager numba``: the effect's own ``stream`` (what ``zoo apply`` runs): for the shipped structures
  the lean Numba path of `zoo.effects.lean_stream`;
* ``eager torch``: the general path, ``process_block``, under ``zoo.filters.use_backend("torch")``
  (the torch backend reaches only what is built on ``zoo.filters.allpole``: the phaser's output
  biquad; its all-pass chain and the compressor's kernels have Numba implementations only);
* ``exported``: the TorchScript file of ``zoo export --format torchscript``, loaded with ``torch.jit.load``.

Reported: real-time factor RTF = audio seconds / compute seconds over the whole signal, the p50 and
p99 latency of one block (ms, and % of the block's duration), and, for the exported file, the
equality error max |exported - eager| / max |eager| over the whole signal. Each mode is warmed up on
20 blocks first (TorchScript's profiling executor optimises on its first calls), then reset.

Usage: ``python benchmarks/realtime.py [--seconds 30] [--blocks 64 128 256 512 2048] [--out FILE]``.
"""

from __future__ import annotations

import os

os.environ["NUMBA_NUM_THREADS"] = "1"  # before numba is imported (by zoo)

import argparse  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

from zoo import hub  # noqa: E402
from zoo.export import export_command  # noqa: E402
from zoo.filters import use_backend  # noqa: E402

SHIPPED = ("phaser-pedalboard", "compressor-pedalboard")


def signal(sample_rate: float, seconds: float, seed: int = 0) -> torch.Tensor:
    """Stereo noise bursts with a level envelope (gain changes both ways), (2, T) float32."""
    gen = torch.Generator().manual_seed(seed)
    n = int(round(seconds * sample_rate))
    t = torch.arange(n, dtype=torch.float64) / sample_rate
    level = (0.03 + (torch.sin(2 * math.pi * 0.9 * t) > 0.2).double()) * (1.0 + 0.5 * torch.sin(2 * math.pi * 4.0 * t))
    return (0.3 * level * torch.randn(2, n, generator=gen, dtype=torch.float64)).float()


def timed(process, reset, x: torch.Tensor, block: int) -> tuple[torch.Tensor, list[float]]:
    """Run ``process`` over x block by block after a 20-block warm-up; returns (output, per-block seconds)."""
    with torch.inference_mode():
        for i in range(0, min(x.shape[1], 20 * block), block):
            process(x[:, i : i + block])
        reset()
        outs, times = [], []
        for i in range(0, x.shape[1], block):
            chunk = x[:, i : i + block]
            start = time.perf_counter()
            out = process(chunk)
            times.append(time.perf_counter() - start)
            outs.append(out)
    return torch.cat(outs, 1), times


def summary(times: list[float], block: int, sample_rate: float, seconds: float) -> dict[str, float]:
    t = torch.tensor(times, dtype=torch.float64)
    block_ms = 1e3 * block / sample_rate
    p50, p99 = (1e3 * float(torch.quantile(t, q)) for q in (0.5, 0.99))
    return {"rtf": seconds / float(t.sum()), "p50_ms": p50, "p99_ms": p99, "block_ms": block_ms,
            "p99_pct": 100 * p99 / block_ms}


def run(seconds: float, blocks: list[int]) -> list[dict]:
    torch.set_num_threads(1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in SHIPPED:
            effect = hub.from_pretrained(name).eval()
            sr = effect.sample_rate
            x = signal(sr, seconds)
            path = Path(tmp) / f"{name}.pt"
            export_command(name, "torchscript", path)
            exported = torch.jit.load(str(path))

            def eager(chunk: torch.Tensor) -> torch.Tensor:
                return effect.stream(chunk[None])[0]

            general_state: dict = {"state": None}

            def eager_torch(chunk: torch.Tensor) -> torch.Tensor:
                with use_backend("torch"):
                    out, general_state["state"] = effect.process_block(chunk[None], general_state["state"])
                return out[0]

            def reset_general() -> None:
                general_state["state"] = None

            for block in blocks:
                reference = None
                for mode, process, reset in (("eager numba", eager, effect.reset_stream),
                                             ("eager torch", eager_torch, reset_general),
                                             ("exported", exported, exported.reset)):
                    out, times = timed(process, reset, x, block)
                    row = {"effect": name, "sample_rate": sr, "block": block, "mode": mode,
                           **summary(times, block, sr, x.shape[1] / sr)}
                    if mode == "eager numba":
                        reference = out.double()
                    elif mode == "exported":
                        row["error"] = float((out.double() - reference).abs().max() / reference.abs().max())
                    rows.append(row)
                    print(f"{name} {block:5d} {mode:12s} RTF {row['rtf']:8.1f}  p99 {row['p99_ms']:.3f} ms "
                          f"({row['p99_pct']:.1f} %)", file=sys.stderr)
    return rows


def markdown(rows: list[dict], seconds: float) -> str:
    lines = [
        f"Stereo, {seconds:g} s per run, 1 thread (torch.set_num_threads(1), NUMBA_NUM_THREADS=1), float32 audio.",
        "",
        "| effect | rate | block | mode | RTF | p50 (ms) | p99 (ms) | p99 / block | exported vs eager |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        err = f"{r['error']:.1e}" if "error" in r else ""
        lines.append(f"| {r['effect']} | {r['sample_rate']:g} | {r['block']} ({r['block_ms']:.2f} ms) | {r['mode']} | "
                     f"{r['rtf']:.1f} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['p99_pct']:.1f} % | {err} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="signal length (s), default 30")
    parser.add_argument("--blocks", type=int, nargs="+", default=[64, 128, 256, 512, 2048])
    parser.add_argument("--out", default=None, help="also write the table to this markdown file")
    args = parser.parse_args()
    text = markdown(run(args.seconds, args.blocks), args.seconds)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
