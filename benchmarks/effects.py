"""One training step (forward + backward), single thread, float32: every effect, TD vs FS, side by side.

Runs the three per-effect benchmarks in one process and prints their tables:

* synth, batch 34 x 6000 samples at 48 kHz: TD vs FS for N_win 128 ... 4096 vs the LSTM baseline
  (paper, M1 Pro: TD 32 ms; FS 57-1795 ms; LSTM 1322 ms);
* compressor on 30/60/120 s at 44.1 kHz: TD vs FS vs the authors' code path (torchcomp)
  (paper: TD 65/118/239 ms vs FS 163/321/664 ms);
* phaser on 10 s: TD (regrouped, exact) vs FS.

Usage: ``python benchmarks/effects.py [--quick] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import effects_compressor  # noqa: E402
import effects_phaser  # noqa: E402
import effects_synth  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one repeat")
    parser.add_argument("--out", default=None, help="also write the tables to this markdown file")
    args = parser.parse_args()
    sections = []
    rows = effects_synth.run(quick=args.quick)
    sections.append(f"### Synth (batch {rows[0]['batch']} x {rows[0]['num_samples']}, 48 kHz)\n\n" + effects_synth.markdown(rows))
    sections.append("### Compressor (44.1 kHz)\n\n" + effects_compressor.to_markdown(effects_compressor.run(quick=args.quick)))
    sections.append("### Phaser\n\n" + effects_phaser.markdown(effects_phaser.run(quick=args.quick)))
    text = "One training step (forward + backward), float32 unless said, 1 thread.\n\n" + "\n\n".join(sections) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
