"""framework.onnx.export: every mapped op and the tutorial-level models, checked with
onnx.checker and run in onnxruntime against the framework's own outputs (atol 1e-5)."""
import io

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed (pip install 'framework[onnx]')")
ort = pytest.importorskip("onnxruntime", reason="the onnx extra is not installed (pip install 'framework[onnx]')")

import framework  # noqa: E402
import framework.nn as nn  # noqa: E402
import framework.nn.functional as F  # noqa: E402
import framework.onnx  # noqa: E402
from framework.examples.lenet import Net  # noqa: E402

from test_export import Block, TextClassifier  # noqa: E402


class Fn(nn.Module):
    def __init__(self, fn, *layers):
        super().__init__()
        self.fn, self.layers = fn, nn.ModuleList(layers)

    def forward(self, *xs):
        return self.fn(*xs)


def _run(model, inputs, opset=None, dynamic=False, other=None, axes=None, others=()):
    """Export, check, run in onnxruntime; compare with the framework on `inputs` (and on `other`
    and each of `others`). `dynamic`: dim 0 of every input is the dynamic "batch"; `axes`:
    dynamic_axes as given."""
    model.eval()
    names = [f"in{i}" for i in range(len(inputs))]
    f = io.BytesIO()
    axes = axes or ({n: {0: "batch"} for n in names} if dynamic else None)
    framework.onnx.export(model, tuple(inputs), f, input_names=names, opset_version=opset, dynamic_axes=axes)
    proto = onnx.load_from_string(f.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    sess = ort.InferenceSession(f.getvalue(), providers=["CPUExecutionProvider"])
    for xs in [inputs, *([other] if other is not None else []), *others]:
        got = sess.run(None, {n: x.numpy() for n, x in zip(names, xs)})
        with framework.no_grad():
            want = model(*xs)
        want = list(want) if isinstance(want, (tuple, list)) else [want]
        assert len(got) == len(want)
        for g, w in zip(got, want):
            w = w.numpy()
            assert g.dtype == w.dtype and g.shape == w.shape, (g.dtype, w.dtype, g.shape, w.shape)
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
    return proto


def r(*shape):
    return framework.randn(*shape)


BINARY = {
    "add": lambda a, b: a + b, "add_scalar": lambda a, b: a + 2.5, "radd_int": lambda a, b: 3 + a,
    "sub": lambda a, b: a - b, "rsub": lambda a, b: 1.0 - b, "mul": lambda a, b: a * b[0],
    "div": lambda a, b: a / (b.abs() + 1), "rdiv": lambda a, b: 2.0 / (a.abs() + 1),
    "pow": lambda a, b: a.abs() ** 1.5, "square": lambda a, b: a ** 2,
    "maximum": lambda a, b: framework.maximum(a, b), "minimum": lambda a, b: framework.minimum(a, b),
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != 0, "lt": lambda a, b: a < b, "le": lambda a, b: a <= 0.5,
    "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b,
    "logical": lambda a, b: ((a > 0) & (b > 0)) | ((a < 0) ^ (b < 0)),
    "where": lambda a, b: framework.where(a > b, a, b * 2), "where_scalar": lambda a, b: framework.where(a > 0, a, 0.0),
    "clamp": lambda a, b: a.clamp(-0.5, 0.5), "clamp_min": lambda a, b: a.clamp(min=0.1),
    "int_div": lambda a, b: (a > 0).long() / 2, "cast": lambda a, b: (a * 3).int().float() + b.double().float(),
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_elementwise_binary(name):
    _run(Fn(BINARY[name]), [r(2, 3), r(2, 3)])


UNARY = ["relu", "tanh", "sigmoid", "exp", "neg", "abs", "sin", "cos", "erf", "sign", "floor", "ceil", "round"]
POSITIVE = ["log", "sqrt", "rsqrt", "log1p", "expm1", "reciprocal", "log2", "log10", "trunc"]


@pytest.mark.parametrize("name", UNARY + POSITIVE)
def test_elementwise_unary(name):
    x = r(2, 3) * 2
    if name in POSITIVE:
        x = x.abs() + 0.1
    _run(Fn(lambda t: getattr(framework, name)(t)), [x])


ACTIVATIONS = [nn.ReLU(), nn.ReLU6(), nn.Sigmoid(), nn.Tanh(), nn.GELU(), nn.GELU(approximate="tanh"), nn.SiLU(),
               nn.SELU(), nn.ELU(), nn.ELU(0.5), nn.CELU(1.5), nn.LeakyReLU(), nn.LeakyReLU(0.2), nn.Mish(),
               nn.Hardswish(), nn.Hardsigmoid(), nn.Hardtanh(), nn.Hardtanh(-0.5, 2.0), nn.LogSigmoid(),
               nn.Softplus(), nn.Softplus(beta=2.0, threshold=5.0), nn.Softsign(), nn.Tanhshrink(),
               nn.Softmax(dim=1), nn.LogSoftmax(dim=-1), nn.Softmin(dim=0), nn.Threshold(0.1, 2.0)]


@pytest.mark.parametrize("layer", ACTIVATIONS, ids=lambda m: repr(m))
def test_activations(layer):
    _run(layer, [r(3, 4) * 3])


LAYERS = {
    "linear": (nn.Linear(4, 3), (2, 4)),
    "linear_3d": (nn.Linear(4, 3), (2, 5, 4)),
    "linear_no_bias": (nn.Linear(4, 3, bias=False), (2, 4)),
    "bilinear_matmul": (Fn(lambda a: a @ a.transpose(-1, -2)), (2, 3, 4)),
    "matmul_2d": (Fn(lambda a: a @ a.T), (3, 4)),
    "matmul_1d": (Fn(lambda a: a[0] @ a.T), (3, 4)),
    "conv1d": (nn.Conv1d(2, 4, 3, stride=2, padding=1), (2, 2, 7)),
    "conv2d": (nn.Conv2d(2, 4, 3, padding=1, dilation=2, groups=2), (2, 2, 6, 6)),
    "conv2d_no_bias": (nn.Conv2d(2, 3, (2, 3), stride=(2, 1), bias=False), (2, 2, 5, 5)),
    "conv_transpose1d": (nn.ConvTranspose1d(2, 3, 3, stride=2), (2, 2, 4)),
    "conv_transpose2d": (nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1), (2, 2, 3, 3)),
    "max_pool1d": (nn.MaxPool1d(2), (2, 3, 6)),
    "max_pool2d": (nn.MaxPool2d(3, stride=2, padding=1), (2, 3, 6, 6)),
    "max_pool2d_ceil": (nn.MaxPool2d(2, ceil_mode=True), (2, 3, 5, 5)),
    "avg_pool2d": (nn.AvgPool2d(2), (2, 3, 6, 6)),
    "avg_pool2d_pad": (nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), (2, 3, 6, 6)),
    "avg_pool2d_pad_included": (nn.AvgPool2d(3, stride=2, padding=1), (2, 3, 6, 6)),
    "avg_pool1d": (nn.AvgPool1d(2), (2, 3, 6)),
    "adaptive_avg_pool2d_1": (nn.AdaptiveAvgPool2d(1), (2, 3, 4, 4)),
    "adaptive_avg_pool2d_2": (nn.AdaptiveAvgPool2d((2, 2)), (2, 3, 4, 4)),
    "batch_norm1d": (nn.BatchNorm1d(3), (4, 3)),
    "batch_norm2d": (nn.BatchNorm2d(3), (2, 3, 4, 4)),
    "batch_norm2d_no_affine": (nn.BatchNorm2d(3, affine=False), (2, 3, 4, 4)),
    "layer_norm": (nn.LayerNorm(4), (2, 3, 4)),
    "layer_norm_2d": (nn.LayerNorm((3, 4)), (2, 3, 4)),
    "layer_norm_no_affine": (nn.LayerNorm(4, elementwise_affine=False), (2, 4)),
    "group_norm": (nn.GroupNorm(2, 4), (2, 4, 3, 3)),
    "instance_norm": (nn.InstanceNorm2d(3), (2, 3, 4, 4)),
    "dropout": (nn.Dropout(0.5), (2, 3)),
    "dropout2d": (nn.Dropout2d(0.5), (2, 3, 4, 4)),
    "flatten": (nn.Flatten(), (2, 3, 2, 2)),
    "identity": (nn.Identity(), (2, 3)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layers(name):
    framework.manual_seed(0)
    layer, shape = LAYERS[name]
    for b in layer.buffers():
        if b.dtype.is_floating_point:
            b.copy_(framework.rand(b.shape) + 0.5)
    _run(layer, [r(*shape)])


SHAPE_OPS = {
    "reshape": lambda x: x.reshape(3, -1), "view": lambda x: x.view(-1), "flatten": lambda x: framework.flatten(x, 1),
    "permute": lambda x: x.permute(2, 0, 1), "transpose": lambda x: x.transpose(0, 1), "mT": lambda x: x.mT,
    "cat": lambda x: framework.cat([x, x * 2], dim=1), "stack": lambda x: framework.stack([x, x], dim=0),
    "unsqueeze": lambda x: x.unsqueeze(1), "squeeze": lambda x: x[:, :1].squeeze(1),
    "slice": lambda x: x[1:, ::2, -3:], "index": lambda x: x[0, -1], "ellipsis": lambda x: x[..., 1],
    "none": lambda x: x[None, :, None, 1], "negative_step_flip": lambda x: x.flip(0),
    "expand": lambda x: x[:, :1].expand(2, 5, 4), "chunk": lambda x: x.chunk(2, dim=2),
    "split": lambda x: x.split([1, 2], dim=1), "contiguous": lambda x: x.transpose(1, 2).contiguous(),
    "clone": lambda x: x.clone(), "index_select": lambda x: x.index_select(1, framework.tensor([2, 0])),
    "gather": lambda x: x.gather(2, framework.tensor([[[0, 3]] * 3] * 2)),
    "zeros_like": lambda x: x + framework.zeros_like(x), "full": lambda x: framework.full((2, 1, 1), 1.5) * x,
    "constant": lambda x: x * framework.tensor([1.0, 2.0, 3.0, 4.0]),
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_shape_and_indexing(name):
    _run(Fn(SHAPE_OPS[name]), [r(2, 3, 4)])


REDUCTIONS = {
    "sum": lambda x: x.sum(), "sum_dim": lambda x: x.sum(1, keepdim=True), "mean": lambda x: x.mean((0, 2)),
    "max": lambda x: x.max(), "min_dim": lambda x: x.min(1), "amax": lambda x: x.amax(-1),
    "argmax": lambda x: x.argmax(1), "var": lambda x: x.var(1), "std": lambda x: x.std(-1, keepdim=True),
    "var_biased": lambda x: x.var(0, correction=0), "softmax": lambda x: x.softmax(1),
    "log_softmax": lambda x: F.log_softmax(x, dim=0), "int_sum": lambda x: (x > 0).sum(1),
    "norm": lambda x: x.pow(2).sum(-1).sqrt(),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions(name):
    _run(Fn(REDUCTIONS[name]), [r(2, 3, 4)])


def test_embedding():
    _run(nn.Embedding(5, 3), [framework.tensor([[0, 4, 2], [1, 1, 3]])])


@pytest.mark.parametrize("opset", [17, 18, 21])
def test_opsets(opset):
    proto = _run(Fn(lambda x: x.max(1).values + x.mean(1) + x.amin(1)), [r(2, 3)], opset=opset)
    assert proto.opset_import[0].version == opset


# ----------------------------------------------------------------- models


def _model(model, seed=0):
    framework.manual_seed(seed)
    for b in model.buffers():
        if b.dtype.is_floating_point:
            b.copy_(framework.rand(b.shape) + 0.5)
    return model.eval()


MODELS = {
    "lenet": (lambda: Net(), (1, 32, 32)),
    "mlp": (lambda: nn.Sequential(nn.Flatten(), nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 8), nn.Tanh(),
                                  nn.Linear(8, 3)), (3, 4)),
    "cnn_bn_dropout": (lambda: nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                             nn.Dropout(0.25), nn.MaxPool2d(2), nn.Conv2d(4, 8, 3), nn.BatchNorm2d(8),
                                             nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.5),
                                             nn.Linear(8, 10)), (1, 8, 8)),
    "resnet_block": (lambda: Block(3), (3, 5, 5)),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_models_with_a_dynamic_batch(name):
    make, shape = MODELS[name]
    proto = _run(_model(make()), [r(2, *shape)], dynamic=True, other=[r(5, *shape)])
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"


def test_text_classifier_with_a_dynamic_batch():
    _run(_model(TextClassifier()), [framework.randint(0, 7, (2, 6))], dynamic=True,
         other=[framework.randint(0, 7, (9, 6))])


def test_dynamic_axes_as_list_and_names(tmp_path):
    model = _model(nn.Sequential(nn.Linear(3, 2), nn.Softmax(-1)))
    path = tmp_path / "m.onnx"
    program = framework.onnx.export(model, r(2, 3), str(path), input_names=["features"], output_names=["probs"],
                                    dynamic_axes={"features": [0], "probs": {0: "n"}})
    proto = onnx.load(str(path))
    assert [i.name for i in proto.graph.input] == ["features"] and [o.name for o in proto.graph.output] == ["probs"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "features_dynamic_axes_1"
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "n"
    assert {i.name for i in proto.graph.initializer} == {"0.weight", "0.bias"}
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = r(7, 3)
    np.testing.assert_allclose(sess.run(None, {"features": x.numpy()})[0], model(x).detach().numpy(), atol=1e-5)
    assert program.model_proto.graph.name == "main_graph"


def test_exported_program_input():
    from framework.export import export
    model = _model(nn.Linear(3, 2))
    ep = export(model, (r(2, 3),))
    proto = framework.onnx.export(ep, (r(2, 3),)).model_proto
    assert [n.op_type for n in proto.graph.node] == ["Gemm", "Identity"]


@pytest.mark.parametrize("dynamic", [False, True])
def test_random_draws_export_as_onnx_random_ops(dynamic):
    """rand / randn in a model are graph nodes (not the capture's draw baked in as a constant):
    RandomUniform / RandomNormal, or their Like forms for a dynamic size."""
    model = Fn(lambda x: x * 0.0 + framework.rand(x.shape) + framework.randn(x.shape) * 0.0)
    f = io.BytesIO()
    axes = {"x": {0: "batch"}} if dynamic else None
    framework.onnx.export(model, (r(2, 3),), f, input_names=["x"], dynamic_axes=axes)
    proto = onnx.load_from_string(f.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    ops = [n.op_type for n in proto.graph.node]
    assert ("RandomUniformLike" in ops and "RandomNormalLike" in ops) if dynamic else \
        ("RandomUniform" in ops and "RandomNormal" in ops)
    sess = ort.InferenceSession(f.getvalue(), providers=["CPUExecutionProvider"])
    first, second = (sess.run(None, {"x": np.ones((4 if dynamic else 2, 3), np.float32)})[0] for _ in range(2))
    assert first.shape == ((4, 3) if dynamic else (2, 3)) and ((first >= 0) & (first < 1)).all()
    assert not np.array_equal(first, second)


def test_unmapped_op_names_the_op_and_the_line():
    with pytest.raises(framework.onnx.UnsupportedOperatorError, match=r"Cumsum \(called at test_onnx.py:\d+\)"):
        framework.onnx.export(Fn(lambda x: x.cumsum(0)), (r(3),))
    with pytest.raises(framework.onnx.UnsupportedOperatorError, match="training mode"):
        framework.onnx.export(nn.BatchNorm1d(2).train(), (r(3, 2),))
    with pytest.raises(framework.onnx.UnsupportedOperatorError, match="RecurrentLayer of an LSTM with proj_size"):
        framework.onnx.export(nn.LSTM(2, 3, proj_size=2).eval(), (r(4, 1, 2),))
    with pytest.raises(ValueError, match="opset_version 16"):
        framework.onnx.export(nn.Linear(2, 2), (r(1, 2),), opset_version=16)


def test_lenet_example_exports_and_compares(tmp_path, capsys):
    from framework.examples.lenet import main
    path = tmp_path / "lenet.onnx"
    main(["--epochs", "1", "--out", str(tmp_path / "lenet.fwt"), "--export", str(path)])
    out = capsys.readouterr().out
    assert "onnxruntime accuracy" in out and "predictions identical: True" in out
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)


class _First(nn.Module):
    """A layer's first output (MultiheadAttention returns the attention weights too)."""

    def __init__(self, layer, self_attention=False):
        super().__init__()
        self.layer, self.self_attention = layer, self_attention

    def forward(self, x):
        y = self.layer(x, x, x) if self.self_attention else self.layer(x)
        return y[0] if isinstance(y, tuple) else y


@pytest.mark.parametrize("name", ["multihead_attention", "transformer_encoder_layer"])
def test_attention_models_with_a_dynamic_batch(name):
    framework.manual_seed(0)
    layer = (_First(nn.MultiheadAttention(8, 2, batch_first=True), True) if name == "multihead_attention" else
             _First(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)))
    _run(layer.eval(), [r(2, 3, 8)], dynamic=True, other=[r(4, 3, 8)])


def _causal(n):
    return nn.Transformer.generate_square_subsequent_mask(n)


def _padding(*lengths, total=3):
    """A key_padding_mask (True = padding) for sequences of these lengths."""
    return framework.arange(total).unsqueeze(0) >= framework.tensor(lengths).unsqueeze(1)


def _attention_cases():
    """name: (module, forward(module, *inputs), inputs); x is (N=2, L=3, E=8), batch first."""
    framework.manual_seed(0)
    mha, enc = nn.MultiheadAttention(8, 2, batch_first=True), nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)
    x, q = r(2, 3, 8), r(2, 2, 3, 4)
    sdpa = F.scaled_dot_product_attention
    bool_mask = framework.tensor([[True, False, False], [True, True, False], [False, False, False]])
    return {
        "mha_float_attn_mask": (mha, lambda m, x, c: m(x, x, x, attn_mask=c)[0], [x, _causal(3)]),
        "mha_bool_attn_mask": (mha, lambda m, x: m(x, x, x, attn_mask=framework.triu(framework.ones(
            3, 3, dtype=framework.bool), 1))[0], [x]),
        "mha_key_padding_mask": (mha, lambda m, x, k: m(x, x, x, key_padding_mask=k), [x, _padding(2, 1)]),
        "mha_both_masks_no_weights": (mha, lambda m, x, c, k: m(x, x, x, attn_mask=c, key_padding_mask=k,
                                                                need_weights=False)[0],
                                      [x, _causal(3), _padding(3, 2)]),
        "mha_fully_masked_row_nan": (mha, lambda m, x, k: m(x, x, x, key_padding_mask=k), [x, _padding(0, 2)]),
        "mha_fully_masked_row_zero": (mha, lambda m, x, k: m(x, x, x, key_padding_mask=k, need_weights=False)[0],
                                      [x, _padding(0, 2)]),
        "mha_is_causal": (mha, lambda m, x, c: m(x, x, x, attn_mask=c, is_causal=True, need_weights=False)[0],
                          [x, _causal(3)]),
        "mha_cross_attention": (mha, lambda m, x, y, k: m(x, y, y, key_padding_mask=k)[0],
                                [x, r(2, 4, 8), _padding(4, 2, total=4)]),
        "encoder_layer_src_mask": (enc, lambda m, x, c: m(x, src_mask=c), [x, _causal(3)]),
        "encoder_layer_is_causal": (enc, lambda m, x, c: m(x, src_mask=c, is_causal=True), [x, _causal(3)]),
        "encoder_layer_key_padding": (enc, lambda m, x, k: m(x, src_key_padding_mask=k), [x, _padding(3, 1)]),
        "sdpa_is_causal": (None, lambda m, q: sdpa(q, q * 2, q + 1, is_causal=True), [q]),
        "sdpa_is_causal_rectangular": (None, lambda m, q, k: sdpa(q, k, k, is_causal=True), [q, r(2, 2, 5, 4)]),
        "sdpa_float_mask": (None, lambda m, q, c: sdpa(q, q * 2, q + 1, attn_mask=c), [q, r(3, 3)]),
        "sdpa_bool_mask_fully_masked_row": (None, lambda m, q: sdpa(q, q * 2, q + 1, attn_mask=bool_mask), [q]),
        "sdpa_scale": (None, lambda m, q: sdpa(q, q, q, is_causal=True, scale=0.3), [q]),
    }


@pytest.mark.parametrize("name", sorted(_attention_cases()))
def test_attention_masks(name):
    module, fn, inputs = _attention_cases()[name]
    layers = [module] if module is not None else []
    _run(Fn(lambda *xs: fn(module, *xs), *layers), inputs)


def test_attention_with_dynamic_batch_and_sequence():
    framework.manual_seed(1)
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    model = Fn(lambda x, c, k: mha(x, x, x, attn_mask=c, key_padding_mask=k)[0], mha)
    axes = {"in0": {0: "batch", 1: "seq"}, "in1": {0: "seq", 1: "seq"}, "in2": {0: "batch", 1: "seq"}}
    _run(model, [r(2, 3, 8), _causal(3), _padding(3, 2)], axes=axes,
         other=[r(4, 6, 8), _causal(6), _padding(6, 2, 5, 1, total=6)])
    causal = Fn(lambda q: F.scaled_dot_product_attention(q, q * 2, q + 1, is_causal=True))
    _run(causal, [r(2, 2, 3, 4)], axes={"in0": {0: "batch", 2: "seq"}}, other=[r(3, 2, 7, 4)])


class CausalEncoder(nn.Module):
    """A 2-layer TransformerEncoder with its causal mask built from the input's length."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 2)

    def forward(self, x, padding=None):
        return self.encoder(x, mask=_causal(x.shape[1]), src_key_padding_mask=padding)


def test_transformer_encoder_of_two_layers():
    framework.manual_seed(2)
    model = CausalEncoder()
    _run(model, [r(2, 3, 8)], dynamic=True, other=[r(3, 3, 8)])
    _run(model, [r(2, 3, 8), _padding(3, 1)])
    enc = model.encoder  # (a dynamic length: the mask is an input, is_causal says what it is)
    _run(Fn(lambda x, c: enc(x, mask=c, is_causal=True), enc), [r(2, 3, 8), _causal(3)],
         axes={"in0": {0: "batch", 1: "seq"}, "in1": {0: "seq", 1: "seq"}}, other=[r(3, 5, 8), _causal(5)])

    # Padding without a mask: the capture records with grad enabled, so the graph is PyTorch's
    # masked computation, not its nested-tensor inference path (which also zeroes the padded
    # positions): the two agree on every position that is not padding.
    x, k = r(2, 3, 8), _padding(2, 3)
    program = framework.onnx.export(Fn(lambda x, k: enc(x, src_key_padding_mask=k), enc), (x, k))
    sess = ort.InferenceSession(program.model_proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(None, dict(zip([i.name for i in sess.get_inputs()], (x.numpy(), k.numpy()))))[0]
    np.testing.assert_allclose(got, enc(x, src_key_padding_mask=k).detach().numpy(), rtol=1e-5, atol=1e-5)
    with framework.no_grad():
        inference = enc(x, src_key_padding_mask=k).numpy()
    keep = ~k.numpy()
    np.testing.assert_allclose(got[keep], inference[keep], rtol=1e-5, atol=1e-5)


def test_transformer_encoder_mask_input_needs_is_causal():
    """Without is_causal, TransformerEncoder compares the mask with a causal one in Python (as
    PyTorch): a mask given as an input is a data-dependent branch, refused by the capture."""
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 2)
    with pytest.raises(framework.export.CaptureError, match="different ops"):
        framework.onnx.export(Fn(lambda x, c: enc(x, mask=c), enc).eval(), (r(2, 3, 8), _causal(3)))


def test_transformer_decoder_layer_and_transformer():
    framework.manual_seed(3)
    dec = nn.TransformerDecoderLayer(8, 2, 16, batch_first=True)
    _run(Fn(lambda x, m, c, k: dec(x, m, tgt_mask=c, tgt_is_causal=True, memory_key_padding_mask=k), dec),
         [r(2, 3, 8), r(2, 4, 8), _causal(3), _padding(4, 2, total=4)])
    _run(Fn(lambda x, m: dec(x, m), dec), [r(2, 3, 8), r(2, 4, 8)], dynamic=True, other=[r(5, 3, 8), r(5, 4, 8)])
    tr = nn.Transformer(8, 2, 2, 2, 16, batch_first=True)
    _run(Fn(lambda s, t: tr(s, t, tgt_mask=_causal(t.shape[1]), tgt_is_causal=True), tr), [r(2, 4, 8), r(2, 3, 8)],
         axes={"in0": {0: "batch", 1: "src"}, "in1": {0: "batch"}}, other=[r(3, 6, 8), r(3, 3, 8)])
