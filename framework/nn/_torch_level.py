"""The torch.* forms of nn.functional's ops (torch.batch_norm, torch.dropout, torch.kl_div,
torch.convolution, torch.lstm, ...): PyTorch's positional (ATen) signatures over the same
implementations. Where ATen takes an int for what nn.functional names with a string, the int
codes are ATen's: reduction 0/1/2 = none/mean/sum (any other: none, as ATen's
apply_loss_reduction), embedding_bag mode 0/1/2 = sum/mean/max, grid sampler interpolation
0/1/2 = bilinear/nearest/bicubic and padding 0/1/2 = zeros/border/reflection. The batch_norm_*
statistics a synchronised BatchNorm needs are framework/nn/_batch_norm_stats.py."""
import types

import framework
from framework import dtypes as _dt
from framework.nn import _dropout, _linear, _loss, _normalization, _sparse
from framework.nn._batch_norm_stats import *  # noqa: F401,F403
from framework.nn._batch_norm_stats import __all__ as _stats_all, batch_norm_stats as _batch_norm_stats

__all__ = ["batch_norm", "instance_norm", "layer_norm", "group_norm", "rms_norm", "dropout", "dropout_",
           "alpha_dropout", "alpha_dropout_", "feature_dropout", "feature_dropout_", "feature_alpha_dropout",
           "feature_alpha_dropout_",
           "native_batch_norm", "native_layer_norm", "native_group_norm", "native_dropout", "native_norm",
           "norm_except_dim", "bilinear", "binary_cross_entropy_with_logits", "cosine_embedding_loss", "ctc_loss",
           "embedding", "embedding_bag", "embedding_renorm_", "hinge_embedding_loss", "kl_div",
           "margin_ranking_loss", "poisson_nll_loss", "triplet_margin_loss", "constant_pad_nd", "convolution",
           "conv_tbc", "grid_sampler", "grid_sampler_2d", "grid_sampler_3d", "affine_grid_generator", "lstm", "gru",
           "rnn_tanh", "rnn_relu"] + _stats_all


def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled):
    return _normalization._batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, cudnn_enabled):
    return _normalization.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum,
                                        eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05, cudnn_enable=True):
    return _normalization.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05, cudnn_enabled=True):
    return _normalization.group_norm(input, num_groups, weight, bias, eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    return _normalization.rms_norm(input, normalized_shape, weight, eps)


def _checked(p):
    _dropout._check_p(p)
    return p


def dropout(input, p, train):
    return _dropout._dropout_impl(input, _checked(p), train, False, tuple(input.shape), alpha=False)


def dropout_(input, p, train):
    return _dropout._dropout_impl(input, _checked(p), train, True, tuple(input.shape), alpha=False)


def alpha_dropout(input, p, train):
    return _dropout._dropout_impl(input, _checked(p), train, False, tuple(input.shape), alpha=True)


def alpha_dropout_(input, p, train):
    return _dropout._dropout_impl(input, _checked(p), train, True, tuple(input.shape), alpha=True)


def _feature(input, p, train, inplace, alpha):
    noise = _dropout._feature_noise_shape(input.shape) if train and p not in (0, 1) and input.numel() else ()
    return _dropout._dropout_impl(input, _checked(p), train, inplace, noise, alpha=alpha)


def feature_dropout(input, p, train):
    return _feature(input, p, train, False, False)


def feature_dropout_(input, p, train):
    return _feature(input, p, train, True, False)


def feature_alpha_dropout(input, p, train):
    return _feature(input, p, train, False, True)


def feature_alpha_dropout_(input, p, train):
    return _feature(input, p, train, True, True)


# ----------------------------------------------------------------- native_* normalisations: (output, statistics)


def native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):
    """(output, save_mean, save_invstd): the batch's statistics when training, empty tensors
    otherwise (PyTorch's CPU); only the output is differentiable."""
    out = _normalization._batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps)
    with framework.no_grad():
        if training:
            mean, invstd = _batch_norm_stats(input, eps)
        else:
            mean = invstd = framework.empty(0, dtype=input.dtype, device=input.device)
    return out, mean, invstd


def _normalized_axis(input, normalized_shape):
    shape = tuple(normalized_shape)
    axis = input.ndim - len(shape)
    if axis < 0 or tuple(input.shape[axis:]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape [*, "
                           f"{', '.join(map(str, shape))}], but got input of size{list(input.shape)}")
    return axis


def native_layer_norm(input, normalized_shape, weight, bias, eps):
    """(output, mean, rstd); mean and rstd keep the normalised dims as size 1 and are not
    differentiable, as PyTorch's."""
    axis = _normalized_axis(input, normalized_shape)
    out = _normalization.layer_norm(input, normalized_shape, weight, bias, eps)
    dims = tuple(range(axis, input.ndim))
    with framework.no_grad():
        mean = input.mean(dims, keepdim=True)
        rstd = (input.var(dims, keepdim=True, correction=0) + eps).rsqrt()
    return out, mean, rstd


def native_group_norm(input, weight, bias, N, C, HxW, group, eps):
    """(output, mean, rstd), mean and rstd of shape (N, group) and differentiable (PyTorch's
    backward takes their gradients too). Written out here because nn.functional's group_norm
    does not return its statistics (and refuses one value per group, which ATen does not)."""
    if input.numel() != N * C * HxW or (input.ndim >= 2 and (input.shape[0] != N or input.shape[1] != C)):
        raise RuntimeError(f"Expected input of shape [{N}, {C}, ...] with {N * C * HxW} elements, got "
                           f"{list(input.shape)}")
    if group <= 0 or C % group:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(input.shape)} and num_groups={group}")
    _normalization._check_channel_vectors(input, C, weight, bias)
    grouped = input.reshape(N, group, -1)
    mean = grouped.mean(2)
    rstd = (grouped.var(2, correction=0) + eps).rsqrt()
    out = ((grouped - mean.unsqueeze(2)) * rstd.unsqueeze(2)).reshape(input.shape)
    shape = (1, C) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out, mean, rstd


def native_dropout(input, p, train):
    """(output, keep mask as bool): output = input * mask / (1 - p) (0 when p = 1); train=None
    counts as True. Not training: the input (a copy) and an all-True mask."""
    if train is None or train:
        if not 0 <= 1 - p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={1 - p}")
        with framework.no_grad():
            mask = framework.rand(input.shape, dtype=_dt.float32, device=input.device) < 1 - p
        scale = 0.0 if p == 1 else 1.0 / (1 - p)
        return input * mask.to(input.dtype) * scale, mask
    return input.clone(), framework.ones(input.shape, dtype=_dt.bool_, device=input.device)


def native_norm(input, p=2, dim=None, keepdim=False, dtype=None):
    """PyTorch defines native_norm for sparse tensors only, which framework does not have."""
    raise NotImplementedError("Could not run 'aten::native_norm' with arguments from the "
                              f"'{input.device.type.upper()}' backend: native_norm is only defined for sparse tensors")


def norm_except_dim(v, pow=2, dim=0):
    """The pow-norm over every dim but `dim`, kept as size 1 (weight_norm's g); dim=-1: the
    norm of everything, as a 0-d tensor."""
    if dim == -1:
        return v.norm(pow)
    if dim == 0:
        return v.contiguous().reshape(v.shape[0], -1).norm(pow, 1).reshape((v.shape[0],) + (1,) * (v.ndim - 1))
    if dim == v.ndim - 1:
        return v.contiguous().reshape(-1, v.shape[-1]).norm(pow, 0).reshape((1,) * (v.ndim - 1) + (v.shape[-1],))
    return norm_except_dim(v.transpose(0, dim), pow, 0).transpose(0, dim)


# ----------------------------------------------------------------- losses (int reduction)

# The default is 0 (none): PyTorch's Python binding reads ATen's `reduction=Mean` default as 0 (torch.kl_div(x, t)
# is unreduced), whatever its .pyi stubs say.
_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def _reduction(code):
    return _REDUCTIONS.get(code, "none")


def bilinear(input1, input2, weight, bias=None):
    return _linear.bilinear(input1, input2, weight, bias)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=0):
    return _loss.binary_cross_entropy_with_logits(input, target, weight, reduction=_reduction(reduction),
                                                  pos_weight=pos_weight)


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=0):
    return _loss.cosine_embedding_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=0, zero_infinity=False):
    return _loss.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, _reduction(reduction),
                          zero_infinity)


def hinge_embedding_loss(input, target, margin=1.0, reduction=0):
    return _loss.hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction))


def kl_div(input, target, reduction=0, *, log_target=False):
    """Reduction 1 is the plain mean over every element (nn.functional warns about it; ATen does not)."""
    return _loss._apply(_loss.kl_div(input, target, reduction="none", log_target=log_target), _reduction(reduction))


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=0):
    return _loss.margin_ranking_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def poisson_nll_loss(input, target, log_input, full, eps, reduction):
    return _loss.poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=_reduction(reduction))


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-06, swap=False, reduction=0):
    return _loss.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction=_reduction(reduction))


# ----------------------------------------------------------------- embeddings

_BAG_MODES = {0: "sum", 1: "mean", 2: "max"}


def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    """padding_idx -1 (any negative, or one past the table) is none."""
    padding = padding_idx if 0 <= padding_idx < weight.shape[0] else None
    return _sparse.embedding(indices, weight, padding, None, 2.0, scale_grad_by_freq, sparse)


def embedding_renorm_(input, indices, max_norm, norm_type):
    """Rescale, in place and outside autograd, the rows of `input` that `indices` names whose
    norm exceeds max_norm."""
    _sparse._check_indices(indices, "embedding_renorm_")
    _sparse._renorm_(input, indices, max_norm, norm_type)
    return input


def embedding_bag(weight, indices, offsets, scale_grad_by_freq=False, mode=0, sparse=False, per_sample_weights=None,
                  include_last_offset=False, padding_idx=None):
    """(output, offset2bag, bag_size, max_indices). The last three are ATen's CPU bookkeeping for
    its backward, reproduced as it returns them: in sum mode offset2bag is empty (unless
    padding_idx is given) and bag_size and max_indices are zeros; in mean mode max_indices
    repeats bag_size; in max mode it is the row each maximum came from (0 for an empty bag)."""
    if mode not in _BAG_MODES:
        raise RuntimeError(f"embedding_bag: unknown mode {mode}; expected 0 (sum), 1 (mean) or 2 (max)")
    name = _BAG_MODES[mode]
    out = _sparse.embedding_bag(indices, weight, offsets, None, 2, scale_grad_by_freq, name, sparse,
                                per_sample_weights, include_last_offset, padding_idx)
    num_bags, device = out.shape[0], indices.device
    v = weight.shape[0]
    pad = None if padding_idx is None else padding_idx % v
    with framework.no_grad():
        flat, starts = indices.reshape(-1).long(), [int(o) for o in offsets.tolist()]
        ends = [min(starts[b + 1] if b + 1 < len(starts) else flat.shape[0], flat.shape[0]) for b in range(num_bags)]
        bag_of = framework.zeros(flat.shape[0], dtype=_dt.int64, device=device)
        for b in range(1, num_bags):
            bag_of[starts[b]:] = b
        kept = flat != pad if pad is not None else framework.ones(flat.shape, dtype=_dt.bool_, device=device)
        sizes = framework.zeros(num_bags, dtype=_dt.int64, device=device)
        sizes = sizes.index_add(0, bag_of, kept.long()) if flat.numel() else sizes
        if name == "sum":
            zeros = framework.zeros(num_bags, dtype=_dt.int64, device=device)
            offset2bag = bag_of if pad is not None else framework.empty(0, dtype=_dt.int64, device=device)
            return out, offset2bag, zeros, zeros.clone()
        if name == "mean":
            return out, bag_of, sizes, sizes.clone()
        max_indices = framework.zeros(num_bags, weight.shape[1], dtype=_dt.int64, device=device)
        for b in range(num_bags):
            rows = flat[starts[b]:ends[b]]
            rows = rows[kept[starts[b]:ends[b]]]
            if rows.numel():
                max_indices[b] = rows[weight.index_select(0, rows).argmax(0)]
        return out, bag_of, sizes, max_indices


# ----------------------------------------------------------------- convolution, padding, sampling


def constant_pad_nd(input, pad, value=0):
    from framework.ops.padding import pad as _pad
    return _pad(input, pad, "constant", value)


def convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
    """conv{1,2,3}d or conv_transpose{1,2,3}d by the weight's dims; batched input only."""
    from framework.ops import conv
    n = weight.ndim - 2
    if input.ndim != weight.ndim:
        raise RuntimeError(f"Expected {weight.ndim}-dimensional input for {weight.ndim}-dimensional weight "
                           f"{list(weight.shape)}, but got {input.ndim}-dimensional input of size "
                           f"{list(input.shape)} instead")
    if not 1 <= n <= 3:
        raise RuntimeError(f"convolution: expected a weight of 3, 4 or 5 dims, got {weight.ndim}")
    if transposed:
        op = getattr(conv, f"conv_transpose{n}d")
        return op(input, weight, bias, list(stride), list(padding), list(output_padding), groups, list(dilation))
    return getattr(conv, f"conv{n}d")(input, weight, bias, list(stride), list(padding), list(dilation), groups)


def conv_tbc(input, weight, bias, pad=0):
    from framework.nn.functional import conv_tbc as _conv_tbc
    return _conv_tbc(input, weight, bias, pad)


def grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners):
    from framework.ops import grid_sample as gs
    if interpolation_mode not in (0, 1, 2):
        raise RuntimeError(f"grid_sampler(): expected interpolation_mode 0 (bilinear), 1 (nearest) or 2 (bicubic), "
                           f"but got: {interpolation_mode}")
    if padding_mode not in (0, 1, 2):
        raise RuntimeError(f"grid_sampler(): expected padding_mode 0 (zeros), 1 (border) or 2 (reflection), but "
                           f"got: {padding_mode}")
    mode, padding = gs._MODES[interpolation_mode], gs._PADDINGS[padding_mode]
    gs._check(input, grid, mode, padding)
    return gs.GridSample.apply(input, grid, mode, padding, bool(align_corners))


def _grid_sampler_nd(n, input, grid, interpolation_mode, padding_mode, align_corners):
    if input.ndim != n + 2 or grid.ndim != n + 2:
        raise RuntimeError(f"grid_sampler(): expected {n + 2}D input and grid with same number of dimensions, but "
                           f"got input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    return grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners)


def grid_sampler_2d(input, grid, interpolation_mode, padding_mode, align_corners):
    return _grid_sampler_nd(2, input, grid, interpolation_mode, padding_mode, align_corners)


def grid_sampler_3d(input, grid, interpolation_mode, padding_mode, align_corners):
    return _grid_sampler_nd(3, input, grid, interpolation_mode, padding_mode, align_corners)


def affine_grid_generator(theta, size, align_corners):
    from framework.ops.resample import affine_grid
    return affine_grid(theta, size, align_corners)


# ----------------------------------------------------------------- recurrent layers (ATen's two overloads)


def _recurrent(mode, args):
    """torch.lstm/gru/rnn_*: (input, hx, params, has_biases, num_layers, dropout, train,
    bidirectional, batch_first) on a padded input, or (data, batch_sizes, hx, params, ...,
    bidirectional) on packed rows. hx is (h0, c0) for an LSTM (h0's last dim is the projection
    size when params hold weight_hr). Runs nn.RNNBase's stack over the flat params list."""
    from framework.nn.modules.rnn import RNNBase
    packed = len(args) == 9 and isinstance(args[3], (list, tuple))
    if len(args) != 9:
        raise TypeError(f"{mode.lower()}() takes 9 positional arguments but {len(args)} were given")
    if packed:
        data, batch_sizes, hx, params, has_biases, num_layers, dropout, train, bidirectional = args
        batch_first = False
    else:
        data, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first = args
        batch_sizes = None
    h0, c0 = (hx[0], hx[1]) if mode == "LSTM" else (hx, None)
    projected = c0 is not None and h0.shape[-1] != c0.shape[-1]
    directions = 2 if bidirectional else 1
    per_layer = 2 + 2 * bool(has_biases) + int(projected)
    if len(params) != per_layer * num_layers * directions:
        raise RuntimeError(f"{mode.lower()}: expected {per_layer * num_layers * directions} parameters "
                           f"({num_layers} layers, {directions} directions), got {len(params)}")

    def layer_weights(layer, direction):
        w = list(params[(layer * directions + direction) * per_layer:][:per_layer])
        w_ih, w_hh = w[0], w[1]
        b_ih, b_hh = (w[2], w[3]) if has_biases else (None, None)
        return w_ih, w_hh, b_ih, b_hh, w[-1] if projected else None

    stack = types.SimpleNamespace(mode=mode, num_layers=num_layers, bidirectional=bidirectional, dropout=dropout,
                                  training=train, _layer_weights=layer_weights)
    if packed:
        out, h_n, c_n = RNNBase._run(stack, data, [int(b) for b in batch_sizes.tolist()], h0, c0)
    else:
        if data.ndim != 3:
            raise RuntimeError(f"{mode.lower()}: expected a 3-D input (seq, batch, feature), got {data.ndim}-D")
        stack.batch_first = batch_first
        stack._run = lambda *a: RNNBase._run(stack, *a)
        out, h_n, c_n = RNNBase._run_padded(stack, data, h0, c0)
    return (out, h_n, c_n) if mode == "LSTM" else (out, h_n)


def lstm(*args):
    return _recurrent("LSTM", args)


def gru(*args):
    return _recurrent("GRU", args)


def rnn_tanh(*args):
    return _recurrent("RNN_TANH", args)


def rnn_relu(*args):
    return _recurrent("RNN_RELU", args)
