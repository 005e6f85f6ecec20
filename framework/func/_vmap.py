"""vmap: map a function over a dimension of its inputs.

Not fused: the function runs once per batch element (each mapped input `select`ed at its
in_dim) and the results are stacked at out_dims. Values, gradients and composition with
the other transforms are PyTorch's; the cost is one call per element rather than one
batched call. Arguments and their errors follow torch.func.vmap.
"""
import functools

from framework.func._pytree import broadcast_to_and_flatten, tree_flatten, tree_unflatten
from framework.tensor import Tensor

__all__ = ["vmap"]


def _get_name(func):
    if hasattr(func, "__name__"):
        return func.__name__
    if isinstance(func, functools.partial):
        return f"functools.partial({_get_name(func.func)}, ...)"
    return repr(func)


def _check_randomness_arg(randomness):
    if randomness not in ["error", "different", "same"]:
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}")


def _check_out_dims(out_dims, func):
    for d in tree_flatten(out_dims)[0]:
        if not (d is None or isinstance(d, int)):
            raise ValueError(f"vmap({_get_name(func)}, ..., out_dims={out_dims}): `out_dims` must be an int, None or "
                             "a python collection of ints representing where in the outputs the vmapped dimension "
                             "should appear.")


def _process_batched_inputs(in_dims, args, func):
    """(batch size, in_dim of each flat argument, the flat arguments, their spec)."""
    name = _get_name(func)
    if not isinstance(in_dims, (int, tuple)):
        raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): expected `in_dims` to be int or a "
                         f"(potentially nested) tuple matching the structure of inputs, got: {type(in_dims)}.")
    if len(args) == 0:
        raise ValueError(f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you are trying "
                         "to vmap over a function with no inputs. The latter is unsupported.")
    flat_args, args_spec = tree_flatten(args)
    flat_in_dims = broadcast_to_and_flatten(in_dims, args_spec)
    if flat_in_dims is None:
        raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with the "
                         f"structure of `inputs`. in_dims has structure {tree_flatten(in_dims)[1]} but inputs has "
                         f"structure {args_spec}.")
    for i, (arg, in_dim) in enumerate(zip(flat_args, flat_in_dims)):
        if not isinstance(in_dim, int) and in_dim is not None:
            raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={in_dim} for an input but "
                             "in_dim must be either an integer dimension or None.")
        if isinstance(in_dim, int) and not isinstance(arg, Tensor):
            raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={in_dim} for an input but "
                             f"the input is of type {type(arg)}. We cannot vmap over non-Tensor arguments, please use "
                             "None as the respective in_dim")
        if in_dim is not None and (in_dim < -arg.dim() or in_dim >= arg.dim()):
            raise ValueError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={in_dim} for some input, "
                             f"but that input is a Tensor of dimensionality {arg.dim()} so expected in_dim to satisfy "
                             f"-{arg.dim()} <= in_dim < {arg.dim()}.")
        if in_dim is not None and in_dim < 0:
            flat_in_dims[i] = in_dim % arg.dim()
    sizes = [arg.size(d) for d, arg in zip(flat_in_dims, flat_args) if d is not None]
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if any(s != sizes[0] for s in sizes):
        raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                         f"{sizes} for the mapped dimension")
    return sizes[0], flat_in_dims, flat_args, args_spec


def _rng_state():
    from framework.random import default_generator
    return default_generator._np.bit_generator.state


def _set_rng_state(state):
    from framework.random import default_generator
    default_generator._np.bit_generator.state = state


def _run_each(func, batch_size, flat_in_dims, flat_args, args_spec, randomness, kwargs):
    """func's output for each batch element. A batch of 0 runs func once on zeros of an
    element's shape, only to learn the outputs' structure, shapes and dtypes."""
    from framework.ops.creation import zeros
    if batch_size == 0:
        samples = [[zeros(a.shape[:d] + a.shape[d + 1:], dtype=a.dtype, device=a.device) if d is not None else a
                    for a, d in zip(flat_args, flat_in_dims)]]
    else:
        samples = ([a.select(d, i) if d is not None else a for a, d in zip(flat_args, flat_in_dims)]
                   for i in range(batch_size))
    start = _rng_state() if randomness != "different" else None
    outputs = []
    for sample in samples:
        if randomness == "same":
            _set_rng_state(start)
        outputs.append(func(*tree_unflatten(sample, args_spec), **kwargs))
        if randomness == "error" and _rng_state() != start:
            raise RuntimeError("vmap: called random operation while in randomness error mode. Please either use the "
                               "'same' or 'different' randomness flags on vmap or perform the randomness operation "
                               "out of vmap")
    return outputs


def _stack_outputs(outputs, batch_size, out_dims, func):
    from framework.ops.shape import stack
    name = _get_name(func)
    flat_first, spec = tree_flatten(outputs[0])

    def incompatible():
        raise ValueError(f"vmap({name}, ..., out_dims={out_dims})(<inputs>): out_dims is not compatible with the "
                         f"structure of `outputs`. out_dims has structure {tree_flatten(out_dims)[1]} but outputs has "
                         f"structure {spec}.")

    if isinstance(outputs[0], Tensor):
        if isinstance(out_dims, int) or out_dims is None:
            flat_out_dims = [out_dims]
        elif isinstance(out_dims, tuple) and len(out_dims) == 1:
            flat_out_dims = list(out_dims)
        else:
            incompatible()
    else:
        flat_out_dims = broadcast_to_and_flatten(out_dims, spec)
        if flat_out_dims is None:
            incompatible()
    per_element = [tree_flatten(o)[0] for o in outputs]
    result = []
    for k, (first, out_dim) in enumerate(zip(flat_first, flat_out_dims)):
        if out_dim is None:
            # PyTorch refuses an output that depends on the mapped inputs; one that differs between
            # elements certainly does (one that happens not to differ is taken as unmapped)
            if isinstance(first, Tensor) and any(not _same(first, leaves[k]) for leaves in per_element[1:]):
                raise ValueError(f"vmap({name}, ...): `{name}` can not return a BatchedTensor when out_dim is None")
            result.append(first)
            continue
        if not isinstance(first, Tensor):
            raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type {type(first)}. Did you "
                             "mean to set out_dims= to None for output?")
        stacked = stack([leaves[k] for leaves in per_element], out_dim)
        result.append(stacked.narrow(out_dim, 0, 0) if batch_size == 0 else stacked)
    return tree_unflatten(result, spec)


def _same(a, b):
    return a is b or (isinstance(b, Tensor) and a.shape == b.shape and a.dtype == b.dtype and bool((a == b).all()))


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """func mapped over dimension `in_dims` of its inputs, the results stacked at `out_dims`.

    Runs func once per batch element and stacks the results (not fused into one batched
    call): the same values and gradients as PyTorch's vmap, at the cost of a Python call per
    element. `randomness`: "same" replays the generator's state for every element; "error"
    raises when func draws random numbers. `chunk_size` is checked and changes nothing."""
    _check_randomness_arg(randomness)
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        _check_out_dims(out_dims, func)
        batch_size, flat_in_dims, flat_args, args_spec = _process_batched_inputs(in_dims, args, func)
        outputs = _run_each(func, batch_size, flat_in_dims, flat_args, args_spec, randomness, kwargs)
        return _stack_outputs(outputs, batch_size, out_dims, func)
    return wrapped
