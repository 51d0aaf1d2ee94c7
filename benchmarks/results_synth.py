"""Results, experiment 4: TB-303-style synth (paper Table 3): LP and Coeff filters, TD vs FS at several
windows vs the LSTM-64 baseline, test MSS (auraloss MultiResolutionSTFTLoss).

Data: `zoo.data.generate.acid_notes` rendered by `zoo.data.render.render_acid_notes` (the paper's
source model, a 24 dB/oct pedalboard LadderFilter whose cutoff follows a decaying envelope, updated every
32 samples with reset=False, then tanh). Scaled down: 24 kHz, 3000-sample notes (the paper's 125 ms
16th note at half the rate), 24 training and 16 test notes, encoder width 32 and 3 dilated blocks,
full-batch AdamW (lr 1e-3), gradient clipping 0.5, float32, MSS loss, 200 steps (= 200 epochs, the
paper's count). FS windows 128 / 512 / 2048 samples at 24 kHz span the same time as 256 / 1024 / 4096 at
the paper's 48 kHz.

Usage: ``python benchmarks/results_synth.py [--quick]``; writes docs/results/synth.md (+ .json) and
docs/img/synth_cutoff.png.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from _results_common import CpuTimer, fmt, markdown_table, pyplot, save_figure, single_thread, write_result
from zoo.data.generate import acid_notes
from zoo.data.render import acid_cutoff_hz, render_acid_notes
from zoo.effects.synth import LSTMSynth, SynthModel

SAMPLE_RATE = 24000
NOTE_SAMPLES = 3000
PAPER_MSS = {("coeff", "td"): "1.38", ("coeff", "fs"): "1.49-1.66", ("lp", "td"): "1.56", ("lp", "fs"): "1.82-1.96",
             ("lstm", "td"): "1.76"}


def make_batch(notes, audio) -> dict:
    return {
        "target": torch.from_numpy(np.array(audio)).float().unsqueeze(1),
        "f0_hz": torch.tensor([n.f0_hz for n in notes], dtype=torch.float32),
        "note_on_samples": torch.tensor([n.note_on_samples for n in notes]),
    }


def main(quick: bool = False) -> None:
    import auraloss

    single_thread()
    n_train, n_test = (8, 4) if quick else (24, 16)
    steps = 20 if quick else 200
    windows = (512,) if quick else (128, 512, 2048)
    notes = acid_notes(SAMPLE_RATE, n_train + n_test, seed=0, note_samples=NOTE_SAMPLES)
    audio = render_acid_notes(notes, SAMPLE_RATE)
    train_b = make_batch(notes[:n_train], audio[:n_train])
    test_b = make_batch(notes[n_train:], audio[n_train:])
    mss = auraloss.freq.MultiResolutionSTFTLoss()
    configs = [(ft, "td", None) for ft in ("lp", "coeff")] + [(ft, "fs", w) for ft in ("lp", "coeff") for w in windows]
    configs.append(("lstm", "td", None))
    results, cutoffs = {}, {}
    for filter_type, method, n_win in configs:
        torch.manual_seed(0)
        if filter_type == "lstm":
            model = LSTMSynth(SAMPLE_RATE, encoder_width=32, encoder_layers=3)
        else:
            model = SynthModel(SAMPLE_RATE, method, filter_type, n_win=n_win or 1024, encoder_width=32, encoder_layers=3)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        cpu, losses = 0.0, []
        for _ in range(steps):
            with CpuTimer() as t:
                opt.zero_grad(set_to_none=True)
                loss = mss(model.forward_batch(train_b), train_b["target"])
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
                opt.step()
            cpu += t.seconds
            losses.append(float(loss.detach()))
        key = f"{filter_type}-{method}" + (f"-{n_win}" if n_win else "")
        with torch.no_grad():
            test = float(mss(model.forward_batch(test_b), test_b["target"]))
            test_td = None
            if method == "fs":
                model.method = "td"
                test_td = float(mss(model.forward_batch(test_b), test_b["target"]))
                model.method = "fs"
            if filter_type == "lp":
                t_s, cut = model.control_curves({k: v[:1] for k, v in test_b.items()})["cutoff_hz"]
                cutoffs[key] = (t_s.numpy(), cut.numpy())
        results[key] = {"filter": filter_type, "method": method, "n_win": n_win, "test_mss": test,
                        "test_mss_td_inference": test_td, "final_train_mss": losses[-1],
                        "cpu_ms_per_step": 1e3 * cpu / steps, "n_params": sum(p.numel() for p in model.parameters())}
        print(key, results[key], flush=True)

    rows = []
    for key, r in results.items():
        paper = PAPER_MSS.get((r["filter"], r["method"]), "")
        n_win_48k = "" if r["n_win"] is None else f"{r['n_win']} ({2 * r['n_win']} at 48 kHz)"
        rows.append([r["filter"], r["method"].upper(), n_win_48k, fmt(r["test_mss"]),
                     fmt(r["test_mss_td_inference"]) if r["test_mss_td_inference"] is not None else "",
                     fmt(r["final_train_mss"]), f"{r['cpu_ms_per_step']:.0f}", paper])
    table = markdown_table(["filter", "method", "N_win (24 kHz)", "test MSS (ours)", "FS-trained, TD inference",
                            "final train MSS", "CPU ms / step", "paper test MSS"], rows)
    n_params = {k: r["n_params"] for k, r in results.items() if k in ("lp-td", "lstm-td")}
    text = f"""### Synth, TB-303 style (paper Table 3)

Setting: {SAMPLE_RATE} Hz, {NOTE_SAMPLES}-sample notes, {n_train} training and {n_test} test notes from
`acid_notes` (seed 0) rendered through pedalboard's LadderFilter (LPF24, envelope-swept cutoff, block
32, reset=False) and tanh; encoder width 32, 3 blocks ({n_params.get('lp-td', 'n/a')} parameters for LP,
{n_params.get('lstm-td', 'n/a')} with the LSTM; paper: ~730K); {steps} full-batch AdamW steps (lr 1e-3),
clipping 0.5, float32, MSS loss (auraloss defaults). Paper: 48 kHz 6000-sample notes from a commercial
303 sample pack (42.5 s), batch 34, 200 epochs. Our target filter (a 4-pole ladder) is not in the model
class (a biquad), as in the paper. CPU ms / step: one thread, `time.process_time`, encoder + voice + loss.

{table}

![cutoff trajectory](img/synth_cutoff{'_quick' if quick else ''}.png)
"""
    write_result("synth", text, results, quick)

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3))
    note = notes[n_train]
    t_true = np.arange(note.num_samples) / SAMPLE_RATE
    ax.plot(t_true, acid_cutoff_hz(note, SAMPLE_RATE), "k-", lw=3, alpha=0.3, label="commanded ladder cutoff")
    for (key, (t_s, cut)), style in zip(cutoffs.items(), ("C0--", "C3:", "C2-.", "C1-", "C4--")):
        ax.plot(t_s, cut, style, lw=1.2, label=key)
    ax.axvline(note.note_on_samples / SAMPLE_RATE, color="0.6", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("time (s); grey line: note off")
    ax.set_ylabel("cutoff (Hz)")
    ax.set_title("first test note: LP biquad cutoff (learned) vs ladder cutoff (target)", fontsize=8)
    ax.legend(fontsize=6)
    fig.tight_layout()
    save_figure(fig, "synth_cutoff", quick)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 + 4 notes, 20 steps, one FS window")
    main(parser.parse_args().quick)
