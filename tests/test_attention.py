"""scaled_dot_product_attention, the fused attention softmax, MultiheadAttention and
F.multi_head_attention_forward against PyTorch: values, gradients of inputs, masks and
weights, every option, dropout by its statistics, errors."""
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import framework
from framework.ops.attention import attention_softmax
from helpers import assert_same, check, check_raises, const, gradcheck, randn

RNG = np.random.default_rng(7)


def sdpa(**kw):
    return lambda T, q, k, v, *mask: T.nn.functional.scaled_dot_product_attention(
        q, k, v, *mask, **kw)


def bool_mask(*shape, p=0.7):
    m = RNG.random(shape) < p
    m[..., 0] = True  # (rows with no key are tested on their own)
    return m


def fully_masked_rows():
    m = bool_mask(3, 5)
    m[1] = False
    return m


def neg_inf_rows():
    m = randn(3, 5)
    m[2] = -np.inf
    m[0, 1] = -np.inf
    return const(m)


# name -> (function of (T, q, k, v, [mask]), inputs)
SDPA = {
    "4d": (sdpa(), [randn(2, 2, 3, 4), randn(2, 2, 5, 4), randn(2, 2, 5, 3)]),
    "3d": (sdpa(), [randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 2)]),
    "2d": (sdpa(), [randn(3, 4), randn(5, 4), randn(5, 3)]),
    "5d_broadcast_batch": (sdpa(), [randn(2, 1, 2, 3, 4), randn(1, 2, 2, 5, 4), randn(2, 2, 2, 5, 3)]),
    "scale": (sdpa(scale=0.3), [randn(1, 2, 3, 4), randn(1, 2, 4, 4), randn(1, 2, 4, 3)]),
    "causal_short": (sdpa(is_causal=True), [randn(1, 2, 3, 4), randn(1, 2, 5, 4), randn(1, 2, 5, 3)]),
    "causal_long": (sdpa(is_causal=True), [randn(2, 5, 4), randn(2, 3, 4), randn(2, 3, 3)]),
    "bool_mask": (sdpa(), [randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 3), bool_mask(3, 5)]),
    "bool_mask_broadcast": (sdpa(), [randn(2, 2, 3, 4), randn(2, 2, 5, 4), randn(2, 2, 5, 3), bool_mask(2, 1, 1, 5)]),
    "bool_mask_per_head": (sdpa(), [randn(2, 2, 3, 4), randn(2, 2, 5, 4), randn(2, 2, 5, 3), bool_mask(2, 2, 3, 5)]),
    "float_mask": (sdpa(), [randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 3), const(randn(3, 5))]),
    "float_mask_grad": (sdpa(), [randn(2, 2, 3, 4), randn(2, 2, 5, 4), randn(2, 2, 5, 3), randn(2, 1, 3, 5)]),
    "float_mask_head_broadcast": (sdpa(), [randn(2, 3, 3, 4), randn(2, 3, 5, 4), randn(2, 3, 5, 3),
                                          randn(1, 3, 1, 5)]),
    "fully_masked_rows": (sdpa(), [randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 3), fully_masked_rows()]),
    "neg_inf_rows": (sdpa(), [randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 3), neg_inf_rows()]),
    "gqa": (sdpa(enable_gqa=True), [randn(1, 4, 3, 4), randn(1, 2, 5, 4), randn(1, 1, 5, 3)]),
    "gqa_same_heads": (sdpa(enable_gqa=True), [randn(1, 2, 3, 4), randn(1, 2, 5, 4), randn(1, 2, 5, 3)]),
    "gqa_3d": (sdpa(enable_gqa=True), [randn(4, 3, 4), randn(2, 5, 4), randn(2, 5, 3)]),
    "no_keys": (sdpa(), [randn(2, 3, 4), randn(2, 0, 4), randn(2, 0, 3)]),
    "no_queries": (sdpa(), [randn(2, 0, 4), randn(2, 5, 4), randn(2, 5, 3)]),
    "float64": (sdpa(is_causal=True), [randn(2, 3, 4, dtype=np.float64), randn(2, 4, 4, dtype=np.float64),
                                       randn(2, 4, 3, dtype=np.float64)]),
    "float64_float32_mask": (sdpa(), [randn(2, 3, 4, dtype=np.float64), randn(2, 5, 4, dtype=np.float64),
                                      randn(2, 5, 3, dtype=np.float64), const(randn(3, 5))]),
    "dropout_negative": (sdpa(dropout_p=-0.5), [randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 3)]),
}


@pytest.mark.parametrize("name", sorted(SDPA))
def test_sdpa_matches_torch(device, name):
    fn, inputs = SDPA[name]
    check(fn, *inputs, device=device)


@settings(max_examples=20)
@given(data=st.data())
def test_sdpa_shapes_masks_and_broadcasting(device, data):
    """Random batch shapes (broadcast between query and key), lengths, head sizes, mask kinds and
    mask shapes (any dim 1, fewer leading dims), causal and scale."""
    nbatch = data.draw(st.integers(0, 2))
    batch = data.draw(st.lists(st.integers(1, 2), min_size=nbatch, max_size=nbatch))
    kbatch = [n if data.draw(st.booleans()) else 1 for n in batch]
    ell, s, e, ev = (data.draw(st.integers(1, 4)) for _ in range(4))
    scores = tuple(batch) + (ell, s)
    kind = data.draw(st.sampled_from(["none", "bool", "float", "causal"]))
    kw = {"scale": data.draw(st.sampled_from([None, 0.5, 2.0]))}
    inputs = [randn(*batch, ell, e), randn(*kbatch, s, e), randn(*kbatch, s, ev)]
    if kind == "causal":
        kw["is_causal"] = True
    elif kind != "none":
        lead = data.draw(st.integers(0, len(scores) - 2))
        shape = [1 if data.draw(st.booleans()) else n for n in scores[lead:]]
        inputs.append(bool_mask(*shape) if kind == "bool" else randn(*shape))
    check(sdpa(**kw), *inputs, device=device)


def test_sdpa_gradcheck(device):
    """Second order through the whole attention, with a float mask that requires grad."""
    gradcheck(lambda T, q, k, v, m: T.nn.functional.scaled_dot_product_attention(q, k, v, m),
              randn(1, 2, 3), randn(1, 3, 3), randn(1, 3, 2), randn(2, 3), double=True, device=device)


@pytest.mark.parametrize("causal,safe,masked", [(False, True, True), (True, True, False), (True, False, True)])
def test_attention_softmax_gradcheck(device, causal, safe, masked):
    """The fused softmax and its fused backward, first and second order (float64)."""
    mask = randn(1, 4) if masked else None
    gradcheck(lambda T, s, *m: attention_softmax(s, m[0] if m else None, 0.7, causal, safe),
              *[randn(2, 3, 4)] + ([mask] if masked else []), double=True, device=device)


def test_attention_softmax_fully_masked_rows(device):
    """No finite logit in a row: 0 for attention (safe), nan as a plain softmax gives."""
    scores = framework.tensor(randn(2, 3), device=device)
    mask = framework.tensor([[0.0, 0, 0], [-np.inf, -np.inf, -np.inf]], device=device)
    safe = attention_softmax(scores, mask, 1.0, False, True).cpu().numpy()
    plain = attention_softmax(scores, mask, 1.0, False, False).cpu().numpy()
    ref = torch.softmax(torch.tensor(scores.cpu().numpy()) + torch.tensor(mask.cpu().numpy()), -1).numpy()
    np.testing.assert_allclose(safe[0], ref[0], rtol=1e-6)
    assert (safe[1] == 0).all() and np.isnan(plain[1]).all() and np.isnan(ref[1]).all()


def _dropout_inputs(device, heads=16, ell=4, s=8):
    """q, k and v = identity, so the output is the (dropped) attention probabilities."""
    q = framework.tensor(randn(heads, ell, 4), device=device)
    k = framework.tensor(randn(heads, s, 4), device=device)
    v = framework.eye(s, device=device).expand(heads, s, s)
    return q, k, v


def test_sdpa_dropout_statistics(device):
    """Dropout is applied whenever dropout_p > 0 (as PyTorch: no training flag): each probability
    is zeroed with probability p, the rest scaled by 1 / (1 - p); seeded draws repeat."""
    F = framework.nn.functional
    q, k, v = _dropout_inputs(device)
    p = F.scaled_dot_product_attention(q, k, v).cpu().numpy()
    framework.manual_seed(3)
    dropped = F.scaled_dot_product_attention(q, k, v, dropout_p=0.25).cpu().numpy()
    framework.manual_seed(3)
    again = F.scaled_dot_product_attention(q, k, v, dropout_p=0.25).cpu().numpy()
    np.testing.assert_array_equal(dropped, again)
    kept = dropped != 0
    assert abs(1 - kept.mean() - 0.25) < 0.07, kept.mean()
    np.testing.assert_allclose(dropped[kept], p[kept] / 0.75, rtol=1e-5)
    assert not F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).cpu().numpy().any()


def test_sdpa_dropout_gradient_uses_the_same_mask(device):
    F = framework.nn.functional
    q, k, v = _dropout_inputs(device, heads=2)
    v = v.contiguous().requires_grad_(True)
    framework.manual_seed(5)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    out.backward(framework.ones_like(out))
    # d out / d v[j, c] = sum_i p_dropped[i, j] for c == j: the dropped probabilities' column sums
    expected = out.detach().sum(-2).cpu().numpy()
    np.testing.assert_allclose(np.diagonal(v.grad.cpu().numpy(), axis1=-2, axis2=-1), expected, rtol=1e-5)


SDPA_ERRORS = {
    "dtype_mismatch": (sdpa(), [randn(2, 3, 4, dtype=np.float64), randn(2, 5, 4), randn(2, 5, 3)]),
    "one_dim": (sdpa(), [randn(4), randn(4), randn(3)]),
    "integer": (sdpa(), [np.ones((2, 3), np.int64)] * 3),
    "int_mask": (sdpa(), [randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 3), np.zeros((3, 5), np.int64)]),
    "float64_mask": (sdpa(), [randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 3), const(randn(3, 5, dtype=np.float64))]),
    "causal_and_mask": (sdpa(is_causal=True), [randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 3), bool_mask(3, 5)]),
    "head_dim": (sdpa(), [randn(2, 3, 4), randn(2, 5, 3), randn(2, 5, 3)]),
    "value_length": (sdpa(), [randn(2, 3, 4), randn(2, 5, 4), randn(2, 4, 3)]),
    "batch": (sdpa(), [randn(2, 3, 4), randn(3, 5, 4), randn(3, 5, 3)]),
    "heads_without_gqa": (sdpa(), [randn(1, 4, 3, 4), randn(1, 2, 5, 4), randn(1, 2, 5, 3)]),
    "gqa_not_dividing": (sdpa(enable_gqa=True), [randn(1, 4, 3, 4), randn(1, 3, 5, 4), randn(1, 3, 5, 3)]),
    "dropout_above_one": (sdpa(dropout_p=1.5), [randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 3)]),
    "mask_shape": (sdpa(), [randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 3), const(randn(3, 4))]),
    "mask_more_dims": (sdpa(), [randn(3, 4), randn(5, 4), randn(5, 3), const(randn(2, 3, 5))]),
}


@pytest.mark.parametrize("name", sorted(SDPA_ERRORS))
def test_sdpa_errors(device, name):
    fn, inputs = SDPA_ERRORS[name]
    check_raises(fn, *inputs, device=device)


def test_sdpa_error_types(device):
    F = framework.nn.functional
    q = framework.tensor(randn(3, 4), device=device)
    with pytest.raises(IndexError, match="Dimension out of range"):
        F.scaled_dot_product_attention(q, q, q, framework.ones(4, dtype=framework.bool, device=device))
    with pytest.raises(IndexError, match="Dimension out of range"):
        F.scaled_dot_product_attention(q, q, q, enable_gqa=True)
    with pytest.raises(TypeError, match="argument 'query' \\(position 1\\) must be Tensor, not list"):
        F.scaled_dot_product_attention([1.0], q, q)
    message = check_raises(sdpa(), randn(2, 3, 4, dtype=np.float64), randn(2, 5, 4), randn(2, 5, 3), device=device)
    assert "query.dtype: double key.dtype: float and value.dtype: float" in message
    message = check_raises(sdpa(), randn(2, 3, 4), randn(2, 5, 3), randn(2, 5, 3), device=device)
    assert message == "Expected size for first two dimensions of batch2 tensor to be: [2, 4] but got: [2, 3]."


# ----------------------------------------------------------------- MultiheadAttention

def _copy(ours, theirs):
    ours.load_state_dict({k: framework.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})


def _to_lib(lib, a, device, grad):
    if a is None:
        return None
    if lib is torch:
        return torch.tensor(a, requires_grad=grad and a.dtype.kind == "f")
    return framework.tensor(a, device=device, requires_grad=grad and a.dtype.kind == "f")


def compare_mha(device, ctor, shapes, kind="cross", masks=None, call=None, train=True, atol=1e-5):
    """nn.MultiheadAttention(**ctor) on both libraries with PyTorch's weights copied: outputs,
    weights, input gradients and parameter gradients. `kind`: "self" passes one tensor as query,
    key and value (the packed projection), "kv" one tensor as key and value, "cross" three."""
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(**ctor)
    ours = framework.nn.MultiheadAttention(**ctor)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _copy(ours, theirs)
    ours.to(device)
    theirs.train(train)
    ours.train(train)
    arrays = [randn(*s) for s in shapes]
    outs, grads = [], []
    for lib in (torch, framework):
        x = [_to_lib(lib, a, device, True) for a in arrays]
        q, k, v = (x[0], x[0], x[0]) if kind == "self" else (x[0], x[1], x[1]) if kind == "kv" else x
        kw = {name: _to_lib(lib, m, device, False) for name, m in (masks or {}).items()}
        out, weights = (theirs if lib is torch else ours)(q, k, v, **kw, **(call or {}))
        outs.append((out, weights))
        loss = (out * _to_lib(lib, _upstream(tuple(out.shape)), device, False)).sum()
        if weights is not None:
            loss = loss + (weights * 0.5).sum()
        loss.backward()
        grads.append(x)
    (out_t, w_t), (out_f, w_f) = outs
    assert_same(out_f, out_t, atol, 1e-4, "output")
    if w_t is None:
        assert w_f is None
    else:
        assert_same(w_f, w_t, atol, 1e-4, "weights")
    for i, (a, b) in enumerate(zip(grads[1], grads[0])):
        assert_same(a.grad, b.grad, atol * 10, 1e-3, f"grad of input {i}")
    ours_params = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        assert_same(ours_params[name].grad, p.grad, atol * 10, 1e-3, f"grad of {name}")
    return ours, theirs


def _upstream(shape):
    """A fixed upstream gradient for an output of `shape`."""
    return np.random.default_rng(1).standard_normal(shape).astype(np.float32)


MHA = {
    # name: (constructor kwargs, input shapes, kind, masks, call kwargs)
    "self": (dict(embed_dim=8, num_heads=2), [(3, 2, 8)], "self", None, None),
    "self_batch_first": (dict(embed_dim=8, num_heads=2, batch_first=True), [(2, 3, 8)], "self", None, None),
    "self_no_weights": (dict(embed_dim=8, num_heads=2), [(3, 2, 8)], "self", None, dict(need_weights=False)),
    "self_per_head_weights": (dict(embed_dim=8, num_heads=2), [(3, 2, 8)], "self", None,
                              dict(average_attn_weights=False)),
    "kv_padding_mask": (dict(embed_dim=8, num_heads=2), [(3, 2, 8), (4, 2, 8)], "kv",
                        dict(key_padding_mask=np.array([[False, False, True, True], [False, True, False, False]])),
                        None),
    "kv_batch_first_no_weights": (dict(embed_dim=8, num_heads=4, batch_first=True), [(2, 3, 8), (2, 4, 8)], "kv",
                                  dict(key_padding_mask=np.array([[False, False, True, True],
                                                                  [False, True, False, False]])),
                                  dict(need_weights=False)),
    "cross_attn_mask_bool": (dict(embed_dim=8, num_heads=2), [(3, 2, 8), (4, 2, 8), (4, 2, 8)], "cross",
                             dict(attn_mask=np.triu(np.ones((3, 4), bool), 1)), None),
    "cross_attn_mask_float_3d": (dict(embed_dim=8, num_heads=2), [(3, 2, 8), (4, 2, 8), (4, 2, 8)], "cross",
                                 dict(attn_mask=randn(4, 3, 4)), dict(need_weights=False)),
    "both_masks_float": (dict(embed_dim=8, num_heads=2), [(3, 2, 8), (4, 2, 8)], "kv",
                         dict(attn_mask=randn(3, 4), key_padding_mask=randn(2, 4)), None),
    "kdim_vdim": (dict(embed_dim=8, num_heads=2, kdim=5, vdim=3), [(3, 2, 8), (4, 2, 5), (4, 2, 3)], "cross",
                  None, None),
    "kdim_vdim_batch_first": (dict(embed_dim=8, num_heads=2, kdim=5, vdim=3, batch_first=True),
                              [(2, 3, 8), (2, 4, 5), (2, 4, 3)], "cross", None, dict(need_weights=False)),
    "add_bias_kv": (dict(embed_dim=8, num_heads=2, add_bias_kv=True), [(3, 2, 8)], "self",
                    dict(attn_mask=np.triu(np.ones((3, 3), bool), 1)), None),
    "add_zero_attn": (dict(embed_dim=8, num_heads=2, add_zero_attn=True), [(3, 2, 8), (4, 2, 8)], "kv",
                      dict(key_padding_mask=np.array([[False, False, True, True], [False, True, False, False]])),
                      None),
    "bias_kv_zero_attn_batch_first": (dict(embed_dim=8, num_heads=2, add_bias_kv=True, add_zero_attn=True,
                                           batch_first=True), [(2, 3, 8)], "self", None, dict(need_weights=False)),
    "no_bias": (dict(embed_dim=8, num_heads=2, bias=False), [(3, 2, 8)], "self", None, None),
    "unbatched": (dict(embed_dim=8, num_heads=2, batch_first=True), [(3, 8), (4, 8)], "kv",
                  dict(key_padding_mask=np.array([False, True, False, False])), None),
    "unbatched_3d_mask": (dict(embed_dim=8, num_heads=2), [(3, 8)], "self", dict(attn_mask=randn(2, 3, 3)), None),
    "is_causal_hint": (dict(embed_dim=8, num_heads=2, batch_first=True), [(2, 4, 8)], "self",
                       dict(attn_mask=np.triu(np.ones((4, 4), bool), 1)), dict(is_causal=True, need_weights=False)),
    "is_causal_with_padding": (dict(embed_dim=8, num_heads=2, batch_first=True), [(2, 4, 8)], "self",
                               dict(attn_mask=np.triu(np.ones((4, 4), bool), 1),
                                    key_padding_mask=np.array([[False, False, False, True], [False] * 4])),
                               dict(is_causal=True, need_weights=False)),
    "dropout_eval": (dict(embed_dim=8, num_heads=2, dropout=0.5), [(3, 2, 8)], "self", None, "eval"),
}


@pytest.mark.parametrize("name", sorted(MHA))
def test_multihead_attention_matches_torch(device, name):
    ctor, shapes, kind, masks, call = MHA[name]
    train = call != "eval"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (both warn about mixed mask types alike)
        compare_mha(device, ctor, shapes, kind, masks, None if call == "eval" else call, train=train)


def test_multihead_attention_fully_padded_row(device):
    """A query whose every key is padded: nan weights from the explicit path (as PyTorch's
    softmax), 0 from the fused path (PyTorch's scaled_dot_product_attention)."""
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(4, 2, batch_first=True)
    ours = framework.nn.MultiheadAttention(4, 2, batch_first=True)
    _copy(ours, theirs)
    ours.to(device)
    x = randn(2, 3, 4)
    kpm = np.array([[True] * 3, [False, True, False]])
    for need in (True, False):
        out_t, w_t = theirs(*[torch.tensor(x)] * 3, key_padding_mask=torch.tensor(kpm), need_weights=need)
        xf = framework.tensor(x, device=device)
        out_f, w_f = ours(xf, xf, xf, key_padding_mask=framework.tensor(kpm, device=device), need_weights=need)
        np.testing.assert_allclose(out_f.detach().cpu().numpy(), out_t.detach().numpy(), atol=1e-5, equal_nan=True)
        if need:
            np.testing.assert_allclose(w_f.detach().cpu().numpy(), w_t.detach().numpy(), atol=1e-6, equal_nan=True)


def test_multihead_attention_state_dict_both_ways(device):
    for ctor in (dict(embed_dim=8, num_heads=2, add_bias_kv=True), dict(embed_dim=8, num_heads=2, kdim=3, vdim=5),
                 dict(embed_dim=8, num_heads=4, bias=False)):
        theirs = torch.nn.MultiheadAttention(**ctor)
        ours = framework.nn.MultiheadAttention(**ctor, device=device)
        assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
            {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
        theirs.load_state_dict({k: torch.tensor(v.cpu().numpy()) for k, v in ours.state_dict().items()})
        q, k, v = randn(3, 2, 8), randn(4, 2, ctor.get("kdim", 8)), randn(4, 2, ctor.get("vdim", 8))
        out_t, w_t = theirs(torch.tensor(q), torch.tensor(k), torch.tensor(v))
        out_f, w_f = ours(*(framework.tensor(a, device=device) for a in (q, k, v)))
        assert_same(out_f, out_t, 1e-5, 1e-4)
        assert_same(w_f, w_t, 1e-5, 1e-4)
    assert repr(ours) == repr(theirs)


def test_multihead_attention_init(device):
    """PyTorch's init: xavier_uniform_ projections, zero biases, xavier_normal_ bias_k/bias_v."""
    e = 64
    m = framework.nn.MultiheadAttention(e, 4, add_bias_kv=True, device=device)
    w = m.in_proj_weight.detach().cpu().numpy()
    bound = np.sqrt(6 / (e + 3 * e))
    assert w.shape == (3 * e, e) and np.abs(w).max() <= bound and abs(w.std() - bound / np.sqrt(3)) < 0.1 * bound
    assert not m.in_proj_bias.detach().cpu().numpy().any() and not m.out_proj.bias.detach().cpu().numpy().any()
    assert abs(m.bias_k.detach().cpu().numpy().std() - 1 / np.sqrt(e)) < 0.5 / np.sqrt(e)
    assert m.bias_k.shape == (1, 1, e)
    sep = framework.nn.MultiheadAttention(8, 2, kdim=3, vdim=5, device=device)
    assert sep.in_proj_weight is None and tuple(sep.k_proj_weight.shape) == (8, 3)
    assert type(m.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    assert isinstance(m.out_proj, framework.nn.Linear)


def test_multihead_attention_dropout_statistics(device):
    """Training drops attention weights (returned dropped, as PyTorch's); eval does not."""
    m = framework.nn.MultiheadAttention(4, 1, dropout=0.5, device=device)
    x = framework.tensor(randn(8, 16, 4), device=device)
    m.eval()
    _, clean = m(x, x, x)
    m.train()
    framework.manual_seed(1)
    _, dropped = m(x, x, x)
    clean, dropped = clean.detach().cpu().numpy(), dropped.detach().cpu().numpy()
    kept = dropped != 0
    assert abs(kept.mean() - 0.5) < 0.08
    np.testing.assert_allclose(dropped[kept], clean[kept] * 2, rtol=1e-5)


def test_multi_head_attention_forward_functional(device):
    """F.multi_head_attention_forward with separate projection weights and static keys/values."""
    e, h, n, ell, s = 8, 2, 2, 3, 4
    args = {name: randn(*shape) for name, shape in (("q", (ell, n, e)), ("k", (s, n, e)), ("v", (s, n, e)),
                                                      ("wq", (e, e)), ("wk", (e, e)), ("wv", (e, e)),
                                                      ("b", (3 * e,)), ("wo", (e, e)), ("bo", (e,)),
                                                      ("sk", (n * h, s, e // h)), ("sv", (n * h, s, e // h)))}
    mask = const(randn(ell, s))

    def fn(T, q, k, v, wq, wk, wv, b, wo, bo, sk, sv, m):
        return T.nn.functional.multi_head_attention_forward(
            q, k, v, e, h, None, b, None, None, False, 0.0, wo, bo, training=True, attn_mask=m,
            use_separate_proj_weight=True, q_proj_weight=wq, k_proj_weight=wk, v_proj_weight=wv, static_k=sk,
            static_v=sv, average_attn_weights=False)
    names = ("q", "k", "v", "wq", "wk", "wv", "b", "wo", "bo", "sk", "sv")
    check(fn, *[args[k] for k in names], mask, device=device)


def _mha_call(ctor, shapes, masks=None, **call):
    def fn(T, *xs):
        T.manual_seed(0)
        m = T.nn.MultiheadAttention(**ctor)
        if T is framework:
            m.to(xs[0].device)
        kw = {k: (v if not isinstance(v, np.ndarray) else
                  (torch.tensor(v) if T is torch else framework.tensor(v, device=xs[0].device)))
              for k, v in (masks or {}).items()}
        return m(*xs, **kw, **call)
    return fn, [randn(*s) for s in shapes]


MHA_ERRORS = {
    "indivisible": (lambda T: T.nn.MultiheadAttention(6, 4), AssertionError),
    "zero_heads": (lambda T: T.nn.MultiheadAttention(6, 0), ValueError),
}

MHA_CALL_ERRORS = {
    "query_4d": (dict(embed_dim=4, num_heads=2), [(1, 3, 2, 4)] * 3, None, {}, AssertionError),
    "key_2d_for_batched": (dict(embed_dim=4, num_heads=2), [(3, 2, 4), (3, 4), (3, 4)], None, {}, AssertionError),
    "embed_dim": (dict(embed_dim=4, num_heads=2), [(3, 2, 6)] * 3, None, {}, AssertionError),
    "key_value_shapes": (dict(embed_dim=4, num_heads=2), [(3, 2, 4), (5, 2, 4), (4, 2, 4)], None, {},
                         AssertionError),
    "attn_mask_2d_shape": (dict(embed_dim=4, num_heads=2), [(3, 2, 4)] * 3, dict(attn_mask=randn(3, 4)), {},
                           RuntimeError),
    "attn_mask_3d_shape": (dict(embed_dim=4, num_heads=2), [(3, 2, 4)] * 3, dict(attn_mask=randn(2, 3, 3)), {},
                           RuntimeError),
    "attn_mask_int": (dict(embed_dim=4, num_heads=2), [(3, 2, 4)] * 3,
                      dict(attn_mask=np.zeros((3, 3), np.int64)), {}, AssertionError),
    "padding_mask_dims": (dict(embed_dim=4, num_heads=2), [(3, 2, 4)] * 3,
                          dict(key_padding_mask=np.zeros(3, bool)), {}, AssertionError),
    "padding_mask_length": (dict(embed_dim=4, num_heads=2), [(3, 2, 4)] * 3,
                            dict(key_padding_mask=np.zeros((2, 4), bool)), {}, AssertionError),
    "padding_mask_batch": (dict(embed_dim=4, num_heads=2), [(3, 2, 4)] * 3,
                           dict(key_padding_mask=np.zeros((3, 3), bool)), {}, AssertionError),
    "is_causal_without_mask": (dict(embed_dim=4, num_heads=2), [(3, 2, 4)] * 3, None, dict(is_causal=True),
                               RuntimeError),
    "unbatched_3d_mask_shape": (dict(embed_dim=4, num_heads=2), [(3, 4)] * 3, dict(attn_mask=randn(3, 3, 3)), {},
                                AssertionError),
}


@pytest.mark.parametrize("name", sorted(MHA_ERRORS))
def test_multihead_attention_constructor_errors(device, name):
    make, exc = MHA_ERRORS[name]
    check_raises(lambda T: make(T), exc=exc, device=device)


@pytest.mark.parametrize("name", sorted(MHA_CALL_ERRORS))
def test_multihead_attention_call_errors(device, name):
    ctor, shapes, masks, call, exc = MHA_CALL_ERRORS[name]
    fn, inputs = _mha_call(ctor, shapes, masks, **call)
    check_raises(fn, *inputs, exc=exc, device=device)


def test_mixed_mask_types_warn_as_torch(device):
    fn, inputs = _mha_call(dict(embed_dim=4, num_heads=2), [(3, 2, 4)] * 3,
                           dict(attn_mask=randn(3, 3), key_padding_mask=np.zeros((2, 3), bool)))
    for lib in (torch, framework):
        with pytest.warns(UserWarning, match="Support for mismatched key_padding_mask and attn_mask is deprecated"):
            fn(lib, *[torch.tensor(a) if lib is torch else framework.tensor(a, device=device) for a in inputs])
