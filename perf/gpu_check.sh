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
# Every op test on device="cuda" (the `device` fixture, tests/conftest.py) and the CUDA backend's own tests.
FRAMEWORK_CUDA_TESTS=1 FRAMEWORK_TEST_DEVICES=cuda timeout 420 python3 -m pytest -o addopts= -q -p no:cacheprovider \
    tests/test_elementwise.py tests/test_reduction.py tests/test_shape.py tests/test_indexing.py \
    tests/test_linalg.py tests/test_losses.py tests/test_nn_layers.py tests/test_gradcheck_all.py \
    tests/test_autograd.py tests/test_tensor.py tests/test_cuda_backend.py \
    2>&1 | tee "$OUT/cuda_tests.txt"
tests_rc=${PIPESTATUS[0]}
timeout 200 python -m perf.gpu --out "$OUT" 2>&1 | tee "$OUT/gpu_bench.txt"
echo "cuda tests exit code: $tests_rc" | tee -a "$OUT/summary.txt"
