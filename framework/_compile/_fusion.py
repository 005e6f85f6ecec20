"""Which nodes of a captured graph fuse into one kernel, and the hash that names it.

An elementwise node (an op of kernels/scalar.py's UNARY or BINARY tables run by `_Unary`,
`_Binary` or an activation, see framework/export/_ops.py) computes one expression per element.
A run of consecutive elementwise nodes with one output shape becomes a `Group`: one loop that
computes every node's expression per element into scalar locals, reads each outside input once
(broadcast to the group's shape) and writes only the values used after the group. The kernel's
source and its module cache are the backends' (framework/backends/fusion.py), its launch each
backend's `fused_launch`.
"""
import hashlib

from framework import dtypes as _dt
from framework.backends.fusion import BINARY, BOOL_OUT, UNARY
from framework.export import _ops
from framework.export._graph import Ref, iter_refs

# dtypes a fused kernel handles (float16/bfloat16 compute in float32 eagerly, complex has no table)
_FUSIBLE_DTYPES = {"float32", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"}
# x ** c as framework.ops.elementwise.Pow computes it for float x (products and roots, not libm pow)
_POW_FORMS = {2: "x * x", 3: "x * x * x", 0.5: "math.sqrt(x)", -0.5: "1.0 / math.sqrt(x)", -1: "1.0 / x",
              -2: "1.0 / (x * x)"}
_INT_DIVISIONS = {"floor_divide", "remainder"}  # the CPU raises on a zero integer divisor: left eager


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
    """One elementwise node as the loop computes it: the expression (a template in x, y), the
    operands (value names or Python numbers), the compute dtype and the output dtype."""

    def __init__(self, node, expr, operands, compute, out):
        self.node, self.expr, self.operands, self.compute, self.out = node, expr, operands, compute, out


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
    if any(d.name not in _FUSIBLE_DTYPES for d in dtypes) or not all(type(s) is int for s in node.meta[0].shape):
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


class Group:
    """Consecutive elementwise nodes of one output shape: `inputs` (value names read from
    outside, in order), `outputs` (values used after it), `steps`."""

    def __init__(self, steps, shape):
        self.steps, self.shape = steps, tuple(shape)
        self.nodes = [s.node for s in steps]
        produced = {s.node.outputs[0] for s in steps}
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


def partition(graph):
    """The graph's nodes as a list of items in execution order: a Node (run as it is) or a
    Group of at least two elementwise nodes."""
    items, run = [], []

    def close():
        if len(run) >= 2:
            items.append(Group(list(run), run[0].node.meta[0].shape))
        else:
            items.extend(s.node for s in run)
        run.clear()

    for node in graph.nodes:
        step = elementwise_step(node, graph.meta)
        if step is None:
            close()
            items.append(node)
            continue
        if run and tuple(node.meta[0].shape) != tuple(run[0].node.meta[0].shape):
            close()
        run.append(step)
    close()
    used_later = {}
    for i, item in enumerate(items):
        nodes = item.nodes if isinstance(item, Group) else [item]
        for n in nodes:
            for r in n.refs():
                used_later.setdefault(r.name, set()).add(i)
    final = {r.name for r in iter_refs(graph.output)}
    for i, item in enumerate(items):
        if isinstance(item, Group):
            item.outputs = [s.node.outputs[0] for s in item.steps
                            if s.node.outputs[0] in final or used_later.get(s.node.outputs[0], set()) - {i}]
    return items


def key(group, target, in_dtypes):
    """A hash of the fused subgraph (ops, attributes, dtypes, rank, which values it reads and
    writes) and of the target: the cached kernel's file name."""
    local = {name: f"in{i}" for i, name in enumerate(group.inputs)}
    parts = [target, str(len(group.shape)), str([d.name for d in in_dtypes])]
    for j, s in enumerate(group.steps):
        local[s.node.outputs[0]] = f"t{j}"
        ops = [local[o.name] if isinstance(o, Ref) else repr(o) for o in s.operands]
        parts.append(f"{s.expr}|{ops}|{s.compute.name}|{s.out.name}")
    parts.append(str([local[o] for o in group.outputs]))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]
