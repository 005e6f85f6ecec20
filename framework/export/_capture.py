"""Graph capture: run the model on example inputs and record every framework op it calls.

Every op enters the graph machinery through `Function.apply`; for the duration of one run
the capture swaps in a recording `apply` (as framework/profiler.py does: nothing is hooked,
and nothing costs, outside a capture). Only the outermost op is recorded: the ops a Function
runs inside its own forward are part of it. The run records with grad enabled and the float
inputs requiring grad, so the fast paths that skip `Function.apply` when nothing records (the
2-D matmul) are not taken, and a value is known by its autograd node even through in-place
ops (which give the op a snapshot of the tensor they then overwrite).

Python control flow is taken as traced, as `torch.jit.trace` does. So that a graph does not
silently bake in what it cannot represent, the model runs several times: once per corner of
the dynamic sizes (each dynamic dim at p and p + 1) and once more at p + 2 with other input
values. An integer that changes with the sizes becomes a symbolic size, fitted as a
multilinear polynomial of the dims (batch, batch * seq, ...) and checked on the last run; a
graph that changes shape, a value computed outside the recorded ops that changes with the
inputs, or an output shape that depends on the input values is an error naming the op and the
user's source line.
"""
import contextlib
import itertools
import linecache
import math
import os
import sys
import threading

import numpy as np

from framework import dtypes as _dt
from framework.autograd import grad_mode
from framework.autograd import inplace as _inplace
from framework.autograd.function import Function
from framework.export import _ops
from framework.export._graph import Graph, Node, Ref, Sym, TensorMeta, simplify
from framework.device import device as _device
from framework.tensor import Tensor

_FRAMEWORK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_EXAMPLES_DIR = os.path.join(_FRAMEWORK_DIR, "examples") + os.sep


class CaptureError(RuntimeError):
    """The model does something the graph cannot represent."""


def user_line(frame):
    """'path:line' of the innermost caller outside the framework (examples count as user code),
    and the line's text."""
    f = frame
    while f is not None:
        path = f.f_code.co_filename
        if not path.startswith(_FRAMEWORK_DIR) or path.startswith(_EXAMPLES_DIR):
            return f"{os.path.basename(path)}:{f.f_lineno}", path, f.f_lineno
        f = f.f_back
    return "", "", 0


def describe(path, line):
    text = linecache.getline(path, line).strip() if path else ""
    return f"{path}:{line}" + (f" ({text})" if text else "") if path else "an unknown line"


def _snake(name):
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


_PLAIN = (bool, int, float, str, complex, dict)


class _Recorder:
    """One run's graph under construction."""

    def __init__(self, named):
        self.by_id = {}      # id(tensor) -> (name, version, tensor)
        self.by_node = {}    # (id(grad_fn), output_nr) -> name
        self.keep = []       # everything named stays alive, so ids are not reused
        self.nodes = []
        self.meta = {}
        self.placeholders = []
        self.constants = {}  # name -> Tensor
        self.counts = {}
        self.depth = 0
        self.thread = threading.get_ident()  # (a DataLoader thread's draws are not the model's)
        for name, kind, t in named:
            self.add_placeholder(name, kind, t)

    @contextlib.contextmanager
    def unrecorded(self):
        """Ops run inside are not the model's: a recorded op's own inner ops, a copy to the host,
        a recorded random draw."""
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    def fresh(self, base):
        n = self.counts.get(base, 0)
        self.counts[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    def name(self, t, name):
        self.by_id[id(t)] = (name, t._version_box[0], t)
        if t.grad_fn is not None:
            self.by_node[(id(t.grad_fn), t._output_nr)] = name
        self.keep.append(t)
        self.meta[name] = TensorMeta(t.shape, t.dtype)

    def add_placeholder(self, name, kind, t):
        self.placeholders.append((name, kind))
        self.name(t, name)

    def lookup(self, t, detached=True):
        fn = t.grad_fn
        if fn is not None:
            n = self.by_node.get((id(fn), t._output_nr))
            if n is not None:
                return n
        entry = self.by_id.get(id(t))
        if entry is not None and entry[2] is t:
            if entry[1] != t._version_box[0]:
                return False  # modified in place outside the recorded ops
            return entry[0]
        base = t._base
        if detached and fn is None and base is not None and base is not t and base._data is t._data \
                and base.dtype is t.dtype:
            return self.lookup(base, False)  # t.detach(): the same value
        return None

    def ref(self, t, where):
        n = self.lookup(t)
        if n is False:
            raise CaptureError(f"a tensor was modified in place by an operation the capture does not see, before "
                               f"its use at {where}; use an out-of-place op")
        if n is not None:
            return Ref(n)
        return self.lift(t, where.split(" at ", 1)[-1] if " at " in where else "")

    def lift(self, t, source=""):
        """A tensor no recorded op produced: a `full` node when it holds one repeated value (so
        its size may be symbolic), else a constant of the program."""
        with self.unrecorded():
            data = t.detach().cpu().numpy() if t.dtype.name != "bfloat16" else t.detach().float().cpu().numpy()
        flat = data.reshape(-1)
        if flat.size and (flat == flat[0]).all() and t.dtype.name not in ("bfloat16", "float16"):
            value = flat[0].item()
            name = self.fresh("full")
            self.nodes.append(Node("full", [tuple(t.shape), value, t.dtype], [name], [TensorMeta(t.shape, t.dtype)],
                                   source))
        else:
            name = self.fresh("c_lifted_tensor")
            self.placeholders.append((name, "constant"))
            self.constants[name] = t.detach()
        self.name(t, name)
        return Ref(name)

    def random(self, kind, t, dtype, generator, frame):
        """A draw of framework.rand / randn from the default generator: a node, so the program
        draws anew on every call, in the graph's order. (Lifted as a constant, the capture's
        draw served every call: a compiled model's dropout dropped the same units every step.)"""
        source, path, line = user_line(frame)
        if generator is not None:
            raise CaptureError(f"{kind}() with its own generator at {describe(path, line)}: a graph draws from the "
                               f"default generator only")
        name = self.fresh(kind)
        self.nodes.append(Node(kind, [tuple(t.shape), dtype], [name], [TensorMeta(t.shape, t.dtype)], source))
        self.name(t, name)

    def encode_args(self, value, where):
        if isinstance(value, Tensor):
            return self.ref(value, where)
        if type(value) in (tuple, list):
            return type(value)(self.encode_args(v, where) for v in value)
        if type(value) is slice:
            return slice(*(self.encode_args(v, where) for v in (value.start, value.stop, value.step)))
        if isinstance(value, (np.integer, np.floating, np.bool_)):
            return value.item()
        if value is None or value is Ellipsis or type(value) in _PLAIN or isinstance(value, _dt.dtype) \
                or isinstance(value, _device):
            return value
        hint = (" (indexing with a tensor or a mask: use index_select, gather or framework.where)"
                if type(value).__name__ == "AdvancedKey" else "")
        raise CaptureError(f"{where}: an argument of type {type(value).__name__} cannot be represented in the "
                           f"graph{hint}")

    def record(self, op, args, out, source, where):
        outs = (out,) if isinstance(out, Tensor) else tuple(out)
        base = _snake(op)
        names, metas = [], []
        for o in outs:
            if isinstance(o, Tensor):
                name = self.fresh(base)
                names.append(name)
                metas.append(TensorMeta(o.shape, o.dtype))
            else:
                names.append("")
                metas.append(None)
        mutates = any(o is a for o in outs for a in args if isinstance(a, Tensor))
        self.nodes.append(Node(op, args, names, metas, source, mutates))
        for o, name in zip(outs, names):
            if name:
                self.name(o, name)

    def output_tree(self, value):
        if isinstance(value, Tensor):
            return self.ref(value, "the output")
        if isinstance(value, (tuple, list)):  # (a namedtuple, e.g. max's (values, indices), as a tuple)
            return (list if isinstance(value, list) else tuple)(self.output_tree(v) for v in value)
        if isinstance(value, dict):
            return {k: self.output_tree(v) for k, v in value.items()}
        return value


_state = {"recorder": None}


def capturing():
    """The capture in progress when this thread runs it, else None. The recording `apply` is
    process-wide while a capture runs; another thread's ops (a data-loading thread, a second
    model) run as they would without it."""
    rec = _state["recorder"]
    return rec if rec is not None and rec.thread == threading.get_ident() else None


def recorder():
    """The capture in progress, when the caller is the model's own code in the capturing
    thread (not inside a recorded op's forward, whose work replaying the op repeats), else None."""
    rec = capturing()
    return rec if rec is not None and not rec.depth else None


def refuse_random_draw(what):
    """A random draw (`what`: the function making it) that the graph cannot represent
    (randint, randperm, multinomial, poisson, ..., made by the model itself during a capture):
    a CaptureError, so that compile runs the model eagerly and export refuses, instead of
    replaying the capture's draw on every call."""
    if recorder() is not None:
        source, path, line = user_line(sys._getframe(2))
        raise CaptureError(f"a random draw ({what}) at {describe(path, line)}: a graph draws only through "
                           f"rand / randn (and dropout) from the default generator")


def _capturing_apply(inner):
    def apply(cls, *args):
        rec = recorder()
        if rec is None:
            return inner(cls, *args)
        op = _ops.name_of(cls)
        if op == "Activation":
            kind = _ops.activation_of(args[1])
            if kind is None:
                return inner(cls, *args)  # a composed activation: its ops are recorded one by one
            op, param = kind
            recorded = (args[0],) if param is None else (args[0], param)
        elif op is None:
            return inner(cls, *args)  # the user's own Function: the framework ops inside it are recorded
        else:
            recorded = _ops.to_ir(op, args)
        source, path, line = user_line(sys._getframe(1))
        where = f"{op} at {describe(path, line)}"
        encoded = rec.encode_args(list(recorded), where)
        with rec.unrecorded():
            out = inner(cls, *args)
        rec.record(op, encoded, out, source, where)
        return out
    return apply


def run_once(fn, args, kwargs, named, input_names):
    """One recorded run: (Recorder, output tree). `named`: [(name, kind, tensor)] of the module's
    parameters and buffers; the tensor inputs are named from `input_names` (a tree like args)."""
    rec = _Recorder(named)

    def prepare(value, name):
        if isinstance(value, Tensor):
            t = value.detach()
            if t.dtype.is_floating_point or t.dtype.is_complex:
                t = t.requires_grad_()
                t = _Identity.apply(t)  # not a leaf, so in-place ops on it are allowed
            rec.add_placeholder(name, "input", t)
            return t
        if type(value) in (tuple, list):
            return type(value)(prepare(v, f"{name}_{i}") for i, v in enumerate(value))
        if isinstance(value, dict):
            return {k: prepare(v, f"{name}_{k}") for k, v in value.items()}
        return value

    args = tuple(prepare(a, n) for a, n in zip(args, input_names[0]))
    kwargs = {k: prepare(v, input_names[1][k]) for k, v in kwargs.items()}
    saved, saved_rebase = Function.__dict__["apply"], _inplace._rebase_history
    Function.apply = classmethod(_capturing_apply(saved.__func__))
    _inplace._rebase_history = _rebase_history_for(saved_rebase)
    _state["recorder"] = rec
    prev = grad_mode.state.enabled
    grad_mode.state.enabled = True
    try:
        out = fn(*args, **kwargs)
    finally:
        grad_mode.state.enabled = prev
        _state["recorder"] = None
        Function.apply, _inplace._rebase_history = saved, saved_rebase
    return rec, rec.output_tree(out)


def _rebase_history_for(eager_rebase):
    def rebase(view, result, positions):
        """An in-place op of the capturing thread wrote `result` into `view`
        (framework/autograd/inplace.py): the view now is that value. Its root base changed too,
        which the graph does not follow: the root is left unknown, so a later use of it is an
        error rather than a stale value. Another thread's in-place op rebases as in eager mode."""
        rec = capturing()
        if rec is None:
            return eager_rebase(view, result, positions)
        view.grad_fn, view._output_nr, view._requires_grad = result.grad_fn, result._output_nr, True
        root = _inplace._root(view)
        root.grad_fn, root._output_nr = _LostNode(), 0
        rec.keep.append(root.grad_fn)
    return rebase


class _LostNode:
    """A stand-in autograd node for a tensor whose value the graph lost track of."""


class _Identity(Function):
    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        return g


# ----------------------------------------------------------------- symbolic sizes across runs


def _fit(values, corners, base, symbols):
    """The multilinear polynomial through `values` at the corners (0/1 per symbol, from `base`),
    as a Sym or int: the Newton form sum_S c_S prod_{i in S} (s_i - p_i), expanded."""
    f = dict(zip(corners, values))
    terms = {}
    k = len(symbols)
    for S in corners:
        members = [i for i in range(k) if S[i]]
        c = 0
        for T in itertools.product(*[(0, 1) if S[i] else (0,) for i in range(k)]):
            c += (-1) ** (sum(S) - sum(T)) * f[T]
        if not c:
            continue
        for U in itertools.product(*[(0, 1) for _ in members]):
            key = tuple(sorted(symbols[members[j]] for j in range(len(members)) if U[j]))
            factor = math.prod(-base[members[j]] for j in range(len(members)) if not U[j])
            terms[key] = terms.get(key, 0) + c * factor
    return simplify(terms)


class _Mismatch(Exception):
    pass


def _merge(values, corners, base, symbols, check_value, check_bindings):
    """One argument from every corner run (plus the check run's) merged: equal values stay, ints
    that change become a Sym, anything else that changes raises _Mismatch."""
    first = values[0]
    if all(type(v) is type(first) for v in values) and type(first) in (tuple, list):
        if any(len(v) != len(first) for v in values) or len(check_value) != len(first):
            raise _Mismatch()
        return type(first)(_merge([v[i] for v in values], corners, base, symbols, check_value[i], check_bindings)
                           for i in range(len(first)))
    if type(first) is slice:
        parts = [_merge([getattr(v, a) for v in values], corners, base, symbols, getattr(check_value, a),
                        check_bindings) for a in ("start", "stop", "step")]
        return slice(*parts)
    if type(first) is dict:
        return {k: _merge([v[k] for v in values], corners, base, symbols, check_value[k], check_bindings)
                for k in first}
    if all(type(v) is int for v in values) and type(check_value) is int:
        fitted = _fit(values, corners, base, symbols) if symbols else first
        got = fitted.evaluate(check_bindings) if isinstance(fitted, Sym) else fitted
        if got != check_value or any(type(v) is not int for v in values):
            raise _Mismatch()
        return fitted
    if any(not _same(v, first) for v in values) or not _same(check_value, first):
        raise _Mismatch()
    return first


def _same(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and a != a and b != b:
        return True
    return a == b


def merge_runs(runs, corners, base, symbols, check_bindings):
    """One Graph from the corner runs and the check run (the last of `runs`)."""
    recs = [r for r, _ in runs]
    first = recs[0]
    if any(len(r.nodes) != len(first.nodes) for r in recs):
        _diverge(recs)
    nodes = []
    for i, node in enumerate(first.nodes):
        group = [r.nodes[i] for r in recs]
        if any(n.op != node.op or n.outputs != node.outputs for n in group):
            _diverge(recs, i)
        where = f"{node.op} at {node.source or 'an unknown line'}"
        try:
            args = _merge([n.args for n in group[:-1]], corners, base, symbols, group[-1].args, check_bindings)
        except _Mismatch:
            raise CaptureError(
                f"{where}: an argument of this op depends on the input values, or on a dynamic size in a way "
                f"the graph cannot express (data-dependent Python values such as .item(), or integer division "
                f"of a dynamic size); make it a tensor op, or keep that size static") from None
        metas = []
        for j, m in enumerate(node.meta):
            if m is None:
                metas.append(None)
                continue
            try:
                shape = _merge([n.meta[j].shape for n in group[:-1]], corners, base, symbols,
                               group[-1].meta[j].shape, check_bindings)
            except _Mismatch:
                raise CaptureError(f"{where}: the shape of its output depends on the input values "
                                   f"(a data-dependent shape), which the graph cannot represent") from None
            metas.append(TensorMeta(shape, m.dtype))
        nodes.append(Node(node.op, args, node.outputs, metas, node.source, node.mutates))
    # Placeholders: inputs, parameters and buffers carry their (symbolic) shapes; constants must agree.
    meta = {}
    for name, kind in first.placeholders:
        shapes = [r.meta[name].shape for r in recs]
        meta[name] = TensorMeta(_merge(shapes[:-1], corners, base, symbols, shapes[-1], check_bindings),
                                first.meta[name].dtype)
        if kind == "constant":
            values = [r.constants.get(name) for r in recs]
            if any(v is None or tuple(v.shape) != tuple(values[0].shape) or
                   not np.array_equal(v.cpu().numpy(), values[0].cpu().numpy(), equal_nan=True) for v in values):
                user = next((n for n in first.nodes if Ref(name) in n.refs()), None)
                at = f" (first used by {user.op} at {user.source})" if user is not None else ""
                raise CaptureError(f"a tensor computed outside the recorded ops{at} depends on the inputs: it "
                                   f"was made with .detach(), .numpy()/.tolist() or a new tensor built from "
                                   f"values, or by an op that skips Function.apply; use tensor ops instead")
    for n in nodes:
        for m, o in zip(n.meta, n.outputs):
            if o:
                meta[o] = m
    try:
        output = _merge([o for _, o in runs[:-1]], corners, base, symbols, runs[-1][1], check_bindings)
    except _Mismatch:
        raise CaptureError("the structure of the model's output changes with the inputs") from None
    return Graph(list(first.placeholders), nodes, output, meta), first.constants


def _diverge(recs, i=None):
    a, b = recs[0].nodes, recs[-1].nodes
    if i is None:
        i = next((k for k in range(min(len(a), len(b))) if a[k].op != b[k].op), min(len(a), len(b)))
    at = a[i] if i < len(a) else b[i] if i < len(b) else None
    where = f" at {at.op} ({at.source})" if at is not None else ""
    raise CaptureError(f"the model runs different ops for other input sizes or values{where}: Python control "
                       f"flow that depends on tensor values or on a dynamic size is taken as traced, and this "
                       f"graph would be wrong for other inputs; make the branch a tensor op (framework.where) "
                       f"or keep that size static")


