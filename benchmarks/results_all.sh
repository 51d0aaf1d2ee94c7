#!/usr/bin/env bash
# Regenerate every table and plot of docs/results.md (about 6 CPU-minutes per script, one thread each).
# Usage: bash benchmarks/results_all.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")"
for name in compressor_digital compressor_real phaser phaser_ablations synth speed; do
    echo "== results_${name}.py $*"
    python "results_${name}.py" "$@"
done
python results_assemble.py
