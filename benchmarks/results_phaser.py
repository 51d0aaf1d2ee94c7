"""Results, experiment 3: phaser (paper Table 2), TD (regrouped and exact) vs FS training, each tested
with FS and TD inference, on known digital phasers (with and without feedback) and pedalboard.Phaser.

Setting (see `_phaser_fit` for targets, init and optimiser): 16 kHz mono, a 2.5 s chirp train for
training followed by 3 s of plucks; test ESR on the training segment plus the following audio (the
paper's protocol, LFO phase aligned) and on the following audio alone.

Usage: ``python benchmarks/results_phaser.py [--quick]``; writes docs/results/phaser.md (+ .json) and
docs/img/phaser_lfo.png.
"""

from __future__ import annotations

import argparse

import torch

from _phaser_fit import SAMPLE_RATE, evaluate, grid_init, known_target, material, pedalboard_target, train
from _results_common import fmt, markdown_table, pyplot, save_figure, single_thread, write_result
from zoo.models.lfo import break_frequency_hz

# name: (kind, rate_hz, g2 or pedalboard feedback, hop_ms); hop = the paper's window / 4 per rate class
TARGETS = {
    "A": ("ours", 2.3, 0.0, 10), "B": ("ours", 0.6, 0.0, 40), "C": ("ours", 0.2, 0.0, 160),
    "D": ("ours", 1.4, 0.6, 10), "E": ("ours", 0.4, 0.6, 40), "F": ("ours", 0.15, 0.6, 160),
    "PB-1": ("pedalboard", 0.6, 0.0, 40), "PB-2": ("pedalboard", 1.4, 0.5, 10),
}
PAPER = {  # Table 2: (FS-trained: FS-inf, TD-inf), (TD-trained: FS-inf, TD-inf), ESR %
    "A": ((1.46, 1.53), (1.34, 1.36)), "B": ((1.37, 1.49), (1.35, 1.34)), "C": ((1.62, 1.80), (2.56, 2.23)),
    "D": ((22.47, 23.47), (21.64, 23.33)), "E": ((15.43, 16.69), (13.63, 13.87)), "F": ((8.79, 9.83), (7.83, 8.79)),
}
METHODS = ("fs", "td_regrouped", "td_exact")


def main(quick: bool = False) -> None:
    single_thread()
    train_s, extra_s = (1.0, 1.0) if quick else (2.5, 3.0)
    steps = 40 if quick else 250
    names = ("A", "D", "PB-1") if quick else tuple(TARGETS)
    x = material(train_s, extra_s)
    n_train = int(round(train_s * SAMPLE_RATE))
    results, curves = {}, {}
    for name in names:
        kind, rate, g2, hop_ms = TARGETS[name]
        hop = int(round(hop_ms * SAMPLE_RATE / 1000))
        stages = 4
        if kind == "ours":
            target = known_target(rate, g2)
            with torch.no_grad():
                y = target(x)
            curves[name] = {"true": target.control_curves(duration_s=(train_s + extra_s))["break_hz"]}
        else:
            stages = 6  # JUCE's dsp::Phaser has 6 first-order all-pass stages
            y = pedalboard_target(x, rate_hz=rate, depth=0.5, centre_frequency_hz=1300.0, feedback=g2, mix=0.5)
        r0, ph0 = grid_init(x[..., :n_train], y[..., :n_train], hop, stages, rates=[rate])
        results[name] = {"kind": kind, "rate_hz": rate, "g2": g2, "hop_ms": hop_ms, "init_phase": ph0}
        for method in METHODS:
            fit = train(method, x[..., :n_train], y[..., :n_train], hop=hop, rate_hz=r0, phase_rad=ph0,
                        steps=steps, num_stages=stages)
            ev = evaluate(fit["model"], x, y, n_train)
            results[name][method] = {"test": ev, "final_train_esr_pct": 100 * fit["losses"][-1],
                                     "cpu_ms_per_step": fit["cpu_ms_per_step"], "diverged": fit["diverged"],
                                     "params": fit["model"].learned_parameters()}
            if kind == "ours":
                t_s, p = fit["model"].control_curves(duration_s=(train_s + extra_s))["allpass_coef"]
                curves[name][method] = (t_s, break_frequency_hz(p, SAMPLE_RATE))
            print(name, method, {k: round(v, 4) for k, v in ev.items()}, flush=True)

    def cell(r, m, held=False):
        suffix = "_heldout" if held else ""
        t = r[m]["test"]
        return f"{fmt(t['fs' + suffix])} / {fmt(t['td_regrouped' + suffix])} / {fmt(t['td_exact' + suffix])}" + (
            " (diverged)" if r[m]["diverged"] else "")

    rows, held_rows, param_rows = [], [], []
    for name, r in results.items():
        setting = (f"ours, {r['rate_hz']:g} Hz, g2 {r['g2']:g}" if r["kind"] == "ours"
                   else f"pedalboard, {r['rate_hz']:g} Hz, feedback {r['g2']:g}")
        paper = PAPER.get(name)
        paper_cell = "—" if paper is None else f"FS-tr {paper[0][0]} / {paper[0][1]}; TD-tr {paper[1][0]} / {paper[1][1]}"
        rows.append([name, setting, r["hop_ms"], cell(r, "fs"), cell(r, "td_regrouped"), cell(r, "td_exact"), paper_cell])
        held_rows.append([name, cell(r, "fs", True), cell(r, "td_regrouped", True), cell(r, "td_exact", True)])
        for m in METHODS:
            p = r[m]["params"]
            param_rows.append([name, m, f"{p['lfo_rate_hz']:.3f}", f"{p['g1']:.3f}", f"{p['g2']:.3f}",
                               f"{r[m]['cpu_ms_per_step']:.0f}"])
    table = markdown_table(
        ["set", "target", "hop (ms)", "FS-trained", "TD-regrouped-trained", "TD-exact-trained",
         "paper (FS-inf / TD-inf)"], rows)
    held = markdown_table(["set", "FS-trained", "TD-regrouped-trained", "TD-exact-trained"], held_rows)
    params = markdown_table(["set", "trained with", "LFO rate (Hz)", "g1", "g2", "CPU ms / step"], param_rows)
    text = f"""### Phaser (paper Table 2)

Setting: {SAMPLE_RATE} Hz mono; train on a {train_s:g} s chirp train, test on it plus the following
{extra_s:g} s of plucks (`chirp_then_pluck`); {steps} full-batch Adam steps (lr 0.02, cosine decay,
gradient clipping 0.5), float64, ESR loss. Targets A-F: our own `Phaser` (td_exact, 4 stages) with a
known cosine LFO (break frequency 150-2500 Hz), g1 0.7, g2 0 (A-C) or 0.6 (D-F); PB-1/2:
`pedalboard.Phaser` (JUCE, depth 0.5, centre 1300 Hz, mix 0.5), fitted with 6 stages. LFO rate
initialised at the true (nominal) rate, phase from a grid of 8 (see `_phaser_fit`). Paper: the EHX Small
Stone recordings (44.1 kHz), 5-25 s training segments, 10k steps, best seed; SS-C/F LFO 0.09/0.06 Hz,
ours 0.2/0.15 Hz because our training segment is only {train_s:g} s.

Each cell: test ESR (%) with FS / TD-regrouped / TD-exact inference (train segment + following audio).

{table}

The same models on the following audio only (never seen in training):

{held}

Learned LFO rate and gains (true: A-F g1 0.7, g2 as listed; rates as listed):

{params}

![LFO break frequency, true vs learned](img/phaser_lfo{'_quick' if quick else ''}.png)
"""
    for r in results.values():
        for m in METHODS:
            r[m].pop("params_tensor", None)
    write_result("phaser", text, results, quick)

    plt = pyplot()
    digital = [n for n in names if TARGETS[n][0] == "ours"]
    fig, axes = plt.subplots(len(digital), 1, figsize=(6.5, 1.5 * len(digital) + 0.5), sharex=True)
    axes = [axes] if len(digital) == 1 else axes
    for ax, name in zip(axes, digital):
        c = curves[name]
        ax.plot(c["true"][0], c["true"][1], "k-", lw=3, alpha=0.3, label="true")
        for m, style in zip(METHODS, ("C3:", "C2-.", "C0--")):
            ax.plot(c[m][0], c[m][1], style, lw=1.2, label=m + "-trained")
        ax.axvline(train_s, color="0.5", lw=0.8)
        ax.set_yscale("log")
        ax.set_ylabel(f"{name}: f_b (Hz)", fontsize=8)
    axes[0].legend(fontsize=6, ncol=4, loc="upper right")
    axes[-1].set_xlabel("time (s); grey line: end of the training segment")
    fig.tight_layout()
    save_figure(fig, "phaser_lfo", quick)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 s + 1 s of audio, 40 steps, sets A, D, PB-1")
    main(parser.parse_args().quick)
