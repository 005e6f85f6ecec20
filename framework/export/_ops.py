"""The op names of the IR and how a node runs again.

A node names its op by a stable string, not by Python identity: an elementwise op by its kernel
name (`add`, `relu`, `exp`, ...), an activation by its kernel and parameter (`gelu`,
`leaky_relu(x, negative_slope)`, ...), every other framework `Function` by its class name
(`Linear`, `Convolution`, `Reshape`, ...), and `full` for a constant of one repeated value.
Running a node calls the same Function (or public function) again, so a loaded program computes
exactly what the captured model did, on any device.
"""
import functools
import inspect

from framework.autograd.function import Function

# Activation kernels (framework/ops/activation.py) the IR keeps as one op, with the name of their
# parameter; the node runs the public function again (so a loaded module still differentiates).
ACTIVATIONS = {"silu": None, "selu": None, "mish": None, "hardswish": None, "hardsigmoid": None, "gelu": None,
               "gelu_tanh": None, "logsigmoid": None, "softplus": None, "relu6": None,
               "elu": "alpha", "celu": "alpha", "leaky_relu": "negative_slope"}


# framework.library.custom_op's ops: {"namespace::name": its Function class}, filled as they are defined
CUSTOM = {}


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _stable_name(cls):
    op = getattr(cls, "op", None)
    if isinstance(op, str) and cls.__name__[:1] != "_":
        return op  # elementwise: the kernel's name
    return cls.__name__


@functools.lru_cache(maxsize=1)
def _registry():
    """{name: Function class} for the framework's own Functions (names taken twice are left out)."""
    import framework  # noqa: F401  (every op module is imported, so every Function is defined)
    by_name, taken = {}, set()
    for cls in _subclasses(Function):
        if not cls.__module__.startswith("framework.") or cls.__name__.startswith("_"):
            continue
        name = _stable_name(cls)
        if name in by_name and by_name[name] is not cls:
            taken.add(name)
        by_name[name] = cls
    for name in taken:
        del by_name[name]
    return by_name


@functools.lru_cache(maxsize=None)
def name_of(cls):
    """The IR name of a Function class, or None where the capture records the ops inside it
    instead (a user's own Function, or one the IR cannot name)."""
    custom = cls.__dict__.get("custom_op_name")
    if custom is not None:
        return custom  # a framework.library.custom_op: one node
    name = _stable_name(cls)
    return name if _registry().get(name) is cls else None


def activation_of(spec):
    """(op name, parameter or None) of an Activation whose forward is one kernel, else None
    (its forward is composed of other ops, which the capture then records one by one)."""
    from framework.ops import activation as A
    fwd = spec.forward
    code = getattr(fwd, "__code__", None)
    if code is None or fwd.__closure__ is None:
        return None
    cells = dict(zip(code.co_freevars, (c.cell_contents for c in fwd.__closure__)))
    if code is A._unary_kernel(None).__code__ and cells["op"] in ACTIVATIONS:
        return cells["op"], None
    if code is A._scalar_kernel(None, None).__code__ and ACTIVATIONS.get(cells["op"]):
        return cells["op"], float(cells["param"])
    return None


@functools.lru_cache(maxsize=None)
def argument_names(op):
    """The names of an op's arguments, for printing (the forward's parameters after ctx)."""
    if op in ACTIVATIONS:
        return ["input"] + ([ACTIVATIONS[op]] if ACTIVATIONS[op] else [])
    if op == "full":
        return ["size", "fill_value", "dtype"]
    if op in RANDOM:
        return ["size", "dtype"]
    if op in CUSTOM:
        return list(CUSTOM[op].opdef._signature.parameters)
    cls = _registry().get(op)
    if cls is None:
        return None
    params = list(inspect.signature(cls.forward).parameters.values())[1:]
    return [p.name for p in params if p.kind is not inspect.Parameter.VAR_POSITIONAL]


def _activation_fn(op):
    import framework.nn.functional as F
    fns = {"silu": F.silu, "selu": F.selu, "mish": F.mish, "hardswish": F.hardswish,
           "hardsigmoid": F.hardsigmoid, "gelu": F.gelu, "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
           "logsigmoid": F.logsigmoid, "softplus": F.softplus, "relu6": F.relu6,
           "elu": F.elu, "celu": F.celu, "leaky_relu": F.leaky_relu}
    return fns[op]


def to_ir(op, args):
    """The arguments a node keeps: the forward's, but for RecurrentLayer's batch_sizes of a
    padded batch, (B,) * T, kept as {"batch": B, "steps": T} so that the sequence length can
    be a dynamic size (a tuple's length cannot)."""
    if op == "RecurrentLayer" and args[2] and all(b == args[2][0] for b in args[2]):
        args = list(args)
        args[2] = {"batch": args[2][0], "steps": len(args[2])}
    return args


def from_ir(op, args):
    """The forward's arguments from a node's (the inverse of `to_ir`)."""
    if op == "RecurrentLayer" and type(args[2]) is dict:
        args = list(args)
        args[2] = (args[2]["batch"],) * args[2]["steps"]
    return args


def call(op, args, device):
    """Run one node: its op on `args` (tensors and plain values); `device` for `full`."""
    if op in ACTIVATIONS:
        return _activation_fn(op)(*args)
    if op == "full":
        import framework
        size, value, dtype = args
        return framework.full(size, value, dtype=dtype, device=device)
    if op in RANDOM:  # a fresh draw from the default generator on every call
        size, dtype = args
        return RANDOM[op](size, dtype=dtype, device=device)
    cls = CUSTOM.get(op) or _registry().get(op)
    if cls is None:
        raise RuntimeError(f"unknown op {op!r} in the graph (saved by a newer framework, or a custom op this "
                           f"process has not defined?)")
    return cls.apply(*from_ir(op, args))


def is_known(op):
    return op in ACTIVATIONS or op == "full" or op in RANDOM or op in _registry() or op in CUSTOM


def _draw(kind):
    def draw(size, dtype, device):
        from framework.ops import creation
        return getattr(creation, kind)(size, dtype=dtype, device=device)
    return draw


# The graph's random nodes (framework/export/_capture.py records them): name -> draw(size, dtype, device).
RANDOM = {"rand": _draw("rand"), "randn": _draw("randn")}
