"""framework.export: graph capture, the printed IR, the runnable module, save/load in a fresh
process, and the errors for what a graph cannot represent."""
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import framework
import framework.nn as nn
import framework.nn.functional as F
from framework.autograd.function import Function
from framework.examples.lenet import Net
from framework.export import CaptureError, Dim, export, load, save
from framework.export._graph import Sym

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _close(a, b, atol=1e-6):
    np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().cpu().numpy(), rtol=1e-5, atol=atol)


class Block(nn.Module):
    """A ResNet basic block (in-place ReLU and residual add, as torchvision's)."""

    def __init__(self, c=2):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += x
        return self.relu(out)


class TextClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding, self.fc = nn.Embedding(7, 3), nn.Linear(3, 2)

    def forward(self, tokens):
        return self.fc(self.embedding(tokens).mean(1))


def _eval(model, device):
    framework.manual_seed(0)
    model = model.to(device).eval()
    for b in model.buffers():  # running statistics that are not the identity
        if b.dtype.is_floating_point:
            b.copy_(framework.rand(b.shape, device=device) + 0.5)
    return model


def test_lenet_graph_signature_and_module(device):
    model = _eval(Net(), device)
    x = framework.randn(2, 1, 32, 32, device=device)
    ep = export(model, (x,), dynamic_shapes={"x": {0: Dim("batch", min=1, max=64)}})
    text = str(ep.graph)
    assert "Convolution(%x, %p_conv1_weight, %p_conv1_bias, stride=(1, 1)" in text
    assert "Reshape(%max_pool_2, shape=(batch, 400)" in text
    assert "test_export.py" not in text and "lenet.py:" in text  # the model's own source lines
    sig = ep.graph_signature
    assert sig.user_inputs == ["x"] and sig.user_outputs == ["linear_2"]
    assert sig.parameters == [name for name, _ in model.named_parameters()]
    assert set(ep.state_dict) == set(model.state_dict())
    assert ep.range_constraints == {"batch": (1, 64)}
    assert "ExportedProgram" in str(ep)
    m = ep.module()
    assert set(m.state_dict()) == set(model.state_dict())
    for b in (1, 3) if device == "cpu" else (3,):  # (a LeNet forward is 6 s in the CUDA simulator)
        x2 = framework.randn(b, 1, 32, 32, device=device)
        _close(m(x2), model(x2))
    with pytest.raises(RuntimeError, match=r"expected size 1 at dimension 1"):
        m(framework.randn(2, 2, 32, 32, device=device))
    with pytest.raises(RuntimeError, match=r"range \[1, 64\]"):
        m(framework.randn(65, 1, 32, 32, device=device))
    with pytest.raises(RuntimeError, match="Unable to call ExportedProgram directly"):
        ep(x)


def test_zoo_models_run_as_captured(device):
    cases = [
        (nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4, 2), nn.LogSoftmax(-1)),
         framework.randn(2, 3, device=device)),
        (nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.Dropout(0.5),
                       nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 2)),
         framework.randn(2, 2, 4, 4, device=device)),
        (Block(), framework.randn(2, 2, 3, 3, device=device)),
        (TextClassifier(), framework.randint(0, 7, (2, 4), device=device)),
        (nn.Sequential(nn.Conv1d(2, 4, 2), nn.GroupNorm(2, 4), nn.LayerNorm(2), nn.ConvTranspose1d(4, 2, 2),
                       nn.GELU(), nn.Softplus(beta=2.0), nn.Hardtanh(-0.5, 0.5)),
         framework.randn(2, 2, 3, device=device)),
    ]
    for model, x in cases:
        model = _eval(model, device)
        m = export(model, (x,), dynamic_shapes=({0: Dim("batch")},)).module()
        x3 = framework.cat([x, x[:1]])
        _close(m(x3), model(x3))


def test_inplace_ops_are_captured_as_values(device):
    model = _eval(Block(), device)
    ep = export(model, (framework.randn(2, 2, 3, 3, device=device),))
    ops = [n.op for n in ep.graph.nodes]
    assert ops == ["Convolution", "BatchNormChannels", "relu", "Convolution", "BatchNormChannels", "add", "relu"]


def test_another_threads_ops_are_not_captured(device):
    """The recording `apply` is process-wide during a capture: a thread working beside the model
    (here a data-loading thread, run while the model waits for it) must neither enter the graph
    nor have its in-place ops rebased as the capture's."""
    import threading
    side = {}

    def load_next():
        batch = framework.ones(3, device=device).requires_grad_()
        buffer = batch * 2
        buffer[1:].add_(1)  # in place through a view: a capture marks the view's base lost
        side["result"], side["batch"] = (buffer.exp() + batch).sum(), batch

    class Model(nn.Module):
        def forward(self, x):
            worker = threading.Thread(target=load_next)
            worker.start()
            worker.join()
            return (x * 3).relu()

    ep = export(Model(), (framework.randn(2, 3, device=device),))
    assert [n.op for n in ep.graph.nodes] == ["mul", "relu"]
    expected = np.e ** 2 + 2 * np.e ** 3 + 3
    assert abs(side["result"].item() - expected) < 1e-3
    side["result"].backward()  # its graph is an eager one, in-place add included
    assert side["batch"].grad is not None
    np.testing.assert_allclose(side["batch"].grad.cpu().numpy(), [2 * np.e ** 2 + 1] + [2 * np.e ** 3 + 1] * 2,
                               rtol=1e-5)
    x = framework.randn(2, 3, device=device)
    _close(ep.module()(x), (x * 3).relu())


def test_matmul_fast_path_and_symbolic_products(device):
    class Attn(nn.Module):
        def forward(self, q, k):
            b, s, e = q.shape
            scores = (q.reshape(b * s, e) @ k.reshape(b * s, e).T).softmax(-1)
            return scores.sum(0).reshape(b, s) + framework.zeros(b, s, device=q.device)

    q, k = framework.randn(2, 3, 4, device=device), framework.randn(2, 3, 4, device=device)
    batch, seq = Dim("batch"), Dim("seq")
    ep = export(Attn(), (q, k), dynamic_shapes={"q": {0: batch, 1: seq}, "k": {0: batch, 1: seq}})
    assert "Matmul" in [n.op for n in ep.graph.nodes]
    assert "shape=(batch*seq, 4)" in str(ep.graph)
    assert [n.op for n in ep.graph.nodes].count("full") == 1
    q2, k2 = framework.randn(3, 5, 4, device=device), framework.randn(3, 5, 4, device=device)
    _close(ep.module()(q2, k2), Attn()(q2, k2))
    with pytest.raises(RuntimeError, match="seq"):
        ep.module()(q2, framework.randn(3, 4, 4, device=device))


def test_activations_and_custom_function_are_recorded_by_their_ops(device):
    class Double(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class M(nn.Module):
        def forward(self, x):
            return F.leaky_relu(Double.apply(x), 0.2) + F.elu(x, 0.5) + F.softplus(x, beta=2.0)

    x = framework.randn(3, device=device)
    ep = export(M(), (x,))
    ops = [n.op for n in ep.graph.nodes]
    assert ops[:2] == ["mul", "leaky_relu"] and "elu" in ops and "Double" not in ops
    assert "negative_slope=0.2" in str(ep.graph)
    _close(ep.module()(x), M()(x))


def test_inverted_mask_input_is_captured_and_runs_loaded(tmp_path, device):
    """`~mask` and `~codes` on graph inputs are recorded ops (logical_not, bitwise_not), so the
    saved program computes them from the inputs it is given, not from the example's values."""
    class Masked(nn.Module):
        def forward(self, x, mask, codes):
            return x.masked_fill(~mask, 0.0) + (~codes).float()

    x = framework.randn(2, 3, device=device)
    mask = framework.tensor([[True, False, True], [False, False, True]], device=device)
    codes = framework.tensor([[1, -2, 3], [0, 5, -7]], device=device)
    ep = export(Masked(), (x, mask, codes))
    ops = [n.op for n in ep.graph.nodes]
    assert "logical_not" in ops and "bitwise_not" in ops
    path = tmp_path / "masked.fwp"
    save(ep, str(path))
    m = load(str(path)).module().to(device)
    x2, mask2, codes2 = framework.randn(2, 3, device=device), ~mask, codes * 3
    _close(m(x2, mask2, codes2), Masked()(x2, mask2, codes2))
    _close(m(x2, mask2, codes2), x2.masked_fill(mask, 0.0) + (-codes2 - 1).float())


def test_kwargs_and_tuple_outputs(device):
    class M(nn.Module):
        def forward(self, x, scale=None):
            return x * scale, (x.sum(), x.max(0))

    x, s = framework.randn(2, 3, device=device), framework.randn(3, device=device)
    ep = export(M(), (x,), {"scale": s})
    out = ep.module()(x, scale=s)
    want = M()(x, scale=s)
    _close(out[0], want[0])
    _close(out[1][0], want[1][0])
    _close(out[1][1][1], want[1][1][1])


def test_what_the_graph_cannot_represent_is_refused(device):
    class Branch(nn.Module):
        def forward(self, x):
            if x[0, 0] > 0:  # data-dependent control flow
                return x.exp()
            return x.sin()

    x = framework.tensor([[1.0, -2.0], [3.0, -4.0]], device=device)
    with pytest.raises(CaptureError, match="control flow"):
        export(Branch(), (x,))

    class Mask(nn.Module):
        def forward(self, x):
            return x[x > 0]  # data-dependent shape

    with pytest.raises(CaptureError, match=r"GetItem at .*test_export.py:\d+ \(return x\[x > 0\]"):
        export(Mask(), (x,))

    class Halve(nn.Module):
        def forward(self, x):
            return x.reshape(x.shape[0] // 2, -1)  # a size the graph cannot express

    with pytest.raises(CaptureError, match="Reshape at test_export.py"):
        export(Halve(), (framework.randn(4, 2, device=device),), dynamic_shapes=({0: Dim("batch")},))

    class Item(nn.Module):
        def forward(self, x):
            return x * float(x.sum().item())  # a Python number computed from the values

    with pytest.raises(CaptureError, match="mul at"):
        export(Item(), (x,))

    class Detached(nn.Module):
        def forward(self, x):
            return x + framework.tensor(x.detach().cpu().numpy(), device=x.device)

    with pytest.raises(CaptureError, match="outside the recorded ops"):
        export(Detached(), (x,))


def test_export_argument_errors(device):
    with pytest.raises(ValueError, match="Expected `mod` to be an instance of `torch.nn.Module`"):
        export(lambda x: x, (framework.ones(1),))
    with pytest.raises(ValueError, match="Expecting `args` to be a tuple"):
        export(nn.Linear(2, 2), framework.ones(1, 2))
    with pytest.raises(ValueError, match="not an input"):
        export(nn.Linear(2, 2), (framework.ones(1, 2),), dynamic_shapes={"y": {0: Dim("b")}})
    with pytest.raises(ValueError, match="outside the range"):
        export(nn.Linear(2, 2), (framework.ones(5, 2),), dynamic_shapes={"input": {0: Dim("b", max=4)}})


def test_export_does_not_change_the_model(device):
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)).to(device)  # training mode: stats would update
    before = {k: v.clone() for k, v in model.state_dict().items()}
    export(model, (framework.randn(3, 2, device=device),))
    for k, v in model.state_dict().items():
        _close(v, before[k])


def test_save_load_roundtrip(tmp_path, device):
    """A residual block (parameters and batch-norm buffers) through a file path, a file object and
    a buffer. (A small model: LeNet made this test 80 s in the CUDA simulator.)"""
    model = _eval(Block(), device)
    x = framework.randn(2, 2, 5, 5, device=device)
    ep = export(model, (x,), dynamic_shapes={"x": {0: Dim("batch")}})
    path = tmp_path / "block.fwp"
    save(ep, str(path))
    loaded = load(str(path))
    assert str(loaded.graph) == str(ep.graph)
    assert loaded.range_constraints == ep.range_constraints
    assert set(loaded.state_dict) == set(model.state_dict()) and any("running_mean" in k for k in loaded.state_dict)
    m = loaded.module().to(device)
    x3 = framework.randn(3, 2, 5, 5, device=device)
    _close(m(x3), model(x3))
    with open(path, "rb") as f:  # a file object works too
        assert str(load(f).graph) == str(ep.graph)
    buffer = io.BytesIO()  # and an in-memory one, both ways, as torch.export.save/load take
    save(ep, buffer)
    buffer.seek(0)
    _close(load(buffer).module().to(device)(x3), model(x3))


class LowPrecision(nn.Module):
    """float16 weights, a bfloat16, an int8 and an int16 buffer."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2).half()
        self.register_buffer("scale", framework.tensor([0.5, -1.25]).to(framework.bfloat16))
        self.register_buffer("codes", framework.tensor([-3, 100], dtype=framework.int8))
        self.register_buffer("offsets", framework.tensor([-300, 7], dtype=framework.int16))

    def forward(self, x):
        return self.lin(x).float() * self.scale.float() + self.codes.float() + self.offsets


def test_save_load_keeps_low_precision_and_small_int_weights(tmp_path, device):
    model = LowPrecision().to(device).eval()
    x = framework.randn(4, 3, device=device).half()
    path = tmp_path / "low.fwp"
    save(export(model, (x,), dynamic_shapes={"x": {0: Dim("batch")}}), str(path))
    loaded = load(str(path))
    assert {k: v.dtype for k, v in loaded.state_dict.items()} == {
        "lin.weight": framework.float16, "lin.bias": framework.float16, "scale": framework.bfloat16,
        "codes": framework.int8, "offsets": framework.int16}
    for k, v in model.state_dict().items():
        assert framework.equal(loaded.state_dict[k], v.cpu()), k
    x5 = framework.randn(5, 3, device=device).half()
    assert framework.equal(loaded.module().to(device)(x5), model(x5))


def test_saved_program_is_safetensors_with_a_json_graph(tmp_path):
    safetensors = pytest.importorskip("safetensors")
    from safetensors.numpy import load_file
    ep = export(_eval(TextClassifier(), "cpu"), (framework.randint(0, 7, (2, 4)),))
    path = str(tmp_path / "text.fwp")
    save(ep, path)
    with safetensors.safe_open(path, "np") as f:
        program = json.loads(f.metadata()["framework.export"])
    assert [n["op"] for n in program["graph"]["nodes"]] == ["Reshape", "Reshape", "IndexSelect", "Reshape", "Sum",
                                                            "div", "Linear"]
    assert set(load_file(path)) == {"state/embedding.weight", "state/fc.weight", "state/fc.bias"}


def test_loaded_program_runs_in_a_process_without_the_model_class(tmp_path):
    model = _eval(Block(), "cpu")
    x = framework.randn(2, 2, 3, 3)
    save(export(model, (x,), dynamic_shapes=({0: Dim("batch")},)), str(tmp_path / "block.fwp"))
    x4 = framework.randn(4, 2, 3, 3)
    framework.io.save_safetensors({"x": x4}, str(tmp_path / "x.safetensors"))
    script = (
        "import sys, framework\n"
        "from framework.export import load\n"
        "m = load(sys.argv[1]).module()\n"
        "x = framework.io.load_safetensors(sys.argv[2])['x']\n"
        "framework.io.save_safetensors({'y': m(x).detach()}, sys.argv[3])\n"
        "assert not [k for k in sys.modules if 'test_export' in k or k.startswith('tests')], 'imported the tests'\n")
    env = dict(os.environ, PYTHONPATH=ROOT)
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "block.fwp"), str(tmp_path / "x.safetensors"),
                    str(tmp_path / "y.safetensors")], check=True, cwd=str(tmp_path), env=env, timeout=600)
    y = framework.io.load_safetensors(str(tmp_path / "y.safetensors"))["y"]
    _close(y, model(x4))


def test_load_refuses_other_files(tmp_path):
    from framework.io.checkpoint import CheckpointError
    path = str(tmp_path / "plain.safetensors")
    framework.io.save_safetensors({"a": framework.ones(2)}, path)
    with pytest.raises(CheckpointError, match="holds no exported program"):
        load(path)
    with pytest.raises(TypeError, match="ExportedProgram"):
        save(nn.Linear(2, 2), path)


def test_sym_formatting():
    assert repr(Sym({("batch",): 1})) == "batch"
    assert repr(Sym({("batch",): 4, (): -1})) == "4*batch - 1"
    assert repr(Sym({("batch", "seq"): 1})) == "batch*seq"
    assert Sym({("a",): 2, (): 1}).evaluate({"a": 5}) == 11
