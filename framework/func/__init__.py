"""torch.func: composable function transforms (grad, vjp, jvp, jacrev, jacfwd, hessian,
vmap) and functional_call, which runs a module with given parameters and buffers.

They compose as PyTorch's do for the common cases: grad of grad, jacfwd of jacrev, and
per-sample gradients as `vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)` over a
`functional_call`. See _transforms.py for how transform levels map onto the tape, and
_vmap.py for vmap (one call per batch element, stacked: not fused).
"""
from collections.abc import Sequence

from framework.func._transforms import grad, grad_and_value, hessian, jacfwd, jacrev, jvp, vjp
from framework.func._vmap import vmap

__all__ = ["grad", "grad_and_value", "vmap", "hessian", "jacfwd", "jacrev", "jvp", "vjp", "functional_call",
           "stack_module_state"]


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True, strict=False):
    """module(*args, **kwargs) with the given tensors in place of its parameters and buffers:
    one dict, or a sequence of dicts whose keys must not repeat."""
    from framework.nn.utils.stateless import _functional_call
    if isinstance(parameter_and_buffer_dicts, dict):
        parameters_and_buffers = parameter_and_buffer_dicts
    elif isinstance(parameter_and_buffer_dicts, Sequence):
        if not all(isinstance(d, dict) for d in parameter_and_buffer_dicts):
            raise ValueError("Expected all elements of parameter_and_buffer_dicts to be dictionaries")
        counts = {}
        for d in parameter_and_buffer_dicts:
            for k in d:
                counts[k] = counts.get(k, 0) + 1
        repeated = [k for k, n in counts.items() if n > 1]
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional call is ambiguous")
        parameters_and_buffers = {k: v for d in parameter_and_buffer_dicts for k, v in d.items()}
    else:
        raise ValueError(f"Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got "
                         f"{type(parameter_and_buffer_dicts)}")
    return _functional_call(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights, strict=strict)


def stack_module_state(models):
    """(params, buffers) of same-class models, each entry stacked along a new first dim (for
    vmap over an ensemble): stacked parameters are new leaves, as in PyTorch."""
    from framework.ops.shape import stack
    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or all(not m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    if not all(type(m) is type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(tensors, name):
        requires = [t.requires_grad for t in tensors]
        if any(requires) and not all(requires):
            raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
        result = stack([t.detach() for t in tensors])
        return result.requires_grad_() if all(requires) else result

    all_params = [dict(m.named_parameters()) for m in models]
    all_buffers = [dict(m.named_buffers()) for m in models]
    return ({k: stacked([p[k] for p in all_params], k) for k in all_params[0]},
            {k: stacked([b[k] for b in all_buffers], k) for k in all_buffers[0]})
