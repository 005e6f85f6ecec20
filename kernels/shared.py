"""`@shared`: scalar arithmetic that the CPU and the CUDA kernels both call, written once.

It is an njit function, which a CUDA kernel may call too: numba-cuda compiles it again as a
device function with the same options. Inlining differs by target, through the `inline` cost
model: CUDA inlines it at Numba IR level (a call to a device function that is not inlined
needs a GPU driver to compile to PTX, which tests/test_cuda_ptx.py does without one), the CPU
compiles it on its own and LLVM inlines it (inlining at IR level there made the grid sampling
kernels take a minute to compile instead of seconds). In Numba's CUDA simulator the kernel runs
as Python and calls the CPU-compiled function, so a shared helper takes and returns scalars
only: the simulator's device arrays are Python objects that njit cannot type. Like every
function a cached kernel calls from another module, a change here does not invalidate Numba's
disk cache of its callers (clear __pycache__ after editing)."""
from numba import njit
from numba.core.target_extension import current_target


def _inline_on_cuda(call, caller_ir, callee_ir):
    """The inline cost model: yes while compiling for CUDA, no for the CPU."""
    return current_target() == "cuda"


def shared(fn=None, *, everywhere=False):
    """Compile `fn` for both targets, with the CPU kernels' error model. `@shared(everywhere=True)`
    inlines it at IR level on the CPU too: a small helper of an innermost loop, which LLVM
    unrolls or vectorises well only when the helper's code is in the loop before it optimises
    (the 2x2 max pool ran 2.5x slower with its select step inlined by LLVM)."""
    if fn is None:
        return lambda f: shared(f, everywhere=everywhere)
    return njit(inline="always" if everywhere else _inline_on_cuda, error_model="numpy")(fn)
