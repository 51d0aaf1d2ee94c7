"""Results, experiment 2: compressor fitted to a real compressor, pedalboard.Compressor (JUCE), TD vs FS.

Same data, init and optimiser as results_compressor_digital.py (16 kHz `music_mix`, train 8 s, test on
a different 4 s mix; paper init; SGD lr 100, momentum 0.9, cosine decay, pre-filtered MAE). Targets:
pedalboard.Compressor at three settings (threshold / ratio / attack / release). JUCE's compressor uses a
peak ballistics detector, ours an RMS one, so the parameters are not expected to match one to one; the
static curves are compared with JUCE's nominal hard-knee curve.

Usage: ``python benchmarks/results_compressor_real.py [--quick]``; writes docs/results/compressor_real.md
(+ .json) and docs/img/compressor_real_static.png.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from _compressor_fit import data, fit, param_cell, plot_static_curves
from _results_common import fmt, markdown_table, single_thread, write_result

SAMPLE_RATE = 16000
SETTINGS = {  # name: (threshold_db, ratio, attack_ms, release_ms)
    "PB-A": (-20.0, 4.0, 5.0, 50.0),
    "PB-B": (-25.0, 6.0, 1.0, 100.0),
    "PB-C": (-30.0, 10.0, 10.0, 200.0),
}


def render(x: torch.Tensor, threshold_db, ratio, attack_ms, release_ms) -> torch.Tensor:
    import pedalboard

    comp = pedalboard.Compressor(threshold_db=threshold_db, ratio=ratio, attack_ms=attack_ms, release_ms=release_ms)
    y = comp(x[0].numpy(), SAMPLE_RATE, reset=True)
    return torch.from_numpy(np.asarray(y, dtype=np.float32)).reshape(1, 1, -1)


def main(quick: bool = False) -> None:
    single_thread()
    steps = 150 if quick else 1000
    train_s, test_s = (3.0, 2.0) if quick else (8.0, 4.0)
    x_train, x_test = data(SAMPLE_RATE, train_s, test_s)
    results, panels = {}, []
    for name, setting in SETTINGS.items():
        y_train, y_test = render(x_train, *setting), render(x_test, *setting)
        results[name] = {m: fit(m, SAMPLE_RATE, x_train, y_train, x_test, y_test, steps) for m in ("td", "fs")}
        results[name]["identity_test_esr_pct"] = 100 * float((x_test - y_test).square().sum() / y_test.square().sum())
        thr, ratio = setting[0], setting[1]
        in_db = np.linspace(-80, 0, 321)
        truth = (in_db.tolist(), (in_db + np.minimum(0, (1 / ratio - 1) * (in_db - thr))).tolist())
        panels.append((f"{name}: {thr:g} dB, R {ratio:g}, {setting[2]:g}/{setting[3]:g} ms", truth,
                       {"TD": results[name]["td"]["static_curve"], "FS": results[name]["fs"]["static_curve"]}))
        print(name, {m: results[name][m]["test_esr_pct"] for m in ("td", "fs")}, flush=True)
    rows = []
    for name, r in results.items():
        thr, ratio, at, rt = SETTINGS[name]
        for m in ("td", "fs"):
            rows.append([name, f"{thr:g} dB, R {ratio:g}, {at:g}/{rt:g} ms", m.upper(), fmt(r[m]["test_esr_pct"]),
                         fmt(r["identity_test_esr_pct"]), param_cell(r[m]["params"])])
    table = markdown_table(["set", "pedalboard setting", "method", "test ESR % (ours)", "ESR % of dry input",
                            "learned parameters"], rows)
    text = f"""### Compressor, a real compressor: pedalboard.Compressor (JUCE)

Setting: as the digital targets ({SAMPLE_RATE} Hz, train {train_s:g} s, test a different {test_s:g} s
mix, paper init, {steps} SGD steps with cosine decay). "ESR % of dry input" is the test ESR of doing
nothing (y = x), for scale. Paper (LA-2A from SignalTrain, peak reduction 25/50/75, test ESR %):
FS 11.29 / 9.49 / 7.78, TD 10.58 / 9.36 / 7.64 (a different, analogue target; not directly comparable).

{table}

![static curves](img/compressor_real_static{'_quick' if quick else ''}.png)
"""
    write_result("compressor_real", text, results, quick)
    plot_static_curves(panels, "compressor_real_static", quick)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s of audio, 150 steps")
    main(parser.parse_args().quick)
