"""Functional attention: scaled_dot_product_attention and multi_head_attention_forward, with
PyTorch's arguments, masks, shapes and errors.

The attention itself is three nodes: scores = q @ k^T (batched BLAS), one fused
softmax(scores * scale + mask) (framework.ops.attention, the mask broadcast inside the
kernel) and probabilities @ v; its backward is two products per matmul and one fused softmax
backward. Multi-head attention keeps the batch-first layout it is given (the heads are views
of one packed projection) instead of transposing to PyTorch's sequence-first layout."""
import math
import warnings

import framework
from framework import dtypes
from framework.nn import functional as F  # (F.dropout at call time: functional re-exports this module)
from framework.ops._util import broadcast_shapes
from framework.ops.attention import Unstack, attention_softmax
from framework.ops.linalg import linear
from framework.ops.padding import pad
from framework.tensor import Tensor

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]

_CPP_NAMES = {"bool": "bool", "uint8": "unsigned char", "int32": "int", "int64": "long int", "float32": "float",
              "float64": "double"}


def _cpp(dtype):
    return _CPP_NAMES.get(dtype.name, dtype.name)


def _require_tensor(x, name, position=None):
    if not isinstance(x, Tensor):
        where = f" (position {position})" if position else ""
        raise TypeError(f"scaled_dot_product_attention(): argument '{name}'{where} must be Tensor, not "
                        f"{type(x).__name__}")


def _float_mask(mask, dtype, keep_where_true):
    """A bool mask as 0 / -inf in `dtype`: -inf where it is False (keep_where_true, SDPA's
    convention) or True (MultiheadAttention's)."""
    blocked = mask.logical_not() if keep_where_true else mask
    return framework.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(blocked, float("-inf"))


def _check_sdpa(query, key, value, attn_mask, dropout_p, is_causal):
    for i, (x, name) in enumerate(((query, "query"), (key, "key"), (value, "value")), 1):
        _require_tensor(x, name, i)
    if attn_mask is not None:
        _require_tensor(attn_mask, "attn_mask")
    if query.dtype is not key.dtype or query.dtype is not value.dtype:
        raise RuntimeError(f"Expected query, key, and value to have the same dtype, but got query.dtype: "
                           f"{_cpp(query.dtype)} key.dtype: {_cpp(key.dtype)} and value.dtype: {_cpp(value.dtype)} "
                           f"instead.")
    if query.device != key.device or query.device != value.device:
        raise RuntimeError(f"Expected query, key, and value to have the same device type, but got query.device: "
                           f"{query.device} key.device: {key.device} and value.device: {value.device} instead.")
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError(f"Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
                           f"{query.ndim} key.dim: {key.ndim} and value.dim: {value.ndim} instead.")
    if not query.dtype.is_floating_point:
        raise RuntimeError(f"expected scalar type Float but found {dtypes.scalar_name(query.dtype)}")
    if attn_mask is not None:
        if attn_mask.dtype is not dtypes.bool_ and attn_mask.dtype is not dtypes.float32 \
                and attn_mask.dtype is not query.dtype:
            raise RuntimeError(f"Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                               f"attn_mask.dtype: {_cpp(attn_mask.dtype)} and  query.dtype: {_cpp(query.dtype)} "
                               f"instead.")
        if attn_mask.device != query.device:
            raise RuntimeError(f"Expected attn_mask to be on the same device as query, but got attn_mask.device: "
                               f"{attn_mask.device} and query.device: {query.device} instead.")
        if is_causal:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when "
                               "is_causal=True")
        if attn_mask.ndim < 2:
            raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got -2)")
    if dropout_p > 1:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")


def _repeat_heads(x, groups):
    """x (..., H, S, E) with each head repeated `groups` times in place: repeat_interleave on dim -3."""
    if groups == 1:
        return x
    shape = tuple(x.shape)
    return x.unsqueeze(-3).expand(*shape[:-2], groups, *shape[-2:]).reshape(*shape[:-3], shape[-3] * groups,
                                                                           *shape[-2:])


def _attend(q, k, v, mask, dropout_p, causal, scale, safe=True):
    """(probabilities @ v, probabilities) for tensors already checked and shaped."""
    scores = framework.matmul(q, k.mT)
    p = attention_softmax(scores, mask, scale, causal, safe)
    if dropout_p > 0:
        p = F.dropout(p, min(float(dropout_p), 1.0), True)
    return framework.matmul(p, v), p


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """softmax(query @ key^T * scale + mask) @ value over the last two dims, batch dims broadcast.

    A bool mask keeps the positions where it is True; a float mask is added; `is_causal` keeps
    key j <= query i (top-left aligned). Rows with no position left give 0. Dropout is applied
    whenever dropout_p > 0, as PyTorch's. With `enable_gqa` key and value may have fewer heads
    (dim -3) than the query, dividing them."""
    _check_sdpa(query, key, value, attn_mask, dropout_p, is_causal)
    if enable_gqa and query.ndim >= 3 and key.ndim >= 3 and value.ndim >= 3:
        hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
        if hq % hk or hq % hv:
            raise RuntimeError("Number of heads in key and value must divide the number of heads in query")
        key, value = _repeat_heads(key, hq // hk), _repeat_heads(value, hq // hv)
    elif enable_gqa:
        raise IndexError(f"Dimension out of range (expected to be in range of [-{query.ndim}, {query.ndim - 1}], "
                         f"but got -3)")
    batch = broadcast_shapes(tuple(query.shape[:-2]), tuple(key.shape[:-2]))
    if key.shape[-1] != query.shape[-1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{math.prod(batch)}, "
                           f"{query.shape[-1]}] but got: [{math.prod(batch)}, {key.shape[-1]}].")
    batch = broadcast_shapes(batch, tuple(value.shape[:-2]))
    if value.shape[-2] != key.shape[-2]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{math.prod(batch)}, "
                           f"{key.shape[-2]}] but got: [{math.prod(batch)}, {value.shape[-2]}].")
    mask = None
    if attn_mask is not None:
        scores_shape = broadcast_shapes(tuple(query.shape[:-2]), tuple(key.shape[:-2])) + (query.shape[-2],
                                                                                           key.shape[-2])
        full = broadcast_shapes(scores_shape, tuple(attn_mask.shape))
        if full != scores_shape:
            raise RuntimeError(f"output with shape {list(scores_shape)} doesn't match the broadcast shape "
                               f"{list(full)}")
        mask = _float_mask(attn_mask, query.dtype, True) if attn_mask.dtype is dtypes.bool_ \
            else attn_mask.to(query.dtype)
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1]) if query.shape[-1] else math.inf
    return _attend(query, key, value, mask, dropout_p, is_causal, scale)[0]


# ----------------------------------------------------------------- multi-head attention


def _none_or_dtype(input):
    if input is None:
        return None
    if isinstance(input, Tensor):
        return input.dtype
    raise RuntimeError("input to _none_or_dtype() must be None or torch.Tensor")


def _canonical_mask(mask, mask_name, other_type, other_name, target_type, check_other=True):
    """A bool mask (True = masked) as 0 / -inf of `target_type`; a float mask as it is."""
    if mask is None:
        return None
    if mask.dtype is not dtypes.bool_ and not mask.dtype.is_floating_point:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype is not other_type:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. Use same type for both "
                      f"instead.", stacklevel=3)
    if mask.dtype is dtypes.bool_:
        return _float_mask(mask, target_type, False)
    return mask


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads):
    """Whether the input is batched; AssertionError for inconsistent ranks (PyTorch's messages)."""
    if query.ndim in (2, 3):
        rank, batched = query.ndim, query.ndim == 3
        what = "batched (3-D)" if batched else "unbatched (2-D)"
        if key.ndim != rank or value.ndim != rank:
            raise AssertionError(f"For {what} `query`, expected `key` and `value` to be {rank}-D but found "
                                 f"{key.ndim}-D and {value.ndim}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.ndim != rank - 1:
            raise AssertionError(f"For {what} `query`, expected `key_padding_mask` to be `None` or {rank - 1}-D "
                                 f"but found {key_padding_mask.ndim}-D tensor instead")
        if attn_mask is not None and attn_mask.ndim not in (2, 3):
            raise AssertionError(f"For {what} `query`, expected `attn_mask` to be `None`, 2-D or 3-D but "
                                 f"found {attn_mask.ndim}-D tensor instead")
        if not batched and attn_mask is not None and attn_mask.ndim == 3:
            expected = (num_heads, query.shape[0], key.shape[0])
            if tuple(attn_mask.shape) != expected:
                raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got {attn_mask.shape}")
        return batched
    raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received {query.ndim}-D query "
                         f"tensor")


def _split_heads(x, num_heads, batch_first):
    """(T, N, E) or (N, T, E) -> (N, H, T, E / H), a view."""
    heads = x.unflatten(-1, (num_heads, x.shape[-1] // num_heads))
    return heads.permute(0, 2, 1, 3) if batch_first else heads.permute(1, 2, 0, 3)


def _split_packed(x, parts, num_heads, batch_first):
    """`parts` (N, H, T, D) tensors from a (T, N, parts * E) or (N, T, parts * E) packed
    projection: one copy into head-major order, then views (Unstack: one copy back)."""
    heads = x.unflatten(-1, (parts, num_heads, x.shape[-1] // (parts * num_heads)))
    heads = heads.permute(2, 0, 3, 1, 4) if batch_first else heads.permute(2, 1, 3, 0, 4)
    return Unstack.apply(heads.contiguous())


def _project_heads(query, key, value, embed_dim, num_heads, in_proj_weight, in_proj_bias, separate, batch_first):
    """(q, k, v) projected and split into heads, each (N, H, T, D). Self-attention (query is
    key is value) is one product, encoder-decoder attention (key is value) two."""
    split = lambda x: _split_heads(x, num_heads, batch_first)  # noqa: E731
    if separate is not None:
        w_q, w_k, w_v = separate
        eq, ek, ev = query.shape[-1], key.shape[-1], value.shape[-1]
        for w, shape, what in ((w_q, (eq, eq), "query"), (w_k, (eq, ek), "key"), (w_v, (eq, ev), "value")):
            if tuple(w.shape) != shape:
                raise AssertionError(f"expecting {what} weights shape of {shape}, but got {w.shape}")
        b_q = b_k = b_v = None
        if in_proj_bias is not None:
            b_q, b_k, b_v = in_proj_bias.chunk(3)
            for b, what in ((b_q, "query"), (b_k, "key"), (b_v, "value")):
                if tuple(b.shape) != (eq,):
                    raise AssertionError(f"expecting {what} bias shape of {(eq,)}, but got {b.shape}")
        return split(linear(query, w_q, b_q)), split(linear(key, w_k, b_k)), split(linear(value, w_v, b_v))
    e = embed_dim
    if query is key and key is value:
        return _split_packed(linear(query, in_proj_weight, in_proj_bias), 3, num_heads, batch_first)
    bias = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
    q = split(linear(query, in_proj_weight[:e], bias[0]))
    if key is value:
        kv = linear(key, in_proj_weight[e:], None if in_proj_bias is None else in_proj_bias[e:])
        return (q,) + _split_packed(kv, 2, num_heads, batch_first)
    return q, split(linear(key, in_proj_weight[e:2 * e], bias[1])), split(linear(value, in_proj_weight[2 * e:],
                                                                                 bias[2]))


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False):
    """PyTorch's F.multi_head_attention_forward: query (L, N, E) or (L, E), key and value
    (S, N, E*) or (S, E*). Returns (output, weights or None)."""
    return _multi_head_attention(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias, training,
                                 key_padding_mask, need_weights, attn_mask, use_separate_proj_weight, q_proj_weight,
                                 k_proj_weight, v_proj_weight, static_k, static_v, average_attn_weights, is_causal,
                                 batch_first=False)


def _multi_head_attention(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias, bias_k,
                          bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias, training,
                          key_padding_mask, need_weights, attn_mask, use_separate_proj_weight, q_proj_weight,
                          k_proj_weight, v_proj_weight, static_k, static_v, average_attn_weights, is_causal,
                          batch_first):
    """multi_head_attention_forward on (L, N, E) inputs, or (N, L, E) ones with batch_first."""
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        batch_first = False
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    if batch_first:
        bsz, tgt_len, embed_dim = query.shape
        src_len = key.shape[1]
    else:
        tgt_len, bsz, embed_dim = query.shape
        src_len = key.shape[0]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", _none_or_dtype(attn_mask), "attn_mask",
                                       query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                           "method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the hint alone: the kernel masks causally
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, check_other=False)
        if key_padding_mask is not None:
            is_causal = False  # the merged mask is no longer causal
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {key.shape[:2]} do not match value's "
                                 f"{value.shape[:2]}")
        for w, name in ((q_proj_weight, "q_proj_weight"), (k_proj_weight, "k_proj_weight"),
                        (v_proj_weight, "v_proj_weight")):
            if w is None:
                raise AssertionError(f"use_separate_proj_weight is True but {name} is None")
        q, k, v = _project_heads(query, key, value, embed_dim, num_heads, None, in_proj_bias,
                                 (q_proj_weight, k_proj_weight, v_proj_weight), batch_first)
    else:
        if key.shape != value.shape:
            raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        q, k, v = _project_heads(query, key, value, embed_dim, num_heads, in_proj_weight, in_proj_bias, None,
                                 batch_first)

    if attn_mask is not None:  # as (1 or N*H, L, S)
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                                   f"{framework.Size((tgt_len, src_len))}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.ndim == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                                   f"{framework.Size((bsz * num_heads, tgt_len, src_len))}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.ndim} is not supported")

    if bias_k is not None and bias_v is not None:  # one more key and value, the same for every batch entry
        if static_k is not None:
            raise AssertionError("bias cannot be added to static key.")
        if static_v is not None:
            raise AssertionError("bias cannot be added to static value.")
        shape = (bsz, num_heads, 1, head_dim)
        k = framework.cat([k, bias_k.reshape(1, num_heads, 1, head_dim).expand(*shape)], 2)
        v = framework.cat([v, bias_v.reshape(1, num_heads, 1, head_dim).expand(*shape)], 2)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    elif bias_k is not None:
        raise AssertionError("bias_k is set but bias_v is None")
    elif bias_v is not None:
        raise AssertionError("bias_v is set but bias_k is None")

    if static_k is not None:
        k = _static(static_k, "static_k", bsz, num_heads, head_dim)
    if static_v is not None:
        v = _static(static_v, "static_v", bsz, num_heads, head_dim)
    if add_zero_attn:
        k = framework.cat([k, framework.zeros((bsz, num_heads, 1, head_dim), dtype=k.dtype, device=k.device)], 2)
        v = framework.cat([v, framework.zeros((bsz, num_heads, 1, head_dim), dtype=v.dtype, device=v.device)], 2)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    src_len = k.shape[2]

    mask = None  # broadcastable to the scores (N, H, L, S)
    if attn_mask is not None:
        mask = attn_mask.unsqueeze(0) if attn_mask.shape[0] == 1 else attn_mask.reshape(bsz, num_heads, -1,
                                                                                         src_len)
    if key_padding_mask is not None:
        if key_padding_mask.shape[0] != bsz:
            raise AssertionError(f"Expected key_padded_mask.shape[0] to be {bsz}, but got "
                                 f"{key_padding_mask.shape[0]}")
        if key_padding_mask.shape[1] != src_len:
            raise AssertionError(f"Expected key_padded_mask.shape[1] to be {src_len}, but got "
                                 f"{key_padding_mask.shape[1]}")
        padding = key_padding_mask.reshape(bsz, 1, 1, src_len)
        mask = padding if mask is None else mask + padding
    if mask is not None and mask.dtype is not q.dtype:
        mask = mask.to(q.dtype)
    if not training:
        dropout_p = 0.0

    scale = 1.0 / math.sqrt(head_dim)
    if need_weights:  # PyTorch's explicit path: a plain softmax (a fully masked row is nan)
        out, weights = _attend(q, k, v, mask, dropout_p, False, scale, safe=False)
    else:
        out, weights = _attend(q, k, v, mask, dropout_p, is_causal, scale)[0], None
    out = out.permute(0, 2, 1, 3) if batch_first else out.permute(2, 0, 1, 3)
    out = linear(out.reshape(*out.shape[:2], embed_dim), out_proj_weight, out_proj_bias)
    if weights is not None and average_attn_weights:
        weights = weights.mean(1)
    if not is_batched:
        out = out.squeeze(1)
        if weights is not None:
            weights = weights.squeeze(0)
    return out, weights


def _static(x, name, bsz, num_heads, head_dim):
    if x.shape[0] != bsz * num_heads:
        raise AssertionError(f"expecting {name}.size(0) of {bsz * num_heads}, but got {x.shape[0]}")
    if x.shape[2] != head_dim:
        raise AssertionError(f"expecting {name}.size(2) of {head_dim}, but got {x.shape[2]}")
    return x.reshape(bsz, num_heads, x.shape[1], head_dim)
