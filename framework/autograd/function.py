"""`Function`: the unit of differentiation, and the graph node it leaves behind.

As in PyTorch, `ctx` *is* the node: `forward(ctx, *args)` runs with grad
recording off and may `ctx.save_for_backward(...)`; if any input requires grad
the same object is wired into the graph (`next_functions`) and its
`backward(ctx, *grads)` is called by the engine. Backward rules are written
with ordinary tensor ops, so running them with grad enabled (create_graph)
builds the graph of the gradient itself.

Autograd sits above Tensor: this package imports `framework.tensor`, never the reverse.
"""
from framework import dtypes as _dt
from framework.autograd import anomaly_mode as _anomaly, grad_mode, low_precision
from framework.tensor import Tensor

_grad = grad_mode.state  # (read on every op: one attribute load instead of two)


class Node:
    """What the engine needs of a graph node."""

    next_functions = ()
    _pre_hooks = None  # {output_nr: [hook, ...]}: tensor hooks, run on the incoming grad
    _retained = None   # {output_nr: weakref to a tensor that retain_grad()s}

    def name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"

    def register_prehook(self, output_nr, hook):
        if self._pre_hooks is None:
            self._pre_hooks = {}
        hooks = self._pre_hooks.setdefault(output_nr, [])
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)


class _RemovableHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class AccumulateGrad(Node):
    """The sink node of a leaf tensor: adds the incoming gradient into `.grad`."""

    def __init__(self, variable):
        self.variable = variable

    def accumulate(self, grad, create_graph):
        var = self.variable
        if var.grad is None:
            var.grad = grad if create_graph else grad._detached_owned()
        elif create_graph or var.grad.requires_grad:
            var.grad = var.grad + grad
        else:
            var.grad._accumulate_(grad)


def grad_accumulator(t):
    """The AccumulateGrad node of the leaf `t`, made on first use and kept on the tensor, so
    every use of a leaf in the graph leads to one node."""
    acc = t._accumulator
    if acc is None:
        acc = t._accumulator = AccumulateGrad(t)
    return acc


class _NeedsInputGrad:
    """`ctx.needs_input_grad`, made on first read from the input metas `_connect` keeps (None
    for an input that needs no gradient) and then kept in the instance's dict, which a
    descriptor without __set__ yields to. Most nodes never read it: recording skips building it."""

    def __get__(self, ctx, owner=None):
        if ctx is None:
            return self
        metas = ctx.__dict__.get("_input_meta")
        if metas is None:
            return ()
        needs = ctx.__dict__["needs_input_grad"] = tuple(m is not None for m in metas)
        return needs


class Function(Node):
    """Subclass with static `forward(ctx, *args)` and `backward(ctx, *grads)`; call `.apply`."""

    _saved = ()
    _saved_versions = ()
    _freed = False
    _materialize_grads = True
    _non_differentiable = None
    _dirty = None
    needs_input_grad = _NeedsInputGrad()

    def name(self):
        return type(self).__name__ + "Backward0"

    # ---- ctx API
    def save_for_backward(self, *tensors):
        self._saved = tensors
        self._saved_versions = [None if t is None else t._version_box[0] for t in tensors]  # (only zipped)

    @property
    def saved_tensors(self):
        if self._freed:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved tensors after "
                "they have already been freed). Saved intermediate values of the graph are freed when you call "
                ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
                "graph a second time or if you need to access saved tensors after calling backward.")
        for t, v in zip(self._saved, self._saved_versions):
            if t is not None and t._version_box[0] != v:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: [{t.dtype} {list(t.shape)}] is at version {t._version_box[0]}; expected version "
                    f"{v} instead. Hint: the operation that saved it was {self.name()}.")
        return self._saved

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable = {id(t) for t in tensors}

    def mark_dirty(self, *tensors):
        """Declare inputs that `forward` modified in place. Each must be returned as an output;
        it then *is* that output (same object, version bumped, this node as grad_fn), as in PyTorch."""
        self._dirty = tensors

    def set_materialize_grads(self, value):
        self._materialize_grads = bool(value)

    def _release(self):
        if self._saved:
            self._saved = ()
            self._freed = True

    # ---- subclass API
    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("subclasses of Function must implement forward")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("subclasses of Function must implement backward")

    # Optional `untracked(*args) -> outputs`: the forward without a ctx. When nothing is to be
    # recorded, apply calls it directly and skips the node's bookkeeping (the per-op overhead
    # of inference, and of every op on tensors that do not require grad).
    untracked = None
    # False for ops that only move or view data: they run on float16/bfloat16 storage as it
    # is; the others compute in float32 (framework/autograd/low_precision.py).
    opmath = True
    # The aten name PyTorch's autocast lists give this op (framework/amp/autocast_mode.py);
    # elementwise ops are known by their `op`.
    autocast_op = None
    # Whether autograd.grad narrows ctx.needs_input_grad to the inputs on a path to what it was
    # asked for (framework/autograd/engine.py _needed): the framework's own ops, as PyTorch's
    # built-in nodes skip outputs nobody asked for; a user's Function sees requires_grad alone,
    # as PyTorch's Python Functions do.
    prunes_inputs = True

    def __init_subclass__(cls, **kwargs):
        """A user's own Function (defined outside `framework`) runs as written on float16/bfloat16
        inputs, as in PyTorch: no float32 copies, so an in-place write with `mark_dirty` lands on
        the caller's tensor. It may still set `opmath = True` itself."""
        super().__init_subclass__(**kwargs)
        if not _is_framework(cls.__module__) or cls.__module__ == "framework.library":
            cls.prunes_inputs = False
        if "opmath" not in cls.__dict__ and not _is_framework(cls.__module__):
            owner = next(c for c in cls.__mro__ if "opmath" in c.__dict__)
            if _is_framework(owner.__module__):
                cls.opmath = False

    @classmethod
    def apply(cls, *args):
        if _dt.low_used and not low_precision.state.inner and low_precision.needed(cls, args):
            return low_precision.dispatch(cls, args)  # float16/bfloat16 inputs, or autocast
        prev = _grad.enabled
        record = False
        if prev:
            for a in args:
                if isinstance(a, Tensor) and a._requires_grad:
                    record = True
                    break
        if not record and cls.untracked is not None:
            return cls.untracked(*args)
        ctx = cls.__new__(cls)
        _grad.enabled = False
        try:
            outputs = cls.forward(ctx, *args)
        finally:
            _grad.enabled = prev
        if ctx._dirty is not None:
            _modified_in_place(ctx, outputs, record)
        if record:
            return _connect(ctx, args, outputs)
        return outputs


# The hot paths that skip Function.apply where it would only call the op's `untracked` (the
# operators in framework/ops/elementwise.py `operator`; reshape, cat, sum, softmax, linear,
# x[key], ~x) ask `skips_apply`: the profiler and framework.export swap Function.apply to see
# every op, float16/bfloat16 and autocast need its prelude, and then those paths step aside.
_function_attrs = Function.__dict__
_plain_apply = Function.__dict__["apply"]


def skips_apply(requires_grad):
    """Whether an op whose inputs' requires_grad is `requires_grad` (any of them) may call its
    `untracked` directly: nothing to record, Function.apply not swapped, no 16-bit float in use."""
    return _function_attrs["apply"] is _plain_apply and not _dt.low_used and not (requires_grad and _grad.enabled)


def records_plainly():
    """Whether Function.apply, asked to record, would only run forward and `_connect`: not
    swapped, no 16-bit float in use. A hot op (linear) then makes its node itself."""
    return _function_attrs["apply"] is _plain_apply and not _dt.low_used


def _is_framework(module):
    return module == "framework" or module.startswith("framework.")


def _modified_in_place(ctx, outputs, record):
    """mark_dirty's rules, as PyTorch's: a dirty input must be an output, its version is bumped
    (so a backward that saved its old value refuses), and a leaf that requires grad refuses.
    Saved tensors are checked against their versions after forward, as PyTorch packs them then."""
    outs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    for t in ctx._dirty:
        if not isinstance(t, Tensor):
            continue
        if not any(t is o for o in outs):
            raise RuntimeError("Some elements marked as dirty during the forward method were not returned as "
                               "output. The inputs that are modified inplace must all be outputs of the Function.")
        t._version_box[0] += 1
        if record:
            if t.grad_fn is None and t._requires_grad:
                raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
            if t._base is not None:
                raise NotImplementedError(
                    f"{type(ctx).__name__}: mark_dirty on a view (or detached alias) of another tensor is not "
                    "supported while the graph is recorded (PyTorch rebases the base's history); apply the "
                    "Function to the base tensor, or to a clone of the view")
    if ctx._saved:
        ctx._saved_versions = tuple(None if t is None else t._version_box[0] for t in ctx._saved)


def _connect(ctx, args, outputs):
    """Wire `ctx` into the graph: edges to the inputs, grad_fn on the outputs.

    Returns the outputs: an input returned as it is (and not marked dirty) becomes a new
    alias of it, as PyTorch's view_as(self), so the input keeps its own history.
    (Written for speed: every recorded op runs it; one output is the common case.)"""
    edges, metas = [], []
    for a in args:
        if isinstance(a, Tensor) and a._requires_grad:
            fn = a.grad_fn
            edges.append((fn, a._output_nr) if fn is not None else (a._accumulator or grad_accumulator(a), 0))
            metas.append((a._data.shape, a.dtype))
        else:
            edges.append(_NO_EDGE)
            metas.append(None)
    ctx.next_functions = tuple(edges)
    ctx._input_meta = metas  # (needs_input_grad is read from it, when asked for)
    if isinstance(outputs, Tensor):  # (no _output_meta: the engine's default is one output)
        o = outputs
        if o.dtype._category >= 2 and (ctx._non_differentiable is None or id(o) not in ctx._non_differentiable):
            for a in args:
                if a is o:
                    if ctx._dirty is None or not any(o is d for d in ctx._dirty):
                        o = Tensor._make(o._data, o.dtype, o.device, base=o)
                    break
            o._requires_grad = True
            o.grad_fn = ctx
            o._output_nr = 0
        if _anomaly.enabled:
            _anomaly.record(ctx)
        return o
    outs = outputs
    ctx._output_meta = [(o._data.shape, o.dtype, o.device) for o in outs]
    skip = ctx._non_differentiable
    aliased = None
    for i, o in enumerate(outs):
        if o.dtype._category >= 2 and (skip is None or id(o) not in skip):  # floating or complex
            for a in args:
                if a is o:
                    if ctx._dirty is None or not any(o is d for d in ctx._dirty):
                        o = Tensor._make(o._data, o.dtype, o.device, base=o)
                        if aliased is None:
                            aliased = list(outs)
                        aliased[i] = o
                    break
            o._requires_grad = True
            o.grad_fn = ctx
            o._output_nr = i
    if _anomaly.enabled:
        _anomaly.record(ctx)
    if aliased is None:
        return outputs
    return type(outputs)(aliased) if type(outputs) in (tuple, list) else type(outputs)(*aliased)


_NO_EDGE = (None, 0)


def record_pair(ctx, a, b, out):
    """`_connect` for the commonest recorded op, ready-made: tensors `a` and `b` in (one or both
    requiring grad), one new floating `out` (framework/ops/elementwise.py `operator`, whose
    forward is only a kernel). The same edges, metas and output state, without the general loops."""
    ea = eb = _NO_EDGE
    ma = mb = None
    if a._requires_grad:
        fn = a.grad_fn
        ea = (fn, a._output_nr) if fn is not None else (a._accumulator or grad_accumulator(a), 0)
        ma = (a._data.shape, a.dtype)
    if b._requires_grad:
        fn = b.grad_fn
        eb = (fn, b._output_nr) if fn is not None else (b._accumulator or grad_accumulator(b), 0)
        mb = (b._data.shape, b.dtype)
    ctx.next_functions = (ea, eb)
    ctx._input_meta = [ma, mb]
    out._requires_grad = True
    out.grad_fn = ctx
    if _anomaly.enabled:
        _anomaly.record(ctx)
    return out
