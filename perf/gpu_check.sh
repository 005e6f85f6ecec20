#!/usr/bin/env bash
# One prepared run for a machine with an NVIDIA GPU (framework, numba-cuda and a CUDA build of
# PyTorch already installed; nothing is downloaded): versions, every op test on the real GPU,
# then the GPU benchmarks beside PyTorch CUDA, written as they go. Results go to $OUT (default
# ./gpu_out); each step's exit status and time limit are reported in $OUT/summary.txt.
#   TEST_TIMEOUT (default 300 s) and BENCH_TIMEOUT (default 150 s) bound the two halves.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-./gpu_out}"
mkdir -p "$OUT"
unset NUMBA_ENABLE_CUDASIM  # the real GPU, never the simulator
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
summary() { echo "$1" | tee -a "$OUT/summary.txt"; }
: > "$OUT/summary.txt"

nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
summary "nvidia-smi exit status: $?"
python3 - > "$OUT/versions.txt" 2>&1 <<'PY'
import platform
print("python", platform.python_version())
for name in ("numba", "numba-cuda", "llvmlite", "numpy", "torch", "nvidia-cuda-nvcc-cu13", "nvidia-nvjitlink-cu13"):
    try:
        from importlib import metadata
        print(name, metadata.version(name))
    except Exception:
        print(name, "absent")
from numba import cuda
print("driver", cuda.cudadrv.driver.driver.get_version(), "runtime", cuda.runtime.get_version())
cuda.detect()
PY
summary "versions exit status: $? (see versions.txt)"

TEST_TIMEOUT="${TEST_TIMEOUT:-300}"
# Every op test on device="cuda" (the `device` fixture, tests/conftest.py) and the CUDA backend's own tests.
FRAMEWORK_CUDA_TESTS=1 FRAMEWORK_TEST_DEVICES=cuda timeout "$TEST_TIMEOUT" python3 -m pytest -o addopts= -q \
    -p no:cacheprovider --maxfail=50 -k cuda tests 2>&1 | tail -n 400 > "$OUT/cuda_tests.txt"
tests_rc=${PIPESTATUS[0]}
summary "cuda tests exit status: $tests_rc (limit ${TEST_TIMEOUT}s; 124 = timed out)"
tail -n 3 "$OUT/cuda_tests.txt" | tee -a "$OUT/summary.txt"

BENCH_TIMEOUT="${BENCH_TIMEOUT:-150}"
timeout "$BENCH_TIMEOUT" python3 -m perf.gpu --out "$OUT" --markdown "$OUT/RESULTS-gpu.md" 2>&1 \
    | tee "$OUT/gpu_bench.txt"
summary "gpu benchmarks exit status: ${PIPESTATUS[0]} (limit ${BENCH_TIMEOUT}s; gpu_bench.json holds what finished)"
