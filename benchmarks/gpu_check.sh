#!/usr/bin/env bash
# The prepared device check of issue 7: GPU tests, the seed models on cuda, the tutorial, and a
# short CPU-vs-GPU benchmark.  Installs nothing (CuPy and PyTorch are on the device machine).
# Every step has its own time limit; the whole check stays under ~3 minutes.  Results go to
# $OUT (default /tmp/minijit_gpu_check); a summary is printed.
#
#   OUT=/tmp/gpu bash benchmarks/gpu_check.sh
set -u
OUT=${OUT:-/tmp/minijit_gpu_check}
mkdir -p "$OUT"
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
START=$(date +%s)
left() { echo $(( ${1} - ($(date +%s) - START) )); }
step() {  # step NAME SECONDS COMMAND...
    local name=$1 limit=$2; shift 2
    local t0=$(date +%s)
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

# 1. The device and fusion paths (seed models on cuda, save on GPU -> load on CPU, executor
#    plans, CUDA graphs); the two big tables come last.
TAIL=12 step pytest_gpu_paths 60 python -m pytest -q -p no:cacheprovider -m gpu -rs \
    tests/test_gpu.py tests/test_gpu_fusion.py -k "not every_pointwise_sample"
# 2. The short benchmark (torch.compile skipped: its first compile alone takes ~a minute).
TAIL=40 step cpu_vs_gpu 60 python -m benchmarks.cpu_vs_gpu --quick --no-compile --out "$OUT"
# 3. The tutorial, on cuda.
TAIL=8 step tutorial_05 20 python tutorials/05_cpu_vs_gpu.py
# 4. Everything with the gpu marker (op table, fused-kernel table), in the time left.
REST=$(left 165)
if [ "$REST" -gt 10 ]; then
    TAIL=8 step pytest_gpu_all "$REST" python -m pytest -q -p no:cacheprovider -m gpu -rs tests
fi
echo "== total $(( $(date +%s) - START ))s; results in $OUT"
