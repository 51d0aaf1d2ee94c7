"""Results, experiment 3 (ablations): phaser hop-size sweep (the paper's future work) for FS and TD
training, and float32 vs float64 training stability (how often float32 diverges, and why).

Setting as results_phaser.py (16 kHz, chirp train then plucks, known digital target, Adam lr 0.02 with
cosine decay, clipping 0.5), shorter: 2 s training segment + 2 s following audio, 120 steps.

* Hop sweep: target B (0.6 Hz, g2 0); the learner's LFO control hop L (TD: p interpolated linearly
  between frames; FS: STFT hop L, window 4L) in 5 ... 160 ms.
* Stability: a target whose break frequency range starts at 20 Hz (p near 0.99 at 16 kHz) with feedback
  g2 0.6; td_regrouped and td_exact trained in float32 and float64 from 4 seeds (the seed sets the
  random part of the MLP init and a phase offset). "Diverged": a non-finite loss or parameter.
* Why: the regrouped form filters with the all-pole D(z) - g2 N(z), D = (1 - p z^-1)^4, N = (p - z^-1)^4:
  a 4-fold pole near z = p. Rounding its coefficients to float32 (relative error ~6e-8) moves a
  4-fold root by ~(6e-8)^(1/4) ~ 0.016, so for p close to 1 a pole leaves the unit circle. The table gives
  the largest pole radius of the float32-rounded denominator.

Usage: ``python benchmarks/results_phaser_ablations.py [--quick]``; writes docs/results/phaser_ablations.md
(+ .json) and docs/img/phaser_hop.png.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch

from _phaser_fit import SAMPLE_RATE, evaluate, grid_init, known_target, material, train
from _results_common import fmt, markdown_table, pyplot, save_figure, single_thread, write_result
from zoo.effects.phasers import allpass_polynomials


def pole_radius(p: float, g2: float, dtype) -> float:
    den, num = allpass_polynomials(torch.tensor(p, dtype=torch.float64))
    a = (den - g2 * num).to(dtype).double().numpy()
    return float(np.abs(np.roots(a / a[0])).max())


def main(quick: bool = False) -> None:
    single_thread()
    train_s, extra_s = (1.0, 1.0) if quick else (2.0, 2.0)
    steps = 30 if quick else 120
    hops_ms = (10, 40) if quick else (5, 10, 20, 40, 80, 160)
    seeds = (0, 1) if quick else (0, 1, 2, 3)
    x = material(train_s, extra_s)
    n = int(round(train_s * SAMPLE_RATE))

    # hop sweep
    target = known_target(0.6, 0.0)
    with torch.no_grad():
        y = target(x)
    sweep = []
    for hop_ms in hops_ms:
        hop = int(round(hop_ms * SAMPLE_RATE / 1000))
        r0, ph0 = grid_init(x[..., :n], y[..., :n], hop, rates=[0.6])
        for method in ("fs", "td_exact"):
            fit = train(method, x[..., :n], y[..., :n], hop=hop, rate_hz=r0, phase_rad=ph0, steps=steps)
            ev = evaluate(fit["model"], x, y, n)
            sweep.append({"hop_ms": hop_ms, "method": method, "test": ev, "cpu_ms_per_step": fit["cpu_ms_per_step"],
                          "diverged": fit["diverged"]})
            print(sweep[-1], flush=True)

    # float32 vs float64
    low_target = known_target(1.0, 0.6, break_hz_range=(20.0, 1500.0))
    with torch.no_grad():
        y_low = low_target(x)
        p_max = float(low_target.allpass_frames(400).max())
    hop = 160
    r0, ph0 = grid_init(x[..., :n], y_low[..., :n], hop, rates=[1.0])
    stab = []
    for method in ("td_regrouped", "td_exact"):
        for dtype in (torch.float32, torch.float64):
            for seed in seeds:
                fit = train(method, x[..., :n], y_low[..., :n], hop=hop, rate_hz=1.0, phase_rad=ph0 + 0.3 * seed,
                            steps=steps, dtype=dtype, seed=seed)
                ok = not fit["diverged"]
                test = evaluate(fit["model"], x, y_low, n)["td_exact"] if ok else float("nan")
                p_learned = float(fit["model"].double().allpass_frames(400).max()) if ok else float("nan")
                stab.append({"method": method, "dtype": str(dtype).replace("torch.", ""), "seed": seed,
                             "diverged": fit["diverged"], "steps_done": len(fit["losses"]),
                             "final_loss": fit["losses"][-1], "test_esr_td_exact_pct": test, "max_p": p_learned})
                print(stab[-1], flush=True)
    why = [[f"{p:g}", fmt(pole_radius(p, 0.0, torch.float32), 6), fmt(pole_radius(p, 0.6, torch.float32), 6),
            fmt(pole_radius(p, 0.6, torch.float64), 6)] for p in (0.9, 0.95, 0.97, 0.98, 0.99, 0.995)]

    sweep_rows = [[s["hop_ms"], s["method"], fmt(s["test"]["fs"]), fmt(s["test"]["td_exact"]),
                   fmt(s["test"]["td_exact_heldout"]), f"{s['cpu_ms_per_step']:.0f}"] for s in sweep]
    stab_rows = []
    for method in ("td_regrouped", "td_exact"):
        for dtype in ("float32", "float64"):
            runs = [s for s in stab if s["method"] == method and s["dtype"] == dtype]
            div = sum(s["diverged"] for s in runs)
            ok = [s["test_esr_td_exact_pct"] for s in runs if not s["diverged"]]
            stab_rows.append([method, dtype, f"{div} / {len(runs)}",
                              ", ".join(f"{s['steps_done']}" for s in runs if s["diverged"]) or "—",
                              fmt(float(np.median(ok))) if ok else "n/a"])
    text = f"""### Phaser ablations: hop size, and float32 vs float64

Setting: {SAMPLE_RATE} Hz, {train_s:g} s chirp training segment + {extra_s:g} s plucks, {steps} Adam steps
(lr 0.02, cosine decay, clipping 0.5), float64 unless stated. Test ESR (%) on train + following audio.

**Hop-size sweep** (target B: 0.6 Hz, g2 0). TD: LFO frames every L, interpolated linearly to audio
rate; FS: STFT hop L, window 4L. The paper fixed L per LFO rate (10 / 40 / 160 ms) and left the sweep as
future work.

{markdown_table(["hop L (ms)", "trained with", "test ESR %, FS inference", "test ESR %, TD-exact inference",
                 "held-out only, TD-exact", "CPU ms / step"], sweep_rows)}

**float32 vs float64 training** (target: 1 Hz LFO, break-frequency range 20-1500 Hz, max p = {p_max:.4f}, g2 0.6;
LFO hop 10 ms; {len(seeds)} seeds each; the paper reports float32 training exploding when p > 0.98 and
trains TD in float64).

{markdown_table(["trained with", "dtype", "diverged", "steps before divergence", "median test ESR % (converged runs)"],
                stab_rows)}

Why: largest pole radius of the regrouped all-pole D(z) - g2 N(z) (a 4-fold pole at z = p for g2 = 0)
when its coefficients are rounded to float32 (float64 for reference):

{markdown_table(["p", "float32, g2 0", "float32, g2 0.6", "float64, g2 0.6"], why)}

![hop sweep](img/phaser_hop{'_quick' if quick else ''}.png)
"""
    write_result("phaser_ablations", text, {"sweep": sweep, "stability": stab, "why": why, "p_max": p_max}, quick)

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3))
    for method, style in (("fs", "C3o-"), ("td_exact", "C0s-")):
        pts = [(s["hop_ms"], s["test"]["td_exact"], s["test"]["fs"]) for s in sweep if s["method"] == method]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], style, label=f"{method}-trained, TD inference")
        ax.plot([p[0] for p in pts], [p[2] for p in pts], style[:2] + ":", alpha=0.6, label=f"{method}-trained, FS inference")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("hop L (ms)")
    ax.set_ylabel("test ESR (%)")
    ax.legend(fontsize=6)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, "phaser_hop", quick)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 s + 1 s, 30 steps, two hops, two seeds")
    main(parser.parse_args().quick)
