"""Results, experiment 5: time per training step, TD vs FS (paper Tables 4 and 7), CPU time.

Reuses the step builders of benchmarks/effects_synth.py and benchmarks/effects_compressor.py but
measures CPU time of this process (`time.process_time`, one torch and one Numba thread) instead of
wall-clock time, because the machine these ran on was shared. Median of the timed repeats after one
warm-up step.

* Synth: batch 34 x 6000 samples at 48 kHz, float32. "voice" = the voice alone (source, filter, tanh)
  from fixed encoder-rate controls, forward + backward; "full" = the whole step with the paper-size
  encoder (~730K parameters) and an MSE loss.
* Compressor: 30 / 60 / 120 s of audio at 44.1 kHz, float32, L1 loss, forward + backward.

Usage: ``python benchmarks/results_speed.py [--quick]``; writes docs/results/speed.md (+ .json).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import effects_compressor as ec
import effects_synth as es
from _results_common import markdown_table, single_thread, write_result
from zoo.effects.synth import LSTMSynth, SynthModel

PAPER_COMP = {30.0: (65, 163), 60.0: (118, 321), 120.0: (239, 664)}  # (TD, FS) ms, M1 Pro


def cpu_ms(step, repeats: int) -> float:
    step()
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        step()
        times.append(time.process_time() - t0)
    return 1e3 * statistics.median(times)


def main(quick: bool = False) -> None:
    single_thread()
    batch, n = (4, 6000) if quick else (34, 6000)
    windows = (128, 1024) if quick else (128, 256, 512, 1024, 2048, 4096)
    full_windows = (1024,) if quick else (256, 1024, 4096)
    repeats = 1 if quick else 2
    data = es._batch(batch, n)
    synth = []
    for ft in ("coeff", "lp"):
        for method, n_win in [("td", None)] + [("fs", w) for w in windows]:
            torch.manual_seed(0)
            model = SynthModel(es.SAMPLE_RATE, method, ft, n_win=n_win or 1024)
            voice = cpu_ms(es._voice_step(model, data), repeats)
            full = cpu_ms(es._model_step(model, data), repeats) if (method == "td" or n_win in full_windows) else None
            synth.append([ft, method, n_win, voice, full, es.PAPER_MS.get((ft, method, n_win))])
            print(synth[-1], flush=True)
    lstm = LSTMSynth(es.SAMPLE_RATE)
    synth.append(["-", "lstm", None, cpu_ms(es._voice_step(lstm, data), 1), None, es.PAPER_MS[("-", "lstm", None)]])
    print(synth[-1], flush=True)

    comp = []
    for seconds in ((5.0,) if quick else (30.0, 60.0, 120.0)):
        x = ec._signal(seconds)
        td, fs = cpu_ms(ec._ours("td", x), repeats), cpu_ms(ec._ours("fs", x), repeats)
        comp.append([seconds, td, fs])
        print(comp[-1], flush=True)

    s_rows = [[ft, m.upper() if m != "lstm" else "LSTM-64", w or "", f"{v:.0f}", "" if f is None else f"{f:.0f}",
               "" if p is None else p] for ft, m, w, v, f, p in synth]
    c_rows = [[f"{s:g}", f"{td:.0f}", f"{fs:.0f}", f"{fs / td:.2f}",
               *(f"{v}" for v in PAPER_COMP.get(s, ("", ""))),
               "" if s not in PAPER_COMP else f"{PAPER_COMP[s][1] / PAPER_COMP[s][0]:.2f}"] for s, td, fs in comp]
    text = f"""### Time per training step (paper Tables 4 and 7)

CPU time of one thread (`time.process_time`, median of {repeats} after a warm-up), float32, on this
project's shared x86 CPU machine; the paper's numbers are wall-clock on an Apple M1 Pro, one thread.

Synth, batch {batch} x {n} samples at 48 kHz. "voice" is forward + backward of the voice alone (what TD
and FS change; compare it with the paper), "full" adds the paper-size log-mel CNN encoder and the loss
(measured for TD and a few windows only). For the LSTM, "voice" is the source plus the LSTM-64.

{markdown_table(["filter", "method", "N_win", "voice CPU ms", "full step CPU ms", "paper ms (M1 Pro)"], s_rows)}

Compressor, 44.1 kHz mono, all six parameters learnable:

{markdown_table(["audio (s)", "TD CPU ms", "FS CPU ms", "FS / TD", "paper TD ms", "paper FS ms", "paper FS / TD"], c_rows)}
"""
    write_result("speed", text, {"synth": synth, "compressor": comp}, quick)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="batch 4, two windows, 5 s of compressor audio")
    main(parser.parse_args().quick)
