"""Fused effect kernels against the paths composed from `zoo.filters`, side by side (1 thread, CPU).

A fused kernel (one Numba sweep for a whole effect) stays only where it is at least 1.5x faster
than the composed path, in training or in streaming (issue 16). This prints, for each fused path:

* **training**: one forward + backward step, float32, the two alternated in every round (median of
  the rounds), so that a change of the machine's speed hits both alike. Composed = the same call
  inside ``zoo.filters.use_fused(False)``.
* **streaming**: 30 s of stereo at 44.1 kHz in 512-sample blocks, no gradient: ``Effect.stream``
  (the lean per-block Numba path) against the general block path (``process_block``).

and the shared primitives' CPU kernels against their composed (tensor-op) twin, which is what
CUDA and other devices run. Usage: ``python benchmarks/fused_vs_composed.py [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import numba
import torch

from zoo.effects import Compressor, Phaser, SynthModel
from zoo.filters import allpass_chain, allpass_feedback_loop, attack_release_smoother, use_backend, use_fused

SR = 44100


def _alternate(steps: dict[str, Callable[[], None]], rounds: int) -> dict[str, float]:
    """Median ms of each step, timed alternately; round 0 warms up."""
    times: dict[str, list[float]] = {k: [] for k in steps}
    for i in range(rounds + 1):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            if i:
                times[name].append(time.perf_counter() - start)
    return {k: 1e3 * statistics.median(v) for k, v in times.items()}


def _train_step(effect, batch: dict, fused: bool) -> Callable[[], None]:
    def step():
        effect.zero_grad(set_to_none=True)
        with use_fused(fused):
            y = effect.forward_batch(batch)
        (y - batch["target"]).square().mean().backward()

    return step


def _stream(effect, x: torch.Tensor, lean: bool) -> Callable[[], None]:
    def run():
        state = None
        with torch.no_grad():
            if lean:
                effect.reset_stream()
                for start in range(0, x.shape[-1], 512):
                    effect.stream(x[..., start:start + 512])
            else:
                for start in range(0, x.shape[-1], 512):
                    _, state = effect.process_block(x[..., start:start + 512], state)

    return run


def _primitive(fn: Callable[[], torch.Tensor], composed: bool) -> Callable[[], None]:
    def run():
        if composed:
            with use_backend("torch"):
                fn().sum().backward()
        else:
            fn().sum().backward()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter signals, 3 rounds")
    args = parser.parse_args()
    torch.set_num_threads(1)
    numba.set_num_threads(1)
    rounds = 3 if args.quick else 7
    seconds = 2.0 if args.quick else 10.0
    gen = torch.Generator().manual_seed(0)
    rows = []

    audio = 0.3 * torch.randn(4, 1, int(seconds * SR), generator=gen)
    comp = Compressor(SR, threshold_db=-20.0, ratio=4.0, attack_ms=5.0, release_ms=100.0)
    batch = {"input": audio, "target": audio}
    t = _alternate({"fused": _train_step(comp, batch, True), "composed": _train_step(comp, batch, False)}, rounds)
    rows.append(("compressor TD, training step", f"4 x {seconds:g} s", t["fused"], t["composed"]))

    n_synth = 6000
    synth = SynthModel(48000.0, "td", "lp")
    sbatch = {"target": 0.3 * torch.randn(34, 1, n_synth, generator=gen),
              "f0_hz": 40.0 + 200.0 * torch.rand(34, generator=gen),
              "note_on_samples": torch.randint(n_synth // 2, n_synth, (34,), generator=gen)}
    t = _alternate({"fused": _train_step(synth, sbatch, True), "composed": _train_step(synth, sbatch, False)}, rounds)
    rows.append(("synth model (encoder + TD voice, lp), training step", "34 x 6000", t["fused"], t["composed"]))
    voice = synth.voice
    frames = torch.zeros(34, n_synth // 32 + 1, voice.n_filter_controls, requires_grad=True)
    params = {n: torch.full((34,), 0.5, requires_grad=True) for n in voice.global_names}

    def voice_step(fused: bool) -> Callable[[], None]:
        def step():
            with use_fused(fused):
                y = voice(sbatch["f0_hz"], sbatch["note_on_samples"], n_synth, frames, params, method="td")
            y.square().mean().backward()

        return step

    t = _alternate({"fused": voice_step(True), "composed": voice_step(False)}, rounds)
    rows.append(("synth TD voice alone (lp), training step", "34 x 6000", t["fused"], t["composed"]))

    stereo = 0.3 * torch.randn(1, 2, int((5.0 if args.quick else 30.0) * SR), generator=gen)
    for name, effect in (("compressor", Compressor(SR, threshold_db=-20.0, ratio=4.0, attack_ms=5.0, release_ms=100.0)),
                         ("phaser (sweep, DF1)", Phaser(SR, lfo="sweep", num_stages=6, stage_form="df1"))):
        effect = effect.eval()
        t = _alternate({"lean": _stream(effect, stereo, True), "general": _stream(effect, stereo, False)},
                       max(2, rounds // 2))
        rows.append((f"{name}, streaming 512", f"{stereo.shape[-1] / SR:g} s stereo", t["lean"], t["general"]))

    n_time = int(seconds * SR)
    x = torch.randn(4, n_time, generator=gen)
    p = (0.9 * torch.rand(4, n_time, generator=gen)).requires_grad_()
    coef = (0.9 * torch.rand(4, n_time, 6, generator=gen)).requires_grad_()
    g2 = torch.full((4,), 0.3)
    g = torch.rand(4, n_time, generator=gen).requires_grad_()
    prims = {
        "allpass_feedback_loop (K=4), fwd+bwd": lambda: allpass_feedback_loop(x, p, g2),
        "allpass_chain (K=6, DF1), fwd+bwd": lambda: allpass_chain(x, coef, g2),
        "attack_release_smoother, fwd+bwd": lambda: attack_release_smoother(g, 0.3, 0.01),
    }
    for label, fn in prims.items():
        t = _alternate({"kernel": _primitive(fn, False), "composed": _primitive(fn, True)}, max(2, rounds // 2))
        rows.append((label, f"4 x {seconds:g} s", t["kernel"], t["composed"]))

    print("| path | size | fused / kernel (ms) | composed (ms) | composed / fused |")
    print("|---|---|---|---|---|")
    for label, size, fused_ms, composed_ms in rows:
        print(f"| {label} | {size} | {fused_ms:.1f} | {composed_ms:.1f} | {composed_ms / fused_ms:.2f}x |")


if __name__ == "__main__":
    main()
