#!/usr/bin/env bash
# One prepared run for a machine with an NVIDIA GPU (numba, numba-cuda and PyTorch CUDA
# already installed; nothing is downloaded): the CUDA tests on the real GPU, then the
# GPU benchmarks beside PyTorch. Results go to $OUT (default ./gpu_out).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-./gpu_out}"
mkdir -p "$OUT"
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
FRAMEWORK_CUDA_TESTS=1 timeout 300 python -m pytest -o addopts= -q -p no:cacheprovider tests/cuda_sim \
    2>&1 | tee "$OUT/cuda_tests.txt"
tests_rc=${PIPESTATUS[0]}
timeout 200 python -m perf.gpu --out "$OUT" 2>&1 | tee "$OUT/gpu_bench.txt"
echo "cuda tests exit code: $tests_rc" | tee -a "$OUT/summary.txt"
