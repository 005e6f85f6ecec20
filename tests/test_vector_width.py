"""The CPU kernels' vector width (kernels/cpu/vector_width.py): 512-bit on AVX-512 CPUs that run
it at full clock, Numba's default elsewhere, and a user's own NUMBA_CPU_* settings untouched."""
import os
import subprocess
import sys
import textwrap

from kernels.cpu import vector_width

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_REPORT = textwrap.dedent("""
    import framework, numba, re
    from numba.core.registry import cpu_target
    from kernels.cpu import vector_width
    @numba.njit
    def scale(a, out):
        for i in range(a.shape[0]):
            out[i] = a[i] * numba.float32(2.0) + numba.float32(1.0)
    x = framework.ones(1000)
    out = framework.empty(1000)
    scale(x.numpy(), out.numpy())
    asm = scale.inspect_asm(scale.signatures[0])
    name, features = vector_width.host_features()
    print(vector_width.wanted(name, features), cpu_target.target_context.codegen()._tm_features.endswith(vector_width.WIDE),
          "zmm" in asm)
""")


def _report(**env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CPU_")}
    out = subprocess.run([sys.executable, "-c", _REPORT], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**clean, **env})
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.split()


def test_which_cpus_get_512_bit_vectors():
    assert vector_width.wanted("sapphirerapids", {"avx512f": True, "avx2": True})
    assert vector_width.wanted("znver4", {"avx512f": True})
    assert not vector_width.wanted("skylake-avx512", {"avx512f": True})  # its clock drops for them
    assert not vector_width.wanted("cascadelake", {"avx512f": True})
    assert not vector_width.wanted("znver3", {"avx2": True, "avx512f": False})
    assert not vector_width.wanted("haswell", {"avx2": True})


def test_kernels_compile_for_the_chosen_width():
    wanted, wide, zmm = _report()
    assert wide == wanted  # the codegen Numba compiles with got the flag exactly where wanted
    if wanted == "True":
        assert zmm == "True", "a float32 loop compiled for 512-bit vectors should use zmm registers"


def test_a_users_numba_cpu_features_are_kept():
    import llvmlite.binding as ll
    _, wide, _ = _report(NUMBA_CPU_FEATURES=ll.get_host_cpu_features().flatten())
    assert wide == "False"
