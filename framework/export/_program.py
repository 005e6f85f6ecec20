"""`ExportedProgram`: a captured graph with its signature, weights and size constraints, and
the module that runs it (`.module()`), which needs no class of the model that was captured."""
import framework
from framework import nn
from framework.export import _ops
from framework.export._graph import Ref, Sym, evaluate, format_arg, iter_refs
from framework.tensor import Tensor


class InputSpec:
    """One placeholder of the graph: kind USER_INPUT, PARAMETER, BUFFER or CONSTANT_TENSOR, the
    graph's name for it (`arg`) and, for the module's tensors, their state-dict name (`target`)."""

    def __init__(self, kind, arg, target=None, persistent=None):
        self.kind, self.arg, self.target, self.persistent = kind, arg, target, persistent

    def __repr__(self):
        extra = f", target={self.target!r}" if self.target is not None else ""
        extra += f", persistent={self.persistent}" if self.persistent is not None else ""
        return f"InputSpec(kind={self.kind}, arg={self.arg!r}{extra})"


class OutputSpec:
    def __init__(self, kind, arg):
        self.kind, self.arg = kind, arg

    def __repr__(self):
        return f"OutputSpec(kind={self.kind}, arg={self.arg!r})"


class ExportGraphSignature:
    """Which placeholders are the user's inputs and which the module's tensors, and which
    values are the outputs (torch.export.ExportGraphSignature's fields)."""

    def __init__(self, input_specs, output_specs):
        self.input_specs, self.output_specs = input_specs, output_specs

    user_inputs = property(lambda self: [s.arg for s in self.input_specs if s.kind == "USER_INPUT"])
    user_outputs = property(lambda self: [s.arg for s in self.output_specs])
    parameters = property(lambda self: [s.target for s in self.input_specs if s.kind == "PARAMETER"])
    buffers = property(lambda self: [s.target for s in self.input_specs if s.kind == "BUFFER"])
    lifted_tensor_constants = property(lambda self: [s.target for s in self.input_specs
                                                     if s.kind == "CONSTANT_TENSOR"])
    inputs_to_parameters = property(lambda self: {s.arg: s.target for s in self.input_specs
                                                  if s.kind == "PARAMETER"})
    inputs_to_buffers = property(lambda self: {s.arg: s.target for s in self.input_specs if s.kind == "BUFFER"})

    def __repr__(self):
        lines = ["ExportGraphSignature(", "  input_specs=["]
        lines += [f"    {s!r}," for s in self.input_specs]
        lines += ["  ],", "  output_specs=["]
        lines += [f"    {s!r}," for s in self.output_specs]
        lines += ["  ],", ")"]
        return "\n".join(lines)


_KINDS = {"input": "USER_INPUT", "parameter": "PARAMETER", "buffer": "BUFFER", "constant": "CONSTANT_TENSOR"}


class ExportedProgram:
    """The result of `framework.export.export`: `.graph` (printable IR), `.graph_signature`,
    `.state_dict` (parameters and persistent buffers), `.constants` (lifted tensors and
    non-persistent buffers), `.range_constraints` ({symbol: (min, max)}) and `.module()`."""

    def __init__(self, graph, targets, state_dict, constants, inputs, range_constraints, example_inputs=None):
        self.graph = graph
        self._targets = targets              # {placeholder name: state-dict name} for module tensors
        self.state_dict = state_dict
        self.constants = constants
        self._inputs = inputs                # (args tree, kwargs tree) of Refs and plain values
        self.range_constraints = range_constraints
        self.example_inputs = example_inputs
        specs = []
        for name, kind in graph.placeholders:
            target = targets.get(name)
            persistent = (target in state_dict) if kind == "buffer" else None
            specs.append(InputSpec(_KINDS[kind], name, target, persistent))
        outputs = [OutputSpec("USER_OUTPUT", r.name) for r in iter_refs(graph.output)]
        self.graph_signature = ExportGraphSignature(specs, outputs)

    def __str__(self):
        ranges = ", ".join(f"{s}: VR[{lo}, {'int_oo' if hi is None else hi}]"
                           for s, (lo, hi) in self.range_constraints.items())
        return (f"ExportedProgram:\n{self.graph}\n\nGraph signature:\n{self.graph_signature!r}\n"
                f"Range constraints: {{{ranges}}}\n")

    __repr__ = __str__

    def module(self):
        """An nn.Module that runs the graph: the parameters and buffers under their state-dict
        names (so `.to(device)` and `load_state_dict` work as on the original), inputs checked
        against the captured shapes and dtypes."""
        return ExportedModule(self)

    def __call__(self, *args, **kwargs):
        raise RuntimeError("Unable to call ExportedProgram directly. You should use `exported_program.module()` "
                           "instead.")


class ExportedModule(nn.Module):
    def __init__(self, program):
        super().__init__()
        self._program = program
        for name, kind in program.graph.placeholders:
            if kind == "input":
                continue
            target = program._targets.get(name, name)
            if kind == "parameter":
                value = program.state_dict[target]
                tensor = value if isinstance(value, nn.Parameter) else nn.Parameter(value.detach(),
                                                                                  requires_grad=value.requires_grad)
                self._owner(target).register_parameter(target.rpartition(".")[2], tensor)
            elif kind == "buffer":
                persistent = target in program.state_dict
                value = program.state_dict[target] if persistent else program.constants[target]
                self._owner(target).register_buffer(target.rpartition(".")[2], value, persistent=persistent)
            else:
                self.register_buffer(name, program.constants[name], persistent=False)

    def _owner(self, target):
        """The submodule a dotted state-dict name lives in, made empty on the way."""
        module = self
        for part in target.split(".")[:-1]:
            child = module._modules.get(part)
            if child is None:
                child = nn.Module()
                module.add_module(part, child)
            module = child
        return module

    def _tensor(self, target):
        module = self
        parts = target.split(".")
        for part in parts[:-1]:
            module = module._modules[part]
        return getattr(module, parts[-1])

    def forward(self, *args, **kwargs):
        prog = self._program
        graph = prog.graph
        env, bindings = {}, {}
        spec_args, spec_kwargs = prog._inputs
        if len(args) != len(spec_args) or set(kwargs) != set(spec_kwargs):
            raise TypeError(f"the exported program takes {len(spec_args)} positional arguments and keyword "
                            f"arguments {sorted(spec_kwargs)}; got {len(args)} and {sorted(kwargs)}")
        self._bind(spec_args, args, env, bindings, "input")
        for k in spec_kwargs:
            self._bind(spec_kwargs[k], kwargs[k], env, bindings, k)
        for sym, (lo, hi) in prog.range_constraints.items():
            v = bindings.get(sym)
            if v is not None and (v < lo or (hi is not None and v > hi)):
                raise RuntimeError(f"Expected input at dimension {sym} to be in range [{lo}, {hi}], but got {v}")
        device = next((t.device for t in env.values()), None)
        for name, kind in graph.placeholders:
            if kind != "input":
                env[name] = self._tensor(prog._targets.get(name, name))
        if device is None:
            device = next((t.device for t in env.values()), framework.device("cpu"))
        for node in graph.nodes:
            store(node.outputs, _ops.call(node.op, _materialize(node.args, env, bindings), device), env)
        return _materialize(graph.output, env, bindings)

    def _bind(self, spec, value, env, bindings, where):
        """Match an input against its placeholder: dtype, rank, static sizes; bind the symbols."""
        if isinstance(spec, Ref):
            if not isinstance(value, Tensor):
                raise TypeError(f"{where}: expected a Tensor, got {type(value).__name__}")
            meta = self._program.graph.meta[spec.name]
            if value.dtype is not meta.dtype:
                raise RuntimeError(f"{where}: expected dtype {meta.dtype}, got {value.dtype}")
            if value.ndim != len(meta.shape):
                raise RuntimeError(f"{where}: expected a {len(meta.shape)}-D tensor of shape "
                                   f"{format_arg(meta.shape)}, got shape {tuple(value.shape)}")
            for i, (want, got) in enumerate(zip(meta.shape, value.shape)):
                if isinstance(want, Sym) and want.is_symbol():
                    s = want.is_symbol()
                    if bindings.setdefault(s, got) != got:
                        raise RuntimeError(f"{where}: dimension {i} is {s}, which is {bindings[s]} elsewhere; "
                                           f"got {got}")
                elif isinstance(want, int) and want != got:
                    raise RuntimeError(f"{where}: expected size {want} at dimension {i} (static in the exported "
                                       f"program), got shape {tuple(value.shape)}")
            env[spec.name] = value
        elif type(spec) in (tuple, list):
            if type(value) not in (tuple, list) or len(value) != len(spec):
                raise TypeError(f"{where}: expected a sequence of {len(spec)} items")
            for i, (s, v) in enumerate(zip(spec, value)):
                self._bind(s, v, env, bindings, f"{where}[{i}]")
        elif isinstance(spec, dict):
            for k in spec:
                self._bind(spec[k], value[k], env, bindings, f"{where}[{k!r}]")
        elif spec != value:
            raise RuntimeError(f"{where}: the program was exported with {spec!r} here (non-tensor inputs are "
                               f"constants of the graph), got {value!r}")


def store(names, out, env):
    """A node's result into `env` under its output names (one tensor, or a tuple with unused
    outputs unnamed)."""
    if len(names) == 1 and isinstance(out, Tensor):
        env[names[0]] = out
    else:
        for name, o in zip(names, out):
            if name:
                env[name] = o


def _materialize(value, env, bindings):
    if isinstance(value, Ref):
        return env[value.name]
    if type(value) in (tuple, list):
        return type(value)(_materialize(v, env, bindings) for v in value)
    if type(value) is dict:
        return {k: _materialize(v, env, bindings) for k, v in value.items()}
    return evaluate(value, bindings)
