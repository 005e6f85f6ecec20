"""The Tensor API as tools and the layers see it: the generated type stub
(framework/tensor.pyi) is current and complete, tensor.py sits below autograd, and the
autograd Function API behaves as PyTorch's (mark_dirty)."""
import ast
import importlib
import pathlib
import subprocess
import sys

import pytest
import torch

import framework
from framework import _stubgen

ROOT = pathlib.Path(framework.__file__).resolve().parent.parent
TENSOR_PY = ROOT / "framework" / "tensor.py"
STUB = ROOT / "framework" / "tensor.pyi"


def _run(*args):
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


# ----------------------------------------------------------------- the stub


def test_stub_is_up_to_date():
    """In a fresh process, so that nothing a test binds onto Tensor leaks into the comparison."""
    out = _run("-m", "framework._stubgen", "--check")
    assert out.returncode == 0, out.stderr + "\nrun: python -m framework._stubgen"


def _stub_names():
    tree = ast.parse(STUB.read_text())
    module, classes = set(), {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            module.add(node.name)
            classes[node.name] = {n.name if isinstance(n, ast.FunctionDef) else n.target.id
                                  for n in node.body if isinstance(n, (ast.FunctionDef, ast.AnnAssign))}
        elif isinstance(node, ast.FunctionDef):
            module.add(node.name)
    return module, classes


def test_stub_declares_every_tensor_member_and_everything_tensor_py_defines():
    module_names, classes = _stub_names()
    tensor_module = importlib.import_module("framework.tensor")
    defined = {name for name, obj in vars(tensor_module).items()
               if getattr(obj, "__module__", None) == "framework.tensor"}
    assert defined <= module_names, defined - module_names
    runtime = {name for name in vars(framework.Tensor) if name not in _stubgen.SKIP}
    assert runtime <= classes["Tensor"], sorted(runtime - classes["Tensor"])
    for name in ("exp", "sum", "add_", "__add__", "__iadd__", "backward", "shape", "grad", "dtype"):
        assert name in classes["Tensor"]


def test_stub_has_real_signatures():
    text = STUB.read_text()
    assert "    def sum(self, dim=..., keepdim=..., dtype=...) -> Tensor: ..." in text
    # in-place methods take the out-of-place op's parameters, not the wrapper's *args
    assert "    def add_(self, other, alpha=...) -> Tensor: ..." in text
    assert "    def split(self, split_size_or_sections, dim=...) -> tuple[Tensor, ...]: ..." in text
    assert "    def numel(self) -> builtins.int: ..." in text
    compile(text, str(STUB), "exec")


def test_stub_ships_with_the_package():
    import tomllib
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    data = config["tool"]["setuptools"]["package-data"]["framework"]
    assert "py.typed" in data and any(pathlib.PurePath("tensor.pyi").match(p) for p in data)
    assert (ROOT / "framework" / "py.typed").exists()


# ----------------------------------------------------------------- layering: autograd above tensor


def _module_level_imports(path):
    """Modules imported by `path` when it is imported (not inside functions; TYPE_CHECKING blocks excluded)."""
    tree = ast.parse(path.read_text())
    stack, found = list(tree.body), []
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            found += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.If) and ast.unparse(node.test) != "TYPE_CHECKING":
            stack += node.body + node.orelse
        elif isinstance(node, ast.Try):
            stack += node.body + node.orelse + node.finalbody
    return found


def test_tensor_does_not_import_autograd_and_autograd_imports_tensor():
    assert not [m for m in _module_level_imports(TENSOR_PY) if m.startswith("framework.autograd")]
    function_py = ROOT / "framework" / "autograd" / "function.py"
    assert "framework.tensor.Tensor" in _module_level_imports(function_py)
    assert "_tensor_class" not in function_py.read_text()


@pytest.mark.parametrize("module", ["framework", "framework.autograd", "framework.tensor",
                                    "framework.autograd.function", "framework.device"])
def test_each_module_imports_first_in_a_fresh_process(module):
    out = _run("-c", f"import {module}; import framework; print(framework.ones(2).sum().item())")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "2.0"


# ----------------------------------------------------------------- Function.mark_dirty, against PyTorch


def _functions(T):
    class MulInPlace(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class MarkOnly(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    class Identity(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    class NotReturned(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g

    class AddInto(T.autograd.Function):
        """Saves its input before changing it: fine, as saved tensors are taken after forward."""
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x)
            x.add_(y)
            ctx.mark_dirty(x)
            return x, y * 2

        @staticmethod
        def backward(ctx, g1, g2):
            (x,) = ctx.saved_tensors
            return g1, g1 * x + 2 * g2

    return MulInPlace, MarkOnly, Identity, NotReturned, AddInto


def _mark_dirty_behaviour(T):
    """What PyTorch lets one observe of mark_dirty, as plain data."""
    MulInPlace, MarkOnly, Identity, NotReturned, AddInto = _functions(T)
    seen = {}
    a = T.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = a * 1
    v = b._version
    c = MulInPlace.apply(b)
    seen["same object"] = c is b
    seen["version bump"] = b._version - v
    seen["grad_fn"] = b.grad_fn.name().startswith("MulInPlaceBackward")
    c.sum().backward()
    seen["grad"] = a.grad.tolist()

    b = a * 1
    v = b._version
    MarkOnly.apply(b)
    seen["bump without an in-place op"] = b._version - v

    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad") as e:
        MulInPlace.apply(a.detach().requires_grad_())
    seen["leaf error"] = str(e.value)

    e = Identity.apply(a)
    seen["identity"] = (e is a, e._base is a, a.is_leaf, e.grad_fn is not None)

    with pytest.raises(RuntimeError) as err:
        NotReturned.apply(a * 1)
    seen["not returned"] = str(err.value)

    with T.no_grad():
        b = a * 1
        v = b._version
        seen["no grad"] = (MulInPlace.apply(b) is b, b._version - v, b.grad_fn is None)
    t = T.ones(3)
    seen["no requires_grad"] = (MulInPlace.apply(t) is t, t._version, t.requires_grad)

    a.grad = None
    y = T.tensor([1.0, 1.0, 1.0], requires_grad=True)
    b = a * 1
    o1, o2 = AddInto.apply(b, y)
    seen["two outputs"] = (o1 is b, b._version)
    (o1.sum() + o2.sum()).backward()
    seen["two outputs grads"] = (a.grad.tolist(), y.grad.tolist())
    return seen


def test_mark_dirty_behaves_as_pytorch():
    assert _mark_dirty_behaviour(framework) == _mark_dirty_behaviour(torch)


def test_mark_dirty_saved_then_modified_again_is_refused():
    MulInPlace = _functions(framework)[0]
    b = framework.tensor([1.0, 2.0], requires_grad=True) * 1
    c = MulInPlace.apply(b)
    d = c * c  # saves c at its current version
    c.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        d.sum().backward()


def test_mark_dirty_on_a_view_in_the_graph_is_refused_clearly():
    MulInPlace = _functions(framework)[0]
    base = framework.tensor([1.0, 2.0, 3.0], requires_grad=True) * 1
    with pytest.raises(NotImplementedError, match="mark_dirty on a view"):
        MulInPlace.apply(base[:2])

