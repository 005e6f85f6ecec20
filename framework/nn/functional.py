"""torch.nn.functional: layers, activations and losses as functions of tensors.

Built on the public tensor API only; the compiled work happens in the ops it calls
(`framework.conv2d`, `framework.max_pool2d`, `log_softmax`, `gather`, ...)."""
import math

import framework
from framework.ops.conv import conv1d, conv2d, conv_transpose2d
from framework.ops.pooling import adaptive_avg_pool2d, avg_pool2d, max_pool2d, max_pool2d_with_indices
from framework.ops.linalg import linear
from framework.ops.padding import pad
from framework.ops.reduction import log_softmax as _log_softmax, softmax as _softmax

__all__ = [
    "adaptive_avg_pool2d", "avg_pool2d", "conv1d", "conv2d", "conv_tbc", "conv_transpose2d", "max_pool2d",
    "max_pool2d_with_indices", "pad", "linear", "relu", "relu_", "leaky_relu", "elu", "gelu", "silu", "sigmoid",
    "tanh", "softplus", "softmax", "log_softmax", "dropout", "dropout2d", "batch_norm", "layer_norm", "group_norm",
    "embedding", "one_hot", "normalize", "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss",
    "huber_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "flatten", "hardtanh",
    "relu6", "logsigmoid", "mish", "hardswish",
]

flatten = framework.flatten


def conv_tbc(input, weight, bias, pad=0):
    """1-D convolution over time-major (time, batch, channels) input with a (width, in, out)
    weight and an (out,) bias: conv1d on the (batch, channels, time) view."""
    if input.ndim != 3:
        raise RuntimeError("Input must have 3 dims: time, batch, in_channel")
    if weight.ndim != 3:
        raise RuntimeError("Weight tensor must have 3 dims: kernel_width, in_channels, out_channels.")
    if bias.ndim != 1:
        raise RuntimeError("Bias must be 1-D")
    if input.shape[2] != weight.shape[1]:
        raise RuntimeError("Input dim 2 (input channels) is not == dim 1 in the weight tensor")
    if bias.shape[0] != weight.shape[2]:
        raise RuntimeError("Bias size must equal dim 2 in the weight tensor (output channels).")
    return conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad).permute(2, 0, 1)

# ----------------------------------------------------------------- activations: framework/nn/_activation.py


# ----------------------------------------------------------------- dropout and normalization: framework/nn/_dropout.py, _normalization.py


# ----------------------------------------------------------------- embedding, one_hot


# embedding, embedding_bag: framework/nn/_sparse.py


def one_hot(tensor, num_classes=-1):
    if tensor.dtype is not framework.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        num_classes = int(tensor.max()) + 1 if tensor.numel() else 0
    if tensor.numel() and (int(tensor.min()) < 0 or int(tensor.max()) >= num_classes):
        raise RuntimeError("Class values must be smaller than num_classes and non-negative.")
    return (tensor.unsqueeze(-1) == framework.arange(num_classes, device=tensor.device)).long()


# ----------------------------------------------------------------- losses: framework/nn/_loss.py
from framework.nn._attention import (_canonical_mask, _none_or_dtype, multi_head_attention_forward,  # noqa: E402,F401
                                     scaled_dot_product_attention)
from framework.nn._activation import *  # noqa: E402,F401,F403  (activations)
from framework.nn._conv_pool import *  # noqa: E402,F401,F403  (convolution, pooling, fold/unfold)
from framework.nn._more_functional import *  # noqa: E402,F401,F403  (losses, distances, embeddings, bilinear)
from framework.ops.resample import (affine_grid, channel_shuffle, grid_sample, interpolate,  # noqa: E402,F401
                                     pixel_shuffle, pixel_unshuffle, upsample, upsample_bilinear, upsample_nearest,
                                     channel_shuffle as native_channel_shuffle)
from framework.nn._dropout import *  # noqa: E402,F401,F403  (dropout)
from framework.nn._normalization import *  # noqa: E402,F401,F403  (normalization)
