"""framework.compile: compiled equals eager (outputs and gradients) on every device, fusion,
guards and recompiles, the eager fallback, the kernel cache across processes, debug output."""
import json
import math
import operator
import os
import subprocess
import sys
import textwrap
import types
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import framework
import framework.nn.functional as F
from framework import nn
from framework._compile import _fusion, stats
from framework.export import CaptureError
from tests.helpers import randn


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    """Kernels go to one temporary cache for this module's tests, not the user's: the session's,
    shared by pytest-xdist's workers (each would compile the kernels the other already has;
    writes are atomic, framework/backends/fusion.py)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    monkeypatch.setenv("FRAMEWORK_CACHE", str(shared / "compile_cache"))


def _tensor(a, device, grad=True):
    return framework.tensor(a, device=device, requires_grad=grad and a.dtype.kind == "f")


def _grads(model, inputs):
    tensors = [t for t in inputs if isinstance(t, framework.Tensor) and t.requires_grad]
    params = list(model.parameters()) if isinstance(model, nn.Module) else []
    return tensors + params


def assert_compiled_matches(model, inputs, atol=1e-6):
    """Compiled and eager give the same outputs and the same gradients of every input and parameter."""
    compiled = framework.compile(model)
    before = stats["compilations"]
    eager_out = model(*inputs)
    leaves = _grads(model, inputs)
    eager_grads = framework.autograd.grad(eager_out.sum(), leaves) if leaves else ()
    out = compiled(*inputs)
    assert stats["compilations"] == before + 1
    np.testing.assert_allclose(out.detach().cpu().numpy(), eager_out.detach().cpu().numpy(), atol=atol, rtol=1e-5)
    assert out.dtype == eager_out.dtype and out.shape == eager_out.shape
    if leaves:
        grads = framework.autograd.grad(out.sum(), leaves)
        for g, e in zip(grads, eager_grads):
            np.testing.assert_allclose(g.cpu().numpy(), e.cpu().numpy(), atol=atol, rtol=1e-5)
    again = compiled(*inputs)  # same signature: no recompile, same values
    assert stats["compilations"] == before + 1
    np.testing.assert_allclose(again.detach().cpu().numpy(), out.detach().cpu().numpy(), atol=0)
    return compiled


# ----------------------------------------------------------------- models


def _mlp(device):
    framework.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).to(device), (randn(2, 4),)


def _lenet(device):
    from framework.examples.lenet import Net
    framework.manual_seed(0)
    return Net().to(device), (randn(1, 1, 32, 32),)


class GeluMLP(nn.Module):
    """A transformer MLP body written by hand: the tanh GELU as its formula."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(4, 8), nn.Linear(8, 4)

    def forward(self, x):
        h = self.fc1(x)
        h = 0.5 * h * (1.0 + framework.tanh(0.7978845608028654 * (h + 0.044715 * h ** 3)))
        return x + self.fc2(h)


class HandLayerNorm(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.weight, self.bias = nn.Parameter(framework.ones(n) * 1.5), nn.Parameter(framework.zeros(n) + 0.25)

    def forward(self, x):
        mu = x.mean(-1, keepdim=True)
        d = x - mu
        var = (d * d).mean(-1, keepdim=True)
        return d / (var + 1e-5).sqrt() * self.weight + self.bias


def hand_softmax(x):
    e = (x - x.max(-1, keepdim=True).values).exp()
    return e / e.sum(-1, keepdim=True)


def _transformer(device):
    framework.manual_seed(0)
    layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, batch_first=True)
    return layer.to(device), (randn(2, 3, 8),)


MODELS = {
    "mlp": _mlp,
    "lenet": _lenet,
    "gelu_mlp": lambda device: (GeluMLP().to(device), (randn(2, 3, 4),)),
    "layer_norm": lambda device: (HandLayerNorm(5).to(device), (randn(3, 5),)),
    "softmax": lambda device: (hand_softmax, (randn(3, 5),)),
    "transformer": _transformer,
}


@pytest.mark.parametrize("name", list(MODELS))
def test_compiled_model_matches_eager(name, device):
    model, arrays = MODELS[name](device)
    inputs = [_tensor(a, device) for a in arrays]
    assert_compiled_matches(model, inputs)


def test_compiled_model_matches_eager_in_eval_and_no_grad(device):
    model, (a,) = _transformer(device)
    model.eval()
    x = _tensor(a, device, grad=False)
    compiled = framework.compile(model)
    with framework.no_grad():
        np.testing.assert_allclose(compiled(x).cpu().numpy(), model(x).cpu().numpy(), atol=1e-6)


def test_elementwise_chains_become_one_kernel(device):
    def f(x, b):
        return F.gelu(x * 2 + b).sigmoid() * (x > 0.5) + x ** 2 - F.silu(x)

    x, b = _tensor(randn(3, 4), device), _tensor(randn(4), device, grad=False)
    compiled = assert_compiled_matches(f, [x, b])
    (program,) = compiled.programs.values()
    (group,) = program.groups
    assert len(group.nodes) == 10 and group.inputs == ["x", "b"]
    assert program.items == [group]


def test_broadcast_zero_size_zero_dim_and_strided_inputs(device):
    def f(x, s):
        return (x * s + 1).exp() - s

    for shape_x, shape_s in (((2, 3), ()), ((0, 3), (3,)), ((), ())):
        x, s = _tensor(randn(*shape_x), device), _tensor(randn(*shape_s), device)
        assert_compiled_matches(f, [x, s])
    x = _tensor(randn(3, 2), device, grad=False).t()  # non-contiguous
    s = _tensor(randn(2, 1), device, grad=False)
    np.testing.assert_allclose(framework.compile(f)(x, s).cpu().numpy(), f(x, s).cpu().numpy(), atol=1e-6)


def _cpu_module(compiled):
    """The generated module of a compiled function's one fused group (on the CPU)."""
    (program,) = compiled.programs.values()
    (group,) = program.groups
    (module,) = group.kernels.values()
    return module


@pytest.mark.parametrize("kind, kernel, small, large", [
    ("arithmetic", "kernel_flat", (64, 8), (512, 512)),  # threads from 2**18 elements
    ("calls", "kernel_flat", (64, 8), (128, 128)),  # from 2**14: a step calls tanh
    ("broadcast", "kernel_2d", (64, 8), (128, 128)),
    ("rows", "kernel_rows", (16, 8), (128, 128)),  # from 2**14
])
def test_small_tensors_run_the_serial_twin_and_large_ones_start_threads(kind, kernel, small, large):
    """A fused CPU kernel is generated twice, threaded and `_serial`, and a call below its module's
    PARALLEL_MIN elements takes the serial one; both compute what eager mode does."""
    def fn(x, b):  # constants of this test's own: its module is not shared with other tests
        if kind == "rows":
            return (x * 1.375 - (x * 1.375).amax(-1, keepdim=True)).exp().sum(-1)
        if kind == "arithmetic":
            return x * 1.375 + 0.0625
        return ((x * 1.375 + b) if kind == "broadcast" else (x * 1.375 + 0.0625)).tanh()

    compiled = framework.compile(fn)
    for shape, used in ((small, kernel + "_serial"), (large, kernel)):
        x, b = framework.tensor(randn(*shape)), framework.tensor(randn(shape[-1]))
        np.testing.assert_allclose(compiled(x, b).numpy(), fn(x, b).numpy(), rtol=1e-5, atol=1e-6)
        module = _cpu_module(compiled)
        assert math.prod(small) < module.PARALLEL_MIN <= math.prod(large)
        assert getattr(module, used).signatures, (shape, used)
        if used.endswith("_serial"):
            assert not getattr(module, kernel).signatures, "a small tensor started threads"


def test_broadcast_operands_are_read_as_rows_and_columns(device, capsys, monkeypatch):
    """A bias (the same for every row) and a per-row value are read through contiguous 2-D arrays
    (a loop that vectorises), a transposed operand through its strides; both equal eager."""
    def f(x, s, r):
        return (x * s + 1).exp() - r

    monkeypatch.setenv("FRAMEWORK_COMPILE_DEBUG", "1")
    x, s, r = (_tensor(randn(*shape), device, grad=False) for shape in ((2, 4, 3), (4, 3), (2, 1, 1)))
    compiled = framework.compile(f)
    np.testing.assert_allclose(compiled(x, s, r).cpu().numpy(), f(x, s, r).cpu().numpy(), rtol=1e-6)
    if device == "cpu":
        assert "SPLIT, KINDS = 1, ('full', 'tile', 'row')" in capsys.readouterr().out
    xt = _tensor(randn(2, 3, 4), device, grad=False).transpose(1, 2)
    np.testing.assert_allclose(compiled(xt, s, r).cpu().numpy(), f(xt, s, r).cpu().numpy(), rtol=1e-6)


def test_integer_bool_and_float64_dtypes(device):
    def f(i, x):
        big = i > 2
        return (i * 3 + 1) // 2, (x * i + 0.5).tanh() * big, (i + 1.5).sqrt(), big & (x < 0.1)

    i = framework.tensor(np.arange(6).reshape(2, 3), device=device)
    x = _tensor(randn(2, 3, dtype=np.float64), device, grad=False)
    compiled = framework.compile(f)
    for got, want in zip(compiled(i, x), f(i, x)):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got.cpu().numpy(), want.cpu().numpy(), atol=1e-12)


UNARY = ["neg", "exp", "tanh", "sigmoid", "relu", "abs", "sin", "gelu", "silu"]
BINARY = ["add", "sub", "mul", "maximum", "div"]


def _expressions():
    leaf = st.sampled_from(["x", "y"]) | st.floats(-2, 2, allow_nan=False).map(lambda v: round(v, 2))
    return st.recursive(leaf, lambda inner: st.tuples(st.sampled_from(UNARY), inner) |
                        st.tuples(st.sampled_from(BINARY), inner, inner), max_leaves=6)


def _evaluate(e, x, y):
    if e == "x":
        return x
    if e == "y":
        return y
    if isinstance(e, float):
        return e
    op, *args = e
    vals = [_evaluate(a, x, y) for a in args]
    if op in ("gelu", "silu"):
        return getattr(F, op)(vals[0]) if isinstance(vals[0], framework.Tensor) else vals[0]
    if len(vals) == 1:
        v = vals[0]
        return getattr(framework, op)(v) if isinstance(v, framework.Tensor) else v
    a, b = vals
    if not isinstance(a, framework.Tensor) and not isinstance(b, framework.Tensor):
        return a
    if op == "maximum":
        return framework.maximum(a, b) if isinstance(a, framework.Tensor) and isinstance(b, framework.Tensor) \
            else a
    if op == "div" and not isinstance(b, framework.Tensor):
        b = b if abs(b) > 0.1 else 0.5
    return getattr(operator, op if op != "div" else "truediv")(a, b)


@settings(max_examples=4)
@given(expr=_expressions())
def test_hypothesis_elementwise_expressions(expr, device):
    def f(x, y):
        return _evaluate(("mul", expr, "x"), x, y) + y

    x, y = _tensor(randn(2, 3), device), _tensor(randn(3), device)
    compiled = framework.compile(f)
    out, want = compiled(x, y), f(x, y)
    np.testing.assert_allclose(out.detach().cpu().numpy(), want.detach().cpu().numpy(), rtol=1e-5, atol=1e-6)
    got = framework.autograd.grad(out.sum(), (x, y))
    expected = framework.autograd.grad(want.sum(), (x, y))
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g.cpu().numpy(), e.cpu().numpy(), rtol=1e-5, atol=1e-6)


def test_backward_of_a_group_is_captured_and_fused_once(device):
    """The first backward captures the group's backward (its recomputed forward and the gradient
    formulas) and fuses it; later backwards reuse it; gradients equal eager's."""
    def gelu(x):
        return 0.5 * x * (1.0 + (0.7978845608028654 * (x + 0.044715 * x ** 3)).tanh())

    x = _tensor(randn(3, 4), device)
    compiled = framework.compile(gelu)
    before = stats["backward_compilations"]
    (want,) = framework.autograd.grad(gelu(x).sum(), x)
    for _ in range(2):
        (got,) = framework.autograd.grad(compiled(x).sum(), x)
        np.testing.assert_allclose(got.cpu().numpy(), want.cpu().numpy(), rtol=1e-5, atol=1e-6)
    assert stats["backward_compilations"] == before + 1
    (program,) = compiled.programs.values()
    (group,) = program.groups
    (backward,) = group.backward.values()
    (backward_program,) = backward.compiled.programs.values()
    assert len(backward_program.groups) == 1 and backward_program.items == backward_program.groups


def test_backward_of_a_row_group_fuses_around_its_column_sums(device):
    """A layer norm written by hand: its backward reshapes row sums to (..., 1) and expands
    them, and sums over the rows for the weight's and the bias's gradients. The views fuse as
    identities and the column sums run beside the group, so all the row work is one kernel
    (it was five, with every intermediate written out: 45 -> 13 ms at 4096x1024 forward and
    backward). Gradients equal eager's."""
    def layer_norm(x, w, b):
        mu = x.mean(-1, keepdim=True)
        d = x - mu
        var = (d * d).mean(-1, keepdim=True)
        return d / (var + 1e-5).sqrt() * w + b

    x, w, b = (_tensor(randn(*shape), device) for shape in ((16, 6), (6,), (6,)))
    seed = _tensor(randn(16, 6), device, grad=False)
    compiled = framework.compile(layer_norm)
    got = framework.autograd.grad(compiled(x, w, b), (x, w, b), seed)
    want = framework.autograd.grad(layer_norm(x, w, b), (x, w, b), seed)
    for g, e in zip(got, want):
        np.testing.assert_allclose(g.cpu().numpy(), e.cpu().numpy(), rtol=1e-4, atol=1e-5)
    (program,) = compiled.programs.values()
    (group,) = program.groups
    (backward,) = group.backward.values()
    (backward_program,) = backward.compiled.programs.values()
    assert [type(g).__name__ for g in backward_program.groups] == ["RowGroup"]
    assert [i.op for i in backward_program.items if not isinstance(i, _fusion.Group)] == ["Sum", "Sum"]


def test_random_draws_are_fresh_on_every_call_in_eager_order(device):
    """rand / randn (dropout's mask) are nodes of the graph, drawn again on every call: they
    were lifted as constants, so a compiled model's dropout dropped the same units every step.
    A node that does not fit an open group and waits for it makes every node after it wait
    too, even one that could run before the group: draws keep eager's order. A draw the graph
    cannot represent (randint) runs the model eagerly, with a warning."""
    def f(x, z):
        y = x * 2.0 + 1.0
        a = F.dropout(y, 0.5)  # reads the group: waits for it
        c = F.dropout(z, 0.5)  # reads nothing of it, yet draws after `a`
        return a, c, y * 3.0 - framework.randn(4, 5, device=x.device)

    x, z = _tensor(randn(4, 5), device, grad=False), _tensor(randn(4, 5), device, grad=False)
    compiled = framework.compile(f)
    framework.manual_seed(3)
    got = [compiled(x, z) for _ in range(2)]
    framework.manual_seed(3)
    want = [f(x, z) for _ in range(2)]
    for g, e in zip(sum(got, ()), sum(want, ())):
        np.testing.assert_allclose(g.cpu().numpy(), e.cpu().numpy(), rtol=1e-6)
    assert not np.array_equal(got[0][0].cpu().numpy(), got[1][0].cpu().numpy())
    (program,) = compiled.programs.values()
    assert [n.op for n in program.graph.nodes if n.op in ("rand", "randn")] == ["rand", "rand", "randn"]

    def g(x):
        return x + framework.randint(0, 3, (4, 5), device=x.device)

    with pytest.warns(UserWarning, match=r"random draw \(randint\)"):
        out = framework.compile(g)(x)
    assert out.shape == (4, 5)


def test_casts_fuse_to_floats_and_from_bool(device):
    """A cast to a float dtype or from bool is a step of the group (a dropout's mask); a cast
    from a float to an int stays eager (NumPy defines NaN's and negatives' conversions, LLVM
    does not). Values equal eager's, dtypes too."""
    def f(x, n):
        mask = (x > 0.5).to(framework.float32)
        wide = (x * 2.0).double() + n.float()
        return mask * x + 1.0, (wide * 3.0).to(framework.float32), (x * 4.0).long() + 1, (x < 0).long() * 2

    x = _tensor(randn(3, 4) * 3, device, grad=False)
    n = framework.arange(12, device=device).reshape(3, 4).int()
    compiled = framework.compile(f)
    for g, e in zip(compiled(x, n), f(x, n)):
        assert g.dtype == e.dtype
        np.testing.assert_allclose(g.cpu().numpy(), e.cpu().numpy(), rtol=1e-6)
    (program,) = compiled.programs.values()
    in_groups = [n.args[1].name for g in program.groups for n in g.nodes if n.op == "Cast"]
    left = [n.args[1].name for n in program.items if not isinstance(n, _fusion.Group) and n.op == "Cast"]
    assert sorted(in_groups) == ["float32", "float32", "float32", "float64", "int64"] and left == ["int64"]


def test_a_reshape_of_an_input_is_not_fused_as_a_broadcast(device):
    """A row value's reshape fuses as an identity only when the group made the value: an
    input's (n,) -> (n, 1) read broadcast would run along the columns."""
    def f(x, v):
        return (x - v.reshape(16, 1)).exp().sum(-1) + v

    x, v = _tensor(randn(16, 16), device), _tensor(randn(16), device)
    compiled = framework.compile(f)
    np.testing.assert_allclose(compiled(x, v).detach().cpu().numpy(), f(x, v).detach().cpu().numpy(), rtol=1e-5)


def test_double_backward_through_a_fused_group(device):
    def f(x):
        return (x * x * x).sin()

    x = _tensor(randn(4), device)
    compiled = framework.compile(f)
    (g,) = framework.autograd.grad(compiled(x).sum(), x, create_graph=True)
    (gg,) = framework.autograd.grad(g.sum(), x)
    (e,) = framework.autograd.grad(f(x).sum(), x, create_graph=True)
    (ee,) = framework.autograd.grad(e.sum(), x)
    np.testing.assert_allclose(gg.cpu().numpy(), ee.cpu().numpy(), rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------- reductions fused with their chains


def _hand_layer_norm_var(x, w, b):
    mu = x.mean(-1, keepdim=True)
    return (x - mu) * (x.var(-1, keepdim=True, unbiased=False) + 1e-5).rsqrt() * w + b


ROW_CASES = {
    "softmax": (hand_softmax, [(2, 8, 5)]),
    "layer_norm": (lambda x, w, b: HandLayerNorm.forward(types.SimpleNamespace(weight=w, bias=b), x),
                   [(16, 6), (6,), (6,)]),
    "layer_norm_var": (_hand_layer_norm_var, [(16, 6), (6,), (6,)]),
    "scaled_masked_softmax": (lambda s, m: F.softmax(s * 0.5 + m, -1), [(16, 5), (16, 1)]),
    "log_softmax_rows": (lambda s: F.log_softmax(s * 2.0, -1).sum(-1) * 0.5, [(4, 4, 3)]),
    "amin_and_flat_sum": (lambda x, y: ((x * y).sum(-1) + 1.0, (x - y).amin(-1, keepdim=True).exp()),
                          [(16, 3), (16, 3)]),
    "counts": (lambda x: (x * (x > 0).sum(-1, keepdim=True), (x > 0.3).sum(-1)), [(16, 5)]),  # int64 sums
}


def test_a_row_kernel_reads_a_weight_as_one_row(device, capsys, monkeypatch):
    """A weight or bias over the last dim (the same for every row) is read as one contiguous row
    (CPU: a (1, cols) array, which vectorises; a strided one is copied), and equals eager."""
    monkeypatch.setenv("FRAMEWORK_COMPILE_DEBUG", "1")
    x, w, b = (_tensor(randn(*shape), device, grad=False) for shape in ((16, 6), (12,), (1, 6)))
    compiled = framework.compile(_hand_layer_norm_var)
    for weight in (w[:6], w[::2]):
        np.testing.assert_allclose(compiled(x, weight, b).cpu().numpy(),
                                   _hand_layer_norm_var(x, weight, b).cpu().numpy(), rtol=1e-5, atol=1e-6)
    if device == "cpu":
        assert "SPACES = ('full', 'tile', 'tile')" in capsys.readouterr().out


@pytest.mark.parametrize("name", list(ROW_CASES))
def test_reductions_fuse_with_their_chains(name, device):
    """Elementwise ops around sums, max/min, variances and softmaxes over the last dim become one
    row kernel; outputs and gradients equal eager's (to rounding: sums accumulate in float32)."""
    fn, shapes = ROW_CASES[name]
    inputs = [_tensor(randn(*shape), device) for shape in shapes]
    compiled = framework.compile(fn)
    got, want = compiled(*inputs), fn(*inputs)
    (program,) = compiled.programs.values()
    assert any(getattr(g, "rows", False) for g in program.groups), program.items
    got, want = (got, want) if isinstance(got, tuple) else ((got,), (want,))
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g.detach().cpu().numpy(), w.detach().cpu().numpy(), rtol=1e-5, atol=1e-6)
    total = lambda outs: sum((o * (k + 1)).sum() for k, o in enumerate(outs))  # noqa: E731
    for g, e in zip(framework.autograd.grad(total(got), inputs), framework.autograd.grad(total(want), inputs)):
        np.testing.assert_allclose(g.cpu().numpy(), e.cpu().numpy(), rtol=1e-4, atol=1e-5)


def test_row_kernel_edge_values_dtypes_and_layouts(device):
    """NaN and -inf rows, float64, a transposed input, a dropped-dim row value that broadcasts
    along the columns (it must not be read per row), and too few rows to fuse."""
    def f(x):
        return (x - x.amax(-1, keepdim=True)).exp().sum(-1, keepdim=True) * x

    x = randn(16, 4)
    x[1, 2], x[3, :] = np.nan, -np.inf
    wide = randn(16, 21)  # (the CPU's max runs in 8 lanes: 2 rounds and a tail of 5)
    wide[1, 13], wide[2, 20], wide[3, :], wide[4, 7] = np.nan, 50, -np.inf, 50
    for arr in (x, x.astype(np.float64), wide):
        t = _tensor(arr, device, grad=False)
        np.testing.assert_allclose(framework.compile(f)(t).cpu().numpy(), f(t).cpu().numpy(), rtol=1e-6, atol=1e-6)
    smallest = lambda x: x - x.amin(-1, keepdim=True)  # noqa: E731
    t = _tensor(-wide, device, grad=False)
    np.testing.assert_allclose(framework.compile(smallest)(t).cpu().numpy(), smallest(t).cpu().numpy())
    # float32 extremes run as integer maxima of ordered keys on the CPU: the order's edges
    edge = randn(6, 21)
    edge[0, 3], edge[1, :], edge[2, :], edge[3, 5], edge[4, :] = np.inf, 0.0, -1e-45, np.nan, np.nan
    edge[1, ::2], edge[2, 7], edge[5, :] = -0.0, 1e-45, -3.0
    largest = lambda x: x - x.amax(-1, keepdim=True)  # noqa: E731
    for fn in (largest, smallest):
        t = _tensor(edge, device, grad=False)
        np.testing.assert_allclose(framework.compile(fn)(t).cpu().numpy(), fn(t).cpu().numpy(), atol=0)
    t = _tensor(randn(4, 16), device, grad=False).t()
    np.testing.assert_allclose(framework.compile(f)(t).cpu().numpy(), f(t).cpu().numpy(), rtol=1e-6, atol=1e-6)

    def along_columns(x):  # (16,) + (16, 16): the sums run along the last dim
        return x * 2 - (x * 3).sum(-1)

    t = _tensor(randn(16, 16), device, grad=False)
    np.testing.assert_allclose(framework.compile(along_columns)(t).cpu().numpy(), along_columns(t).cpu().numpy(),
                               rtol=1e-5, atol=1e-5)
    few = framework.compile(hand_softmax)
    t = _tensor(randn(3, 5), device, grad=False)
    few(t)
    (program,) = few.programs.values()
    assert not any(getattr(g, "rows", False) for g in program.groups)


def test_row_kernel_source_is_readable(capsys, monkeypatch):
    """debug mode shows the row kernel: a pass per reduction (a float32 max as an integer max of
    ordered keys, a float64 one in 8 lanes), the exponentials kept in a row buffer for the last
    pass instead of computed twice."""
    monkeypatch.setenv("FRAMEWORK_COMPILE_DEBUG", "1")
    framework.compile(hand_softmax)(framework.randn(16, 8))
    text = capsys.readouterr().out
    assert "def kernel_rows(rows, cols, in0, out0):" in text
    text, serial = text.split("def kernel_rows_serial(rows, cols, in0, out0):")  # the same loops, unthreaded
    assert serial.count("for c in range(cols):") == 3 and "prange" not in serial
    assert "chunks = min(rows, 1)" in serial  # its row buffer allocated once a call (64x128: 11.1 -> 8.6 us)
    assert "key0 = max(key0, order_key(b0))" in text and "while c0" not in text
    assert text.count("for c in range(cols):") == 3 and text.count("np.float32(exp(") == 1 and "buf0[c] = " in text
    framework.compile(hand_softmax)(framework.randn(16, 8, dtype=framework.float64))
    text = capsys.readouterr().out
    assert "while c0 + 8 <= cols:" in text and "acc0_7 = t0 if t0 > acc0_7 else acc0_7" in text


def test_sum_over_all_dims_fuses_by_rows(device):
    """A loss (a sum over every dim of an elementwise chain: MSE written out, mse_loss, a
    3-D sum kept 3-D) runs as a row group of row sums plus a small sum of those; values and
    gradients equal eager's. A plain input's sum, and too few rows, are left as they were."""
    def losses(a, b, c):
        return (((a - b) ** 2).mean() + F.mse_loss(a, b) * 2, (c * c).sum((0, 1, 2), keepdim=True), c.sum())

    a, b, c = (_tensor(randn(*shape), device) for shape in ((16, 5), (16, 5), (4, 4, 3)))
    compiled = framework.compile(losses)
    got, want = compiled(a, b, c), losses(a, b, c)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g.detach().cpu().numpy(), w.detach().cpu().numpy(), rtol=1e-5)
    total = lambda outs: outs[0] + outs[1].sum() * 3 + outs[2]  # noqa: E731
    for g, e in zip(framework.autograd.grad(total(got), [a, b, c]), framework.autograd.grad(total(want), [a, b, c])):
        np.testing.assert_allclose(g.cpu().numpy(), e.cpu().numpy(), rtol=1e-5, atol=1e-6)
    (program,) = compiled.programs.values()
    rows = [g for g in program.groups if getattr(g, "rows", False)]
    # (the two losses over (16, 5) share one row group: the sums between them wait for it)
    assert [g.shape for g in rows] == [(16, 5), (4, 4, 3)]
    assert all(any(o.endswith("__rows") for o in g.outputs) for g in rows)
    plain = [i for i in program.items if not isinstance(i, _fusion.Group) and i.op == "Sum"]
    assert [tuple(program.graph.meta[n.args[0].name].shape) for n in plain].count((4, 4, 3)) == 1  # c.sum()
    few = framework.compile(lambda x: (x * x).sum())
    few(_tensor(randn(3, 5), device))
    (program,) = few.programs.values()
    assert not any(getattr(g, "rows", False) for g in program.groups)


def test_program_drops_each_value_after_its_last_use():
    """A compiled forward holds an intermediate no longer than eager code does: under no_grad,
    eight chained 512x512 products peak at eager's memory (holding every value to the end took
    16 MB, 8x), and 2-D products inside no_grad are captured (their fast path once was not)."""
    import tracemalloc

    def chain(x, w):
        for _ in range(8):
            x = (x @ w).relu()
        return x.sum()

    x, w = framework.randn(512, 512), framework.randn(512, 512) / 23
    compiled = framework.compile(chain)
    with framework.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("error")
        compiled(x, w)
        peaks = []
        for fn in (chain, compiled):
            tracemalloc.start()
            fn(x, w)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
    assert compiled.programs and peaks[1] <= peaks[0] * 1.1, peaks


_PTX_CHILD = """
import json, sys, importlib.util
from numba import cuda, float32, int64
try:
    cuda.compile_ptx(lambda: None, (), cc=(9, 0))
except Exception as exc:
    print(json.dumps({"skip": f"NVVM unavailable: {exc}"}))
    sys.exit()
import framework
import framework.nn.functional as F
from framework._compile import _fusion
from framework.backends import fusion

def layer_norm(x, w, b):
    mu = x.mean(-1, keepdim=True)
    d = x - mu
    return d / ((d * d).mean(-1, keepdim=True) + 1e-5).sqrt() * w + b

def attention_softmax(s, m):
    return (F.softmax(s * 0.125 + m, -1) * 2).amax(-1)

def gelu(x):
    return 0.5 * x * (1.0 + (0.7978845608028654 * (x + 0.044715 * x ** 3)).tanh())

out = []
for fn, args in [(layer_norm, (framework.randn(16, 8), framework.randn(8), framework.randn(8))),
                 (attention_softmax, (framework.randn(16, 8), framework.randn(16, 1))), (gelu, (framework.randn(16, 8),))]:
    compiled = framework.compile(fn)
    compiled(*args)
    (program,) = compiled.programs.values()
    for group in program.groups:
        dtypes = tuple(program.graph.meta[n].dtype for n in group.inputs)
        key = _fusion.key(group, "cuda", dtypes)
        path = sys.argv[1] + "/" + key + ".py"
        with open(path, "w") as f:
            f.write(fusion.source(group, "cuda", dtypes, key))
        spec = importlib.util.spec_from_file_location("fused_" + key, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        arrays = (float32[::1],) * (len(group.inputs) + len(group.outputs)) + (int64[::1],)
        rows = getattr(group, "rows", False)
        kernel = module.kernel_rows if rows else module.kernel
        ptx, _ = cuda.compile_ptx(kernel.py_func, ((int64, int64) if rows else ()) + arrays, cc=(9, 0))
        out.append([fn.__name__, "rows" if rows else "elementwise", ".target sm_90" in ptx, "bar.sync" in ptx])
print(json.dumps({"kernels": out}))
"""


def test_fused_cuda_kernels_compile_to_ptx(tmp_path):
    """The generated CUDA kernels (elementwise and row kernels with a 128-thread block's shared-memory
    tree) compile for the H100 (sm_90), outside the simulator."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    env["FRAMEWORK_CACHE"] = str(tmp_path)
    out = subprocess.run([sys.executable, "-c", _PTX_CHILD, str(tmp_path)], env=env, capture_output=True, text=True,
                         timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-6000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    if "skip" in report:
        pytest.skip(report["skip"])
    kinds = {(name, kind) for name, kind, sm90, _ in report["kernels"] if sm90}
    assert kinds == {("layer_norm", "rows"), ("attention_softmax", "rows"), ("gelu", "elementwise")}, report
    assert all(synced for _, kind, _, synced in report["kernels"] if kind == "rows")


# ----------------------------------------------------------------- guards


def test_recompiles_only_when_a_guard_changes(device):
    def f(x):
        return (x * 2).relu() + 1

    compiled = framework.compile(f)
    x = framework.tensor(randn(2, 3), device=device)
    compiled(x)
    compiled(framework.tensor(randn(2, 3), device=device))  # other values: same program
    assert compiled.compile_count == 1
    compiled(framework.tensor(randn(4, 3), device=device))  # shape
    assert compiled.compile_count == 2
    compiled(framework.tensor(randn(2, 3, dtype=np.float64), device=device))  # dtype
    assert compiled.compile_count == 3
    compiled(framework.tensor(randn(2, 3), device=device, requires_grad=True))  # requires_grad
    assert compiled.compile_count == 4
    with framework.no_grad():  # grad mode
        compiled(x)
    assert compiled.compile_count == 5
    compiled(x)
    compiled(framework.tensor(randn(4, 3), device=device))
    assert compiled.compile_count == 5


def test_dynamic_sizes_after_a_change_and_with_dynamic_true(device):
    """dynamic=None (the default): a size that changes is captured as a symbol at the second
    compilation, so later sizes reuse that program (fused row and elementwise kernels included,
    forward and backward); dynamic=True starts dynamic in the first dim; dynamic=False never."""
    def f(x, w):
        y = F.softmax(x * 2 + w, -1) * x
        return y.reshape(-1)[: x.shape[0]] * 3

    w = _tensor(randn(5), device)
    compiled = framework.compile(f)
    for rows, count in ((16, 1), (20, 2), (17, 2)):
        x = _tensor(randn(rows, 5), device)
        got, want = compiled(x, w), f(x, w)
        assert compiled.compile_count == count and got.shape == want.shape
        np.testing.assert_allclose(got.detach().cpu().numpy(), want.detach().cpu().numpy(), rtol=1e-5, atol=1e-6)
        for g, e in zip(framework.autograd.grad(got.sum(), (x, w)), framework.autograd.grad(want.sum(), (x, w))):
            np.testing.assert_allclose(g.cpu().numpy(), e.cpu().numpy(), rtol=1e-4, atol=1e-5)
    dynamic = [p for table in compiled.dynamic.values() for p in table.values()]
    assert len(dynamic) == 1 and any(getattr(g, "rows", False) for g in dynamic[0].groups)
    compiled(_tensor(randn(16, 6), device, grad=False), _tensor(randn(6), device, grad=False))
    assert compiled.compile_count == 3  # another dim changed: its own program
    if device == "cuda":
        return  # (the modes below are the guards' logic, the same on every device)

    always = framework.compile(f, dynamic=True)
    for rows in (16, 30):
        always(_tensor(randn(rows, 5), device, grad=False), w.detach())
    assert always.compile_count == 1
    never = framework.compile(f, dynamic=False)
    for rows in (16, 30, 31):
        never(_tensor(randn(rows, 5), device, grad=False), w.detach())
    assert never.compile_count == 3


def test_training_flag_is_a_guard(device):
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5)).to(device)
    compiled = framework.compile(model)
    x = framework.tensor(randn(2, 3), device=device)
    compiled(x)
    compiled.eval()
    assert not model.training and not model[1].training
    y = compiled(x)
    assert compiled._compiled.compile_count == 2
    np.testing.assert_allclose(y.detach().cpu().numpy(), model(x).detach().cpu().numpy(), atol=1e-6)


def test_recompile_limit_falls_back_to_eager(device):
    compiled = framework.compile(lambda x: x + 1, recompile_limit=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in (1, 2, 3, 4):
            y = compiled(framework.ones(n, device=device))
    assert compiled.compile_count == 2 and y.tolist() == [2.0] * 4
    assert sum("recompile limit" in str(w.message) for w in caught) == 1


def test_capture_failure_falls_back_with_one_warning(device):
    def f(x):
        return x * float(x.sum())  # a Python number computed from the values

    compiled = framework.compile(f)
    x = framework.tensor(randn(3), device=device)
    before = stats["fallbacks"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y = compiled(x)
        compiled(x)
    message = [str(w.message) for w in caught if "framework.compile" in str(w.message)][0]
    assert message.startswith("framework.compile: running ") and ".f eagerly: the graph cannot be captured" in message
    assert sum("framework.compile" in str(w.message) for w in caught) == 1
    assert stats["fallbacks"] == before + 1
    np.testing.assert_allclose(y.cpu().numpy(), f(x).cpu().numpy())


def test_fullgraph_raises_where_capture_fails(device):
    compiled = framework.compile(lambda x: x * float(x.sum()), fullgraph=True)
    with pytest.raises(CaptureError, match="depends on the input values"):
        compiled(framework.tensor(randn(3), device=device))


# ----------------------------------------------------------------- the API


def test_optimized_module_shares_the_original(device):
    model = nn.Linear(3, 2).to(device)
    compiled = framework.compile(model)
    assert isinstance(compiled, framework._compile.OptimizedModule) and compiled._orig_mod is model
    assert all(a is b for a, b in zip(compiled.parameters(), model.parameters()))
    assert list(compiled.state_dict()) == ["_orig_mod.weight", "_orig_mod.bias"]  # as torch.compile's
    assert compiled.weight is model.weight and compiled.in_features == 3
    compiled.eval()
    assert not model.training
    compiled.train()
    assert model.training
    with framework.no_grad():  # an update of the original's parameters is seen by the compiled module
        model.weight.fill_(1.0)
    x = framework.tensor(randn(2, 3), device=device)
    np.testing.assert_allclose(compiled(x).detach().cpu().numpy(), model(x).detach().cpu().numpy(), atol=1e-6)


def test_decorator_forms_and_options():
    @framework.compile
    def f(x):
        return x.exp() + 1

    @framework.compile(backend="eager", fullgraph=True)
    def g(x):
        return x.exp() + 1

    x = framework.tensor([0.0, 1.0])
    assert f.__name__ == "f" and f(x).tolist() == g(x).tolist() == (x.exp() + 1).tolist()
    model = nn.Linear(2, 2)
    assert framework.compile(model, disable=True) is model
    with pytest.raises(RuntimeError, match="Unrecognized mode=fast"):
        framework.compile(f, mode="fast")
    with pytest.raises(RuntimeError, match="Either mode or options can be specified"):
        framework.compile(f, mode="default", options={})
    with pytest.raises(AssertionError, match="A callable function is expected"):
        framework.compile(3)


def test_compiled_method_and_free_tensors(device):
    w = framework.tensor(randn(3), device=device, requires_grad=True)

    def f(x):
        return (x * w).tanh() * 2

    x = framework.tensor(randn(2, 3), device=device)
    compiled = framework.compile(f)
    compiled(x).sum().backward()
    got = w.grad.clone()
    w.grad = None
    f(x).sum().backward()
    np.testing.assert_allclose(got.cpu().numpy(), w.grad.cpu().numpy(), atol=1e-6)


def test_debug_mode_prints_each_kernel_with_its_nodes(capsys, monkeypatch):
    def f(x):
        return (x * 3.5).sigmoid() - 0.25

    framework.compile(f, mode="debug")(framework.tensor(randn(2, 2)))
    out = capsys.readouterr().out
    assert "@njit(parallel=True, cache=True, error_model=\"numpy\")" in out and "def kernel_flat" in out
    assert "mul(%x, b=3.5)" in out and "sigmoid(%mul)" in out
    monkeypatch.setenv("FRAMEWORK_COMPILE_DEBUG", "1")
    framework.compile(f)(framework.tensor(randn(2, 2)))
    assert "def kernel_nd" in capsys.readouterr().out


def test_second_process_loads_the_cached_kernels(tmp_path):
    script = textwrap.dedent("""
        import framework
        from framework._compile import stats
        def f(x):
            return (x * 1.25 + 0.5).tanh() * x
        y = framework.compile(f)(framework.ones(3, 4))
        assert (y - f(framework.ones(3, 4))).abs().max().item() == 0
        print(stats["kernels_generated"], stats["kernels_loaded"])
    """)
    env = dict(os.environ, FRAMEWORK_CACHE=str(tmp_path))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    runs = [subprocess.run([sys.executable, "-c", script], env=env, cwd=root, capture_output=True, text=True,
                           timeout=600) for _ in range(2)]
    for r in runs:
        assert r.returncode == 0, r.stderr
    assert runs[0].stdout.split() == ["1", "0"]
    assert runs[1].stdout.split() == ["0", "1"]
    files = sorted(p.name for p in (tmp_path / "compile").iterdir() if p.suffix == ".py")
    assert len(files) == 1 and files[0].startswith("fused_cpu_")
