"""Fused in-place optimizer updates, the tensor-level face of kernels/*/optim.py.

Like torch's `_fused_*` ops these are public but low level: `framework.optim`
calls them under no_grad with tensors that share one device and dtype, where
`has_fused_step` says the device's backend has the update."""
from framework.ops._util import same_device
from framework.tensor import Tensor


def has_fused_step(name, device):
    """Whether `device`'s backend runs the update `name` as one fused kernel."""
    return name in getattr(device.backend, "OPTIMIZER_STEPS", ())


def optimizer_step_(name, tensors, *scalars):
    """Apply the fused update `name` in place to `tensors` (param, grad, state...)."""
    param = tensors[0]
    arrays = []
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: expected Tensors, got {type(t).__name__}")
        a = t._data
        if a.shape != param._data.shape:
            raise RuntimeError(f"{name}: tensor of shape {list(t.shape)} does not match the parameter's "
                               f"{list(param.shape)}")
        arrays.append(a)
    same_device(*tensors)
    param.device.backend.optimizer_step(name, arrays, *scalars)
    for t in tensors:
        if t is not tensors[1]:
            t._version_box[0] += 1
