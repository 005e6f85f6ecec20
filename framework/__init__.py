"""A JIT-compiled deep-learning array framework: PyTorch's API on Numba kernels.

`import framework as torch` and the usual tensor, autograd, nn and optim code runs.
"""
from framework import dtypes as _dtypes
from framework.dtypes import get_default_dtype, set_default_dtype
from framework.device import device
from framework.tensor import Size, Tensor
from framework import _methods  # noqa: F401  (binds ops as Tensor methods)
from framework.ops import *  # noqa: F401,F403
from framework.random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from framework.autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from framework import autograd

dtype = _dtypes.dtype
float32 = float = _dtypes.float32
float64 = double = _dtypes.float64
int64 = long = _dtypes.int64
int32 = int = _dtypes.int32
uint8 = _dtypes.uint8
bool = _dtypes.bool_

__version__ = "0.1.0"


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):
    return input.numel()


def is_floating_point(input):
    return input.dtype.is_floating_point


def result_type(tensor1, tensor2):
    return _dtypes.result_type(tensor1, tensor2)


def promote_types(type1, type2):
    return _dtypes.promote_types(type1, type2)


def can_cast(from_, to):
    from framework.ops._util import can_cast as _can_cast
    return _can_cast(from_, to)


from framework.ops.conv import (adaptive_avg_pool2d, avg_pool2d, conv1d, conv2d, conv_transpose2d,  # noqa: E402
                                max_pool2d)
from framework import nn, optim  # noqa: E402  (torch.nn and torch.optim are attributes too)
from framework import cuda, io, utils  # noqa: E402
from framework.io import load, save  # noqa: E402
