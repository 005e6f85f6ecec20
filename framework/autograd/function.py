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


class Function(Node):
    """Subclass with static `forward(ctx, *args)` and `backward(ctx, *grads)`; call `.apply`."""

    _saved = ()
    _saved_versions = ()
    _freed = False
    _materialize_grads = True
    _non_differentiable = None
    _dirty = None
    needs_input_grad = ()

    def name(self):
        return type(self).__name__ + "Backward0"

    # ---- ctx API
    def save_for_backward(self, *tensors):
        self._saved = tensors
        self._saved_versions = tuple(None if t is None else t._version_box[0] for t in tensors)

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

    @classmethod
    def apply(cls, *args):
        if _dt.low_used and not low_precision.state.inner and low_precision.needed(cls, args):
            return low_precision.dispatch(cls, args)  # float16/bfloat16 inputs, or autocast
        prev = grad_mode.state.enabled
        record = False
        if prev:
            for a in args:
                if isinstance(a, Tensor) and a._requires_grad:
                    record = True
                    break
        if not record and cls.untracked is not None:
            return cls.untracked(*args)
        ctx = cls.__new__(cls)
        grad_mode.state.enabled = False
        try:
            outputs = cls.forward(ctx, *args)
        finally:
            grad_mode.state.enabled = prev
        if ctx._dirty is not None:
            _modified_in_place(ctx, outputs, record)
        if record:
            return _connect(ctx, args, outputs)
        return outputs


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
    alias of it, as PyTorch's view_as(self), so the input keeps its own history."""
    needs, edges, metas = [], [], []
    for a in args:
        if isinstance(a, Tensor) and a._requires_grad:
            needs.append(True)
            fn = a.grad_fn
            edges.append((fn, a._output_nr) if fn is not None else (a._accumulator or grad_accumulator(a), 0))
            metas.append((a._data.shape, a.dtype))
        else:
            needs.append(False)
            edges.append((None, 0))
            metas.append(None)
    ctx.needs_input_grad = tuple(needs)
    ctx.next_functions = tuple(edges)
    ctx._input_meta = metas
    single = isinstance(outputs, Tensor)
    outs = (outputs,) if single else outputs
    ctx._output_meta = [(o._data.shape, o.dtype, o.device) for o in outs]
    skip = ctx._non_differentiable
    aliased = None
    for i, o in enumerate(outs):
        if (o.dtype.is_floating_point or o.dtype.is_complex) and (skip is None or id(o) not in skip):
            for a in args:  # (a plain loop: this is every recorded op's path)
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
    ctx._single_output = single
    if _anomaly.enabled:
        _anomaly.record(ctx)
    if aliased is None:
        return outputs
    if single:
        return aliased[0]
    return type(outputs)(aliased) if type(outputs) in (tuple, list) else type(outputs)(*aliased)
