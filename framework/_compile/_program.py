"""A compiled program: the captured graph run node by node, each fused group as one kernel.

Nodes that do not fuse (matmul, convolution, other reductions, shape ops, a user's custom op)
run by calling the same Function again (framework/export/_ops.py), so autograd records them as
usual. A fused group that an input requiring grad reaches runs inside `_FusedGroup`, an autograd
Function whose backward is the group's backward program: its ops replayed on the saved inputs
and differentiated, captured once and fused (`_backward`; docs/DESIGN.md). A program captured
with dynamic sizes binds its symbols from the inputs on every call (`bindings`).
"""
import warnings

from framework._compile import _fusion, _kernels
from framework.autograd import grad_mode
from framework.autograd.function import Function
from framework.export import _ops
from framework.export._graph import Ref, Sym, iter_refs
from framework.export._program import _materialize, store
from framework.tensor import Tensor


class _FusedGroup(Function):
    """forward: the group's kernel; backward: the group's backward program (`_backward`)."""

    @staticmethod
    def forward(ctx, group, debug, bindings, *tensors):
        ctx.group, ctx.debug = group, debug
        ctx.save_for_backward(*tensors)
        return tuple(_kernels.launch(group, list(tensors), debug, bindings))

    @staticmethod
    def backward(ctx, *grads):
        group, saved = ctx.group, ctx.saved_tensors
        needs = tuple(ctx.needs_input_grad[3:])
        if grad_mode.state.enabled:  # create_graph: differentiate through the replay itself
            got = _differentiate(group, saved, needs, grads, create=True, leaves=False)
        else:
            got = _backward(group, needs, tuple(g is not None for g in grads), ctx.debug)(*saved, *grads)
        it = iter(got)
        return (None, None, None) + tuple(next(it) if need else None for need in needs)


def _differentiate(group, saved, needs, grads, create, leaves=True):
    """The gradients of the inputs in `needs` from the group's ops replayed on `saved` (its
    inputs) and differentiated eagerly; `leaves`: differentiate with respect to detached copies
    (False: through `saved` themselves, so the result's graph reaches them)."""
    import framework
    with framework.enable_grad():
        xs = [t.detach().requires_grad_() if leaves and need else t for t, need in zip(saved, needs)]
        env = dict(zip(group.inputs, xs))
        replay(group.nodes, env, xs[0].device, _bindings_of(group, xs))
        outs = [env[o] for o in group.outputs]
        pairs = [(o, g) for o, g in zip(outs, grads) if o.requires_grad and g is not None]
        wanted = [x for x, need in zip(xs, needs) if need]
        if not pairs or not wanted:
            return (None,) * len(wanted)
        return framework.autograd.grad([o for o, _ in pairs], wanted, [g for _, g in pairs], allow_unused=True,
                                       create_graph=create)


def _backward(group, needs, present, debug):
    """The group's backward as a compiled program, per (inputs needing a gradient, output
    gradients given): the replay and its differentiation run once under capture (the backward
    rules are differentiable ops, so they are recorded), and that graph is fused like a forward
    one: the recomputed forward values and the gradient formulas become the same kernels. It
    takes the saved inputs and the given gradients; where the capture fails, the eager replay."""
    programs = group.__dict__.setdefault("backward", {})
    key = (needs, present)
    if key not in programs:
        from framework._compile import _Compiled
        from framework.export import CaptureError
        n = len(group.inputs)

        def backward(*args):
            grads = iter(args[n:])
            full = [next(grads) if p else None for p in present]
            return tuple(_differentiate(group, args[:n], needs, full, create=True))

        backward.__qualname__ = f"backward of {', '.join(group.outputs)}"
        # (dynamic=None: a second batch size makes the sizes that changed dynamic, as for a forward)
        compiled = _Compiled(backward, fullgraph=True, dynamic=None, fuse=True, debug=debug, limit=3,
                             counter="backward_compilations")

        def run(*args):
            try:
                return compiled(*(a for a in args if a is not None))
            except CaptureError:
                programs[key] = eager
                return eager(*args)

        def eager(*args):
            return _differentiate(group, args[:n], needs, args[n:], create=False)

        run.compiled = compiled  # (its programs, for inspection)
        programs[key] = run
    return programs[key]


def _bind_sizes(want, got, bindings):
    """Into `bindings`, the sizes `got` of the dims whose graph sizes `want` are symbols."""
    for w, g in zip(want, got):
        if isinstance(w, Sym) and w.is_symbol():
            bindings[w.is_symbol()] = g


def _bindings_of(group, tensors):
    """{symbol: size} of the group's inputs (`tensors`) where the graph's sizes are symbols."""
    found = {}
    for name, t in zip(group.inputs, tensors):
        _bind_sizes(group.meta[name].shape, t.shape, found)
    return found


def replay(nodes, env, device, bindings=None):
    """Run `nodes` eagerly, reading and writing values in `env`."""
    for node in nodes:
        store(node.outputs, _ops.call(node.op, _materialize(node.args, env, bindings or {}), device), env)


def _runner(node):
    """`run(env, device, bindings)` for one node: `replay` with its arguments' places worked out
    once (a flat argument list of values and tensor references, the common case, is filled in
    by position instead of walked on every call)."""
    if any(type(a) not in (Ref, bool, int, float, str, type(None)) for a in node.args) or \
            node.op in _ops.ACTIVATIONS or node.op == "full" or node.op in _ops.RANDOM:
        return lambda env, device, bindings: replay((node,), env, device, bindings)
    cls = _ops.CUSTOM.get(node.op) or _ops._registry().get(node.op)
    if cls is None:
        return lambda env, device, bindings: replay((node,), env, device, bindings)
    template = list(_ops.from_ir(node.op, list(node.args)))
    refs = [(i, a.name) for i, a in enumerate(template) if type(a) is Ref]
    outputs, apply = node.outputs, cls.apply

    def run(env, device, bindings):
        args = template.copy()
        for i, name in refs:
            args[i] = env[name]
        store(outputs, apply(*args), env)
    return run


class Program:
    """One input signature's compiled graph. `inputs`: the (args, kwargs) trees of Refs;
    `tensors`: {placeholder name: a function returning the live tensor} for parameters,
    buffers and constants; `fuse`: False for backend="eager" (the graph replayed as it is)."""

    def __init__(self, graph, inputs, tensors, fuse=True, debug=False, strict=False):
        self.graph, self.inputs, self.tensors = graph, inputs, tensors
        self.debug, self.strict = debug, strict
        self.items = _fusion.partition(graph) if fuse else list(graph.nodes)
        self.groups = [i for i in self.items if isinstance(i, _fusion.Group)]
        self.steps = [(i, None if isinstance(i, _fusion.Group) else _runner(i), drop)
                      for i, drop in zip(self.items, _last_uses(self.items, graph.output))]

    def __call__(self, args, kwargs):
        env, bindings = {}, {}
        meta = self.graph.meta
        _bind(self.inputs[0], args, env, bindings, meta)
        for k, spec in self.inputs[1].items():
            _bind(spec, kwargs[k], env, bindings, meta)
        for name, get in self.tensors.items():
            env[name] = get()
        device = next((t.device for t in env.values() if isinstance(t, Tensor)), None)
        if device is None:
            import framework
            device = framework.device("cpu")
        for item, run, drop in self.steps:
            if run is None:
                self._run_group(item, env, device, bindings)
            else:
                run(env, device, bindings)
            for name in drop:
                env.pop(name, None)
        return _materialize(self.graph.output, env, bindings)

    def _run_group(self, group, env, device, bindings):
        if getattr(group, "failed", False):
            return replay(group.nodes, env, device, bindings)
        tensors = [env[n] for n in group.inputs]
        try:
            if grad_mode.state.enabled and any(t.requires_grad for t in tensors):
                outs = _FusedGroup.apply(group, self.debug, bindings, *tensors)
            else:
                outs = _kernels.launch(group, tensors, self.debug, bindings)
        except (ImportError, SyntaxError, NotImplementedError, _numba_error()) as e:
            if self.strict:
                raise
            warnings.warn(f"framework.compile: the fused kernel of these nodes failed to build ({type(e).__name__}: "
                          f"{str(e).splitlines()[0] if str(e) else ''}); they run eagerly:\n{group.describe()}",
                          stacklevel=4)
            group.failed = True
            return replay(group.nodes, env, device, bindings)
        env.update(zip(group.outputs, outs))

    def kernel_sources(self):
        """[(graph nodes, kernel file path)] of the groups built so far."""
        return [(g.describe(), m.__file__) for g in self.groups for m in g.kernels.values()]


def _last_uses(items, output):
    """Per step, the values no later step reads and the program does not return: the program
    lets go of them right after that step, as eager code drops an intermediate at its last use
    (holding every value to the end made a compiled forward's peak memory the sum of all its
    intermediates). A value nothing reads goes where it is made."""
    returned = {r.name for r in iter_refs(output)}
    last = {}
    for i, item in enumerate(items):
        grouped = isinstance(item, _fusion.Group)
        for name in (item.inputs if grouped else (r.name for r in item.refs())):
            last[name] = i
        for name in item.outputs:
            if name:
                last.setdefault(name, i)
    drops = [[] for _ in items]
    for name, i in last.items():
        if name not in returned:
            drops[i].append(name)
    return [tuple(d) for d in drops]


def _numba_error():
    from numba.core.errors import NumbaError
    return NumbaError


def _bind(spec, value, env, bindings, meta):
    """Inputs into `env`; the sizes of dims the capture made symbols into `bindings` (the guards
    already matched everything else)."""
    if isinstance(spec, Ref):
        env[spec.name] = value
        _bind_sizes(meta[spec.name].shape, value.shape, bindings)
    elif type(spec) in (tuple, list):
        for s, v in zip(spec, value):
            _bind(s, v, env, bindings, meta)
    elif isinstance(spec, dict):
        for k, s in spec.items():
            _bind(s, value[k], env, bindings, meta)
