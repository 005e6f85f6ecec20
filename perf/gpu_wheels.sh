#!/usr/bin/env bash
# Fetches, on a machine with pip access, the wheels perf/gpu_check.sh installs on a GPU machine
# that cannot download (the lent H200: Python 3.12, x86-64): numpy<2.5 (its image has NumPy 2.5,
# under which numba-cuda 0.30.4 compiles nothing: NVIDIA/numba-cuda#907), nvmath-python
# (cuBLAS; the image has cuda-bindings, cuda-pathfinder and nvidia-cublas) and RAPIDS Memory
# Manager (rmm-cu13 with librmm and rapids-logger, for FRAMEWORK_CUDA_ALLOCATOR). ~28 MB into .gpu/,
# which this adds to .git/info/exclude so that it travels untracked.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
mkdir -p .gpu
for spec in "numpy>=2.4,<2.5" "nvmath-python==1.0.0" "rmm-cu13==26.10.*" "librmm-cu13==26.10.*" "rapids-logger==0.3.*"; do
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version "${PY_VERSION:-3.12}" \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .gpu "$spec"
done
ls -la .gpu
