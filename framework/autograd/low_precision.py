"""float16 and bfloat16: stored in 16 bits, computed in float32.

PyTorch's CPU kernels load a half or bfloat16 operand into float32 ("opmath"), compute,
and round the result to the operands' dtype once. `Function.apply` does the same for every
op: when an input is a low-precision tensor, the inputs are cast to float32 (differentiably),
the op runs as it does for float32, and its float32 outputs are rounded to the dtype that
PyTorch's promotion gives the original operands (bfloat16 + bfloat16 -> bfloat16, bfloat16
+ float32 tensor -> float32). So no kernel needs a 16-bit float variant (Numba has no
bfloat16 type, and no float16 arithmetic on the CPU), and reductions accumulate in float32
as PyTorch's do. Ops that only move or view data (`opmath = False`: reshape, permute,
indexing, casts, device moves) run on the 16-bit storage itself.

Products on a backend with float16 tensor-core GEMMs (CUDA with cuBLAS) are the exception:
matmul and linear (`native_float16 = True`) keep float16 operands there, since cuBLAS already
accumulates them in float32 and rounds once.

`framework.dtypes.low_used` turns on when a low-precision dtype is first asked for (or
autocast is entered); until then `apply` pays one global read. Then `apply` hands the ops that
`needed` picks to `dispatch`, which also applies autocast's casts (framework/amp/autocast_mode.py).
"""
import threading

from framework import dtypes as _dt
from framework.amp import autocast_mode as _amp
from framework.tensor import Tensor


class _State(threading.local):
    # True while dispatch runs the op it prepared (in this thread): the op's own apply, and the
    # ops its forward calls, then run as they are.
    inner = False


state = _State()


def _low(a):
    if isinstance(a, Tensor):
        return a.dtype._low
    if isinstance(a, (list, tuple)):
        return any(isinstance(t, Tensor) and t.dtype._low for t in a)
    return False


def has_low(args):
    for a in args:
        if _low(a):
            return True
    return False


def _target(args):
    """The dtype PyTorch's promotion gives the op's floating tensor operands."""
    tensors = []
    for a in args:
        if isinstance(a, Tensor):
            tensors.append(a)
        elif isinstance(a, (list, tuple)):
            tensors.extend(t for t in a if isinstance(t, Tensor))
    floating = [t for t in tensors if t.dtype.is_floating_point]
    return _dt.result_type(*floating) if floating else None


def _up(a):
    from framework.ops.conversion import Cast
    if isinstance(a, Tensor):
        return Cast.apply(a, _dt.float32) if a.dtype._low else a
    if isinstance(a, (list, tuple)) and any(isinstance(t, Tensor) and t.dtype._low for t in a):
        return type(a)(_up(t) for t in a)
    return a


def _down(out, target):
    from framework.ops.conversion import Cast
    if isinstance(out, Tensor):
        return Cast.apply(out, target) if out.dtype is _dt.float32 else out
    if isinstance(out, tuple) and type(out) is not tuple:  # a named tuple (return_types)
        return type(out)(*(_down(o, target) for o in out))
    if isinstance(out, (list, tuple)):
        return type(out)(_down(o, target) for o in out)
    return out


def _native(cls, args):
    """Whether `cls` runs on float16 operands as they are: it says it can (`native_float16`, a
    product), every tensor operand is float16, and their device's backend computes float16
    products in float32 and rounds once (cuBLAS: `native_float16_products`), as PyTorch's do."""
    if not getattr(cls, "native_float16", False):
        return False
    device = None
    for a in args:
        if isinstance(a, Tensor):
            if a.dtype is not _dt.float16:
                return False
            device = a.device
    probe = getattr(device.backend, "native_float16_products", None) if device is not None else None
    return bool(probe and probe())


def needed(cls, args):
    """Whether autocast is on, or `cls` computes and an input is a 16-bit float."""
    return bool(_amp.state.enabled) or (cls.opmath and has_low(args))


def dispatch(cls, args):
    """Run `cls.apply(*args)` with autocast's casts and in float32 for 16-bit float inputs."""
    if _amp.state.enabled:
        op = cls.autocast_op or getattr(cls, "op", None)
        if op is not None:
            args = _amp.cast_inputs(op, args)
    target = None
    if cls.opmath and has_low(args) and not _native(cls, args):
        target = _target(args)
        args = tuple(_up(a) for a in args)
    state.inner = True
    try:
        out = cls.apply(*args)
    finally:
        state.inner = False
    if target is None or not target._low:
        return out
    return _down(out, target)
