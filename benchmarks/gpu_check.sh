#!/usr/bin/env bash
# The prepared device check of issue 7: GPU tests, the seed models on cuda, the tutorial, the
# CPU-vs-GPU benchmark and torch.compile at 1e8.  Installs nothing (CuPy and PyTorch are on
# the device machine).  Every step has its own time limit, each cut to what is left of a
# 340 s budget, so the whole check stays under 6 minutes.  Results go to $OUT (default
# /tmp/minijit_gpu_check); a summary is printed.
#
#   OUT=/tmp/gpu bash benchmarks/gpu_check.sh
set -u
OUT=${OUT:-/tmp/minijit_gpu_check}
BUDGET=${BUDGET:-340}
mkdir -p "$OUT"
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
START=$(date +%s)
left() { echo $(( BUDGET - ($(date +%s) - START) )); }
step() {  # step NAME SECONDS COMMAND...: runs with min(SECONDS, budget left), skipped if < 10
    local name=$1 limit=$2; shift 2
    local rest; rest=$(left)
    if [ "$rest" -lt "$limit" ]; then limit=$rest; fi
    if [ "$limit" -lt 10 ]; then echo "== $name: skipped (budget spent)"; return; fi
    local t0; t0=$(date +%s)
    timeout -s INT -k 5 "$limit" "$@" > "$OUT/$name.txt" 2>&1
    local rc=$?
    echo "== $name: rc=$rc in $(( $(date +%s) - t0 ))s (limit ${limit}s)"
    tail -n "${TAIL:-6}" "$OUT/$name.txt"
}

{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python -c "import sys, numpy, cupy; print(sys.version.split()[0], 'numpy', numpy.__version__, 'cupy', cupy.__version__)"
  python -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

# 1. The device and fusion paths: seed models on cuda (save on GPU -> load on CPU), executor
#    plans, the seed RNN loop with its gate captured as one CUDA graph (small and large), the
#    capture-safe GEMM against cupy.matmul, fused reductions against the unfused ones.  The
#    two big tables come last (step 5).
TAIL=16 step pytest_gpu_paths 120 python -m pytest -q -p no:cacheprovider -m gpu -rs \
    tests/test_gpu.py tests/test_gpu_fusion.py -k "not every_pointwise_sample"
# 2. The benchmark: chain 1e3..1e8, (a*b + c).sum() fused reduction vs kernel + sum at 1e6 and
#    1e8, the gated RNN loop uncaptured / CUDA graph / torch eager, the MLP step.
TAIL=45 step cpu_vs_gpu 90 python -m benchmarks.cpu_vs_gpu --quick --no-compile --out "$OUT"
# 3. The tutorial, on cuda (prints the GEMM and reduction sources, runs the captured loop).
TAIL=10 step tutorial_05 25 python tutorials/05_cpu_vs_gpu.py
# 4. torch.compile of the chain at 1e8 against the fused kernel (first compile ~1 minute).
TAIL=16 step torch_compile_1e8 100 python -m benchmarks.cpu_vs_gpu --quick --compile-only \
    --out "$OUT"
# 5. Everything with the gpu marker (op table, fused-kernel table), in the time left.
TAIL=8 step pytest_gpu_all 200 python -m pytest -q -p no:cacheprovider -m gpu -rs tests
echo "== total $(( $(date +%s) - START ))s; results in $OUT"
