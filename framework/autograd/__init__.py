"""Reverse-mode automatic differentiation: Function, backward, grad, grad modes, gradcheck."""
from framework.autograd.function import Function, grad_accumulator as _grad_accumulator
from framework.autograd.grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from framework.autograd.gradcheck import gradcheck, gradgradcheck
from framework.autograd.anomaly_mode import detect_anomaly, set_detect_anomaly
from framework.autograd import engine as _engine


def _as_tuple(x):
    if x is None:
        return ()
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _make_grads(outputs, grads):
    from framework.tensor import Tensor
    out = []
    for t, g in zip(outputs, grads + (None,) * (len(outputs) - len(grads))):
        if g is None:
            if t._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not t.dtype.is_floating_point:
                raise RuntimeError(f"grad can be implicitly created only for real scalar outputs but got {t.dtype}")
            g = Tensor._make(t.device.backend.full(t._data.shape, 1.0, t.dtype.np), t.dtype, t.device)
        elif g.shape != t.shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {g.shape} and output[0] has a "
                               f"shape of {t.shape}.")
        out.append(g)
    return out


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaf) into every leaf's `.grad`."""
    tensors = _as_tuple(tensors)
    grads = _make_grads(tensors, _as_tuple(grad_tensors))
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        inputs = _as_tuple(inputs)
        results = _engine.run_backward(tensors, grads, retain_graph, create_graph, inputs=inputs, allow_unused=True)
        for t, g in zip(inputs, results):
            if g is not None:
                _grad_accumulator(t).accumulate(g, create_graph)
        return
    _engine.run_backward(tensors, grads, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of `outputs` with respect to `inputs`, without touching `.grad`."""
    outputs = _as_tuple(outputs)
    single = not isinstance(inputs, (tuple, list))
    inputs = _as_tuple(inputs)
    grads = _make_grads(outputs, _as_tuple(grad_outputs))
    if retain_graph is None:
        retain_graph = create_graph
    if allow_unused is None:
        allow_unused = materialize_grads
    results = _engine.run_backward(outputs, grads, retain_graph, create_graph, inputs=inputs,
                                   allow_unused=allow_unused)
    if materialize_grads:
        from framework.ops.creation import zeros_like
        results = [zeros_like(i) if r is None else r for r, i in zip(results, inputs)]
    return tuple(results)


__all__ = ["Function", "backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
           "inference_mode", "gradcheck", "gradgradcheck", "detect_anomaly", "set_detect_anomaly", "functional"]

from framework.autograd import functional  # noqa: E402  (torch.autograd.functional)
