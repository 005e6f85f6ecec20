"""framework.compile: capture once per input signature, fuse elementwise chains, guard, rerun.

    model = framework.compile(model)          # an OptimizedModule sharing the model's parameters
    @framework.compile(mode="debug")          # or a function; "debug" prints each kernel's source
    def gelu_mlp(x, w1, w2): ...

On the first call with a new signature (the shapes, dtypes, devices and requires_grad of the
tensor inputs, the other arguments' values, the training flags of the modules, grad mode, the
default dtype) the model runs under framework.export's capture (framework/export/_capture.py:
one run on the inputs and a check run on other values, so value-dependent Python is caught);
the graph becomes a `Program` whose elementwise chains are fused kernels
(framework/_compile/_fusion.py). Later calls with the same signature run the program; a
changed signature compiles again, up to `recompile_limit`. What the capture cannot represent
falls back to eager with one warning (`fullgraph=True` raises instead). `stats` counts
compilations, fallbacks and kernels written or loaded. See docs/DESIGN.md, "framework.compile".
"""
import functools
import itertools
import types
import warnings

from framework import dtypes as _dt
from framework import nn
from framework._compile import _kernels
from framework.backends import fusion as _fusion_backend
from framework._compile._program import Program
from framework.autograd import grad_mode
from framework.tensor import Tensor

__all__ = ["compile", "OptimizedModule", "stats", "reset", "list_backends"]

_MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune", "debug")
_BACKENDS = ("inductor", "eager")
RECOMPILE_LIMIT = 8

# framework-wide counters (torch._dynamo.utils.counters' role): "compilations" (graphs captured),
# "backward_compilations" (fused groups' backward graphs, captured at their first backward),
# "fallbacks" (signatures run eagerly), "kernels_generated" / "kernels_loaded" (fused modules).
_counts = {"compilations": 0, "backward_compilations": 0, "fallbacks": 0}


class _Stats:
    def __getitem__(self, key):
        if key == "kernels_generated":
            return _fusion_backend.stats["generated"]
        if key == "kernels_loaded":
            return _fusion_backend.stats["loaded"]
        return _counts[key]

    def __repr__(self):
        return repr({k: self[k] for k in ("compilations", "backward_compilations", "fallbacks", "kernels_generated",
                                          "kernels_loaded")})


stats = _Stats()


def reset():
    """Zero the counters (compiled programs stay with their callables)."""
    for k in _counts:
        _counts[k] = 0
    for k in _fusion_backend.stats:
        _fusion_backend.stats[k] = 0


def list_backends(exclude_tags=()):
    return sorted(_BACKENDS)


def compile(model=None, *, fullgraph=False, dynamic=None, backend=None, mode=None, options=None, name=None,
            disable=False, recompile_limit=None):
    """torch.compile's call shape: a compiled callable (an OptimizedModule for a Module), or a
    decorator when `model` is None."""
    if model is None:
        def decorate(model):
            if model is None:
                raise RuntimeError("Model can't be None")
            return compile(model, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                           options=options, name=name, disable=disable, recompile_limit=recompile_limit)
        return decorate
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be specified at the same time.")
    if mode is not None and mode not in _MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(_MODES)}")
    if backend is None:
        backend = "inductor"
    if not isinstance(backend, str):
        raise NotImplementedError("framework.compile takes backend 'inductor' (fused kernels) or 'eager' (the "
                                  "captured graph replayed); a callable backend is not supported")
    if backend not in _BACKENDS:
        raise RuntimeError(f"invalid backend {backend!r}: framework.compile has {', '.join(_BACKENDS)}")
    if options is not None and not isinstance(options, dict):
        raise TypeError(f"options must be a dict, got {type(options).__name__}")
    if not callable(model):
        raise AssertionError(f"A callable function is expected, but {type(model)} is provided.")
    if disable:
        return model
    compiled = _Compiled(model, fullgraph=fullgraph, dynamic=dynamic, fuse=backend == "inductor",
                         debug=_kernels.debug_enabled(mode) or bool((options or {}).get("trace.enabled")),
                         limit=RECOMPILE_LIMIT if recompile_limit is None else recompile_limit)
    if isinstance(model, nn.Module):
        return OptimizedModule(model, compiled)
    functools.update_wrapper(compiled, model, updated=())
    return compiled


class _Compiled:
    """The compiled callable: {signature: Program, or None where it runs eagerly}."""

    def __init__(self, fn, fullgraph, dynamic, fuse, debug, limit, counter="compilations"):
        self._fn, self.fullgraph, self.dynamic_mode, self.fuse, self.debug = fn, fullgraph, dynamic, fuse, debug
        self.counter = counter
        self.limit = limit
        self.programs = {}  # {signature: Program, or None where it runs eagerly}
        self.dynamic = {}  # {symbols ((tensor index, dim, name), ...): {signature without those sizes: Program}}
        self.compile_count = 0
        self._warned = False

    def __get__(self, obj, objtype=None):  # a decorated method binds as a function would
        return self if obj is None else types.MethodType(self, obj)

    def __call__(self, *args, **kwargs):
        from framework.export import _capture
        if _capture.capturing() is not None:  # inside a capture (export): the model's own ops
            return self._fn(*args, **kwargs)
        try:
            sig = _signature(self._fn, args, kwargs)
        except TypeError:  # an argument that cannot be a guard (unhashable, not a tensor)
            return self._eager("an argument is neither a tensor nor a hashable value", args, kwargs)
        program = self.programs.get(sig, _MISSING)
        if program is _MISSING:
            program = self._dynamic_program(sig)
        if program is _MISSING:
            if len(self.programs) + sum(map(len, self.dynamic.values())) >= self.limit:
                return self._eager(f"the recompile limit ({self.limit}) is reached", args, kwargs)
            symbols = self._dynamic_dims(sig, args, kwargs)
            program = self._compile(args, kwargs, symbols)
            if program is not None and program.dynamic:  # (perhaps with fewer symbols than asked)
                self.dynamic.setdefault(program.symbols, {})[_masked(sig, program.symbols)] = program
            else:
                self.programs[sig] = program
        if program is None:
            return self._fn(*args, **kwargs)
        return program(args, kwargs)

    def _dynamic_program(self, sig):
        """A program with dynamic sizes whose guards `sig` meets: the static parts equal, the
        sizes of each symbol equal to each other and at least 2 (0 and 1 broadcast)."""
        parts = _tensor_parts(sig)
        for symbols, table in self.dynamic.items():
            sizes = {}
            for k, d, name in symbols:
                shape = parts[k][1] if k < len(parts) else ()
                size = shape[d] if d < len(shape) else None
                if size is None or size < 2 or sizes.setdefault(name, size) != size:
                    break
            else:
                program = table.get(_masked(sig, symbols))
                if program is not None:
                    return program
        return _MISSING

    def _dynamic_dims(self, sig, args, kwargs):
        """The sizes to capture as symbols, ((tensor input index, dim, symbol name), ...): with
        dynamic=True the first dim of every tensor input; with dynamic=None (automatic, as
        torch.compile) the dims whose sizes changed from a program already compiled for otherwise
        the same signature; none with dynamic=False or on a first call. Sizes that change together
        (equal before and after) share a symbol."""
        if self.dynamic_mode is False:
            return ()
        parts = _tensor_parts(sig)
        if self.dynamic_mode is True:
            changed = [(k, 0, (p[1][0],)) for k, p in enumerate(parts) if p[1] and p[1][0] >= 2]
        else:
            changed = []
            for old in self.programs:
                old_parts = _tensor_parts(old)
                if len(old) != len(sig) or len(old_parts) != len(parts) or \
                        _masked(old, _all_dims(old_parts)) != _masked(sig, _all_dims(parts)):
                    continue
                changed = [(k, d, (a, b)) for k, (pa, pb) in enumerate(zip(old_parts, parts))
                           for d, (a, b) in enumerate(zip(pa[1], pb[1])) if a != b and a >= 2 and b >= 2]
                if changed:
                    break
        names = {}
        return tuple((k, d, names.setdefault(key, f"s{len(names)}")) for k, d, key in changed)

    def _eager(self, why, args, kwargs):
        if self.fullgraph:
            from framework.export import CaptureError
            raise CaptureError(f"framework.compile(fullgraph=True): {why}")
        self._warn(why)
        return self._fn(*args, **kwargs)

    def _warn(self, why):
        if not self._warned:
            self._warned = True
            warnings.warn(f"framework.compile: running {_name(self._fn)} eagerly: {why}", stacklevel=4)

    def _compile(self, args, kwargs, symbols=()):
        """A Program (None: run eagerly), its sizes `symbols` dynamic where the code follows them;
        where it does not (it reads a size as a value, or mixes a changed size with a fixed one),
        fewer symbols (only the first input's first dim), then none."""
        from framework.export import CaptureError
        _counts[self.counter] += 1
        self.compile_count += 1
        attempts = [symbols, symbols[:1]] if len(symbols) > 1 else [symbols] if symbols else []
        for attempt in attempts:  # (with no symbols: straight to the static capture below, once)
            try:
                graph, inputs, tensors = _capture(self._fn, args, kwargs, attempt)
                symbols = attempt
                break
            except Exception:  # noqa: BLE001 (resized inputs can fail in any op; the static capture says why)
                continue
        else:
            symbols = ()
            try:
                graph, inputs, tensors = _capture(self._fn, args, kwargs)
            except CaptureError as e:
                if self.fullgraph:
                    raise
                _counts["fallbacks"] += 1
                self._warn(f"the graph cannot be captured ({e})")
                return None
        program = Program(graph, inputs, tensors, fuse=self.fuse, debug=self.debug, strict=self.fullgraph)
        program.dynamic, program.symbols = bool(symbols), symbols
        if self.debug:
            print(f"# ---- framework.compile: graph of {_name(self._fn)}\n{graph}", flush=True)
        return program


_MISSING = object()


def _tensor_parts(sig):
    """The tensor inputs' guard entries ("T", shape, dtype, device, requires_grad), in order."""
    return [p for p in sig if type(p) is tuple and p and p[0] == "T"]


def _all_dims(parts):
    return tuple((k, d, None) for k, (_, shape, *_) in enumerate(parts) for d in range(len(shape)))


def _masked(sig, symbols):
    """`sig` with the sizes at `symbols`' (tensor index, dim) replaced by their names."""
    where = {(k, d): name for k, d, name in symbols}
    out, k = [], 0
    for p in sig:
        if type(p) is tuple and p and p[0] == "T":
            out.append(("T", tuple(where.get((k, d), size) for d, size in enumerate(p[1]))) + p[2:])
            k += 1
        else:
            out.append(p)
    return tuple(out)


def _name(fn):
    return type(fn).__name__ if isinstance(fn, nn.Module) else getattr(fn, "__qualname__", repr(fn))


class OptimizedModule(nn.Module):
    """A compiled module: `_orig_mod` is the original (a submodule, so parameters, buffers, the
    training flag and, under the `_orig_mod.` prefix, the state dict are its own); other
    attributes read through to it."""

    def __init__(self, mod, compiled):
        super().__init__()
        self._orig_mod = mod
        self.__dict__["_compiled"] = compiled
        self.training = mod.training

    def forward(self, *args, **kwargs):
        return self.__dict__["_compiled"](*args, **kwargs)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["_orig_mod"], name)


# ----------------------------------------------------------------- guards and capture


def _signature(fn, args, kwargs):
    """What a program is specialised on; a TypeError where a value cannot be hashed."""
    parts = [grad_mode.state.enabled, _dt.get_default_dtype().name]

    def walk(v):
        if isinstance(v, Tensor):
            parts.append(("T", tuple(v.shape), v.dtype.name, str(v.device), v.requires_grad))
        elif type(v) in (tuple, list):
            parts.append((type(v).__name__, len(v)))
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            parts.append(("dict", tuple(v)))
            for x in v.values():
                walk(x)
        else:
            hash(v)
            parts.append(("C", type(v).__name__, v))

    walk(args)
    walk(kwargs)
    free = [] if isinstance(fn, nn.Module) else _free_values(fn)  # (read once: this runs on every call)
    for m in _modules(fn, free):
        parts.append(_module_guard(m))
    for _, t in free:
        if isinstance(t, Tensor):
            parts.append((id(t), t._data.shape, t.dtype, t.device, t._requires_grad))
    return tuple(parts)


def _module_guard(root):
    """The state of `root` and its submodules a program depends on, read without building names
    (this runs on every call): each one's training flag, and the identity, shape, dtype, device
    and requires_grad of its parameters and buffers."""
    out, stack, seen = [], [root], set()
    while stack:
        m = stack.pop()
        if id(m) in seen:
            continue
        seen.add(id(m))
        out.append(m.training)
        for group in (m._parameters, m._buffers):
            for t in group.values():
                if t is not None:
                    out.append((id(t), t._data.shape, t.dtype, t.device, t._requires_grad))
        stack.extend(c for c in m._modules.values() if c is not None)
    return tuple(out)


def _modules(fn, free=None):
    """The modules whose state a call reads: the compiled module, or those a function names
    (`free`: its _free_values, when already read)."""
    if isinstance(fn, nn.Module):
        return [fn]
    owner = getattr(fn, "__self__", None)
    found = [owner] if isinstance(owner, nn.Module) else []
    return found + [v for _, v in (_free_values(fn) if free is None else free) if isinstance(v, nn.Module)]


def _free_values(fn):
    """(name, value) of the closure cells and the globals a function's code names."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return []
    out = []
    if fn.__closure__:
        out += [(n, c.cell_contents) for n, c in zip(code.co_freevars, fn.__closure__)
                if _has_contents(c)]
    g = getattr(fn, "__globals__", {})
    out += [(n, g[n]) for n in code.co_names if n in g]
    return out


def _has_contents(cell):
    try:
        cell.cell_contents
        return True
    except ValueError:
        return False


def _free_tensors(fn):
    """(placeholder name, tensor) of every parameter, buffer and tensor the call reads from outside
    its arguments: the module's (or the modules a function names) and a function's free tensors."""
    out = []
    for i, m in enumerate(_modules(fn)):
        prefix = "" if i == 0 and isinstance(fn, nn.Module) else f"m{i}_"
        out += [(f"p_{prefix}{n.replace('.', '_')}", p) for n, p in m.named_parameters()]
        out += [(f"b_{prefix}{n.replace('.', '_')}", b) for n, b in m.named_buffers()]
    if not isinstance(fn, nn.Module):
        out += [(f"g_{n}", v) for n, v in _free_values(fn) if isinstance(v, Tensor)]
    seen, unique = set(), []
    for name, t in out:
        if id(t) not in seen:
            seen.add(id(t))
            unique.append((name, t))
    return unique


def _capture(fn, args, kwargs, symbols=()):
    """(graph, input trees, {placeholder: live tensor getter}) of `fn` on these inputs; the
    sizes `symbols` names ((tensor input index, dim, name), ...) captured as symbols, as
    framework.export does (a run per corner of the sizes, and a check run)."""
    import framework
    from framework.export import Dim, _input_names, _input_tree, _resized, _symbols
    from framework.export._capture import merge_runs, run_once
    free = _free_tensors(fn)
    named = [(n, "parameter" if isinstance(t, nn.Parameter) else "buffer", t) for n, t in free]
    forward = fn.forward if isinstance(fn, nn.Module) else fn
    arg_names, kw_names = _input_names(types.SimpleNamespace(forward=forward), args, kwargs)
    buffers = [t for _, kind, t in named if kind == "buffer"]
    with framework.no_grad():
        snapshot = [b.clone() for b in buffers]
    rng = framework.get_rng_state()
    paths = _tensor_paths(args, kwargs)
    dims = {}
    for k, d, name in symbols:
        dims.setdefault(paths[k], {})[d] = Dim(name)
    names, base, _ = _symbols(dims, args, kwargs)

    def restore():
        with framework.no_grad():
            for b, s in zip(buffers, snapshot):
                if b.shape == s.shape:
                    b.copy_(s)
        framework.set_rng_state(rng)

    runs, corners = [], []
    try:
        for corner in itertools.product((0, 1), repeat=len(names)):
            sizes = {s: base[i] + corner[i] for i, s in enumerate(names)}
            a1, k1 = _resized(args, kwargs, dims, sizes, roll=False)
            runs.append(run_once(fn, _clones(a1), _clones(k1), named, (arg_names, kw_names)))
            corners.append(corner)
            restore()  # (the capture must not write into the caller's tensors: clones above)
        check = {s: base[i] + 2 for i, s in enumerate(names)}
        a2, k2 = _resized(args, kwargs, dims, check, roll=True)
        runs.append(run_once(fn, a2, k2, named, (arg_names, kw_names)))
    finally:
        restore()
    graph, constants = merge_runs(runs, corners, base, names, check)
    graph.eliminate_dead_code()
    live = {n for n, _ in graph.placeholders}
    tensors = {n: (lambda t=t: t) for n, t in free if n in live}
    tensors.update({n: (lambda t=t: t) for n, t in constants.items() if n in live})
    inputs = (tuple(_input_tree(a, n) for a, n in zip(args, arg_names)),
              {k: _input_tree(v, kw_names[k]) for k, v in kwargs.items()})
    return graph, inputs, tensors


def _tensor_paths(args, kwargs):
    """The paths (("args", i, ...) / ("kwargs", k, ...)) of the tensor inputs, in the guards' order."""
    out = []

    def walk(value, path):
        if isinstance(value, Tensor):
            out.append(path)
        elif type(value) in (tuple, list):
            for i, v in enumerate(value):
                walk(v, path + (i,))
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, path + (k,))

    walk(args, ("args",))
    walk(kwargs, ("kwargs",))
    return out


def _clones(tree):
    if isinstance(tree, Tensor):
        return tree.clone()
    if type(tree) in (tuple, list):
        return type(tree)(_clones(v) for v in tree)
    if isinstance(tree, dict):
        return {k: _clones(v) for k, v in tree.items()}
    return tree
