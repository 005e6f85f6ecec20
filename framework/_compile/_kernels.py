"""A group's kernel: its module (written once into the cache directory, loaded by every later
process: framework/backends/fusion.py), and its launch on a device (the backend's `fused_launch`)."""
import math
import os

from framework._compile import _fusion
from framework.backends import fusion
from framework.export._graph import evaluate
from framework.tensor import Tensor


def debug_enabled(mode):
    return mode == "debug" or os.environ.get("FRAMEWORK_COMPILE_DEBUG", "") not in ("", "0")


def launch(group, tensors, debug=False, bindings=None):
    """Run the group on `tensors` (its inputs, in order): its output tensors, in order.
    `bindings`: {symbol: size} of a program with dynamic sizes (their values in this call)."""
    device = tensors[0].device
    target = device.type
    if target not in ("cpu", "cuda"):
        raise NotImplementedError(f"framework.compile has no fused kernels for device {device}")
    dtypes = tuple(t.dtype for t in tensors)
    module = group.kernels.get((target, dtypes))
    if module is None:
        module = group.kernels[(target, dtypes)] = fusion.load(group, target, dtypes,
                                                               _fusion.key(group, target, dtypes), debug)
    shape = evaluate(group.shape, bindings or {})
    by_name = {s.name: s.out for s in group.steps}
    out_dtypes = [by_name[o] for o in group.outputs]
    backend = device.backend
    if getattr(group, "rows", False):  # a full-shape output, or one value per row in its node's shape
        shape_of = {n.outputs[0]: evaluate(tuple(n.meta[0].shape), bindings or {}) for n in group.nodes}
        outs = [backend.empty(shape_of[o], d.np) for o, d in zip(group.outputs, out_dtypes)]
        if math.prod(shape[:-1]):
            backend.fused_row_launch(module, [t._data for t in tensors], outs, shape)
    else:
        outs = [backend.empty(shape, d.np) for d in out_dtypes]
        if math.prod(shape):
            backend.fused_launch(module, [t._data for t in tensors], outs, shape)
    return [Tensor._make(o, d, device) for o, d in zip(outs, out_dtypes)]
