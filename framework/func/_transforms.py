"""torch.func's autodiff transforms (grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian)
on the tape-based autograd.

PyTorch keeps one "level" per nested transform. Here each transform differentiates with
respect to fresh tensors of its own, records with create_graph so that an enclosing
transform (or ordinary autograd) can differentiate the result again, and then detaches
each result whose graph reaches none but its own fresh tensors: a result that depends on
something outside (an enclosing transform's input, a tensor the caller tracks) keeps its
history, as PyTorch's unwrapping does. jvp uses the double-backward trick (the backward
is linear in its grad_outputs), so jacfwd and hessian compose from reverse mode.
"""
import functools

from framework.autograd import grad as _autograd_grad_api
from framework.autograd.function import AccumulateGrad
from framework.autograd.grad_mode import enable_grad, is_grad_enabled
from framework.func._pytree import tree_flatten, tree_map, tree_unflatten
from framework.func._vmap import vmap
from framework.tensor import Tensor

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian"]


# ---- argnums, as torch.func checks them
def _validate_and_wrap_argnum(argnum, num_args):
    if not isinstance(argnum, int):
        raise RuntimeError(f"argnum must be int, got: {type(argnum)}")
    if 0 <= argnum < num_args:
        return argnum
    if -num_args <= argnum < 0:
        return argnum + num_args
    raise RuntimeError(f"Got argnum={argnum}, but only {num_args} positional inputs")


def _slice_argnums(args, argnums, as_tuple=True):
    if not isinstance(argnums, (int, tuple)):
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    if isinstance(argnums, int):
        argnum = _validate_and_wrap_argnum(argnums, len(args))
        return (args[argnum],) if as_tuple else args[argnum]
    argnums = tuple(_validate_and_wrap_argnum(a, len(args)) for a in argnums)
    if len(argnums) == 0:
        raise RuntimeError("argnums must be non-empty")
    if len(set(argnums)) != len(argnums):
        raise RuntimeError(f"argnums elements must be unique, got {argnums}")
    return tuple(args[i] for i in argnums)


def _replace_args(args, new, argnums):
    """args with the differentiated ones (`new`, as _slice_argnums(as_tuple=False) shaped them) put back."""
    if isinstance(argnums, int):
        argnum = _validate_and_wrap_argnum(argnums, len(args))
        return tuple(new if i == argnum else a for i, a in enumerate(args))
    where = {_validate_and_wrap_argnum(a, len(args)): k for k, a in enumerate(argnums)}
    return tuple(new[where[i]] if i in where else a for i, a in enumerate(args))


# ---- levels
class _Level:
    """One transform's fresh tensors, and the unwrapping of its results.

    A leaf is outside a level when the caller made it, or an enclosing level that is still
    running did; the leaves of this level and of levels that have finished are inside."""

    def __init__(self):
        self.active = True
        self.outer_grad = is_grad_enabled()

    def fresh(self, x):
        """A tensor to differentiate with respect to: connected to x when x is tracked
        (so an enclosing level sees through), else a new leaf of this level."""
        if not isinstance(x, Tensor):
            raise ValueError(f"Thing passed to transform API must be Tensor, got {type(x)}")
        if x.requires_grad:
            return x.view_as(x)
        leaf = x.detach().requires_grad_()
        leaf.__dict__["_func_level"] = self
        return leaf

    def _outside(self, leaf):
        level = leaf.__dict__.get("_func_level")
        return level is None or (level is not self and level.active)

    def _reaches_outside(self, t, clean):
        fn = t.grad_fn
        if fn is None:
            return self._outside(t)
        stack, seen = [fn], {fn}
        while stack:
            node = stack.pop()
            if node in clean:
                continue
            if isinstance(node, AccumulateGrad):
                if self._outside(node.variable):
                    return True
                continue
            for nxt, _ in node.next_functions:
                if nxt is not None and nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        clean.update(seen)
        return False

    def unwrap(self, tree, outer_grad=None):
        """Each tensor of `tree` detached unless its history reaches beyond this level (and the
        caller records: grad mode was on at the transform's call, or `outer_grad`)."""
        outer_grad = self.outer_grad if outer_grad is None else outer_grad
        clean = set()

        def one(t):
            if not isinstance(t, Tensor) or not t.requires_grad:
                return t
            if outer_grad and self._reaches_outside(t, clean):
                return t
            return t.detach()
        return tree_map(one, tree)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.active = False


def _grads(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=True):
    """autograd.grad over the outputs that require grad; zeros where an input is unreached.
    The graph is kept (retain_graph follows create_graph): an enclosing level differentiates
    through it again."""
    from framework.ops.creation import zeros_like
    if grad_outputs is None:
        pairs = [(o, None) for o in outputs if o.requires_grad]
    else:
        pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not pairs:
        return tuple(zeros_like(i) for i in inputs)
    outs, gouts = zip(*pairs)
    res = _autograd_grad_api(outs, inputs, gouts, retain_graph=retain_graph, create_graph=create_graph,
                             allow_unused=True)
    return tuple(zeros_like(i) if r is None else r for r, i in zip(res, inputs))


def _split_aux(output, has_aux, api):
    if not has_aux:
        return output, None
    if not (isinstance(output, tuple) and len(output) == 2):
        raise RuntimeError(f"{api}: output of function f should be a tuple: (output, aux) if has_aux is True")
    return output


# ---- grad, grad_and_value
def _grad_and_value(func, argnums, has_aux, args, kwargs):
    with _Level() as level, enable_grad():
        diff_args = _slice_argnums(args, argnums, as_tuple=False)
        flat_diff, spec = tree_flatten(diff_args)
        flat_diff = [level.fresh(x) for x in flat_diff]
        args = _replace_args(args, tree_unflatten(flat_diff, spec), argnums)
        output, aux = _split_aux(func(*args, **kwargs), has_aux, "grad_and_value(f)(*args)")
        if not isinstance(output, Tensor):
            raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got {type(output)}")
        if output.dim() != 0:
            raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got tensor "
                               f"with {output.dim()} dims. Maybe you wanted to use the vjp or jacrev APIs instead?")
        grad_input = tree_unflatten(_grads((output,), flat_diff), spec)
        grad_input, output, aux = level.unwrap((grad_input, output, aux))
    return (grad_input, (output, aux)) if has_aux else (grad_input, output)


def grad_and_value(func, argnums=0, has_aux=False):
    """A function returning (the gradient of func with respect to args[argnums], func's value)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return _grad_and_value(func, argnums, has_aux, args, kwargs)
    return wrapper


def grad(func, argnums=0, has_aux=False):
    """A function returning the gradient of the scalar func with respect to args[argnums]
    (a pytree of tensors, shaped like those arguments); with has_aux, (gradient, aux)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, value = _grad_and_value(func, argnums, has_aux, args, kwargs)
        return (g, value[1]) if has_aux else g
    return wrapper


# ---- vjp
def _check_outputs(flat, api):
    if (len(flat) == 1 and flat[0] is None) or len(flat) < 1:
        raise RuntimeError(f"{api}: Expected f to be a function that has non-empty output (got output = {flat})")
    for o in flat:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"{api}: expected f(*primals) to return only tensors, got unsupported type {type(o)}")


def _vjp(func, primals, argnums=None, has_aux=False):
    with _Level() as level, enable_grad():
        if argnums is None:
            flat_diff, diff_spec = tree_flatten(primals)
            flat_diff = [level.fresh(x) for x in flat_diff]
            primals = tree_unflatten(flat_diff, diff_spec)
        else:
            flat_diff, diff_spec = tree_flatten(_slice_argnums(primals, argnums, as_tuple=False))
            flat_diff = [level.fresh(x) for x in flat_diff]
            primals = _replace_args(primals, tree_unflatten(flat_diff, diff_spec), argnums)
        out, aux = _split_aux(func(*primals), has_aux, "vjp(f, *primals)")
        flat_out, out_spec = tree_flatten(out)
        _check_outputs(flat_out, "vjp(f, *primals)")
        for o in flat_out:
            if not (o.dtype.is_floating_point or o.dtype.is_complex):
                raise RuntimeError(f"vjp(f, ...): All outputs of f must be floating-point or complex Tensors, got "
                                   f"Tensor with dtype {o.dtype}")
        results, aux = level.unwrap((out, aux))

    def vjp_fn(cotangents, retain_graph=True, create_graph=None):
        if create_graph is None:
            create_graph = is_grad_enabled()
        flat_cot, cot_spec = tree_flatten(cotangents)
        if cot_spec != out_spec:
            raise RuntimeError(f"Expected pytree structure of cotangents to be the same as pytree structure of "
                               f"outputs to the function. cotangents: {cot_spec}, primal output: {out_spec}")
        with enable_grad():
            res = _grads(flat_out, flat_diff, flat_cot, retain_graph=retain_graph, create_graph=create_graph)
        return level.unwrap(tree_unflatten(res, diff_spec), outer_grad=create_graph)

    return (results, vjp_fn, aux) if has_aux else (results, vjp_fn)


def vjp(func, *primals, has_aux=False):
    """(func(*primals), vjp_fn): vjp_fn(cotangents) is the cotangents times func's Jacobian."""
    return _vjp(func, primals, has_aux=has_aux)


# ---- jvp (double-backward trick)
_JVP = "jvp(f, primals, tangents)"


def _jvp(func, primals, tangents, argnums=None, strict=False, has_aux=False):
    from framework.ops.creation import zeros_like
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{_JVP}: Expected primals to be a tuple. E.g. it should be valid to call f(*primals).")
    diff_args = primals if argnums is None else _slice_argnums(primals, argnums)
    flat_primals, primals_spec = tree_flatten(diff_args)
    flat_tangents, tangents_spec = tree_flatten(tangents)
    if primals_spec != tangents_spec:
        raise RuntimeError(f"{_JVP}: Expected primals and tangents to have the same python structure. For example, "
                           f"if primals is a tuple of 3 tensors, tangents also must be. Got primals with structure "
                           f"{primals_spec} and tangents with structure {tangents_spec}")
    for name, flat in (("primals", flat_primals), ("tangents", flat_tangents)):
        if len(flat) == 0:
            raise RuntimeError(f"{_JVP}: Expected {name} to contain at least one Tensor.")
        for t in flat:
            if not isinstance(t, Tensor):
                raise RuntimeError(f"{_JVP}: Expected {name} to only contain Tensors, got {type(t)}")
    for p, t in zip(flat_primals, flat_tangents):
        if t.shape != p.shape:
            raise RuntimeError("Trying to set a forward gradient that has a different size than that of the original "
                               f"Tensor, this is not supported. Tensor is of size {list(p.shape)} while the given "
                               f"forward gradient is of size {list(t.shape)}.")
    with _Level() as level, enable_grad():
        fresh = [level.fresh(p) for p in flat_primals]
        duals = tree_unflatten(fresh, primals_spec)
        args = duals if argnums is None else _replace_args(primals, duals if isinstance(argnums, tuple)
                                                           else duals[0], argnums)
        out, aux = _split_aux(func(*args), has_aux, _JVP)
        flat_out, out_spec = tree_flatten(out)
        _check_outputs(flat_out, _JVP)
        # d out = J t: differentiate u -> J^T u (linear in u) with respect to u, along t.
        us = [level.fresh(zeros_like(o)) for o in flat_out]
        if strict and not all(o.requires_grad for o in flat_out):
            raise RuntimeError("jvp(f, primals, tangents, strict=True): The output of f is independent of the "
                               "inputs. This is not allowed with strict=True.")
        vjps = _grads(flat_out, fresh, us)
        tangents_out = list(_grads(vjps, us, flat_tangents))
        primals_out, tangents_out, aux = level.unwrap((tree_unflatten(flat_out, out_spec),
                                                       tree_unflatten(tangents_out, out_spec), aux))
    return (primals_out, tangents_out, aux) if has_aux else (primals_out, tangents_out)


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """(func(*primals), J tangents): the Jacobian-vector product at primals."""
    return _jvp(func, primals, tangents, strict=strict, has_aux=has_aux)


# ---- Jacobians
def _error_if_complex(api, args, is_input):
    for idx, arg in enumerate(tree_flatten(args)[0]):
        if isinstance(arg, Tensor) and arg.dtype.is_complex:
            raise RuntimeError(f"{api}: Expected all {'inputs' if is_input else 'outputs'} to be real but received "
                               f"complex tensor at flattened input idx: {idx}")


def _standard_basis(tensors):
    """The rows of the identity over all of `tensors`' elements, split per tensor and shaped
    (total, *tensor.shape)."""
    from framework.ops.creation import eye
    numels = [t.numel() for t in tensors]
    total = sum(numels)
    cols = eye(total, device=tensors[0].device).split(numels, dim=1)
    return tuple(c.to(t.dtype).reshape((total,) + tuple(t.shape)) for c, t in zip(cols, tensors)), numels


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """The Jacobian of func with respect to args[argnums], one vjp per output element."""
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    @functools.wraps(func)
    def wrapper_fn(*args):
        _error_if_complex("jacrev", args, is_input=True)
        vjp_out = _vjp(func, args, argnums=argnums, has_aux=has_aux)
        output, vjp_fn = vjp_out[:2]
        flat_output, output_spec = tree_flatten(output)
        _error_if_complex("jacrev", flat_output, is_input=False)
        flat_primals, primals_spec = tree_flatten(_slice_argnums(args, argnums))
        basis, out_numels = _standard_basis(flat_output)
        stacked = tree_flatten(vmap(vjp_fn)(tree_unflatten(list(basis), output_spec)))[0]
        per_input = [tuple(s.view(tuple(o.shape) + tuple(p.shape)) for s, o in zip(r.split(out_numels, dim=0),
                                                                                  flat_output))
                     for r, p in zip(stacked, flat_primals)]
        per_output = tuple(tree_unflatten(list(ins), primals_spec) for ins in zip(*per_input))
        if isinstance(argnums, int):
            per_output = tuple(ins[0] for ins in per_output)
        result = tree_unflatten(list(per_output), output_spec)
        return (result, vjp_out[2]) if has_aux else result
    return wrapper_fn


def _safe_unflatten(t, dim, shape):
    return t.squeeze(dim) if len(shape) == 0 else t.unflatten(dim, tuple(shape))


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """The Jacobian of func with respect to args[argnums], one jvp per input element."""
    @functools.wraps(func)
    def wrapper_fn(*args):
        _error_if_complex("jacfwd", args, is_input=True)
        primals = args if argnums is None else _slice_argnums(args, argnums)
        flat_primals, primals_spec = tree_flatten(primals)
        flat_basis, numels = _standard_basis(flat_primals)

        def push_jvp(basis):
            output = _jvp(func, args, basis, argnums=argnums, has_aux=has_aux)
            _error_if_complex("jacfwd", output[0], is_input=False)
            return (output[1], output[2]) if has_aux else output[1]

        results = vmap(push_jvp, randomness=randomness)(tree_unflatten(list(flat_basis), primals_spec))
        aux = None
        if has_aux:
            results, aux = results
            aux = tree_map(lambda a: a[0], aux)
        jac_outs, spec = tree_flatten(results)
        jac_outs_ins = tuple(
            tree_unflatten([_safe_unflatten(j, -1, p.shape)
                            for p, j in zip(flat_primals, jac_out.movedim(0, -1).split(numels, dim=-1))], primals_spec)
            for jac_out in jac_outs)
        if isinstance(argnums, int):
            jac_outs_ins = tuple(ins[0] for ins in jac_outs_ins)
        result = tree_unflatten(list(jac_outs_ins), spec)
        return (result, aux) if has_aux else result
    return wrapper_fn


def hessian(func, argnums=0):
    """jacfwd(jacrev(func, argnums), argnums), as PyTorch defines it."""
    return jacfwd(jacrev(func, argnums), argnums)
