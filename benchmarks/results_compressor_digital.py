"""Results, experiment 1: compressor with digital targets (paper Table 5, FF-A/B/C), TD vs FS.

Targets: our own `Compressor` (TD, float64) with α_rms = 0.03, CT = -20 dB, γ = 0 dB and
FF-A: R 3, attack/release 1/100 ms; FF-B: R 5, 30/30 ms; FF-C: R 8, 0.1/200 ms, on generated
programme material (`zoo.data.generate.music_mix`, 16 kHz; train 8 s, test on a different 4 s mix).
TD and FS start from the paper's init and use the paper's optimiser (see `_compressor_fit`).
Also reports the CPU time to reach a test ESR threshold (experiment 5, second part).

Usage: ``python benchmarks/results_compressor_digital.py [--quick]``; writes
docs/results/compressor_digital.md (+ .json) and docs/img/compressor_digital_static.png.
"""

from __future__ import annotations

import argparse

import torch

from _compressor_fit import PAPER_INIT, data, fit, param_cell, plot_static_curves, time_to_reach
from _results_common import fmt, markdown_table, single_thread, write_result
from zoo.effects.compressors import Compressor

SAMPLE_RATE = 16000
SETTINGS = {  # name: (ratio, attack_ms, release_ms)
    "FF-A": (3.0, 1.0, 100.0),
    "FF-B": (5.0, 30.0, 30.0),
    "FF-C": (8.0, 0.1, 200.0),
}
PAPER_ESR = {"FF-A": (2.362, 0.015), "FF-B": (0.00780, 0.00785), "FF-C": (4.649, 0.017)}  # (FS, TD) %
THRESHOLDS_PCT = (1.0, 0.1)


def main(quick: bool = False) -> None:
    single_thread()
    steps = 150 if quick else 1000
    train_s, test_s = (3.0, 2.0) if quick else (8.0, 4.0)
    x_train, x_test = data(SAMPLE_RATE, train_s, test_s)
    results, panels = {}, []
    for name, (ratio, attack_ms, release_ms) in SETTINGS.items():
        target = Compressor.from_physical(SAMPLE_RATE, -20.0, ratio, attack_ms, release_ms, rms_coef=0.03).double()
        with torch.no_grad():
            y_train = target(x_train.double()).float()
            y_test = target(x_test.double()).float()
        results[name] = {m: fit(m, SAMPLE_RATE, x_train, y_train, x_test, y_test, steps) for m in ("td", "fs")}
        results[name]["target"] = {"threshold_db": -20.0, "ratio": ratio, "attack_ms": attack_ms,
                                   "release_ms": release_ms, "rms_coef": 0.03, "makeup_gain_db": 0.0}
        truth = [v.tolist() for v in target.float().static_curve()]
        panels.append((f"{name}: R {ratio:g}, {attack_ms:g}/{release_ms:g} ms", truth,
                       {"TD": results[name]["td"]["static_curve"], "FS": results[name]["fs"]["static_curve"]}))
        print(name, {m: results[name][m]["test_esr_pct"] for m in ("td", "fs")}, flush=True)

    rows = []
    for name, r in results.items():
        fs_p, td_p = PAPER_ESR[name]
        for m, paper in (("td", td_p), ("fs", fs_p)):
            rows.append([name, m.upper(), fmt(r[m]["test_esr_pct"]), fmt(paper), param_cell(r[m]["params"])
                         + (" (diverged)" if r[m]["diverged"] else "")])
    table = markdown_table(["set", "method", "test ESR % (ours)", "test ESR % (paper)", "learned parameters (ours)"], rows)
    targets = markdown_table(
        ["set", "true parameters"],
        [[n, param_cell(r["target"])] for n, r in results.items()],
    )
    speed_rows = []
    for name, r in results.items():
        for thr in THRESHOLDS_PCT:
            td_t, fs_t = time_to_reach(r["td"]["curve"], thr), time_to_reach(r["fs"]["curve"], thr)
            speed_rows.append([name, f"< {thr:g} %", "not reached" if td_t is None else f"{td_t:.1f}",
                               "not reached" if fs_t is None else f"{fs_t:.1f}"])
    per_step = markdown_table(
        ["set", "TD CPU ms / step", "FS CPU ms / step"],
        [[n, f"{r['td']['cpu_ms_per_step']:.1f}", f"{r['fs']['cpu_ms_per_step']:.1f}"] for n, r in results.items()],
    )
    speed = markdown_table(["set", "test ESR target", "TD CPU s to reach", "FS CPU s to reach"], speed_rows)
    init = ", ".join(f"{k} {v:g}" for k, v in PAPER_INIT.items())
    text = f"""### Compressor, digital targets (paper Table 5, FF-A/B/C)

Setting: {SAMPLE_RATE} Hz mono, train on {train_s:g} s of `music_mix` (seed 0, loud/quiet sections of 0.5-2 s), test on a
different {test_s:g} s mix (seed 1); targets rendered by our own `Compressor` (TD, float64). Both methods start
from the paper's init ({init}), {steps} full-batch steps of SGD (lr 100, momentum 0.9) with a cosine
decay of the learning rate, MAE after the pre-filter (1 - z^-1)/(1 - 0.995 z^-1); float32 models
(FS filters in float64 internally). Paper: 44.1 kHz, real-music SignalTrain input, >= 1000 steps.

{table}

True parameters:

{targets}

Training cost on this machine (CPU time of one thread, `time.process_time`, {train_s:g} s at {SAMPLE_RATE} Hz):

{per_step}

CPU time of training (evaluation excluded; test ESR checked every 25 steps) until the test ESR first
falls below a threshold:

{speed}

![static curves](img/compressor_digital_static{'_quick' if quick else ''}.png)
"""
    write_result("compressor_digital", text, results, quick)
    plot_static_curves(panels, "compressor_digital_static", quick)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s of audio, 150 steps")
    main(parser.parse_args().quick)
