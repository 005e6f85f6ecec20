"""Fused elementwise kernels for framework.compile: the Python source of the kernel a group of
elementwise graph nodes becomes, per target, and the cache directory its module is written to.

This is the backend half of framework/_compile (which decides what fuses): it knows the kernel
level, the scalar expressions of kernels/scalar.py (the same ones the eager kernels are generated
from, so a fused op and its eager kernel cannot drift apart) and each target's loop form:
`kernel_flat` and `kernel_nd` under `@njit(parallel=True, cache=True)` on the CPU (equal-shape
contiguous operands, or any strided broadcast view of rank `ndim`), each beside a `_serial` twin
that a call takes below the module's PARALLEL_MIN elements (small tensors start no threads, and
a serial kernel compiles in about a third of the time), one grid-stride `@cuda.jit`
kernel on CUDA (operands read through a `meta` layout array, as kernels/cuda/grid.py's). Each
backend's `fused_launch` runs a loaded module. Each node's result is cast to its dtype, as
storing it in a tensor does eagerly, so a fused group computes bit for bit what the ops compute
one kernel at a time.

A module is written once into `$FRAMEWORK_CACHE/compile` (default `~/.cache/framework/compile`),
named by the hash of its fused subgraph, so a second process, or a second model with the same
chain of ops, imports the file instead of writing it, and Numba's `cache=True` finds its compiled
machine code next to it (`__pycache__`). The files are ordinary Python: read them, edit them
(delete the `__pycache__` beside an edited one), and the next process runs the edit.
"""
import ast
import builtins
import functools
import hashlib
import importlib.util
import os
import sys

from numba import config as _numba_config

from framework import dtypes as _dt
from kernels.codegen import _cuda_expr
from kernels.scalar import BINARY, BOOL_OUT, UNARY  # noqa: F401  (framework/_compile reads the tables here)

_SIMULATOR = bool(_numba_config.ENABLE_CUDASIM)
_KNOWN_NAMES = {"x", "y", "math", "np", "type"} | set(dir(builtins))
stats = {"generated": 0, "loaded": 0}


def _literal(value, dtype):
    if type(value) is bool:
        text = repr(value)
    elif type(value) is float and value != value:
        text = "math.nan"
    elif type(value) is float and value in (float("inf"), float("-inf")):
        text = "math.inf" if value > 0 else "-math.inf"
    else:
        text = repr(value)
    return text if dtype is _dt.bool_ else f"np.{dtype.np.name}({text})"


class _Rename(ast.NodeTransformer):
    def __init__(self, mapping):
        self.mapping = mapping

    def visit_Name(self, node):
        if node.id in self.mapping:
            return ast.parse(self.mapping[node.id], mode="eval").body
        return node


def _names(expr):
    return {n.id for n in ast.walk(ast.parse(expr, mode="eval")) if isinstance(n, ast.Name)}


def _statement(step, var, dtype_of, target, helpers, name):
    """`name = <the step's expression>` with its operands read from `var` (cast to the step's
    compute dtype) and the result cast to its dtype, as storing it in a tensor does eagerly."""
    expr = _cuda_expr(step.expr) if target == "cuda" else step.expr
    helpers |= _names(expr) - _KNOWN_NAMES
    mapping = {}
    for letter, operand in zip("xy", step.operands):
        if not isinstance(operand, (bool, int, float)):  # a value reference
            text = var[operand.name]
            if dtype_of[operand.name] is not step.compute:
                text = f"{_cast(step.compute)}({text})"
            mapping[letter] = text
        else:
            mapping[letter] = _literal(operand, step.compute)
    value = ast.unparse(_Rename(mapping).visit(ast.parse(expr, mode="eval")))
    return f"{name} = {_cast(step.out)}({value})  # {step.node.op}: %{step.name}"


def _body(group, target, in_dtypes, load):
    """Per-element statements: `load(k)` reads input k; returns (lines, helper names)."""
    lines, helpers = [], set()
    var = {}
    for k, name in enumerate(group.inputs):
        var[name] = f"a{k}"
        lines.append(f"a{k} = {load(k)}")
    dtype_of = dict(zip(group.inputs, in_dtypes))
    for j, s in enumerate(group.steps):
        lines.append(_statement(s, var, dtype_of, target, helpers, f"v{j}"))
        var[s.name] = f"v{j}"
        dtype_of[s.name] = s.out
    for k, name in enumerate(group.outputs):
        lines.append(f"out{k}[{'{index}'}] = {var[name]}")
    return lines, helpers


def _cast(dtype):
    return "bool" if dtype is _dt.bool_ else f"np.{dtype.np.name}"


# Elements from which a fused CPU kernel runs on every thread (its module's PARALLEL_MIN; below,
# its `_serial` twin). On 2 cores, 10th-percentile us threaded/serial: `(x*1.5 + 0.25).relu()`,
# the serial one ahead up to 131072 elements (20.7/16.9); with a tanh and a sigmoid, the threads
# ahead from 16384 (37/46; 25/24 at 8192). So eager mode's 2**18 for arithmetic alone, 2**14 once a
# step calls a function, and 2**14 for row kernels as for layer norm's. (Values of this file, not
# read from cpu_backend's: the hash of this file's text names the cached modules, which carry the
# value, so changing it here writes new ones instead of loading stale thresholds.)
PARALLEL_MIN_ARITHMETIC, PARALLEL_MIN_CALLS, PARALLEL_MIN_ROWS = 1 << 18, 1 << 14, 1 << 14
_ROW_CHUNKS = 256  # a threaded row kernel's chunks of rows, each with its own row buffers
_PARALLEL, _SERIAL = '@njit(parallel=True, cache=True, error_model="numpy"', '@njit(cache=True, error_model="numpy"'


def _parallel_min(elements):
    return f"\nPARALLEL_MIN = {elements}  # elements from which a call runs the threaded kernels, not the _serial ones\n"


def _with_serial_twin(definition):
    """A CPU kernel's definition, then the same loops as `<name>_serial`, without `parallel=True`
    (its `prange` runs as `range`). Two functions, not one compiled twice: Numba's cache keys a
    function's machine code by its name and line, not by its options. Both say error_model="numpy",
    which a parallel loop's body has anyway: with Python's, a division's zero check keeps the
    loop from vectorising (a fused sigmoid-and-tanh chain on 7680 floats: 84 us, 8 so)."""
    assert definition.startswith("\n\n" + _PARALLEL), definition[:80]
    name = definition.split("def ", 1)[1].split("(", 1)[0]
    serial = definition.replace(_PARALLEL, _SERIAL, 1).replace(f"def {name}(", f"def {name}_serial(", 1)
    # (one chunk of rows: a row kernel's buffers are allocated once, not once per chunk)
    return definition + serial.replace("prange(", "range(").replace(f"min(rows, {_ROW_CHUNKS})", "min(rows, 1)")


def source(group, target, in_dtypes, key_):
    """The module's source for `target` ("cpu" or "cuda"); `in_dtypes` the inputs' dtypes."""
    nodes = "\n".join("    " + line for line in group.describe().splitlines())
    what = (f"{len(group.steps)} steps over the rows of a {list(group.shape)} shape (a pass per reduction)"
            if getattr(group, "rows", False) else f"{len(group.steps)} elementwise ops over a rank-{len(group.shape)} shape")
    doc = (f'"""Fused kernel {key_}: {what}, generated by framework.compile\n(framework/_compile/_fusion.py) from '
           f'these graph nodes:\n\n{nodes}\n\nInputs: {", ".join(group.inputs)}. Outputs: {", ".join(group.outputs)}.\n"""\n')
    if getattr(group, "rows", False):
        return doc + _row_source(group, target, in_dtypes)
    params = ", ".join([f"in{k}" for k in range(len(group.inputs))] + [f"out{k}" for k in range(len(group.outputs))])
    if target == "cpu":
        flat, helpers = _body(group, target, in_dtypes, lambda k: f"in{k}[i]")
        rank = max(len(group.shape), 1)
        idx = ", ".join(f"i{d}" for d in range(rank))
        nd, _ = _body(group, target, in_dtypes, lambda k: f"in{k}[{idx}]")
        imports = "".join(f"from kernels.cpu.elementwise import {h}\n" for h in sorted(helpers))
        loops = "".join("    " * (d + 1) + f"for i{d} in {'prange' if d == 0 else 'range'}(out0.shape[{d}]):\n"
                        for d in range(rank))
        pad = "    " * (rank + 1)
        plan = getattr(group, "plan", None)
        two_d = ""
        if plan is not None:  # contiguous (rows, columns) operands: the inner loop vectorises
            split, kinds = plan
            where = {"full": "r, c", "tile": "0, c", "row": "r, 0", "one": "0, 0"}
            body2, _ = _body(group, target, in_dtypes, lambda k: f"in{k}[{where[kinds[k]]}]")
            two_d = (f"\n\nSPLIT, KINDS = {split}, {kinds!r}  # rows: dims before SPLIT; how each input is read\n" +
                     _with_serial_twin(
                         f"\n\n{_PARALLEL})\ndef kernel_2d({params}):\n"
                         "    for r in prange(out0.shape[0]):\n        for c in range(out0.shape[1]):\n" +
                         "".join(f"            {line.format(index='r, c')}\n" for line in body2)))
        threads = PARALLEL_MIN_CALLS if any(_calls(s) for s in group.steps) else PARALLEL_MIN_ARITHMETIC
        return (doc + "import math\n\nimport numpy as np\nfrom numba import njit, prange\n\n" + imports +
                _parallel_min(threads) +
                _with_serial_twin(f"\n\n{_PARALLEL})\ndef kernel_flat({params}):\n"
                                  f"    for i in prange(out0.shape[0]):\n" +
                                  "".join(f"        {line.format(index='i')}\n" for line in flat)) +
                _with_serial_twin(f"\n\n{_PARALLEL})\ndef kernel_nd({params}):\n" + loops +
                                  "".join(f"{pad}{line.format(index=idx)}\n" for line in nd)) + two_d)
    body, helpers = _body(group, target, in_dtypes, lambda k: f"in{k}[_offset(i, meta, {k})]")
    imports = "".join(f"from kernels.cuda.elementwise import {h}\n" for h in sorted(helpers))
    return (doc + "import math\n\nimport numpy as np\nfrom numba import cuda\n\n"
            "from kernels.cuda.grid import arithmetic\n" + imports + '''

@arithmetic
def _offset(i, meta, k):
    """Where element i (C order) of operand k of `meta` lies in its storage buffer (meta:
    [ndim, n, shape..., offset_0, strides_0..., offset_1, ...], as kernels/cuda/grid.py)."""
    ndim = meta[0]
    base = 2 + ndim + k * (ndim + 1)
    pos = meta[base]
    rest = i
    for d in range(ndim - 1, -1, -1):
        size = meta[2 + d]
        pos += (rest % size) * meta[base + 1 + d]
        rest //= size
    return pos


@cuda.jit(cache=True)
def kernel(''' + params + ''', meta):
    n = meta[1]
    i = cuda.grid(1)
    while i < n:
''' + "".join(f"        {line.format(index='i')}\n" for line in body) + "        i += cuda.gridsize(1)\n")


# Threads per row of a row kernel on CUDA (one block per row): the simulator runs every thread as
# a Python thread, so it gets 4 (still a tree reduction and strided columns).
ROW_THREADS = 4 if _SIMULATOR else 128
_INIT = {"sum": "0", "max": "-math.inf", "min": "math.inf"}
_ORDER_KEYS = "float32 order keys"  # a row kernel marker: it imports the key helpers of kernels/cpu/vmath.py


@functools.lru_cache(maxsize=None)
def _generator_hash():
    """A hash of the files a kernel's source is generated by: a new version of them (a changed
    loop form, a fixed expression) names new files, rather than loading a stale cached kernel."""
    import kernels.codegen
    import kernels.scalar
    from framework._compile import _fusion
    digest = hashlib.sha256()
    for module in (sys.modules[__name__], _fusion, kernels.codegen, kernels.scalar):
        with open(module.__file__, "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()[:12]


def variant(target):
    """What besides the subgraph the source depends on: the generator's own code, and the CUDA
    row kernels' block size."""
    return f"{target}{ROW_THREADS} {_generator_hash()}" if target == "cuda" else f"{target} {_generator_hash()}"


def _calls(step):
    return any(isinstance(n, ast.Call) for n in ast.walk(ast.parse(step.expr, mode="eval")))


def _row_program(group, target, in_dtypes):
    """(statements of one row, helper names, [(buffer dtype)]). The statements are lines with
    relative indents as leading tabs. Per reduction a pass over the row's columns computes the
    elementwise values it reads and accumulates; row values are scalars between passes; a last
    pass computes and writes the full-shape outputs. A value a later pass reads again is
    recomputed, unless it calls a function (exp, tanh, ...): then the CPU keeps it in a row
    buffer `buf<i>` (the row stays in cache) and the later pass reads it back."""
    cuda_ = target == "cuda"
    steps = group.steps
    by_name = {s.name: s for s in steps}
    full_inputs = {n: k for k, (n, sp) in enumerate(zip(group.inputs, group.input_space)) if sp != "row"}
    tiles = {n for n, sp in zip(group.inputs, group.input_space) if sp == "tile"}
    var = {n: f"a{k}" for k, n in enumerate(group.inputs)}
    var.update((s.name, f"v{j}") for j, s in enumerate(steps))
    dtype_of, helpers, lines = dict(zip(group.inputs, in_dtypes)), set(), []
    for k, (name, space) in enumerate(zip(group.inputs, group.input_space)):
        if space == "row":
            lines.append(f"a{k} = " + (f"in{k}[meta[{3 * k}] + r * meta[{3 * k + 1}]]" if cuda_ else f"in{k}[r, 0]"))
    full_out = [(k, o) for k, o in enumerate(group.outputs) if group.space[o] == "full"]
    passes = [[s.operands[0].name] for s in steps if hasattr(s, "kind")] + ([[o for _, o in full_out]] if full_out else [])

    def closure(roots, loaded):
        """The full-shape values (inputs and steps) computing `roots` at a column needs."""
        need, stack = set(), list(roots)
        while stack:
            n = stack.pop()
            if n in need or not (n in full_inputs or n in by_name and group.space[n] == "full"):
                continue
            need.add(n)
            if n in by_name and n not in loaded:
                stack.extend(o.name for o in by_name[n].operands if hasattr(o, "name"))
        return need

    stored = {}  # {value name: index of the pass that stores it}
    if not cuda_:
        first = {}
        for p, roots in enumerate(passes):
            for n in closure(roots, ()):
                if n in first and n in by_name and n not in stored and _calls(by_name[n]):
                    stored[n] = first[n]
                first.setdefault(n, p)
    buffers = {n: i for i, n in enumerate(stored)}
    pass_index = iter(range(len(passes)))

    def per_column(roots):
        p = next(pass_index)
        loaded = {n for n, q in stored.items() if q < p}
        need = closure(roots, loaded)
        out = [f"a{k} = " + (f"in{k}[meta[{3 * k}] + r * meta[{3 * k + 1}] + c * meta[{3 * k + 2}]]" if cuda_
                             else f"in{k}[0, c]" if n in tiles else f"in{k}[r, c]")
               for n, k in full_inputs.items() if n in need]
        for s in steps:
            if s.name in need and s.name in by_name:
                if s.name in loaded:
                    out.append(f"{var[s.name]} = buf{buffers[s.name]}[c]")
                else:
                    out.append(_statement(s, var, dtype_of, target, helpers, var[s.name]))
                    if stored.get(s.name) == p:
                        out.append(f"buf{buffers[s.name]}[c] = {var[s.name]}")
        return out

    def loop(body):
        if cuda_:
            return ["c = tid", "while c < cols:"] + ["\t" + b for b in body] + ["\tc += THREADS"]
        return ["for c in range(cols):"] + ["\t" + b for b in body]

    outputs = set(group.outputs)
    for j, s in enumerate(steps):
        if hasattr(s, "kind"):  # a reduction: one pass
            acc, cast, more = f"acc{j}", _cast(s.compute), ">" if s.kind == "max" else "<"
            operand = s.operands[0].name
            value = var[operand] if dtype_of.get(operand) is s.compute else f"{cast}({var[operand]})"
            keyed = not cuda_ and s.kind != "sum" and cast == "np.float32"
            if s.kind == "sum":
                update = [f"{acc} += {value}"]
            elif keyed:  # float32 extremes as integer maxima of ordered keys (kernels/cpu/vmath.py)
                helpers.add(_ORDER_KEYS)
                pick = "max" if s.kind == "max" else "min"
                update = [f"b{j} = float32_bits({value})", f"key{j} = {pick}(key{j}, order_key(b{j}))",
                          f"nan{j} = max(nan{j}, magnitude_bits(b{j}))"]
                lines += [f"key{j} = {'KEY_OF_NEG_INF' if s.kind == 'max' else 'KEY_OF_INF'}", f"nan{j} = np.int32(0)"]
            elif cuda_:
                update = [f"t{j} = {value}", f"if t{j} {more} {acc} or t{j} != t{j}:", f"\t{acc} = t{j}"]
            else:  # a select and a NaN flag vectorise; a branch does not
                update = [f"t{j} = {value}", f"{acc} = t{j} if t{j} {more} {acc} else {acc}", f"nan{j} |= t{j} != t{j}"]
                lines.append(f"nan{j} = False")
            if s.kind == "sum" or cuda_:
                lines.append(f"{acc} = {cast}({_INIT[s.kind]})")
                lines += loop(per_column([operand]) + update)
            elif keyed:
                lines += loop(per_column([operand]) + update)
                lines.append(f"{acc} = {cast}(math.nan) if nan{j} > NAN_ABOVE else float32_of_key(key{j})")
            else:  # (the lanes start from the initial value themselves)
                lines += _in_lanes(per_column([operand]), update, acc, more, cast, _INIT[s.kind])
            if s.kind != "sum" and not cuda_ and not keyed:
                lines.append(f"{acc} = {cast}(math.nan) if nan{j} else {acc}")
            if cuda_:
                other = f"sh{j}[tid + half]"
                combine = ([f"sh{j}[tid] += {other}"] if s.kind == "sum" else
                           [f"o{j} = {other}", f"if o{j} {more} sh{j}[tid] or o{j} != o{j}:", f"\tsh{j}[tid] = o{j}"])
                lines += [f"sh{j}[tid] = {acc}", "cuda.syncthreads()", "half = THREADS // 2", "while half > 0:",
                          "\tif tid < half:"] + ["\t\t" + c for c in combine] + [
                          "\tcuda.syncthreads()", "\thalf //= 2", f"{acc} = sh{j}[0]", "cuda.syncthreads()"]
            lines.append(f"v{j} = {_cast(s.out)}({acc})  # {s.node.op}: %{s.name}")
        elif group.space[s.name] != "full":
            lines.append(_statement(s, var, dtype_of, target, helpers, f"v{j}"))
        dtype_of[s.name] = s.out
        if s.name in outputs and group.space[s.name] != "full":
            k = group.outputs.index(s.name)
            lines += ["if tid == 0:", f"\tout{k}[r] = v{j}"] if cuda_ else [f"out{k}[r, 0] = v{j}"]
    if full_out:
        lines += loop(per_column([o for _, o in full_out]) +
                      [f"out{k}[{'r * cols + c' if cuda_ else 'r, c'}] = {var[o]}" for k, o in full_out])
    return lines, helpers, [by_name[n].out for n in stored]


LANES = 8


def _in_lanes(body, update, acc, more, cast, init):
    """A CPU max/min pass over a row in LANES running extremes, column c0 + k into lane k, then
    the tail into lane 0: LLVM vectorises these lanes (a vmaxps each), not one running select
    (a max of a 4096x1024 float32 row set took 2.2 ms so, 0.6 ms in lanes)."""
    lanes = [f"{acc}_{k}" for k in range(LANES)]
    lines = [f"{lane} = {cast}({init})" for lane in lanes] + ["c0 = 0", f"while c0 + {LANES} <= cols:"]
    for k, lane in enumerate(lanes):
        lines += [f"\tc = c0 + {k}"] + ["\t" + b for b in body] + ["\t" + u.replace(acc, lane) for u in update]
    lines += [f"\tc0 += {LANES}", "for c in range(c0, cols):"]
    lines += ["\t" + b for b in body] + ["\t" + u.replace(acc, lanes[0]) for u in update]
    while len(lanes) > 1:
        lines += [f"{a} = {b} if {b} {more} {a} else {a}" for a, b in zip(lanes[::2], lanes[1::2])]
        lanes = lanes[::2]
    return lines + [f"{acc} = {lanes[0]}"]


def _indent(lines, depth):
    return "".join("    " * (depth + len(line) - len(line.lstrip("\t"))) + line.lstrip("\t") + "\n"
                   for line in lines)


def _row_source(group, target, in_dtypes):
    lines, helpers, buffers = _row_program(group, target, in_dtypes)
    params = ", ".join(["rows", "cols"] + [f"in{k}" for k in range(len(group.inputs))] +
                       [f"out{k}" for k in range(len(group.outputs))])
    if target == "cpu":
        imports = "".join(f"from kernels.cpu.elementwise import {h}\n" for h in sorted(helpers - {_ORDER_KEYS}))
        if _ORDER_KEYS in helpers:
            imports += ("from kernels.cpu.vmath import (KEY_OF_INF, KEY_OF_NEG_INF, NAN_ABOVE, float32_bits, "
                        "float32_of_key, magnitude_bits,\n                                order_key)\n")
        head = (f'\n\n{_PARALLEL}, fastmath={{"reassoc"}})\n'
                f"def kernel_rows({params}):\n")
        if buffers:  # row buffers: one set per chunk of rows, not per row
            head += (f"    chunks = min(rows, {_ROW_CHUNKS})\n    for chunk in prange(chunks):\n" +
                     "".join(f"        buf{i} = np.empty(cols, {_cast(d)})\n" for i, d in enumerate(buffers)) +
                     "        for r in range(chunk * rows // chunks, (chunk + 1) * rows // chunks):\n")
            depth = 3
        else:
            head += "    for r in prange(rows):\n"
            depth = 2
        spaces = (f"\nSPACES = {tuple(group.input_space)!r}  # how each input is read: a tile as one (1, cols) row "
                  "(a broadcast view's strides do not vectorise)\n")
        return ("import math\n\nimport numpy as np\nfrom numba import njit, prange\n\n" + imports + spaces +
                _parallel_min(PARALLEL_MIN_ROWS) + _with_serial_twin(head + _indent(lines, depth)))
    imports = "".join(f"from kernels.cuda.elementwise import {h}\n" for h in sorted(helpers))
    shared = "".join(f"    sh{j} = cuda.shared.array(THREADS, {_cast(s.compute)})\n"
                     for j, s in enumerate(group.steps) if hasattr(s, "kind"))
    return ("import math\n\nimport numpy as np\nfrom numba import cuda\n\n" + imports +
            f"\nTHREADS = {ROW_THREADS}  # per row: a block\n\n\n@cuda.jit(cache=True)\ndef kernel_rows({params}, meta):\n"
            "    \"\"\"Block b walks rows b, b + blocks, ...; meta: (offset, row stride, column stride) per input.\"\"\"\n"
            "    tid = cuda.threadIdx.x\n" + shared + "    r = cuda.blockIdx.x\n    while r < rows:\n" +
            _indent(lines, 2) + "        r += cuda.gridDim.x\n")


def cache_dir():
    root = os.environ.get("FRAMEWORK_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "framework")
    return os.path.join(root, "compile")


def load(group, target, in_dtypes, key, debug=False):
    """The group's kernel module for `target`, from the cache or written there first; `key`
    names it (a hash of the fused subgraph)."""
    k = key
    folder = cache_dir()
    path = os.path.join(folder, f"fused_{target}_{k}.py")
    if os.path.exists(path):
        stats["loaded"] += 1
    else:
        os.makedirs(folder, exist_ok=True)
        text = source(group, target, in_dtypes, k)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)  # atomic: a concurrent process sees the whole file or none
        stats["generated"] += 1
    name = f"framework_fused_{target}_{k}"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    if debug:
        with open(path) as f:
            print(f"# ---- framework.compile: {path}\n{f.read()}", flush=True)
    return module
