"""Assemble docs/results.md from the tables that the results_*.py scripts wrote under docs/results/.

Usage: ``python benchmarks/results_assemble.py`` (run by results_all.sh after the scripts).
"""

from __future__ import annotations

from _results_common import RESULTS_DIR, ROOT

SECTIONS = [
    ("compressor_digital", "1. Compressor, digital targets"),
    ("compressor_real", "2. Compressor, a real compressor"),
    ("phaser", "3. Phaser"),
    ("phaser_ablations", "3b. Phaser: hop size and float32"),
    ("synth", "4. Synth"),
    ("speed", "5. Speed"),
]

HEADER = """# Results: the paper's experiments with our zoo

Reproductions of the experiments of Yu et al., *Differentiable All-pole Filters for Time-varying Audio
Systems* (DAFx 2024) with `zoo.effects` (Compressor, Phaser, SynthModel/LSTMSynth), with the paper's
numbers beside ours. Every table below is written by one script (`benchmarks/results_<name>.py`, fixed
seeds, `--quick` for a smoke run); `bash benchmarks/results_all.sh` regenerates all of them and this
page. Plain PyTorch loops (full batch), one torch thread and one Numba thread, no GPU.

**How this differs from the paper (read before comparing numbers).** All runs were made on a shared
2-core x86 CPU machine with a budget of about 6 CPU-minutes per script, so the data and the training
were scaled down:

| experiment | paper | here |
|---|---|---|
| compressor | 44.1 kHz, SignalTrain music / LA-2A, >= 1000 full-batch steps | 16 kHz, generated `music_mix` (8 s train, 4 s different test mix), 1000 steps; digital targets from our own compressor; real target = pedalboard (JUCE) compressor instead of an LA-2A |
| phaser | EHX Small Stone recordings, 44.1 kHz, 5-25 s training, 10k Adam steps (lr 5e-4), best seed | 16 kHz, generated chirp train (2.5 s) + plucks (3 s), 250 Adam steps (lr 0.02, cosine decay); targets = our phaser with known settings, and pedalboard's phaser; LFO rate initialised at the true rate (oracle), phase by a grid search; slow LFOs 0.2 / 0.15 Hz instead of 0.09 / 0.06 Hz |
| synth | 48 kHz, 6000-sample notes from a 303 sample pack, ~730K-parameter encoder, batch 34, 200 epochs | 24 kHz, 3000-sample generated 303-style notes rendered by pedalboard's ladder filter, 24 train / 16 test notes, ~25K-parameter encoder, full batch, 200 steps |
| speed | M1 Pro, wall clock | shared x86 CPU, CPU time (`time.process_time`) |

Time measurements are CPU time of one thread (`time.process_time`), because wall-clock time on the shared
machine was noisy. Numbers from other runs of the same scripts may differ in the last digits (thread
scheduling does not change results, but BLAS/FFT reductions may).
"""


def main() -> None:
    parts = [HEADER]
    missing = []
    for stem, title in SECTIONS:
        path = RESULTS_DIR / f"{stem}.md"
        if not path.exists():
            missing.append(stem)
            parts.append(f"## {title}\n\n_Not produced: run `python benchmarks/results_{stem}.py`._\n")
            continue
        body = path.read_text().replace("](img/", "](img/")
        body = body.split("\n", 1)[1] if body.startswith("### ") else body
        parts.append(f"## {title}\n{body}")
    notes = ROOT / "docs" / "results" / "notes.md"
    if notes.exists():
        parts.append(notes.read_text())
    (ROOT / "docs" / "results.md").write_text("\n".join(parts).rstrip() + "\n")
    print("wrote docs/results.md" + (f" (missing: {', '.join(missing)})" if missing else ""))


if __name__ == "__main__":
    main()
