"""Which nodes of a captured graph fuse into one kernel, and the hash that names it.

An elementwise node (an op of kernels/scalar.py's UNARY or BINARY tables run by `_Unary`,
`_Binary` or an activation, see framework/export/_ops.py; a cast to a float or from bool)
computes one expression per element. A run of elementwise nodes with one output shape (the
nodes between them that do not fit run before or after it, see `_fuse`) becomes a `Group`: one loop that
computes every node's expression per element into scalar locals, reads each outside input once
(broadcast to the group's shape) and writes only the values used after the group. The kernel's
source and its module cache are the backends' (framework/backends/fusion.py), its launch each
backend's `fused_launch`.
"""
import collections
import hashlib
import math

from framework import dtypes as _dt
from framework.backends.fusion import BINARY, BOOL_OUT, UNARY, variant
from framework.export import _ops
from framework.export._graph import Node, Ref, Sym, TensorMeta, iter_refs

# dtypes a fused kernel handles (float16/bfloat16 compute in float32 eagerly, complex has no table)
_FUSIBLE_DTYPES = {"float32", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"}
# x ** c as framework.ops.elementwise.Pow computes it for float x (products and roots, not libm pow)
_POW_FORMS = {2: "x * x", 3: "x * x * x", 0.5: "math.sqrt(x)", -0.5: "1.0 / math.sqrt(x)", -1: "1.0 / x",
              -2: "1.0 / (x * x)"}
_INT_DIVISIONS = {"floor_divide", "remainder"}  # the CPU raises on a zero integer divisor: left eager


def _sizes(shape):
    """Whether every dim is an int or a symbol of a dynamic input size (framework.export's Sym)."""
    return all(type(d) is int or isinstance(d, Sym) for d in shape)


def _function_kind(op):
    """'unary', 'binary', 'activation' or None for an IR op name."""
    if op in _ops.ACTIVATIONS:
        return "activation"
    cls = _ops._registry().get(op)
    if cls is None:
        return None
    from framework.ops import elementwise as E
    from framework.ops.math import _SavesBoth
    if issubclass(cls, (E._Unary, _SavesBoth)) and op in UNARY:
        return "unary"
    if issubclass(cls, (E._Binary, E._FusedBackward)) and op in BINARY:
        return "binary"
    return None


def _meta_tensor(meta):
    import framework
    return framework.empty(tuple(meta.shape), dtype=meta.dtype, device="meta")


class Step:
    """One elementwise value as the loop computes it: the expression (a template in x, y), the
    operands (Refs or Python numbers), the compute dtype and the output dtype. `name` is the
    value it defines: its node's output, or a part of a row op (a variance's mean, a softmax's
    exponentials) named after it."""

    def __init__(self, node, expr, operands, compute, out, name=None):
        self.node, self.expr, self.operands, self.compute, self.out = node, expr, operands, compute, out
        self.name = name or node.outputs[0]


class Reduce:
    """A reduction over the last dim of a row group's shape: `kind` sum, max or min of the
    operand (a Ref to a full-shape value), accumulated in `compute`, stored as `out`."""

    def __init__(self, node, kind, operand, compute, out, name=None):
        self.node, self.kind, self.operands, self.compute, self.out = node, kind, [operand], compute, out
        self.name = name or node.outputs[0]


def elementwise_step(node, meta):
    """The Step of `node` when it fuses, else None. `meta`: {value name: TensorMeta}."""
    if node.mutates or len(node.outputs) != 1 or node.meta[0] is None:
        return None
    kind = _function_kind(node.op)
    if kind is None:
        return None
    out = node.meta[0].dtype
    refs = [a for a in node.args if isinstance(a, Ref)]
    dtypes = [meta[r.name].dtype for r in refs] + [out]
    if any(d.name not in _FUSIBLE_DTYPES for d in dtypes) or not _sizes(node.meta[0].shape):
        return None
    args = list(node.args)
    if any(not (isinstance(a, Ref) or type(a) in (bool, int, float)) for a in args):
        return None
    if kind == "activation":
        param = args[1] if len(args) > 1 else None
        if param is None:
            return Step(node, UNARY[node.op], args[:1], out, out)
        return Step(node, BINARY[node.op], [args[0], param], out, out)
    if kind == "unary":
        if len(args) != 1 or not isinstance(args[0], Ref):
            return None
        compute = meta[args[0].name].dtype if node.op in BOOL_OUT else out
        return Step(node, UNARY[node.op], args, compute, out)
    if len(args) != 2:
        return None
    a, b = args
    if node.op in BOOL_OUT:
        ta = _meta_tensor(meta[a.name]) if isinstance(a, Ref) else a
        tb = _meta_tensor(meta[b.name]) if isinstance(b, Ref) else b
        compute = _dt.result_type(ta, tb)
    else:
        compute = out
    if compute.name not in _FUSIBLE_DTYPES:
        return None
    is_float = compute.is_floating_point
    if node.op in _INT_DIVISIONS and not is_float:
        return None
    expr = BINARY[node.op]
    if node.op == "pow":
        if not is_float:
            expr = BINARY["ipow"]
        elif isinstance(a, Ref) and type(b) in (int, float) and b in _POW_FORMS:
            return Step(node, _POW_FORMS[b], [a], compute, out)
    return Step(node, expr, [a, b], compute, out)


def cast_step(node, meta):
    """A Cast to a float dtype, or from bool, as a Step: a dropout's mask (rand < p, cast to the
    input's dtype) fuses with what uses it. Casts to ints from floats or wider ints are left
    eager: NumPy's astype defines what LLVM's conversions leave undefined (NaN, -1.0 to uint8)."""
    if node.op != "Cast" or node.mutates or node.meta[0] is None or not isinstance(node.args[0], Ref):
        return None
    src, out = meta[node.args[0].name].dtype, node.meta[0].dtype
    if src.name not in _FUSIBLE_DTYPES or out.name not in _FUSIBLE_DTYPES or not _sizes(node.meta[0].shape):
        return None
    if not (out.is_floating_point or src is _dt.bool_):
        return None
    return Step(node, "x", [node.args[0]], out, out)


def view_step(node, meta):
    """An Expand, or a Reshape that only adds or drops a trailing size-1 dim, as an identity Step
    (in a row group's loop a broadcast or a row value's second shape costs nothing), else None. The
    backward of a reduction over the last dim makes both (a row sum reshaped to (..., 1) and
    expanded to the row's shape): each one a separate eager op, they split the fused groups of a
    layer norm's or a softmax's backward in five."""
    if node.op not in ("Expand", "Reshape") or node.mutates or len(node.outputs) != 1 or node.meta[0] is None:
        return None
    x = node.args[0]
    if not isinstance(x, Ref):
        return None
    src, out, dt = tuple(meta[x.name].shape), tuple(node.meta[0].shape), node.meta[0].dtype
    if dt.name not in _FUSIBLE_DTYPES or not _sizes(out) or not _sizes(src):
        return None
    if node.op == "Reshape" and out != src + (1,) and src != out + (1,):
        return None
    return Step(node, "x", [x], dt, dt)


class Group:
    """A run of elementwise nodes of one output shape: `inputs` (value names read from
    outside, in order), `outputs` (values used after it), `steps`."""

    def __init__(self, steps, shape):
        self.steps, self.shape = steps, tuple(shape)
        self.nodes = list(dict.fromkeys(s.node for s in steps))
        produced = {s.name for s in steps}
        inputs = []
        for s in steps:
            for o in s.operands:
                if isinstance(o, Ref) and o.name not in produced and o.name not in inputs:
                    inputs.append(o.name)
        self.inputs = inputs
        self.outputs = []
        self.kernels = {}  # {target: loaded module}

    def describe(self):
        """The graph nodes it came from, one per line."""
        return "\n".join(n.format(_ops.argument_names(n.op)) for n in self.nodes)


class RowGroup(Group):
    """Elementwise nodes and reductions over the last dim of one shape S (softmax, layer norm,
    a loss's rows): one kernel that walks each row (all dims but the last) in passes, one per
    reduction (framework/backends/fusion.py says which values a pass recomputes and which it
    keeps). `space[name]` is "full" (shape S), "row" or "flat" (one value per row, see _Run) for
    the values it computes; `input_space` (set by `partition`) the same for its inputs."""

    rows = True

    def __init__(self, steps, shape, space):
        super().__init__(steps, shape)
        self.space = {s.name: space[s.name] for s in steps}


# A row group needs this many rows: its kernel gives each row to one thread (one block on
# CUDA), so fewer rows would leave cores idle where the eager reductions split the work.
ROW_MIN = 16
# A group stays open past at most this many nodes waiting for it (partition): enough to reach
# around a backward's column sums, few enough that a graph of many layers is not walked again
# and again.
_DEFERRED_AT_MOST = 16
_FLOAT = ("float32", "float64")


def row_steps(node, meta, used):
    """(the input's shape, [Step | Reduce]) of a reduction over the last dim of a float tensor
    (Sum, amax/amin, max/min whose indices are unused, Var, Softmax/LogSoftmax), or None. Sums
    accumulate in the tensor's dtype, in vector lanes (as PyTorch's kernels do; the eager CPU
    kernels accumulate in float64, so results agree to rounding, not bit for bit)."""
    op, args = node.op, node.args
    if (op not in ("Sum", "Extreme", "ExtremeDim", "Var", "Softmax") or node.mutates or not args
            or not isinstance(args[0], Ref) or any(m is None for m in node.meta)):
        return None
    x = args[0]
    shape, dt = tuple(meta[x.name].shape), meta[x.name].dtype
    if not shape or not _sizes(shape):
        return None
    last, name = len(shape) - 1, node.outputs[0]
    if op == "Sum" and dt.name in _FUSIBLE_DTYPES and dt.name not in _FLOAT:
        # a count (amax's backward shares a gradient among the ties: a sum of `x == max`), in int64
        _, dims, _keepdim, dtype = args
        if tuple(dims) != (last,) or dtype is not None or node.meta[0].dtype is not _dt.int64:
            return None
        return shape, [Reduce(node, "sum", x, _dt.int64, _dt.int64)]
    if dt.name not in _FLOAT:
        return None
    if op == "Sum":
        _, dims, _keepdim, dtype = args
        if tuple(dims) != (last,) or dtype not in (None, dt):
            return None
        return shape, [Reduce(node, "sum", x, dt, dt)]
    if op in ("Extreme", "ExtremeDim"):
        _, kind, dims, _keepdim = args
        if (tuple(dims) if op == "Extreme" else (dims,)) != (last,) or kind not in ("max", "min"):
            return None
        if op == "ExtremeDim" and node.outputs[1] in used:
            return None
        return shape, [Reduce(node, kind, x, dt, dt)]
    if op == "Var":  # as Var.untracked: the mean, the centred squares, their sum / divisor
        _, dims, divisor, _keepdim = args
        n = shape[-1]
        if tuple(dims) != (last,) or type(n) is not int or type(divisor) not in (int, float):
            return None  # (a dynamic row length: its mean's divisor would be a symbol)
        total = Reduce(node, "sum", x, dt, dt, name + "__sum")
        mean = Step(node, BINARY["div"], [Ref(total.name), float(n) if n else float("nan")], dt, dt, name + "__mean")
        centred = Step(node, BINARY["sub"], [x, Ref(mean.name)], dt, dt, name + "__centred")
        square = Step(node, BINARY["mul"], [Ref(centred.name)] * 2, dt, dt, name + "__square")
        squares = Reduce(node, "sum", Ref(square.name), dt, dt, name + "__squares")
        return shape, [total, mean, centred, square, squares,
                       Step(node, BINARY["div"], [Ref(squares.name), float(divisor)], dt, dt)]
    _, dim, log = args  # Softmax: exp(x - max) / sum, or (x - max) - log(sum)
    if dim != last:
        return None
    top = Reduce(node, "max", x, dt, dt, name + "__max")
    shifted = Step(node, BINARY["sub"], [x, Ref(top.name)], dt, dt, name + "__shifted")
    exp = Step(node, UNARY["exp"], [Ref(shifted.name)], dt, dt, name + "__exp")
    total = Reduce(node, "sum", Ref(exp.name), dt, dt, name + "__sum")
    if log:
        log_total = Step(node, UNARY["log"], [Ref(total.name)], dt, dt, name + "__log_sum")
        return shape, [top, shifted, exp, total, log_total,
                       Step(node, BINARY["sub"], [Ref(shifted.name), Ref(log_total.name)], dt, dt)]
    inverse = Step(node, "1.0 / x", [Ref(total.name)], dt, dt, name + "__inverse")
    return shape, [top, shifted, exp, total, inverse,
                   Step(node, BINARY["mul"], [Ref(exp.name), Ref(inverse.name)], dt, dt)]


class _Run:
    """The nodes being gathered into one group: elementwise steps of shape `shape` and, once a
    reduction over its last dim joined, row values. `space[name]`: "full" (shape S), "row"
    (one per row, kept dim: (..., 1)) or "flat" (one per row, dim dropped: broadcasting it
    against S would run along the last dim, so only flat row values may read it)."""

    def __init__(self):
        self.steps, self.shape, self.space, self.reduces = [], None, {}, False

    def take(self, node, meta, used):
        """Add `node` if it fits: True, or False (the run is left as it was)."""
        reduction = row_steps(node, meta, used)
        if reduction is not None:
            shape, steps = reduction
            if self.shape is not None and shape != self.shape or self.space.get(node.args[0].name) == "flat":
                return False
            self.shape, self.reduces = shape, True
            kept = tuple(node.meta[0].shape) != shape[:-1] or node.op == "Softmax"
            for s in steps:
                if s.name != node.outputs[0]:  # a part (a variance's mean, a softmax's max): per row or per element
                    self.space[s.name] = "row" if isinstance(s, Reduce) or not _reads_full(s, self.space) else "full"
                else:
                    self.space[s.name] = "full" if node.op == "Softmax" else "row" if kept else "flat"
            self.steps.extend(steps)
            return True
        step = elementwise_step(node, meta) or cast_step(node, meta) or view_step(node, meta)
        if step is None:
            return False
        shape = tuple(node.meta[0].shape)
        spaces = {self.space[o.name] for o in step.operands if isinstance(o, Ref) and o.name in self.space}
        outside = [o for o in step.operands if isinstance(o, Ref) and o.name not in self.space]
        if node.op == "Expand" and not self.reduces:
            return False  # (a plain group gains nothing: its ops broadcast; a view it writes out would cost)
        if node.op == "Reshape":  # a row value between its two shapes: (..., 1) "row", (...) "flat"
            if outside or not self.reduces:
                return False  # (an outside input would be read broadcast, which a reshape is not)
            if spaces == {"flat"} and shape == self.shape[:-1] + (1,):
                self.space[step.name] = "row"
            elif spaces == {"row"} and shape == self.shape[:-1]:
                self.space[step.name] = "flat"
            else:
                return False
            self.steps.append(step)
            return True
        if self.shape is None:
            self.shape = shape
        if shape == self.shape and "flat" not in spaces:
            space = "full"
        elif self.reduces and shape == self.shape[:-1] + (1,) and spaces <= {"row"}:
            space = "row"
        elif (self.reduces and shape == self.shape[:-1] and spaces <= {"flat"}
              and all(all(d == 1 for d in meta[o.name].shape) for o in outside)):
            space = "flat"  # (an outside (..., n) would broadcast along the rows, not per row)
        else:
            return False
        self.space[step.name] = space
        self.steps.append(step)
        return True

    def close(self, items):
        """Append the group (or its nodes) to `items` and start over."""
        nodes = list(dict.fromkeys(s.node for s in self.steps))
        rows = self.shape[:-1] if self.reduces else ()
        if self.reduces and len(nodes) >= 2 and (not all(type(d) is int for d in rows) or math.prod(rows) >= ROW_MIN):
            items.append(RowGroup(self.steps, self.shape, self.space))
        elif self.reduces:
            _split(self.steps, items)
        elif len(self.steps) >= 2:
            items.append(Group(self.steps, self.shape))
        else:
            items.extend(nodes)
        self.__init__()


def _reads_full(step, space):
    return any(isinstance(o, Ref) and space.get(o.name, "full") == "full" for o in step.operands)


def _split(steps, items):
    """A run with a reduction that did not make a row group: its elementwise nodes before and
    after the reduction nodes as plain groups (two or more) or nodes."""
    run = []
    for node in dict.fromkeys(s.node for s in steps):
        step = next(s for s in steps if s.node is node)
        if isinstance(step, Step) and step.name == node.outputs[0] and len([s for s in steps if s.node is node]) == 1:
            if run and tuple(node.meta[0].shape) != tuple(run[0].node.meta[0].shape):
                _flush(run, items)
            run.append(step)
        else:
            _flush(run, items)
            items.append(node)
    _flush(run, items)


def _flush(run, items):
    if len(run) >= 2:
        items.append(Group(list(run), run[0].node.meta[0].shape))
    else:
        items.extend(s.node for s in run)
    run.clear()


def _fuse(nodes, meta, used):
    """`nodes` (in an order that runs) as items: runs of nodes that fit one group, each closed
    into its group. A node that does not fit need not end the group: one that reads nothing the
    group makes runs before it (a backward's column sum of the incoming gradient), one that
    reads it runs after it (a column sum of the group's values), with all that comes after it
    in turn; the rest keep fusing. Those set aside keep their order (the ones before the group
    all come before the ones after it in the graph: random ops draw in eager's order) and are
    fused in turn. A mutation ends the group."""
    items, run = [], _Run()
    queue, before, after, after_out = collections.deque(nodes), [], [], set()
    while queue or run.steps:
        node = queue.popleft() if queue else None
        if node is not None:
            reads = {r.name for r in node.refs()}
            waits = bool(reads & after_out)
            if not waits and run.take(node, meta, used):
                continue
            if run.steps and not node.mutates and len(after) < _DEFERRED_AT_MOST:
                if after or waits or reads & {st.name for st in run.steps}:
                    after.append(node)
                    after_out.update(node.outputs)
                else:
                    before.append(node)
                continue
            if not run.steps:
                items.append(node)
                continue
            queue.appendleft(node)
        items.extend(_fuse(before, meta, used))
        run.close(items)
        queue.extendleft(reversed(after))
        before, after, after_out = [], [], set()
    return items


def _full_sums_by_rows(graph):
    """The graph's nodes, each sum over all dims of a float value an elementwise node makes (a
    loss: `((a - b) ** 2).mean()` is a Sum, then a div) taken apart into a sum over the last dim,
    which then joins the chain making the value as a row group, and a sum of those row sums (a
    small eager reduction). The row sums are a new value of `graph.meta`."""
    made_by, nodes = {}, []
    taken = {name for name, _ in graph.placeholders} | {o for n in graph.nodes for o in n.outputs}
    for node in graph.nodes:
        for name in node.outputs:
            made_by[name] = node
        if node.op != "Sum" or node.mutates or not isinstance(node.args[0], Ref) or node.meta[0] is None:
            nodes.append(node)
            continue
        x, dims, keepdim, dtype = node.args
        shape, dt = tuple(graph.meta[x.name].shape), graph.meta[x.name].dtype
        rows, name = shape[:-1], node.outputs[0] + "__rows"
        if (len(shape) < 2 or tuple(sorted(dims)) != tuple(range(len(shape))) or dtype not in (None, dt)
                or dt.name not in _FLOAT or not _sizes(shape) or name in taken
                or (all(type(d) is int for d in rows) and math.prod(rows) < ROW_MIN)
                or x.name not in made_by or elementwise_step(made_by[x.name], graph.meta) is None):
            nodes.append(node)
            continue
        graph.meta[name] = TensorMeta(rows + (1,), dt)
        nodes.append(Node("Sum", (x, (len(shape) - 1,), True, None), [name], [graph.meta[name]], node.source))
        nodes.append(Node("Sum", (Ref(name), dims, keepdim, dtype), node.outputs, node.meta, node.source))
    return nodes


def partition(graph):
    """The graph's nodes as a list of items in execution order: a Node (run as it is), a Group
    of at least two elementwise nodes of one shape, or a RowGroup (elementwise nodes around
    reductions over the last dim, on ROW_MIN rows or more)."""
    nodes = _full_sums_by_rows(graph)
    used = {r.name for n in nodes for r in n.refs()} | {r.name for r in iter_refs(graph.output)}
    items = _fuse(nodes, graph.meta, used)
    used_later = {}
    for i, item in enumerate(items):
        nodes = item.nodes if isinstance(item, Group) else [item]
        for n in nodes:
            for r in n.refs():
                used_later.setdefault(r.name, set()).add(i)
    final = {r.name for r in iter_refs(graph.output)}
    for i, item in enumerate(items):
        if isinstance(item, Group):
            item.outputs = [s.name for s in item.steps if s.name in final or used_later.get(s.name, set()) - {i}]
            item.meta = graph.meta  # (the shapes of its values: symbols of a dynamic program bind from them)
            shapes = [graph.meta[n].shape for n in item.inputs]
            if getattr(item, "rows", False):  # one value per row (last dim 1, or none): read once a row;
                # a "tile", the same for every row (a weight or bias over the last dim), as one row
                item.input_space = ["row" if not s or s[-1] == 1 else
                                    "tile" if all(d == 1 for d in s[:-1]) else "full" for s in shapes]
            else:
                item.plan = broadcast_plan(item.shape, shapes)
    return items


def broadcast_plan(shape, input_shapes):
    """(j, kinds): `shape` seen as rows (its dims before j) by columns (from j), each input
    "full", a "tile" (the same for every row), a "row" value (the same along a row) or "one"
    value, so that a kernel can read each through a contiguous 2-D array (one that vectorises;
    reading broadcast views through their strides does not: a tanh GELU on a (2048, 512) matmul
    output plus a bias took 6.9 ms that way, 1.7 eagerly). None where no split fits."""
    n = len(shape)
    for j in range(n):
        kinds = []
        for s in input_shapes:
            a = (1,) * (n - len(s)) + tuple(s)
            lead_one, tail_one = all(d == 1 for d in a[:j]), all(d == 1 for d in a[j:])
            lead_eq, tail_eq = a[:j] == tuple(shape[:j]), a[j:] == tuple(shape[j:])
            kind = ("one" if lead_one and tail_one else "full" if lead_eq and tail_eq else
                    "tile" if lead_one and tail_eq else "row" if lead_eq and tail_one else None)
            if kind is None:
                break
            kinds.append(kind)
        else:
            return None if all(k == "full" for k in kinds) else (j, tuple(kinds))  # (all whole: kernel_flat's)
    return None


def key(group, target, in_dtypes):
    """A hash of the fused subgraph (ops, attributes, dtypes, rank, which values it reads and
    writes) and of the target: the cached kernel's file name."""
    local = {name: f"in{i}" for i, name in enumerate(group.inputs)}
    parts = [variant(target), str(len(group.shape)), str([d.name for d in in_dtypes])]
    if getattr(group, "rows", False):
        parts.append(f"rows {group.input_space} {[group.space[s.name] for s in group.steps]}")
    elif getattr(group, "plan", None) is not None:
        parts.append(f"plan {group.plan}")
    for j, s in enumerate(group.steps):
        local[s.name] = f"t{j}"
        ops = [local[o.name] if isinstance(o, Ref) else repr(o) for o in s.operands]
        what = s.kind if isinstance(s, Reduce) else s.expr
        parts.append(f"{what}|{ops}|{s.compute.name}|{s.out.name}")
    parts.append(str([local[o] for o in group.outputs]))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]
