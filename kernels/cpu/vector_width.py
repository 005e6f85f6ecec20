"""512-bit vectors for the CPU kernels where the CPU has AVX-512 and runs it at full clock.

LLVM tunes Intel's AVX-512 server cores from Skylake-X on to prefer 256-bit vectors (the first
of them lowered their clock for 512-bit arithmetic), so Numba's loops run on ymm registers and
half of each AVX-512 unit idles. On an Emerald Rapids Xeon (2 vCPUs) a float32 exp over 4M
elements took 3.8 ms serial in ymm and 2.4 in zmm; the compiled softmax and the tanh GELU
gained as much (docs/DESIGN.md, "Vector width"). Dropping LLVM's `prefer-256-bit` tuning flag
from the features Numba compiles for is the whole change; it is part of Numba's cache key, so
kernels cached under the other width are recompiled, not reused.

Left alone: a user's own NUMBA_CPU_NAME / NUMBA_CPU_FEATURES, CPUs without AVX-512, and the
first AVX-512 server generations (Skylake-SP, Cascade Lake, Cooper Lake), whose clock drops.
"""
import os

import numba

_THROTTLED = frozenset({"skylake-avx512", "cascadelake", "cooperlake", "knl", "knm"})
WIDE = "-prefer-256-bit"


def host_features():
    """(LLVM's name for this CPU, its feature map)."""
    import llvmlite.binding as ll
    return ll.get_host_cpu_name(), ll.get_host_cpu_features()


def wanted(cpu_name, features):
    """Whether a CPU of this name and these features should get 512-bit vectors."""
    return bool(features.get("avx512f")) and cpu_name not in _THROTTLED


def configure():
    """Compile for 512-bit vectors where `wanted`; called once, before the first kernel compiles.
    Builds Numba's CPU codegen at once, which reads the features then: Numba rereads its config
    from the environment whenever a NUMBA_* variable changes, which would drop the setting. Not
    exported to the environment: a child process on another machine (an MPI rank) must not
    compile for this CPU's features; it imports the framework and decides for its own."""
    if any(os.environ.get(v) for v in ("NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES")):
        return
    try:
        name, features = host_features()
    except Exception:  # an llvmlite without host introspection: keep Numba's defaults
        return
    if wanted(name, features):
        from numba.core.registry import cpu_target
        numba.config.CPU_FEATURES = f"{features.flatten()},{WIDE}"
        cpu_target.target_context.codegen()
