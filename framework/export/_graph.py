"""The captured program's IR: values, nodes, symbolic sizes, and their JSON form.

A graph is a list of nodes in execution order. Each node is one framework op (a `Function`,
named by a stable string, see `_ops.py`) applied to `args`: the op's positional arguments as
its forward takes them, where a tensor is a reference to a value (`Ref`) and everything else is
an attribute (numbers, tuples, slices, dtypes, symbolic sizes). Values are named strings; the
graph's inputs, parameters, buffers and lifted constants are values that no node produces.

The JSON form is the saved program's contract (`framework.export.save`): every argument is
written as plain JSON or as a one-key object naming its kind ({"ref": name}, {"tuple": [...]},
{"slice": [start, stop, step]}, {"dtype": "float32"}, {"sym": [[coef, [names]], ...]}, ...).
"""
import math

from framework import dtypes as _dt
from framework.device import device as _device

FORMAT_VERSION = 1


class Ref:
    """A tensor argument: the name of a value of the graph."""
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __eq__(self, other):
        return isinstance(other, Ref) and other.name == self.name

    def __hash__(self):
        return hash(("ref", self.name))

    def __repr__(self):
        return "%" + self.name


class Sym:
    """An integer that depends on dynamic input sizes: a sum of integer-weighted products of
    symbols (sum of coef * s_a * s_b ...), e.g. `s0`, `4*s0`, `s0*s1 + 1`."""
    __slots__ = ("terms",)

    def __init__(self, terms):
        # terms: {tuple of sorted symbol names (() for the constant): coefficient}
        self.terms = {k: v for k, v in terms.items() if v != 0}

    def evaluate(self, bindings):
        return sum(c * math.prod(bindings[s] for s in names) for names, c in self.terms.items())

    def symbols(self):
        return sorted({s for names in self.terms for s in names})

    def is_symbol(self):
        """The name when this is exactly one symbol (coefficient 1, no constant), else None."""
        if len(self.terms) == 1:
            (names, c), = self.terms.items()
            if c == 1 and len(names) == 1:
                return names[0]
        return None

    def __eq__(self, other):
        return isinstance(other, Sym) and other.terms == self.terms

    def __hash__(self):
        return hash(tuple(sorted(self.terms.items())))

    def __repr__(self):
        parts = []
        for names, c in sorted(self.terms.items(), key=lambda kv: (-len(kv[0]), kv[0])):
            if not names:
                parts.append(str(c))
            else:
                prod = "*".join(names)
                parts.append(prod if c == 1 else f"-{prod}" if c == -1 else f"{c}*{prod}")
        text = " + ".join(parts).replace("+ -", "- ")
        return text or "0"


def simplify(terms):
    """A Sym, or the plain int when no symbol is left."""
    sym = Sym(terms)
    if not sym.terms:
        return 0
    if set(sym.terms) == {()}:
        return sym.terms[()]
    return sym


def evaluate(value, bindings):
    """`value` (an argument tree) with every Sym replaced by its integer."""
    if isinstance(value, Sym):
        return value.evaluate(bindings)
    if type(value) is tuple:
        return tuple(evaluate(v, bindings) for v in value)
    if type(value) is list:
        return [evaluate(v, bindings) for v in value]
    if type(value) is slice:
        return slice(evaluate(value.start, bindings), evaluate(value.stop, bindings), evaluate(value.step, bindings))
    if type(value) is dict:
        return {k: evaluate(v, bindings) for k, v in value.items()}
    return value


class TensorMeta:
    """Shape (ints and Syms) and dtype of a value."""
    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape, self.dtype = tuple(shape), dtype

    def __repr__(self):
        return f"{self.dtype.name}[{', '.join(map(str, self.shape))}]"


class Node:
    """One op: `outputs = op(*args)`; `source` is the user's file:line that called it."""
    __slots__ = ("op", "args", "outputs", "meta", "source", "mutates")

    def __init__(self, op, args, outputs, meta, source="", mutates=False):
        self.op, self.args, self.outputs, self.meta, self.source = op, args, outputs, meta, source
        self.mutates = mutates  # it returned one of its inputs (an in-place op): never dropped

    def refs(self):
        return list(iter_refs(self.args))

    def format(self, names=None):
        shown = []
        for i, a in enumerate(self.args):
            text = format_arg(a)
            label = names[i] if names is not None and i < len(names) else None
            shown.append(text if label is None or isinstance(a, Ref) else f"{label}={text}")
        outs = ", ".join("%" + o for o in self.outputs) or "_"
        metas = ", ".join(map(repr, self.meta))
        where = f"  # {self.source}" if self.source else ""
        return f"{outs}: {metas} = {self.op}({', '.join(shown)}){where}"


def iter_refs(value):
    if isinstance(value, Ref):
        yield value
    elif type(value) in (tuple, list):
        for v in value:
            yield from iter_refs(v)
    elif type(value) is dict:
        for v in value.values():
            yield from iter_refs(v)
    elif type(value) is slice:
        for v in (value.start, value.stop, value.step):
            yield from iter_refs(v)


def format_arg(a):
    if type(a) is tuple:
        inner = ", ".join(format_arg(v) for v in a)
        return f"({inner},)" if len(a) == 1 else f"({inner})"
    if type(a) is list:
        return "[" + ", ".join(format_arg(v) for v in a) + "]"
    if type(a) is slice:
        parts = ["" if v is None else format_arg(v) for v in (a.start, a.stop, a.step)]
        return ":".join(parts if a.step is not None else parts[:2])
    if a is Ellipsis:
        return "..."
    if isinstance(a, _dt.dtype):
        return a.name
    if type(a) is dict:
        return "{" + ", ".join(f"{k!r}: {format_arg(v)}" for k, v in a.items()) + "}"
    return repr(a)


class Graph:
    """Nodes in order, plus which values are the inputs (placeholders) and the output tree."""

    def __init__(self, placeholders, nodes, output, meta):
        self.placeholders = placeholders  # [(name, kind)]: kind "input", "parameter", "buffer", "constant"
        self.nodes = nodes
        self.output = output              # an argument tree of Refs (and plain values)
        self.meta = meta                  # {value name: TensorMeta}

    def __str__(self):
        lines = ["graph():"]
        for name, kind in self.placeholders:
            lines.append(f"    %{name}: {self.meta[name]!r} = placeholder[{kind}]")
        for node in self.nodes:
            from framework.export._ops import argument_names
            lines.append("    " + node.format(argument_names(node.op)))
        lines.append(f"    return {format_arg(self.output)}")
        return "\n".join(lines)

    __repr__ = __str__

    def eliminate_dead_code(self):
        """Drop nodes none of whose outputs is used (the checks an op runs on its arguments,
        e.g. an embedding's index range, leave such nodes behind)."""
        live = {r.name for r in iter_refs(self.output)}
        kept = []
        for node in reversed(self.nodes):
            if node.mutates or any(o in live for o in node.outputs):
                kept.append(node)
                live.update(r.name for r in node.refs())
        self.nodes = kept[::-1]
        self.placeholders = [(n, k) for n, k in self.placeholders if k != "constant" or n in live]
        produced = {n for n, _ in self.placeholders} | {o for node in self.nodes for o in node.outputs}
        self.meta = {k: v for k, v in self.meta.items() if k in produced}


# ----------------------------------------------------------------- JSON


def encode(value):
    """An argument tree as JSON-ready data (see the module docstring)."""
    if isinstance(value, Ref):
        return {"ref": value.name}
    if isinstance(value, Sym):
        return {"sym": [[c, list(names)] for names, c in sorted(value.terms.items())]}
    if value is None or type(value) in (bool, str):
        return value
    if type(value) is int:
        return value
    if type(value) is float:
        if math.isfinite(value):
            return value
        return {"float": repr(value)}
    if type(value) is tuple:
        return {"tuple": [encode(v) for v in value]}
    if type(value) is list:
        return [encode(v) for v in value]
    if type(value) is slice:
        return {"slice": [encode(value.start), encode(value.stop), encode(value.step)]}
    if value is Ellipsis:
        return {"ellipsis": None}
    if isinstance(value, _dt.dtype):
        return {"dtype": value.name}
    if isinstance(value, _device):
        return {"device": str(value)}
    if type(value) is dict and all(type(k) is str for k in value):
        return {"dict": {k: encode(v) for k, v in value.items()}}
    if type(value) is complex:
        return {"complex": [value.real, value.imag]}
    raise TypeError(f"cannot represent a {type(value).__name__} in the graph")


def decode(data):
    if type(data) is list:
        return [decode(v) for v in data]
    if type(data) is not dict:
        return data
    (kind, v), = data.items()
    if kind == "ref":
        return Ref(v)
    if kind == "sym":
        return Sym({tuple(names): c for c, names in v})
    if kind == "float":
        return float(v)
    if kind == "tuple":
        return tuple(decode(x) for x in v)
    if kind == "slice":
        return slice(*(decode(x) for x in v))
    if kind == "ellipsis":
        return Ellipsis
    if kind == "dtype":
        return _dt._by_name(v)
    if kind == "device":
        return _device(v)
    if kind == "dict":
        return {k: decode(x) for k, x in v.items()}
    if kind == "complex":
        return complex(*v)
    raise ValueError(f"unknown argument kind {kind!r} in a saved graph")


def encode_meta(m):
    return {"shape": [encode(s) for s in m.shape], "dtype": m.dtype.name}


def decode_meta(d):
    return TensorMeta(tuple(decode(s) for s in d["shape"]), _dt._by_name(d["dtype"]))


def graph_to_json(g):
    return {"placeholders": [[n, k] for n, k in g.placeholders],
            "nodes": [{"op": n.op, "args": [encode(a) for a in n.args], "outputs": list(n.outputs),
                       "meta": [encode_meta(m) for m in n.meta], "source": n.source,
                       **({"mutates": True} if n.mutates else {})} for n in g.nodes],
            "output": encode(g.output),
            "meta": {k: encode_meta(v) for k, v in g.meta.items()}}


def graph_from_json(d):
    nodes = [Node(n["op"], [decode(a) for a in n["args"]], list(n["outputs"]),
                  [decode_meta(m) for m in n["meta"]], n.get("source", ""), n.get("mutates", False))
             for n in d["nodes"]]
    return Graph([(n, k) for n, k in d["placeholders"]], nodes, decode(d["output"]),
                 {k: decode_meta(v) for k, v in d["meta"].items()})
