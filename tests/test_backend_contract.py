"""The backend contract (framework/backends/contract.py) and the device registry.

Both backends must define every contract op with the contract's parameters and forward
nothing implicitly (no module `__getattr__`); the contract must list exactly the names the
code above the backends uses; and the recipe for a new device (docs/DESIGN.md, "How to
add a device") must work: a toy device registered here trains a small model."""
import ast
import copy
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import framework
from framework import backends
from framework.backends import contract

ROOT = pathlib.Path(framework.__file__).resolve().parent.parent

# Modules above the backends that may import a backend module itself, and why.
DEVICE_SPECIFIC = {
    "framework/precompile.py": "fills the CPU kernels' on-disk cache: CPU-specific by purpose",
}


# ----------------------------------------------------------------- which names the code above uses


def _is_backend(node, aliases):
    """`<expr>.backend`, or a name bound to one (or to a backend module)."""
    return (isinstance(node, ast.Attribute) and node.attr == "backend") or \
        (isinstance(node, ast.Name) and node.id in aliases)


def _own_nodes(scope):
    """The nodes of a module or function body, without those of the functions defined in it."""
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))


def _aliases(scope, inherited):
    """`inherited` plus the names bound to `<expr>.backend` in `scope`'s own body."""
    names = set(inherited)
    for node in _own_nodes(scope):
        if isinstance(node, ast.Assign):
            target, value = node.targets[0], node.value
            pairs = zip(target.elts, value.elts) if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) \
                else [(target, value)]
            names.update(t.id for t, v in pairs if isinstance(t, ast.Name) and _is_backend(v, ()))
    return names


def _backend_imports(tree):
    """{local name: module} for backend modules imported in `tree` (e.g. `from framework.backends import cpu_backend as cpu`)."""
    modules = {backends.entry(t).module_name for t in backends.registered()}
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                if f"{node.module}.{a.name}" in modules:
                    found[a.asname or a.name] = f"{node.module}.{a.name}"
        elif isinstance(node, ast.Import):
            found.update({a.asname: a.name for a in node.names if a.name in modules and a.asname})
    return found


def _constant_args(tree, function, param):
    """The string constants passed as `param` of `function` at its calls in `tree`; None if any is not one."""
    index = [a.arg for a in function.args.args].index(param)
    values = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == function.name:
            arg = node.args[index] if index < len(node.args) else \
                next((k.value for k in node.keywords if k.arg == param), None)
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                return None
            values.add(arg.value)
    return values


def used_backend_names():
    """({name: {file}} of names used on backends above framework/backends, [unresolved uses],
    {file: backend module imports})."""
    used, unresolved, imports = {}, [], {}
    for path in sorted((ROOT / "framework").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("framework/backends/"):
            continue
        tree = ast.parse(path.read_text())
        modules = _backend_imports(tree)
        if modules:
            imports[rel] = sorted(modules.values())
        scopes = [(tree, set(modules))]
        while scopes:
            scope, inherited = scopes.pop()
            aliases = _aliases(scope, inherited)
            for node in _own_nodes(scope):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                    scopes.append((node, aliases))
                elif isinstance(node, ast.Attribute) and _is_backend(node.value, aliases):
                    used.setdefault(node.attr, set()).add(rel)
                elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
                        and node.args and _is_backend(node.args[0], aliases):
                    key = node.args[1]
                    if isinstance(key, ast.Constant):
                        names = {key.value}
                    elif isinstance(key, ast.Name) and isinstance(scope, ast.FunctionDef) and \
                            key.id in [a.arg for a in scope.args.args]:
                        names = _constant_args(tree, scope, key.id)
                    else:
                        names = None
                    if names is None:
                        unresolved.append(f"{rel}:{node.lineno}")
                    for name in names or ():
                        used.setdefault(name, set()).add(rel)
    return used, unresolved, imports


def test_contract_lists_exactly_the_names_used_above_the_backends():
    used, unresolved, imports = used_backend_names()
    assert not unresolved, f"getattr on a backend with a name this test cannot resolve: {unresolved}"
    for rel in imports:
        assert rel in DEVICE_SPECIFIC, (f"{rel} imports a backend module ({imports[rel]}); go through "
                                        "tensor.device.backend instead")
    for rel in DEVICE_SPECIFIC:  # their attributes are the CPU's own business
        used = {n: files - {rel} for n, files in used.items()}
        used = {n: files for n, files in used.items() if files}
    declared = set(contract.OPS) | set(contract.CONSTANTS)
    missing = {n: sorted(used[n]) for n in set(used) - declared}
    assert not missing, f"used on backends but not in framework/backends/contract.py: {missing}"
    assert not declared - set(used), f"in the contract but used nowhere above the backends: {declared - set(used)}"


def test_contract_is_documented():
    for name, fn in contract.OPS.items():
        assert fn.__doc__ and fn.__doc__.strip(), f"contract op {name} has no docstring"
    assert contract.OPTIONAL <= set(contract.OPS) | set(contract.CONSTANTS)


# ----------------------------------------------------------------- the backends comply

_CHECK = """
import importlib, json
from framework.backends import contract
b = importlib.import_module("{module}")
print(json.dumps([contract.problems(b), "__getattr__" in vars(b)]))
"""


def _check_backend(name):
    """(contract problems, whether it defines a module __getattr__), in a CUDA-simulator
    subprocess when this process cannot import the backend."""
    module_name = backends.entry(name).module_name
    if module_name in sys.modules or backends.is_available(name):
        import importlib
        module = importlib.import_module(module_name)
        return contract.problems(module), "__getattr__" in vars(module)
    import json
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    out = subprocess.run([sys.executable, "-c", _CHECK.format(module=module_name)], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", ["cpu", "cuda", "meta"])
def test_backend_implements_the_contract(name):
    problems, has_getattr = _check_backend(name)
    assert problems == [], f"the {name} backend breaks the contract: {problems}"
    assert not has_getattr, f"the {name} backend forwards names through a module __getattr__"


def test_problems_reports_missing_and_mismatched_ops():
    import types
    fake = types.ModuleType("fake")
    fake.empty = lambda shape, dtype: None
    fake.zeros = lambda size, dtype: None
    found = contract.problems(fake)
    assert "full: missing" in found and any(p.startswith("zeros(size, dtype)") for p in found)
    assert not any(p.startswith(("empty", "optimizer_step", "OPTIMIZER_STEPS")) for p in found)


# ----------------------------------------------------------------- the registry


def test_unknown_device_types_are_refused_naming_the_registered_ones():
    expected = "Expected one of cpu, cuda, meta device type at start of device string: foo"
    with pytest.raises(RuntimeError, match=expected):
        framework.device("foo")
    assert backends.registered()[:3] == ("cpu", "cuda", "meta")
    assert framework.device("cpu:0") == framework.device("cpu") and framework.device("cpu:0").index is None
    assert framework.device("cuda").index == 0 and str(framework.device("cuda:1")) == "cuda:1"


def test_an_unavailable_device_says_so(monkeypatch):
    backends.register("absent", "no.such.module", lambda: False, unavailable="absent hardware is not here")
    try:
        with pytest.raises(RuntimeError, match="absent hardware is not here"):
            framework.zeros(2, device="absent")
    finally:
        backends.unregister("absent")
    with pytest.raises(RuntimeError, match="Expected one of"):
        framework.device("absent")


TOY_BACKEND = '''
"""A toy device: the CPU backend's kernels behind an array type of its own, so that code
above the backends that reached into NumPy arrays, or branched on the device type, fails."""
import functools

import numpy as np

from framework.backends import contract, cpu_backend as cpu
from framework.backends.layout import AdvancedKey

name = "toy"


class ToyArray:
    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    shape = property(lambda self: self.array.shape)
    ndim = property(lambda self: self.array.ndim)
    size = property(lambda self: self.array.size)
    dtype = property(lambda self: self.array.dtype)


def _unwrap(x):
    if type(x) is ToyArray:
        return x.array
    if type(x) in (list, tuple):
        return type(x)(_unwrap(v) for v in x)
    if type(x) is AdvancedKey:
        return AdvancedKey(_unwrap(x.basic), _unwrap(x.advanced))
    return x


def _wrap(x):
    if type(x) is np.ndarray:
        return ToyArray(x)
    if type(x) in (list, tuple):
        return type(x)(_wrap(v) for v in x)
    return x


def _delegate(fn):
    @functools.wraps(fn)
    def run(*args, **kwargs):
        return _wrap(fn(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))
    return run


for _op in contract.OPS:
    if hasattr(cpu, _op) or _op not in contract.OPTIONAL:  # (optional ops the CPU lacks stay out)
        globals()[_op] = _delegate(getattr(cpu, _op))
OPTIMIZER_STEPS = getattr(cpu, "OPTIMIZER_STEPS", frozenset())
if not FUSED:  # the optional fused updates left out: framework.optim runs plain tensor ops
    del OPTIMIZER_STEPS, optimizer_step


def from_host(array):
    return ToyArray(np.array(array))


def to_host(a):
    return a.array.copy()
'''


@pytest.fixture(params=[True, False], ids=["fused", "plain"])
def toy_device(request, tmp_path, monkeypatch):
    """The recipe: a backend module and one `register` line (kernels: the CPU's), with or
    without the optional fused optimizer updates."""
    (tmp_path / "toy_backend.py").write_text(f"FUSED = {request.param}\n" + TOY_BACKEND)
    monkeypatch.syspath_prepend(str(tmp_path))
    backends.register("toy", "toy_backend")
    try:
        yield framework.device("toy")
    finally:
        backends.unregister("toy")
        sys.modules.pop("toy_backend", None)


def _train(model, x, target, opt_class, **opt_args):
    opt = opt_class(model.parameters(), **opt_args)
    losses = []
    for _ in range(2):
        opt.zero_grad()
        loss = framework.nn.functional.cross_entropy(model(x), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_a_registered_toy_device_runs_ops_backward_and_optimizer_steps(toy_device):
    import toy_backend
    assert contract.problems(toy_backend) == []
    assert hasattr(toy_backend, "optimizer_step") == toy_backend.FUSED
    nn = framework.nn
    framework.manual_seed(0)
    x = framework.randn(4, 1, 6, 6)
    target = framework.tensor([0, 2, 1, 2])
    cpu_model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 3))
    toy_model = copy.deepcopy(cpu_model).to("toy")
    assert all(p.device == toy_device and type(p._data).__name__ == "ToyArray" for p in toy_model.parameters())

    # a few ops, printing and indexing
    t = x.to("toy")
    y = (t * 2 + 1).relu().sum(dim=(2, 3))
    assert y.device == toy_device and np.allclose(y.cpu().numpy(), ((x * 2 + 1).relu().sum(dim=(2, 3))).numpy())
    assert t[1:3, 0, framework.tensor([0, 5])].cpu().tolist() == x[1:3, 0, framework.tensor([0, 5])].tolist()
    assert "device='toy'" in repr(framework.ones(2, device="toy"))

    for opt_class, args in ((framework.optim.SGD, {"lr": 0.1, "momentum": 0.9}), (framework.optim.Adam, {})):
        expected = _train(cpu_model, x, target, opt_class, **args)
        got = _train(toy_model, x.to("toy"), target.to("toy"), opt_class, **args)
        assert np.allclose(got, expected, rtol=1e-5, atol=1e-6), (opt_class, got, expected)
        for p, q in zip(cpu_model.parameters(), toy_model.parameters()):
            assert q.grad.device == toy_device
            assert np.allclose(q.detach().cpu().numpy(), p.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_cuda_synchronize_goes_through_the_registry(monkeypatch):
    """framework.cuda reaches the CUDA backend as any device does (no import of the module)."""
    calls = []

    class Fake:
        @staticmethod
        def synchronize():
            calls.append(1)

    monkeypatch.setattr(framework.cuda, "cuda_available", lambda: True)
    dev = framework.device("cuda")
    monkeypatch.setattr(dev, "_backend", Fake)
    framework.cuda.synchronize()
    assert calls == [1]


def test_importing_the_cuda_backend_in_the_simulator_does_not_need_a_gpu():
    code = textwrap.dedent("""
        import framework
        x = framework.ones(3, device="cuda")
        framework.cuda.synchronize()
        print((x * 2).sum().item())
    """)
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, NUMBA_ENABLE_CUDASIM="1"), cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "6.0"
