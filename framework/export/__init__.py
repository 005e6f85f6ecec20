"""framework.export: capture a model as a graph of framework ops, save it, run it without its class.

    ep = framework.export.export(model.eval(), (x,), dynamic_shapes={"x": {0: Dim("batch")}})
    print(ep.graph)                          # the ops, their attributes, shapes and source lines
    framework.export.save(ep, "model.fwp")   # JSON graph + safetensors weights, one file, no pickle
    m = framework.export.load("model.fwp").module()   # any process: the model's class is not needed
    y = m(x)

As `torch.export`, the capture runs the model on the example inputs; Python control flow is
taken as traced (as `torch.jit.trace`), and what the graph cannot represent (data-dependent
shapes, values computed outside the framework's ops that change with the inputs, branches
that change with a dynamic size) raises `CaptureError` naming the op and the source line.
Sizes are static unless `dynamic_shapes` names them (torch.export's format: per input, a dict
{dim: Dim} or a tuple of Dim/None). See docs/DESIGN.md, "Graph capture and export".
"""
import inspect

import framework
from framework import nn
from framework.export._capture import CaptureError, merge_runs, run_once
from framework.export._program import (ExportedModule, ExportedProgram, ExportGraphSignature, InputSpec,
                                       OutputSpec)
from framework.export._serialize import load, save
from framework.tensor import Tensor

__all__ = ["export", "save", "load", "Dim", "ExportedProgram", "ExportGraphSignature", "InputSpec", "OutputSpec",
           "CaptureError", "ExportedModule"]

_INT_MAX = 2 ** 63 - 1


class Dim:
    """A dynamic dimension: `Dim("batch", min=1, max=1024)`. One Dim used by several inputs
    makes their sizes equal. `Dim.AUTO`/`Dim.DYNAMIC` name a dynamic dim automatically;
    `Dim.STATIC` (or None) keeps it static."""

    def __init__(self, name, *, min=None, max=None):
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"Dim name must be a valid identifier, got {name!r}")
        lo = 0 if min is None else min
        hi = max
        if hi is not None and hi < lo:
            raise ValueError(f"Cannot create Dim with inconsistent min={min}, max={max}")
        self.__name__, self.min, self.max = name, lo, hi

    def __repr__(self):
        return f"Dim({self.__name__!r}, min={self.min}, max={self.max})"


Dim.AUTO = Dim.DYNAMIC = Dim("_auto")
Dim.STATIC = Dim("_static")


def export(mod, args, kwargs=None, *, dynamic_shapes=None, strict=False, preserve_module_call_signature=()):
    """Capture `mod` run on `args` (a tuple) and `kwargs` as an ExportedProgram."""
    if not isinstance(mod, nn.Module):
        raise ValueError(f"Expected `mod` to be an instance of `torch.nn.Module`, got {type(mod)}.")
    if not isinstance(args, tuple):
        raise ValueError(f"Expecting `args` to be a tuple of example positional inputs, got {type(args)}")
    kwargs = dict(kwargs or {})
    arg_names, kw_names = _input_names(mod, args, kwargs)
    named, targets = [], {}
    for name, p in mod.named_parameters():
        graph_name = "p_" + name.replace(".", "_")
        named.append((graph_name, "parameter", p))
        targets[graph_name] = name
    buffer_names = {}
    for name, b in mod.named_buffers():
        graph_name = "b_" + name.replace(".", "_")
        named.append((graph_name, "buffer", b))
        targets[graph_name] = name
        buffer_names[name] = b
    dims = _dynamic_dims(mod, args, kwargs, arg_names, dynamic_shapes)
    symbols, base, ranges = _symbols(dims, args, kwargs)

    snapshot = {k: b.detach().clone() for k, b in buffer_names.items()}
    runs, corners = [], []
    try:
        corner_list = [()]
        for _ in symbols:
            corner_list = [c + (d,) for c in corner_list for d in (0, 1)]
        for corner in corner_list:
            sizes = {s: base[i] + corner[i] for i, s in enumerate(symbols)}
            a, k = _resized(args, kwargs, dims, sizes, roll=False)
            runs.append(run_once(mod, a, k, named, (arg_names, kw_names)))
            corners.append(corner)
            _restore(buffer_names, snapshot)
        check_sizes = {s: base[i] + 2 for i, s in enumerate(symbols)}
        a, k = _resized(args, kwargs, dims, check_sizes, roll=True)
        runs.append(run_once(mod, a, k, named, (arg_names, kw_names)))
    finally:
        _restore(buffer_names, snapshot)
    graph, constants = merge_runs(runs, corners, base, symbols, check_sizes)
    graph.eliminate_dead_code()
    live = {n for n, _ in graph.placeholders}
    state = mod.state_dict()
    state_dict = {k: v for k, v in state.items()}
    consts = {name: t for name, t in constants.items() if name in live}
    for name, b in buffer_names.items():
        if name not in state_dict:
            consts[name] = b.detach()
    inputs = (tuple(_input_tree(a, n) for a, n in zip(args, arg_names)),
              {k: _input_tree(v, kw_names[k]) for k, v in kwargs.items()})
    return ExportedProgram(graph, targets, state_dict, consts, inputs, ranges, (args, kwargs))


def _restore(buffers, snapshot):
    with framework.no_grad():
        for k, b in buffers.items():
            if b.shape == snapshot[k].shape:
                b.copy_(snapshot[k])


def _input_names(mod, args, kwargs):
    try:
        params = list(inspect.signature(mod.forward).parameters.values())
    except (TypeError, ValueError):
        params = []
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    names = [positional[i] if i < len(positional) else f"args_{i}" for i in range(len(args))]
    return names, {k: k for k in kwargs}


def _input_tree(value, name):
    from framework.export._graph import Ref
    if isinstance(value, Tensor):
        return Ref(name)
    if type(value) in (tuple, list):
        return type(value)(_input_tree(v, f"{name}_{i}") for i, v in enumerate(value))
    if isinstance(value, dict):
        return {k: _input_tree(v, f"{name}_{k}") for k, v in value.items()}
    return value


def _leaves(value, path):
    """(path, tensor) for every tensor in an input tree."""
    if isinstance(value, Tensor):
        yield path, value
    elif type(value) in (tuple, list):
        for i, v in enumerate(value):
            yield from _leaves(v, path + (i,))
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, path + (k,))


def _dynamic_dims(mod, args, kwargs, arg_names, dynamic_shapes):
    """{(path of a tensor input): {dim: Dim}} from torch.export's dynamic_shapes format."""
    if dynamic_shapes is None:
        return {}
    if isinstance(dynamic_shapes, dict):
        by_position = {}
        for key, spec in dynamic_shapes.items():
            if key in arg_names:
                by_position[("args", arg_names.index(key))] = spec
            elif key in kwargs:
                by_position[("kwargs", key)] = spec
            else:
                raise ValueError(f"dynamic_shapes names {key!r}, which is not an input of {type(mod).__name__}"
                                 f".forward (inputs: {arg_names + list(kwargs)})")
    elif isinstance(dynamic_shapes, (tuple, list)):
        if len(dynamic_shapes) != len(args) + len(kwargs):
            raise ValueError(f"dynamic_shapes has {len(dynamic_shapes)} entries for {len(args) + len(kwargs)} "
                             f"inputs")
        keys = [("args", i) for i in range(len(args))] + [("kwargs", k) for k in kwargs]
        by_position = dict(zip(keys, dynamic_shapes))
    else:
        raise ValueError(f"dynamic_shapes must be a dict, tuple or list, got {type(dynamic_shapes).__name__}")
    dims = {}

    def walk(value, spec, path):
        if spec is None:
            return
        if isinstance(value, Tensor):
            if isinstance(spec, dict):
                items = spec.items()
            elif isinstance(spec, (tuple, list)):
                items = enumerate(spec)
            else:
                raise ValueError(f"the dynamic_shapes of a tensor must be a dict or a tuple, got {spec!r}")
            got = {}
            for d, dim in items:
                if dim is None or dim is Dim.STATIC:
                    continue
                if not isinstance(dim, Dim):
                    raise ValueError(f"dynamic_shapes: expected a Dim for dimension {d}, got {dim!r}")
                if not -value.ndim <= d < value.ndim:
                    raise ValueError(f"dynamic_shapes: dimension {d} is out of range for an input of shape "
                                     f"{tuple(value.shape)}")
                got[d % value.ndim] = dim
            if got:
                dims[path] = got
        elif type(value) in (tuple, list):
            for i, v in enumerate(value):
                walk(v, spec[i], path + (i,))
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, spec.get(k), path + (k,))

    for (where, key), spec in by_position.items():
        walk((args if where == "args" else kwargs)[key], spec, (where, key))
    return dims


def _symbols(dims, args, kwargs):
    """Symbol names in order, their base sizes (the example's, at least 2) and their ranges."""
    symbols, base, ranges, auto = [], [], {}, {}
    tree = {"args": args, "kwargs": kwargs}
    for path, per_dim in dims.items():
        t = _at(tree, path)
        for d, dim in per_dim.items():
            if dim is Dim.AUTO:
                key = (path, d)
                name = auto.setdefault(key, f"s{len(symbols)}")
            else:
                name = dim.__name__
            size = t.shape[d]
            if name not in symbols:
                if dim is not Dim.AUTO and not (dim.min <= size and (dim.max is None or size <= dim.max)):
                    raise ValueError(f"the example input's size {size} at dimension {d} is outside the range "
                                     f"[{dim.min}, {dim.max}] of {dim.__name__}")
                symbols.append(name)
                base.append(size)
                ranges[name] = (dim.min if dim is not Dim.AUTO else 0, dim.max if dim is not Dim.AUTO else None)
            elif base[symbols.index(name)] != size:
                raise ValueError(f"{name} is used by inputs of different sizes ({base[symbols.index(name)]} "
                                 f"and {size})")
            per_dim[d] = name
    base = [max(b, 2) for b in base]  # sizes 0 and 1 broadcast: runs start at 2
    return symbols, base, ranges


def _at(tree, path):
    for k in path:
        tree = tree[k]
    return tree


def _resized(args, kwargs, dims, sizes, roll):
    """The example inputs with each dynamic dim at `sizes` (the example repeated along it) and,
    with `roll`, other values: every tensor's elements shifted by one (an index stays a valid
    index) and floats scaled by 1.25 (signs and zeros kept)."""
    def make(value, path):
        if isinstance(value, Tensor):
            t = value.detach()
            for d, name in dims.get(path, {}).items():
                n = sizes[name]
                if t.shape[d] == 0:
                    raise ValueError(f"a dynamic dimension needs an example of size at least 1 (dimension {d})")
                idx = framework.arange(n, device=t.device) % t.shape[d]
                t = t.index_select(d, idx)
            if roll and t.numel() > 1:
                t = t.reshape(-1).roll(1).reshape(t.shape)
            if roll and t.dtype.is_floating_point:
                t = t * 1.25
            return t
        if type(value) in (tuple, list):
            return type(value)(make(v, path + (i,)) for i, v in enumerate(value))
        if isinstance(value, dict):
            return {k: make(v, path + (k,)) for k, v in value.items()}
        return value

    with framework.no_grad():
        return (tuple(make(a, ("args", i)) for i, a in enumerate(args)),
                {k: make(v, ("kwargs", k)) for k, v in kwargs.items()})
