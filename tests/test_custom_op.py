"""framework.library.custom_op: a user's @njit / @cuda.jit kernel as an op, eagerly, with its
autograd formula, on the meta device, inside framework.compile, in export and in ONNX export."""
import math
import warnings

import numpy as np
import pytest
import torch
from numba import cuda, njit

import framework
from framework import Tensor
from framework.library import as_array, custom_op
from tests.helpers import randn


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("FRAMEWORK_CACHE", str(tmp_path_factory.getbasetemp() / "compile_cache"))


@njit(cache=True)
def _sin_cpu(x, scale, out):
    for i in range(x.shape[0]):
        out[i] = math.sin(x[i]) * scale


@cuda.jit
def _sin_cuda(x, scale, out):
    i = cuda.grid(1)
    while i < x.shape[0]:
        out[i] = math.sin(x[i]) * scale
        i += cuda.gridsize(1)


def _define(name="testlib::scaled_sin", autograd=True):
    @custom_op(name, mutates_args=(), device_types="cpu")
    def scaled_sin(x: Tensor, scale: float = 1.0) -> Tensor:
        flat = x.contiguous().reshape(-1)
        out = framework.empty_like(flat)
        _sin_cpu(as_array(flat), scale, as_array(out))
        return out.reshape(x.shape)

    @scaled_sin.register_kernel("cuda")
    def _(x, scale=1.0):
        flat = x.contiguous().reshape(-1)
        out = framework.empty_like(flat)
        _sin_cuda[1, 16](as_array(flat), scale, as_array(out))
        return out.reshape(x.shape)

    if autograd:
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])
            ctx.scale = inputs[1]

        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * x.cos() * ctx.scale, None

        scaled_sin.register_autograd(backward, setup_context=setup_context)
    scaled_sin.register_fake(lambda x, scale=1.0: framework.empty_like(x))
    return scaled_sin


def test_eager_forward_and_backward_match_pytorch(device):
    op = _define()
    a = randn(2, 3)
    x = framework.tensor(a, device=device, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    y = op(x, scale=2.5)
    (t.sin() * 2.5).sum().backward()
    y.sum().backward()
    np.testing.assert_allclose(y.detach().cpu().numpy(), (t.sin() * 2.5).detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(x.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-6)
    assert y.device == x.device and repr(op) == "<CustomOpDef(testlib::scaled_sin)>"


def test_inside_compile_it_is_one_opaque_node(device):
    op = _define()

    def f(x):
        return (op(x * 2.0, 0.5) + 1.0).relu() * x

    a = randn(2, 3)
    x = framework.tensor(a, device=device, requires_grad=True)
    compiled = framework.compile(f, fullgraph=True)
    y = compiled(x)
    (g,) = framework.autograd.grad(y.sum(), x)
    want = f(x)
    (e,) = framework.autograd.grad(want.sum(), x)
    np.testing.assert_allclose(y.detach().cpu().numpy(), want.detach().cpu().numpy(), atol=1e-6)
    np.testing.assert_allclose(g.cpu().numpy(), e.cpu().numpy(), atol=1e-6)
    (program,) = compiled.programs.values()
    ops = [n.op for n in program.graph.nodes]
    assert "testlib::scaled_sin" in ops and ops.count("testlib::scaled_sin") == 1


def test_export_records_it_and_onnx_refuses_it_by_name(device):
    op = _define()

    class M(framework.nn.Module):
        def forward(self, x):
            return op(x, 3.0) + 1

    x = framework.tensor(randn(2, 3), device=device)
    ep = framework.export.export(M(), (x,))
    assert "testlib::scaled_sin(%x, scale=3.0)" in str(ep.graph)
    np.testing.assert_allclose(ep.module()(x).cpu().numpy(), M()(x).cpu().numpy(), atol=1e-6)
    with pytest.raises(Exception, match="testlib::scaled_sin"):
        framework.onnx.export(M(), (framework.tensor(randn(2, 3)),), dynamo=True)


def test_meta_device_uses_the_fake():
    op = _define()
    y = op(framework.empty(4, 5, device="meta"), 2.0)
    assert y.device.type == "meta" and tuple(y.shape) == (4, 5)

    @custom_op("testlib::no_fake", mutates_args=())
    def no_fake(x: Tensor) -> Tensor:
        return x.clone()

    with pytest.raises(RuntimeError, match="no fake impl registered"):
        no_fake(framework.empty(2, device="meta"))


def test_backward_without_a_formula_raises(device):
    op = _define("testlib::no_grad_sin", autograd=False)
    x = framework.tensor(randn(3), device=device, requires_grad=True)
    y = op(x)
    assert y.requires_grad
    with pytest.raises(RuntimeError, match="no autograd formula was registered"):
        y.sum().backward()


def test_registration_errors():
    with pytest.raises(ValueError, match="namespace::op_name"):
        custom_op("no_namespace", mutates_args=())(lambda x: x)
    with pytest.raises(TypeError):
        custom_op("testlib::f")(lambda x: x)  # mutates_args is required, as in torch
    with pytest.raises(ValueError, match="not an argument"):
        custom_op("testlib::g", mutates_args=("y",))(lambda x: x)
    op = custom_op("testlib::cpu_only", mutates_args=(), device_types="cpu")(lambda x: x + 1)
    assert op(framework.ones(2)).tolist() == [2.0, 2.0]
    with pytest.raises(ValueError, match="unknown device type"):
        op.register_kernel("tpu", lambda x: x)


def test_cpu_only_op_refuses_other_devices(device):
    op = custom_op("testlib::cpu_only_2", mutates_args=(), device_types="cpu")(lambda x: x + 1)
    if device == "cpu":
        assert op(framework.ones(1)).tolist() == [2.0]
    else:
        with pytest.raises(NotImplementedError, match="testlib::cpu_only_2.*cuda"):
            op(framework.ones(1, device=device))


def test_mutating_op_runs_eagerly_and_compile_falls_back(device):
    @custom_op("testlib::add_one_", mutates_args=("x",))
    def add_one_(x: Tensor) -> None:
        with framework.no_grad():
            x.add_(1)

    def f(x):
        y = x * 2
        add_one_(y)
        return y

    x = framework.tensor([1.0, 2.0], device=device)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert framework.compile(f)(x).tolist() == [3.0, 5.0]
    assert any("mutates its arguments" in str(w.message) for w in caught)


def test_as_array_needs_a_contiguous_tensor(device):
    x = framework.tensor(randn(2, 3), device=device)
    with pytest.raises(ValueError, match="contiguous"):
        as_array(x.t())
    with pytest.raises(TypeError, match="expects a Tensor"):
        as_array(np.ones(2))
