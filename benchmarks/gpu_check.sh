#!/usr/bin/env bash
# GPU check for the Triton all-pole kernels, for a fresh CUDA machine with this repo checked out and
# torch (a CUDA build, which brings Triton) preinstalled. About 8 minutes at most:
#   1. install the package (+ dev extras when an index or a wheelhouse is reachable),
#   2. pytest tests/filters/internals/test_gpu_kernels.py tests/filters/test_allpass_primitives.py tests/filters/test_smoother_primitive.py -m gpu         -> $OUT/gpu_tests.txt
#   3. the benchmark vs torchlpc                          -> $OUT/gpu_bench.md
#   4. float32 error growth on the GPU (if time is left)  -> $OUT/gpu_error_growth.md
# Usage: OUT=/some/dir bash benchmarks/gpu_check.sh   (OUT defaults to ./out/gpu)
# Optional: WHEELHOUSE=/path/to/wheels (offline installs), PYTHON=python3, BENCH_BUDGET_S=200.
set -u
cd "$(dirname "$0")/.."
OUT="${OUT:-out/gpu}"
PYTHON="${PYTHON:-python}"
BENCH_BUDGET_S="${BENCH_BUDGET_S:-200}"
mkdir -p "$OUT"
START=$(date +%s)
elapsed() { echo $(( $(date +%s) - START )); }
log() { echo "[gpu_check +$(elapsed)s] $*" | tee -a "$OUT/gpu_check.log"; }

log "host: $(hostname); $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo 'nvidia-smi unavailable')"
"$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())" 2>&1 | tee -a "$OUT/gpu_check.log"

# 1. Install. Never let pip replace the preinstalled CUDA torch.
PIP_FLAGS=(--disable-pip-version-check -q)
if [ -n "${WHEELHOUSE:-}" ]; then PIP_FLAGS+=(--no-index --find-links "$WHEELHOUSE"); fi
if timeout 180 "$PYTHON" -m pip install "${PIP_FLAGS[@]}" -e ".[dev]" >>"$OUT/gpu_check.log" 2>&1; then
    log "installed -e .[dev]"
elif timeout 60 "$PYTHON" -m pip install "${PIP_FLAGS[@]}" --no-deps --no-build-isolation -e . >>"$OUT/gpu_check.log" 2>&1; then
    log "installed -e . without dependencies (no index reachable?)"
else
    log "pip install failed: using PYTHONPATH=$(pwd)"
fi
export PYTHONPATH="$(pwd)${PYTHONPATH:+:$PYTHONPATH}"
unset TRITON_INTERPRET
"$PYTHON" - <<'PY' 2>&1 | tee -a "$OUT/gpu_check.log"
import importlib
for name in ("triton", "numba", "torchlpc", "pytest", "hypothesis", "scipy"):
    try:
        module = importlib.import_module(name)
        print(f"  {name:10s} {getattr(module, '__version__', '?')}")
    except Exception as err:  # noqa: BLE001
        print(f"  {name:10s} MISSING ({type(err).__name__}: {err})")
PY

# 2. Real-CUDA tests (they compile the kernels; Triton caches them on disk for step 3).
log "pytest -m gpu"
timeout 240 "$PYTHON" -m pytest tests/filters/internals/test_gpu_kernels.py tests/filters/test_allpass_primitives.py tests/filters/test_smoother_primitive.py -q -p no:cacheprovider -rs --durations=10 \
    >"$OUT/gpu_tests.txt" 2>&1
log "pytest exit code $? (see gpu_tests.txt): $(tail -n 1 "$OUT/gpu_tests.txt")"

# 3. Benchmark, ours vs torchlpc. torchlpc timings stop after BENCH_BUDGET_S seconds.
left=$(( 470 - $(elapsed) ))
if [ "$left" -gt 60 ]; then
    log "benchmark (limit ${left}s)"
    timeout "$left" "$PYTHON" benchmarks/allpole_cuda.py --budget-s "$BENCH_BUDGET_S" --out "$OUT/gpu_bench.md" \
        >"$OUT/gpu_bench.log" 2>&1
    log "benchmark exit code $?"
else
    log "no time left for the benchmark"
fi

# 4. Error growth over T with the kernels themselves, if time remains.
left=$(( 470 - $(elapsed) ))
if [ "$left" -gt 45 ]; then
    timeout "$left" "$PYTHON" benchmarks/allpole_cuda.py --error-growth --out "$OUT/gpu_error_growth.md" \
        >"$OUT/gpu_error_growth.log" 2>&1
    log "error growth exit code $?"
fi
log "done"
