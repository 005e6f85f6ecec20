"""save/load of an ExportedProgram: one safetensors file, no pickle.

The weights (state dict and constants) are the file's tensors, under "state/<name>" and
"constants/<name>"; the program (graph, signature, input structure, size ranges) is JSON in
the file's `__metadata__` under "framework.export". Loading runs no code from the file: the
graph names ops (framework/export/_ops.py), which the loader runs from the framework itself,
so a process that has only the file (not the model's class) runs it."""
import json

from framework.export import _graph
from framework.io.checkpoint import CheckpointError
from framework.io.safetensors import load_safetensors, load_safetensors_metadata, save_safetensors

_KEY = "framework.export"
_SAVABLE = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64")


def save(ep, f, *, extra_files=None, opset_version=None, pickle_protocol=None):
    """Write `ep` to the path (or binary file) `f`."""
    from framework.export._program import ExportedProgram
    if not isinstance(ep, ExportedProgram):
        raise TypeError(f"The 'ep' parameter must be an instance of 'ExportedProgram', got '{type(ep).__name__}' "
                        f"instead.")
    tensors = {}
    for prefix, group in (("state/", ep.state_dict), ("constants/", ep.constants)):
        for name, t in group.items():
            if t.dtype.name not in _SAVABLE:
                raise TypeError(f"framework.export.save: {name} is {t.dtype}; saved programs hold "
                                f"{', '.join(_SAVABLE)} tensors (convert the model first)")
            tensors[prefix + name] = t.detach().contiguous()
    program = {
        "version": _graph.FORMAT_VERSION,
        "graph": _graph.graph_to_json(ep.graph),
        "targets": ep._targets,
        "inputs": [_graph.encode(ep._inputs[0]), {k: _graph.encode(v) for k, v in ep._inputs[1].items()}],
        "range_constraints": {k: list(v) for k, v in ep.range_constraints.items()},
        "requires_grad": sorted(k for k, v in ep.state_dict.items() if v.requires_grad),
        "extra_files": dict(extra_files or {}),
    }
    save_safetensors(tensors, f, metadata={_KEY: json.dumps(program, separators=(",", ":"), allow_nan=False)})


def load(f, *, extra_files=None, expected_opset_version=None):
    """The ExportedProgram saved in the path (or binary file) `f`; tensors on the CPU (move the
    module with `.to(device)`)."""
    from framework.export._program import ExportedProgram
    if hasattr(f, "seek"):
        start = f.tell()
        meta = load_safetensors_metadata(f)
        f.seek(start)
    else:
        meta = load_safetensors_metadata(f)
    if not meta or _KEY not in meta:
        raise CheckpointError(f"{getattr(f, 'name', f)} is a safetensors file but holds no exported program "
                              f"(no '{_KEY}' metadata)")
    program = json.loads(meta[_KEY])
    if program.get("version", 0) > _graph.FORMAT_VERSION:
        raise CheckpointError(f"the program was saved in format {program['version']}; this framework reads up to "
                              f"{_graph.FORMAT_VERSION}")
    tensors = load_safetensors(f)
    state = {k[len("state/"):]: v for k, v in tensors.items() if k.startswith("state/")}
    constants = {k[len("constants/"):]: v for k, v in tensors.items() if k.startswith("constants/")}
    for k in program.get("requires_grad", ()):
        state[k].requires_grad_()
    graph = _graph.graph_from_json(program["graph"])
    args, kwargs = program["inputs"]
    inputs = (_graph.decode(args), {k: _graph.decode(v) for k, v in kwargs.items()})
    ranges = {k: (v[0], v[1]) for k, v in program["range_constraints"].items()}
    if extra_files is not None:
        for k in list(extra_files):
            extra_files[k] = program.get("extra_files", {}).get(k, "")
    return ExportedProgram(graph, program["targets"], state, constants, inputs, ranges)
