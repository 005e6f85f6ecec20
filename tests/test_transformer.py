"""Transformer, TransformerEncoder(Layer) and TransformerDecoder(Layer) against PyTorch with
copied weights: every constructor option, every mask, gradients of inputs and parameters,
state_dicts both ways, init, dropout and errors."""
import warnings

import numpy as np
import pytest
import torch

import framework
from helpers import assert_same, check_raises, randn

pytestmark = [pytest.mark.filterwarnings("ignore:enable_nested_tensor is True"),
              pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors"),
              pytest.mark.filterwarnings("ignore:Support for mismatched")]


def _copy(ours, theirs):
    ours.load_state_dict({k: framework.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})


def _tensor(lib, a, device, grad=False):
    if a is None or not isinstance(a, np.ndarray):
        return a
    if lib is torch:
        return torch.tensor(a, requires_grad=grad and a.dtype.kind == "f")
    return framework.tensor(a, device=device, requires_grad=grad and a.dtype.kind == "f")


def _upstream(shape):
    return np.random.default_rng(1).standard_normal(shape).astype(np.float32)


def compare(device, make, inputs, masks=None, train=True, grad=True, atol=2e-5):
    """make(lib) on both libraries, PyTorch's weights copied into ours; outputs, gradients of the
    float inputs and of every parameter. Returns (ours, theirs)."""
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (enable_nested_tensor's warning, raised alike by both)
        theirs, ours = make(torch), make(framework)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _copy(ours, theirs)
    ours.to(device)
    theirs.train(train)
    ours.train(train)
    results = []
    for lib, module in ((torch, theirs), (framework, ours)):
        xs = [_tensor(lib, a, device, grad) for a in inputs]
        kw = {k: _tensor(lib, v, device) for k, v in (masks or {}).items()}
        out = module(*xs, **kw)
        if grad:
            (out * _tensor(lib, _upstream(tuple(out.shape)), device)).sum().backward()
        results.append((out, xs))
    (out_t, xs_t), (out_f, xs_f) = results
    assert_same(out_f, out_t, atol, 1e-4, "output")
    if grad:
        for i, (a, b) in enumerate(zip(xs_f, xs_t)):
            if isinstance(b, torch.Tensor) and b.requires_grad:
                assert_same(a.grad, b.grad, atol * 10, 1e-3, f"grad of input {i}")
        ours_params = dict(ours.named_parameters())
        for name, p in theirs.named_parameters():
            if p.grad is None:
                assert ours_params[name].grad is None, name
            else:
                assert_same(ours_params[name].grad, p.grad, atol * 10, 1e-3, f"grad of {name}")
    return ours, theirs


def causal(n):
    return np.triu(np.full((n, n), -np.inf, np.float32), 1)


PAD = np.array([[False, False, False, True], [False, True, False, False]])

ENCODER_LAYERS = {
    # name: (constructor kwargs, input shape, forward kwargs)
    "post_norm": (dict(), (4, 2, 8), {}),
    "pre_norm_batch_first": (dict(norm_first=True, batch_first=True), (2, 4, 8), {}),
    "gelu_string": (dict(activation="gelu"), (4, 2, 8), dict(src_mask=causal(4))),
    "callable_activation": (dict(activation=lambda x: x.sigmoid() * x), (4, 2, 8), {}),
    "no_bias_eps": (dict(bias=False, layer_norm_eps=1e-3), (4, 2, 8), {}),
    "padding_mask": (dict(batch_first=True), (2, 4, 8), dict(src_key_padding_mask=PAD)),
    "bool_mask_and_padding": (dict(), (4, 2, 8), dict(src_mask=np.triu(np.ones((4, 4), bool), 1),
                                                      src_key_padding_mask=PAD)),
    "is_causal": (dict(batch_first=True), (2, 4, 8), dict(src_mask=causal(4), is_causal=True)),
    "unbatched": (dict(batch_first=True), (4, 8), dict(src_key_padding_mask=PAD[0])),
}


@pytest.mark.parametrize("name", sorted(ENCODER_LAYERS))
def test_encoder_layer(device, name):
    ctor, shape, kw = ENCODER_LAYERS[name]
    compare(device, lambda lib: lib.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, **ctor), [randn(*shape)], kw)


def test_encoder_layer_activation_module(device):
    compare(device, lambda lib: lib.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=lib.nn.GELU()),
            [randn(3, 2, 8)])
    layer = framework.nn.TransformerEncoderLayer(8, 2, activation=framework.nn.GELU())
    assert layer.activation_relu_or_gelu == 2
    assert framework.nn.TransformerEncoderLayer(8, 2).activation_relu_or_gelu == 1
    assert framework.nn.TransformerEncoderLayer(8, 2, activation=lambda x: x).activation_relu_or_gelu == 0


ENCODERS = {
    "norm": (lambda lib: lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(8, 2, 16, 0.0), 2,
                                                    lib.nn.LayerNorm(8)), (4, 2, 8), dict(mask=causal(4))),
    "no_norm_batch_first_padding": (lambda lib: lib.nn.TransformerEncoder(
        lib.nn.TransformerEncoderLayer(8, 2, 16, 0.0, batch_first=True), 2, enable_nested_tensor=False,
        mask_check=False), (2, 4, 8), dict(src_key_padding_mask=PAD, is_causal=False)),
    "detects_causal_mask": (lambda lib: lib.nn.TransformerEncoder(
        lib.nn.TransformerEncoderLayer(8, 2, 16, 0.0, batch_first=True, norm_first=True), 2), (2, 4, 8),
        dict(mask=causal(4))),
}


@pytest.mark.parametrize("name", sorted(ENCODERS))
def test_encoder(device, name):
    make, shape, kw = ENCODERS[name]
    compare(device, make, [randn(*shape)], kw)


DECODER_LAYERS = {
    "post_norm": (dict(), (3, 2, 8), (4, 2, 8), dict(tgt_mask=causal(3))),
    "pre_norm_batch_first_masks": (dict(norm_first=True, batch_first=True), (2, 3, 8), (2, 4, 8),
                                   dict(tgt_mask=causal(3), memory_mask=randn(3, 4),
                                        tgt_key_padding_mask=PAD[:, :3], memory_key_padding_mask=PAD)),
    "gelu_no_bias_causal_hint": (dict(activation="gelu", bias=False), (3, 2, 8), (4, 2, 8),
                                 dict(tgt_mask=causal(3), tgt_is_causal=True)),
    "unbatched": (dict(), (3, 8), (4, 8), dict(memory_key_padding_mask=PAD[1])),
}


@pytest.mark.parametrize("name", sorted(DECODER_LAYERS))
def test_decoder_layer(device, name):
    ctor, tgt, mem, kw = DECODER_LAYERS[name]
    compare(device, lambda lib: lib.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, **ctor),
            [randn(*tgt), randn(*mem)], kw)


def test_decoder(device):
    compare(device, lambda lib: lib.nn.TransformerDecoder(lib.nn.TransformerDecoderLayer(8, 2, 16, 0.0), 2,
                                                          lib.nn.LayerNorm(8)),
            [randn(3, 2, 8), randn(4, 2, 8)], dict(tgt_mask=causal(3), memory_key_padding_mask=PAD))


TRANSFORMERS = {
    "default_order": (dict(), (4, 2, 8), (3, 2, 8), dict(tgt_mask=causal(3), src_key_padding_mask=PAD)),
    "batch_first_norm_first_gelu": (dict(batch_first=True, norm_first=True, activation="gelu"), (2, 4, 8),
                                    (2, 3, 8), dict(tgt_mask=causal(3), memory_key_padding_mask=PAD,
                                                    tgt_is_causal=True)),
    "no_bias_eps_masks": (dict(bias=False, layer_norm_eps=1e-4), (4, 2, 8), (3, 2, 8),
                          dict(src_mask=randn(4, 4), memory_mask=np.zeros((3, 4), bool),
                               tgt_key_padding_mask=PAD[:, :3])),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMERS))
def test_transformer(device, name):
    ctor, src, tgt, kw = TRANSFORMERS[name]
    compare(device, lambda lib: lib.nn.Transformer(8, 2, 2, 1, 16, dropout=0.0, **ctor), [randn(*src), randn(*tgt)],
            kw)


def test_transformer_eval_without_grad(device):
    """Inference (PyTorch's fused fast path on its side) gives the same values."""
    src, tgt = randn(2, 4, 8), randn(2, 3, 8)
    with torch.no_grad(), framework.no_grad():
        compare(device, lambda lib: lib.nn.Transformer(8, 2, 1, 1, 16, batch_first=True), [src, tgt],
                dict(tgt_mask=causal(3)), train=False, grad=False)


@pytest.mark.parametrize("padding", ["at_ends", "inside"])
def test_encoder_inference_with_padding(device, padding):
    """In inference PyTorch runs a padded batch as nested tensors: 0 at padded positions when
    each row's padding is at its end (mask_check), the masked result otherwise."""
    pad = np.array([[False, False, False, True], [False, False, True, True]]) if padding == "at_ends" else PAD
    with torch.no_grad(), framework.no_grad():
        ours, _ = compare(device, lambda lib: lib.nn.TransformerEncoder(
            lib.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 2), [randn(2, 4, 8)],
            dict(src_key_padding_mask=pad), train=False, grad=False)


def test_generate_square_subsequent_mask(device):
    for n in (0, 1, 4):
        ours = framework.nn.Transformer.generate_square_subsequent_mask(n, device=device)
        assert ours.device.type == framework.device(device).type
        assert_same(ours, torch.nn.Transformer.generate_square_subsequent_mask(n), 0, 0)
    ours = framework.nn.Transformer.generate_square_subsequent_mask(3, device=device, dtype=framework.float64)
    assert_same(ours, torch.nn.Transformer.generate_square_subsequent_mask(3, dtype=torch.float64), 0, 0)


def test_state_dict_both_ways_and_init(device):
    """Keys and shapes are PyTorch's; a state_dict loads either way; parameters of two or more
    dims are xavier_uniform_, as PyTorch's _reset_parameters."""
    theirs = torch.nn.Transformer(16, 4, 2, 2, 32)
    ours = framework.nn.Transformer(16, 4, 2, 2, 32, device=device)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    theirs.load_state_dict({k: torch.tensor(v.cpu().numpy()) for k, v in ours.state_dict().items()})
    theirs.eval()
    ours.eval()
    src, tgt = randn(5, 2, 16), randn(3, 2, 16)
    with torch.no_grad(), framework.no_grad():
        assert_same(ours(framework.tensor(src, device=device), framework.tensor(tgt, device=device)),
                    theirs(torch.tensor(src), torch.tensor(tgt)), 2e-5, 1e-4)
    w = ours.encoder.layers[0].linear1.weight.detach().cpu().numpy()
    bound = np.sqrt(6 / (16 + 32))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert repr(ours.encoder.layers[0]) == repr(theirs.encoder.layers[0])


def test_layers_are_independent_copies(device):
    enc = framework.nn.TransformerEncoder(framework.nn.TransformerEncoderLayer(8, 2, 16), 3, enable_nested_tensor=False)
    p0, p1 = enc.layers[0].linear1.weight, enc.layers[1].linear1.weight
    assert p0 is not p1 and np.array_equal(p0.detach().cpu().numpy(), p1.detach().cpu().numpy())
    assert len(list(enc.parameters())) == 3 * len(list(enc.layers[0].parameters()))


def test_dropout_in_training_only(device):
    framework.manual_seed(0)
    layer = framework.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5).to(device)
    x = framework.tensor(randn(4, 2, 8), device=device)
    a, b = layer(x), layer(x)
    assert not np.allclose(a.detach().cpu().numpy(), b.detach().cpu().numpy())
    layer.eval()
    np.testing.assert_array_equal(layer(x).detach().cpu().numpy(), layer(x).detach().cpu().numpy())


def test_nested_tensor_warning_as_torch(device):
    for lib in (torch, framework):
        with pytest.warns(UserWarning, match="enable_nested_tensor is True, but self.use_nested_tensor is False "
                                             "because encoder_layer.self_attn.batch_first was not True"):
            enc = lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(8, 2), 1)
        assert enc.use_nested_tensor is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        framework.nn.TransformerEncoder(framework.nn.TransformerEncoderLayer(8, 2, batch_first=True), 1)


def _on(T, xs):
    """The constructor keyword placing a framework module on its inputs' device."""
    return {"device": xs[0].device} if T is framework and xs else {}


ERRORS = {
    "batch_mismatch": (lambda T, *x: T.nn.Transformer(8, 2, 1, 1, 16, **_on(T, x))(*x),
                       [randn(4, 2, 8), randn(3, 3, 8)], RuntimeError),
    "d_model_mismatch": (lambda T, *x: T.nn.Transformer(8, 2, 1, 1, 16, **_on(T, x))(*x),
                         [randn(4, 2, 6), randn(3, 2, 6)], RuntimeError),
    "activation_name": (lambda T: T.nn.TransformerEncoderLayer(8, 2, activation="tanh"), [], RuntimeError),
    "decoder_activation_name": (lambda T: T.nn.TransformerDecoderLayer(8, 2, activation="swish"), [],
                                RuntimeError),
    "heads_indivisible": (lambda T: T.nn.TransformerEncoderLayer(8, 3), [], AssertionError),
    "int_mask": (lambda T, *x: T.nn.TransformerEncoderLayer(8, 2, 16, **_on(T, x))(x[0], src_mask=x[1]),
                 [randn(4, 2, 8), np.zeros((4, 4), np.int64)], AssertionError),
    "mask_shape": (lambda T, *x: T.nn.TransformerEncoderLayer(8, 2, 16, **_on(T, x))(x[0], src_mask=x[1]),
                   [randn(4, 2, 8), randn(3, 4)], RuntimeError),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors(device, name):
    fn, inputs, exc = ERRORS[name]
    check_raises(fn, *inputs, exc=exc, device=device)
